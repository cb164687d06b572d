/**
 * Scripted Twilio, Telnyx, Plivo and Exotel platforms: every frame they send is written here by hand from
 * the wire notes (the team's telephony wire notes, A1, A4, A6, A7), and the audio is encoded with
 * the reference `alawmulaw` package (mu-law, A-law) or by hand (L16), never with Callroom's own code. Each
 * keeps a platform playout queue (`PlatformPlayout`): received audio plays at real time, marks are echoed
 * when their audio has played, and a flush drops the queue (Twilio and Telnyx then echo pending marks).
 */
import alawmulaw from 'alawmulaw';
import { PlatformPlayout } from './telephony-playout.ts';
import { rmsOf, type HeardFrame, type PlatformClient } from './telephony-client.ts';
import { WsPeer, type PeerText } from './telephony-ws-peer.ts';

abstract class JsonClient implements PlatformClient {
  abstract readonly dialect: string;
  abstract readonly rate: number;
  readonly heard: HeardFrame[] = [];
  /** The agent's audio itself, decoded by the client, one entry per message. */
  readonly audio: Int16Array[] = [];
  readonly flushes: number[] = [];
  readonly acked: string[] = [];
  readonly url: string;
  peer: WsPeer | undefined;
  readonly playout: PlatformPlayout;
  #closed!: (v: unknown) => void;
  readonly closed: Promise<unknown> = new Promise((r) => (this.#closed = r));
  protected seq = 0;
  protected chunk = 0;
  /** Sequence number of the next message (Twilio counts from "1"; `connected` has none). */
  protected nextSeq(): number {
    return ++this.seq;
  }

  constructor(url: string, echoClearedMarks: boolean) {
    this.url = url;
    this.playout = new PlatformPlayout({
      onPlayed: (name) => this.ackMark(name),
      ...(echoClearedMarks ? { onCleared: (name: string) => this.ackMark(name) } : {}),
    });
  }

  async start(): Promise<void> {
    this.peer = await WsPeer.connect(this.url);
    void this.peer.closed.then((c) => {
      this.playout.close();
      this.#closed(c);
    });
    this.peer.onText = (t) => this.onText(t);
    for (const frame of this.opening()) this.peer.sendText(frame);
  }

  send(text: string): void {
    this.peer?.sendText(text);
  }

  /** The frames that open the stream. */
  protected abstract opening(): string[];
  protected abstract onText(t: PeerText): void;
  protected abstract ackMark(name: string): void;
  abstract sendFrame(pcm: Int16Array): void;
  abstract sendDtmf(digit: string): void;
  protected abstract stopFrame(): string;

  /** Record a received audio payload (`pcm` decoded) and queue it for playout. */
  protected heardAudio(at: number, pcm: ArrayLike<number>): void {
    const ms = (pcm.length * 1000) / this.rate;
    this.heard.push({ at, rms: rmsOf(pcm), ms });
    this.audio.push(Int16Array.from(pcm));
    this.playout.audio(ms);
  }

  protected flushed(at: number): void {
    this.flushes.push(at);
    this.playout.clear();
  }

  async hangup(): Promise<void> {
    this.send(this.stopFrame());
    await this.peer?.close();
  }

  vanish(): void {
    this.peer?.ws.terminate();
  }

  async close(): Promise<void> {
    this.playout.close();
    await this.peer?.close();
  }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const fromB64 = (text: unknown): Buffer => Buffer.from(String(text), 'base64');

/** L16 little-endian bytes written sample by sample. */
export function l16le(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i] as number, 2 * i);
  return out;
}

export function readL16le(bytes: Buffer): Int16Array {
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}

export function l16be(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16BE(pcm[i] as number, 2 * i);
  return out;
}

export function readL16be(bytes: Buffer): Int16Array {
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16BE(2 * i);
  return out;
}

// ---- Twilio (A1) ----

export interface TwilioClientOptions {
  readonly token?: string;
  readonly callSid?: string;
  readonly streamSid?: string;
  readonly agent?: string;
}

export class TwilioClient extends JsonClient {
  readonly dialect = 'twilio';
  readonly rate = 8000;
  readonly callSid: string;
  readonly streamSid: string;
  readonly #o: TwilioClientOptions;

  constructor(url: string, o: TwilioClientOptions = {}) {
    super(url, true);
    this.#o = o;
    this.callSid = o.callSid ?? `CA${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
    this.streamSid = o.streamSid ?? `MZ${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  }

  protected opening(): string[] {
    const params = [
      ...(this.#o.token === undefined ? [] : [`"token":"${this.#o.token}"`]),
      ...(this.#o.agent === undefined ? [] : [`"agent":"${this.#o.agent}"`]),
      '"from":"+15550001111"',
      '"to":"+15550002222"',
    ].join(',');
    return [
      '{"event":"connected","protocol":"Call","version":"1.0.0"}',
      `{"event":"start","sequenceNumber":"${this.nextSeq()}","streamSid":"${this.streamSid}","start":{"streamSid":"${this.streamSid}","accountSid":"AC0123456789abcdef0123456789abcdef","callSid":"${this.callSid}","tracks":["inbound"],"customParameters":{${params}},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`,
    ];
  }

  sendFrame(pcm: Int16Array): void {
    this.chunk++;
    const payload = b64(alawmulaw.mulaw.encode(pcm));
    this.send(
      `{"event":"media","sequenceNumber":"${this.nextSeq()}","streamSid":"${this.streamSid}","media":{"track":"inbound","chunk":"${this.chunk}","timestamp":"${(this.chunk - 1) * 20}","payload":"${payload}"}}`,
    );
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"dtmf","sequenceNumber":"${this.nextSeq()}","streamSid":"${this.streamSid}","dtmf":{"track":"inbound_track","digit":"${digit}"}}`);
  }

  protected ackMark(name: string): void {
    this.acked.push(name);
    this.send(`{"event":"mark","sequenceNumber":"${this.nextSeq()}","streamSid":"${this.streamSid}","mark":{"name":"${name}"}}`);
  }

  protected stopFrame(): string {
    return `{"event":"stop","sequenceNumber":"${this.nextSeq()}","streamSid":"${this.streamSid}","stop":{"accountSid":"AC0123456789abcdef0123456789abcdef","callSid":"${this.callSid}"}}`;
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['event'] === 'media') this.heardAudio(t.at, alawmulaw.mulaw.decode(fromB64((m['media'] as Record<string, unknown>)['payload'])));
    else if (m['event'] === 'mark') this.playout.mark(String((m['mark'] as Record<string, unknown>)['name']));
    else if (m['event'] === 'clear') this.flushed(t.at);
  }
}

// ---- Telnyx (A4) ----

export interface TelnyxClientOptions {
  readonly token?: string;
  /** PCMU (default), PCMA or L16 (big-endian on the wire). */
  readonly encoding?: 'PCMU' | 'PCMA' | 'L16';
  readonly sampleRate?: number;
  /** Send every other pair of media frames swapped (Telnyx does not guarantee order). */
  readonly shuffle?: boolean;
}

export class TelnyxClient extends JsonClient {
  readonly dialect = 'telnyx';
  readonly rate: number;
  readonly encoding: 'PCMU' | 'PCMA' | 'L16';
  readonly streamId = `32de0dea-53cb-4b21-89a4-9${Math.floor(Math.random() * 1e10).toString().padStart(11, '0')}`;
  readonly callControlId = `v3:${Math.random().toString(36).slice(2)}`;
  readonly #o: TelnyxClientOptions;
  #held: string | undefined;

  constructor(url: string, o: TelnyxClientOptions = {}) {
    super(url, true);
    this.#o = o;
    this.encoding = o.encoding ?? 'PCMU';
    this.rate = this.encoding === 'L16' ? (o.sampleRate ?? 16000) : 8000;
  }

  protected opening(): string[] {
    const params = this.#o.token === undefined ? '' : `,"custom_parameters":{"token":"${this.#o.token}"}`;
    return [
      '{"event":"connected","version":"1.0.0"}',
      `{"event":"start","sequence_number":"${this.nextSeq()}","start":{"user_id":"3e6f995f-85f7-4705-9741-53b116d28237","call_control_id":"${this.callControlId}","call_session_id":"9c3c1ed0-0000-11ef-8f1f-02420a0f6a69","from":"+13122010094","to":"+13122123456","tags":[],"client_state":null,"media_format":{"encoding":"${this.encoding}","sample_rate":${this.rate},"channels":1}${params}},"stream_id":"${this.streamId}"}`,
    ];
  }

  #encode(pcm: Int16Array): Uint8Array {
    if (this.encoding === 'PCMU') return alawmulaw.mulaw.encode(pcm);
    if (this.encoding === 'PCMA') return alawmulaw.alaw.encode(pcm);
    return l16be(pcm);
  }

  #decode(bytes: Buffer): ArrayLike<number> {
    if (this.encoding === 'PCMU') return alawmulaw.mulaw.decode(bytes);
    if (this.encoding === 'PCMA') return alawmulaw.alaw.decode(bytes);
    return readL16be(bytes);
  }

  sendFrame(pcm: Int16Array): void {
    this.chunk++;
    const frame = `{"event":"media","sequence_number":"${this.nextSeq()}","media":{"track":"inbound","chunk":"${this.chunk}","timestamp":"${(this.chunk - 1) * 20}","payload":"${b64(this.#encode(pcm))}"},"stream_id":"${this.streamId}"}`;
    if (this.#o.shuffle !== true) {
      this.send(frame);
      return;
    }
    // Frames 2k+1 and 2k+2 go out as 2k+2, 2k+1.
    if (this.#held === undefined && this.chunk % 2 === 1) {
      this.#held = frame;
      return;
    }
    this.send(frame);
    if (this.#held !== undefined) this.send(this.#held);
    this.#held = undefined;
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"dtmf","sequence_number":"${this.nextSeq()}","dtmf":{"digit":"${digit}"},"stream_id":"${this.streamId}"}`);
  }

  protected ackMark(name: string): void {
    this.acked.push(name);
    this.send(`{"event":"mark","sequence_number":"${this.nextSeq()}","stream_id":"${this.streamId}","mark":{"name":"${name}"}}`);
  }

  protected stopFrame(): string {
    return `{"event":"stop","sequence_number":"${this.nextSeq()}","stop":{"user_id":"3e6f995f-85f7-4705-9741-53b116d28237","call_control_id":"${this.callControlId}"},"stream_id":"${this.streamId}"}`;
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['event'] === 'media') this.heardAudio(t.at, this.#decode(fromB64((m['media'] as Record<string, unknown>)['payload'])));
    else if (m['event'] === 'mark') this.playout.mark(String((m['mark'] as Record<string, unknown>)['name']));
    else if (m['event'] === 'clear') this.flushed(t.at);
  }
}

// ---- Plivo (A6) ----

export class PlivoClient extends JsonClient {
  readonly dialect = 'plivo';
  readonly rate = 8000;
  readonly streamId = '20170ada-f610-433b-8758-c02a2aab3662';
  readonly callId = `ba8c1a4a-${Math.random().toString(16).slice(2, 10)}`;
  readonly #token: string | undefined;

  constructor(url: string, o: { token?: string } = {}) {
    super(url, false);
    this.#token = o.token;
  }

  protected opening(): string[] {
    const headers = this.#token === undefined ? '' : `,"extra_headers":"{\\"token\\":\\"${this.#token}\\"}"`;
    return [
      `{"event":"start","sequenceNumber":${this.nextSeq()},"start":{"callId":"${this.callId}","streamId":"${this.streamId}","accountId":"MAXXXXXXXXXXXXXXXXXX","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}}${headers}}`,
    ];
  }

  sendFrame(pcm: Int16Array): void {
    this.chunk++;
    this.send(
      `{"event":"media","sequenceNumber":${this.nextSeq()},"streamId":"${this.streamId}","media":{"track":"inbound","timestamp":"${Date.now()}","chunk":${this.chunk},"payload":"${b64(alawmulaw.mulaw.encode(pcm))}"}}`,
    );
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"dtmf","sequenceNumber":${this.nextSeq()},"streamId":"${this.streamId}","dtmf":{"track":"inbound","digit":"${digit}"}}`);
  }

  protected ackMark(name: string): void {
    this.acked.push(name);
    this.send(`{"event":"playedStream","sequenceNumber":${this.nextSeq()},"streamId":"${this.streamId}","name":"${name}"}`);
  }

  protected stopFrame(): string {
    return `{"event":"stop","sequenceNumber":${this.nextSeq()},"streamId":"${this.streamId}"}`;
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['event'] === 'playAudio') this.heardAudio(t.at, alawmulaw.mulaw.decode(fromB64((m['media'] as Record<string, unknown>)['payload'])));
    else if (m['event'] === 'checkpoint') this.playout.mark(String(m['name']));
    else if (m['event'] === 'clearAudio') {
      this.flushed(t.at);
      this.send(`{"event":"clearedAudio","sequenceNumber":${this.nextSeq()},"streamId":"${this.streamId}"}`);
    }
  }
}

// ---- Exotel (A7) ----

export class ExotelClient extends JsonClient {
  readonly dialect = 'exotel';
  readonly rate: number;
  readonly streamSid = `a1b2${Math.random().toString(16).slice(2, 14)}`;
  readonly callSid = `c0ffee${Math.random().toString(16).slice(2, 14)}`;
  readonly #token: string | undefined;
  /** Exotel sends about 100 ms per media message: frames are gathered. */
  #gather: Int16Array[] = [];

  constructor(url: string, o: { token?: string; sampleRate?: number } = {}) {
    super(url, true);
    this.#token = o.token;
    this.rate = o.sampleRate ?? 8000;
  }

  protected opening(): string[] {
    const params = this.#token === undefined ? '{}' : `{"token":"${this.#token}"}`;
    return [
      '{"event":"connected"}',
      `{"event":"start","sequence_number":${this.nextSeq()},"stream_sid":"${this.streamSid}","start":{"stream_sid":"${this.streamSid}","call_sid":"${this.callSid}","account_sid":"exotel1","from":"09999999999","to":"08888888888","custom_parameters":${params},"media_format":{"encoding":"audio/x-raw","sample_rate":"${this.rate}","bit_rate":"16"}}}`,
    ];
  }

  sendFrame(pcm: Int16Array): void {
    this.#gather.push(pcm);
    if (this.#gather.length < 5) return;
    const all = new Int16Array(this.#gather.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.#gather) {
      all.set(p, at);
      at += p.length;
    }
    this.#gather = [];
    this.chunk++;
    this.send(
      `{"event":"media","sequence_number":${this.nextSeq()},"stream_sid":"${this.streamSid}","media":{"chunk":${this.chunk},"timestamp":"${(this.chunk - 1) * 100}","payload":"${b64(l16le(all))}"}}`,
    );
  }

  sendDtmf(digit: string): void {
    this.send(`{"event":"dtmf","sequence_number":${this.nextSeq()},"stream_sid":"${this.streamSid}","dtmf":{"digit":"${digit}","duration":"300"}}`);
  }

  protected ackMark(name: string): void {
    this.acked.push(name);
    this.send(`{"event":"mark","sequence_number":${this.nextSeq()},"stream_sid":"${this.streamSid}","mark":{"name":"${name}"}}`);
  }

  protected stopFrame(): string {
    return `{"event":"stop","sequence_number":${this.nextSeq()},"stream_sid":"${this.streamSid}","stop":{"call_sid":"${this.callSid}","account_sid":"exotel1","reason":"callended"}}`;
  }

  protected onText(t: PeerText): void {
    const m = t.json;
    if (m === undefined) return;
    if (m['event'] === 'media') this.heardAudio(t.at, readL16le(fromB64((m['media'] as Record<string, unknown>)['payload'])));
    else if (m['event'] === 'mark') this.playout.mark(String((m['mark'] as Record<string, unknown>)['name']));
    else if (m['event'] === 'clear') this.flushed(t.at);
  }
}
