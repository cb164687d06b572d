/**
 * Scripted Vonage, jambonz, Asterisk chan_websocket and Genesys AudioHook platforms: text frames written
 * by hand from the wire notes (the team's telephony wire notes, A3, A5, A9, A10), audio as L16
 * written sample by sample or mu-law/A-law from the reference `alawmulaw` package. Those that queue audio
 * keep a `PlatformPlayout` and acknowledge marks as their audio plays.
 */
import alawmulaw from 'alawmulaw';
import { l16le, readL16le } from './telephony-json-clients.ts';
import { PlatformPlayout } from './telephony-playout.ts';
import { rmsOf, type HeardFrame, type PlatformClient } from './telephony-client.ts';
import { WsPeer, type PeerBinary, type PeerText } from './telephony-ws-peer.ts';

abstract class BinaryClient implements PlatformClient {
  abstract readonly dialect: string;
  abstract readonly rate: number;
  readonly heard: HeardFrame[] = [];
  readonly flushes: number[] = [];
  readonly acked: string[] = [];
  readonly url: string;
  readonly protocols: string[] | undefined;
  readonly headers: Record<string, string> | undefined;
  peer: WsPeer | undefined;
  readonly playout: PlatformPlayout;
  #closed!: (v: unknown) => void;
  readonly closed: Promise<unknown> = new Promise((r) => (this.#closed = r));

  constructor(url: string, o: { protocols?: string[]; headers?: Record<string, string>; clearedMarks?: (name: string) => void } = {}) {
    this.url = url;
    this.protocols = o.protocols;
    this.headers = o.headers;
    this.playout = new PlatformPlayout({
      onPlayed: (name) => {
        this.acked.push(name);
        this.ackMark(name);
      },
      ...(o.clearedMarks === undefined ? {} : { onCleared: o.clearedMarks }),
    });
  }

  async start(): Promise<void> {
    this.peer = await WsPeer.connect(this.url, this.protocols, this.headers);
    void this.peer.closed.then((c) => {
      this.playout.close();
      this.#closed(c);
    });
    this.peer.onText = (t) => this.onText(t);
    this.peer.onBinary = (b) => this.onBinary(b);
    for (const frame of this.opening()) this.peer.sendText(frame);
  }

  send(text: string): void {
    this.peer?.sendText(text);
  }

  protected abstract opening(): string[];
  protected abstract onText(t: PeerText): void;
  protected abstract ackMark(name: string): void;
  protected abstract decode(bytes: Buffer): ArrayLike<number>;
  abstract sendFrame(pcm: Int16Array): void;
  abstract sendDtmf(digit: string): void;
  abstract hangup(): Promise<void>;

  protected onBinary(b: PeerBinary): void {
    const pcm = this.decode(b.bytes);
    const ms = (pcm.length * 1000) / this.outputRate;
    this.heard.push({ at: b.at, rms: rmsOf(pcm), ms });
    this.playout.audio(ms);
  }

  /** The rate of the audio the platform receives (jambonz may differ from its input rate). */
  get outputRate(): number {
    return this.rate;
  }

  protected flushed(at: number): void {
    this.flushes.push(at);
    this.playout.clear();
  }

  vanish(): void {
    this.peer?.ws.terminate();
  }

  async close(): Promise<void> {
    this.playout.close();
    await this.peer?.close();
  }
}

// ---- Vonage (A5) ----

export class VonageClient extends BinaryClient {
  readonly dialect = 'vonage';
  readonly rate: number;
  readonly #token: string | undefined;

  constructor(url: string, o: { token?: string; rate?: 8000 | 16000 } = {}) {
    super(url);
    this.#token = o.token;
    this.rate = o.rate ?? 16000;
  }

  protected opening(): string[] {
    const token = this.#token === undefined ? '' : `,"token":"${this.#token}"`;
    return [`{"event":"websocket:connected","content-type":"audio/l16;rate=${this.rate}","call_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","from":"447700900000","to":"447700900001"${token}}`];
  }

  sendFrame(pcm: Int16Array): void {
    this.peer?.sendBinary(l16le(pcm));
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"websocket:dtmf","digit":"${digit}","duration":260}`);
  }

  protected ackMark(name: string): void {
    this.send(`{"event":"websocket:notify","payload":{"mark":"${name}"}}`);
  }

  protected decode(bytes: Buffer): ArrayLike<number> {
    return readL16le(bytes);
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['action'] === 'clear') {
      this.flushed(t.at);
      this.send('{"event":"websocket:cleared"}');
    } else if (m['action'] === 'notify') this.playout.mark(String((m['payload'] as Record<string, unknown>)['mark']));
  }

  async hangup(): Promise<void> {
    await this.peer?.close();
  }
}

// ---- jambonz (A9) ----

export class JambonzClient extends BinaryClient {
  readonly dialect = 'jambonz';
  readonly rate: number;
  readonly #outRate: number;
  readonly #token: string | undefined;
  readonly callSid = `b7d8${Math.random().toString(16).slice(2, 10)}-1f2e-4c3d-9a8b-7c6d5e4f3a2b`;

  constructor(url: string, o: { token?: string; rate?: number; outRate?: number } = {}) {
    super(url, {
      protocols: ['audio.jambonz.org'],
      // jambonz reports a killed mark as `cleared`.
      clearedMarks: (name) => this.send(`{"type":"mark","data":{"name":"${name}","event":"cleared"}}`),
    });
    this.#token = o.token;
    this.rate = o.rate ?? 16000;
    this.#outRate = o.outRate ?? this.rate;
  }

  override get outputRate(): number {
    return this.#outRate;
  }

  protected opening(): string[] {
    const token = this.#token === undefined ? '' : `,"token":"${this.#token}"`;
    return [
      `{"callSid":"${this.callSid}","direction":"inbound","from":"+15083084809","to":"+15083728299","callId":"0b2d5e8e@10.0.0.1","sipStatus":200,"callStatus":"in-progress","sampleRate":${this.rate},"mixType":"mono","bidirectionalAudio":{"enabled":true,"streaming":true,"sampleRate":${this.#outRate}}${token}}`,
    ];
  }

  sendFrame(pcm: Int16Array): void {
    this.peer?.sendBinary(l16le(pcm));
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"dtmf","dtmf":"${digit}","duration":"1600"}`);
  }

  protected ackMark(name: string): void {
    this.send(`{"type":"mark","data":{"name":"${name}","event":"playout"}}`);
  }

  protected decode(bytes: Buffer): ArrayLike<number> {
    return readL16le(bytes);
  }

  /** Whether the server asked jambonz to end the verb. */
  disconnected = false;

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['type'] === 'killAudio') this.flushed(t.at);
    else if (m['type'] === 'mark') this.playout.mark(String((m['data'] as Record<string, unknown>)['name']));
    else if (m['type'] === 'disconnect') this.disconnected = true;
  }

  async hangup(): Promise<void> {
    await this.peer?.close();
  }
}

// ---- Asterisk chan_websocket (A3) ----

export class ChanWebsocketClient extends BinaryClient {
  readonly dialect = 'chan_websocket';
  readonly rate: number;
  readonly format: 'ulaw' | 'alaw' | 'slin16';
  readonly json: boolean;
  readonly channelId = `1733${Math.floor(Math.random() * 1e6)}.42`;
  /** Commands received, in order (`ANSWER`, `MARK_MEDIA cr-1`, ...; JSON ones as their command). */
  readonly commands: Array<{ at: number; command: string; id?: string }> = [];
  #xoff = false;
  #binaryAfterXoff = 0;

  constructor(url: string, o: { format?: 'ulaw' | 'alaw' | 'slin16'; json?: boolean } = {}) {
    // FLUSH_MEDIA drops queued marks without a word.
    super(url, { protocols: ['media'] });
    this.format = o.format ?? 'ulaw';
    this.json = o.json ?? false;
    this.rate = this.format === 'slin16' ? 16000 : 8000;
  }

  protected opening(): string[] {
    const frame = this.format === 'slin16' ? 640 : 160;
    if (this.json) {
      return [
        `{"event":"MEDIA_START","connection_id":"callroom","channel":"WebSocket/callroom/0x7f3c2c00a1b0","channel_id":"${this.channelId}","format":"${this.format}","optimal_frame_size":${frame},"ptime":20,"channel_variables":{"CALLERID(num)":"6001","EXTEN":"700"}}`,
      ];
    }
    return [`MEDIA_START connection_id:callroom channel:WebSocket/callroom/0x7f3c2c00a1b0 channel_id:${this.channelId} format:${this.format} optimal_frame_size:${frame} ptime:20`];
  }

  sendFrame(pcm: Int16Array): void {
    const bytes = this.format === 'ulaw' ? alawmulaw.mulaw.encode(pcm) : this.format === 'alaw' ? alawmulaw.alaw.encode(pcm) : l16le(pcm);
    this.peer?.sendBinary(bytes);
  }

  sendDtmf(digit: string): void {
    this.send(this.json ? `{"event":"DTMF_END","channel_id":"${this.channelId}","digit":"${digit}"}` : `DTMF_END digit:${digit} channel_id:${this.channelId}`);
  }

  /** Asterisk's flow control: its queue passed 900 frames (XOFF) or fell below 800 (XON). */
  xoff(on: boolean): void {
    this.#xoff = on;
    const event = on ? 'MEDIA_XOFF' : 'MEDIA_XON';
    this.send(this.json ? `{"event":"${event}","channel_id":"${this.channelId}"}` : event);
  }

  /** Binary frames received while XOFF was in force. */
  get binaryAfterXoff(): number {
    return this.#binaryAfterXoff;
  }

  protected override onBinary(b: PeerBinary): void {
    if (this.#xoff) this.#binaryAfterXoff++;
    super.onBinary(b);
  }

  protected ackMark(name: string): void {
    this.send(this.json ? `{"event":"MEDIA_MARK_PROCESSED","channel_id":"${this.channelId}","correlation_id":"${name}"}` : `MEDIA_MARK_PROCESSED ${name}`);
  }

  protected decode(bytes: Buffer): ArrayLike<number> {
    return this.format === 'ulaw' ? alawmulaw.mulaw.decode(bytes) : this.format === 'alaw' ? alawmulaw.alaw.decode(bytes) : readL16le(bytes);
  }

  protected onText(t: PeerText): void {
    let command: string;
    let id: string | undefined;
    if (t.json !== undefined) {
      command = String(t.json['command']);
      id = typeof t.json['correlation_id'] === 'string' ? t.json['correlation_id'] : undefined;
    } else {
      const [c = '', rest] = t.text.split(' ', 2);
      command = c;
      id = rest;
    }
    this.commands.push({ at: t.at, command, ...(id === undefined ? {} : { id }) });
    if (command === 'FLUSH_MEDIA') this.flushed(t.at);
    else if (command === 'MARK_MEDIA' && id !== undefined) this.playout.mark(id);
    else if (command === 'HANGUP') void this.peer?.close();
  }

  async hangup(): Promise<void> {
    // Asterisk hangs up the channel and closes the socket.
    await this.peer?.close();
  }
}

// ---- Genesys AudioHook, bot variant (A10) ----

export class GenesysClient extends BinaryClient {
  readonly dialect = 'genesys';
  readonly rate = 8000;
  readonly sessionId = `e160e428-53e2-487c-977d-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`;
  readonly #stereo: boolean;
  readonly #token: string | undefined;
  #seq = 0;
  /** Server messages by type. */
  readonly received: Array<{ at: number; type: string; message: Record<string, unknown> }> = [];

  constructor(url: string, o: { stereo?: boolean; token?: string; apiKey?: string } = {}) {
    super(url, o.apiKey === undefined ? {} : { headers: { 'X-API-KEY': o.apiKey } });
    this.#stereo = o.stereo ?? false;
    this.#token = o.token;
  }

  #msg(type: string, parameters: string): string {
    return `{"version":"2","id":"${this.sessionId}","type":"${type}","seq":${++this.#seq},"serverseq":${this.received.length},"position":"PT${(this.#seq * 0.02).toFixed(2)}S","parameters":${parameters}}`;
  }

  protected opening(): string[] {
    const custom = this.#token === undefined ? '{}' : `{"token":"${this.#token}"}`;
    const media = this.#stereo
      ? '[{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000}]'
      : '[{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000},{"type":"audio","format":"PCMU","channels":["external"],"rate":8000}]';
    return [
      this.#msg(
        'open',
        `{"organizationId":"d7934305-0972-4844-938e-9060eef73d05","conversationId":"090eaa2f-72fa-480a-83e0-8667ff89c0ec","participant":{"id":"883efee8-3d6c-4537-b500-6d7ca4b92fa0","ani":"+1-555-555-1234","aniName":"John Doe","dnis":"+1-800-555-6789"},"media":${media},"language":"en-US","customConfig":${custom}}`,
      ),
    ];
  }

  sendFrame(pcm: Int16Array): void {
    const mono = alawmulaw.mulaw.encode(pcm);
    if (!this.#stereo) {
      this.peer?.sendBinary(mono);
      return;
    }
    // External (caller) left, internal right (silence).
    const both = new Uint8Array(mono.length * 2).fill(0xff);
    for (let i = 0; i < mono.length; i++) both[2 * i] = mono[i] as number;
    this.peer?.sendBinary(both);
  }

  sendDtmf(digit: string): void {
    this.send(this.#msg('dtmf', `{"digit":"${digit}"}`));
  }

  ping(): void {
    this.send(this.#msg('ping', '{}'));
  }

  protected ackMark(): void {}

  protected decode(bytes: Buffer): ArrayLike<number> {
    return alawmulaw.mulaw.decode(bytes);
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    const type = String(m['type']);
    this.received.push({ at: t.at, type, message: m });
    const entities = (m['parameters'] as Record<string, unknown> | undefined)?.['entities'];
    if (type === 'event' && Array.isArray(entities) && entities.some((e) => (e as Record<string, unknown>)['type'] === 'barge_in')) this.flushed(t.at);
    else if (type === 'disconnect') void this.hangup();
  }

  /** Genesys ends the session: `close`, wait for `closed`, then the socket closes. */
  async hangup(): Promise<void> {
    if (this.peer?.open !== true) return;
    this.send(this.#msg('close', '{"reason":"end"}'));
    await this.peer.waitText((x) => x.json?.['type'] === 'closed', 2000).catch(() => undefined);
    await this.peer.close();
  }
}
