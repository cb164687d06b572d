/**
 * A local stand-in for the Gemini Live endpoint
 * (`ws://…//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=K`)
 * speaking the real BidiGenerateContent JSON protocol, so tests drive the real `@google/genai` live
 * client. Plain ws (the SDK follows an http:// base URL to ws://).
 *
 * Behaviour, per connection:
 * - The first client message must be `setup` (model `models/…`, `generationConfig.responseModalities`
 *   ["AUDIO"]); answered with `setupComplete`, then a `sessionResumptionUpdate` with a fresh handle
 *   (and another after every completed turn). A `setup.sessionResumption.handle` the server issued
 *   resumes that session: `resumedFrom` records it. An unknown handle is closed with 1008.
 * - `realtimeInput.audio` (`audio/pcm;rate=N`) is decoded and recorded byte for byte. With automatic
 *   activity detection, an energy VAD ends the caller's turn after `vadSilenceMs` of quiet; caller
 *   speech during a model turn sends `interrupted` (and `toolCallCancellation` for unanswered calls).
 *   With `automaticActivityDetection.disabled`, `activityStart`/`activityEnd` delimit the turn.
 *   `clientContent {turnComplete:true}` starts a model turn with no caller audio.
 * - A model turn follows the next queued {@link FakeLivePlan} (or `defaultPlan`): 24 kHz PCM in
 *   `modelTurn.parts[].inlineData`, paced as a burst then faster than real time, with
 *   `outputTranscription` pieces, then `generationComplete` and `turnComplete`; or a `toolCall` with
 *   several `functionCalls`, after which it waits until every id has a `toolResponse` and then speaks
 *   the next plan.
 * Faults per connection index: `handshakeStatus`, `stall` (open, never answer setup), `binaryFrames`
 * (JSON in binary frames, as the service sometimes sends). Scripted through the connection:
 * `send`, `sendRaw`, `sendMalformedBatch`, `goAway` (then a 1011 close), `drop(1006|1011)`,
 * `sendAudio`. A wrong `key` is refused with 401.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { EnergyVad } from './fake-openai-realtime-server.ts';

export interface FakeLivePlan {
  /** 24 kHz PCM the model speaks; 'echo' = the caller's turn if it was 24 kHz, else a tone as long. */
  readonly audio?: Uint8Array | 'echo';
  readonly transcript?: string;
  readonly toolCalls?: ReadonlyArray<{ readonly name: string; readonly args: Record<string, unknown> }>;
  readonly chunkMs?: number;
  readonly burstMs?: number;
  readonly speed?: number;
}

export interface FakeLiveFaults {
  readonly handshakeStatus?: number;
  readonly stall?: boolean;
  readonly binaryFrames?: boolean;
}

export interface FakeLiveOptions {
  readonly apiKey: string;
  readonly userTranscript?: string;
  readonly vadSilenceMs?: number;
  readonly vadThreshold?: number;
  readonly recordAudio?: boolean;
}

const PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
const OUT_RATE = 24000;

interface ActiveTurn {
  readonly audio: Uint8Array;
  readonly words: string[];
  sent: number;
  spoken: number;
  timer: NodeJS.Timeout | undefined;
}

function tone24k(ms: number): Uint8Array {
  const n = Math.round((OUT_RATE * ms) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / OUT_RATE));
  return new Uint8Array(pcm.buffer);
}

export class FakeLiveConnection {
  readonly index: number;
  readonly url: string;
  /** Every client message, parsed; audio messages keep only their decoded length. */
  readonly clientMessages: Array<Record<string, unknown>> = [];
  readonly audio: Buffer[] = [];
  audioBytes = 0;
  /** Mime types seen on `realtimeInput.audio`. */
  readonly mimeTypes = new Set<string>();
  setup: Record<string, unknown> | undefined;
  /** The handle this connection's setup resumed, if any. */
  resumedFrom: string | undefined;
  readonly functionResponses: Array<{ id: string; name: string; response: unknown }> = [];
  /** `toolResponse` messages, each with the ids it answered. */
  readonly toolResponses: string[][] = [];
  /** Text parts of user turns sent as client content. */
  readonly userTexts: string[] = [];
  /** Every turn sent as client content, in order (user and model). */
  readonly contentTurns: Array<{ role: string; text: string }> = [];
  readonly pendingCalls = new Set<string>();
  /** Model turns as they ended. */
  readonly turns: Array<{ status: 'complete' | 'interrupted'; audioBytes: number }> = [];
  closeCode: number | undefined;
  readonly #ws: WebSocket;
  readonly #server: FakeGeminiLiveServer;
  readonly #faults: FakeLiveFaults;
  #vad: EnergyVad | undefined;
  #inRate = 16000;
  #turnAudio: Buffer[] = [];
  #lastTurn: { bytes: Buffer; rate: number } = { bytes: Buffer.alloc(0), rate: 16000 };
  #activity = false;
  #active: ActiveTurn | undefined;

  constructor(server: FakeGeminiLiveServer, ws: WebSocket, index: number, url: string, faults: FakeLiveFaults) {
    this.#server = server;
    this.#ws = ws;
    this.index = index;
    this.url = url;
    this.#faults = faults;
    ws.on('message', (data: Buffer) => this.#onMessage(data));
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.#stopActive();
    });
    ws.on('error', () => undefined);
  }

  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  /** Client messages that carry `key` at the top level (setup, realtimeInput, toolResponse, clientContent). */
  messagesWith(key: string): Array<Record<string, unknown>> {
    return this.clientMessages.filter((m) => key in m);
  }

  send(msg: Record<string, unknown>): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const text = JSON.stringify(msg);
    this.#ws.send(this.#faults.binaryFrames === true ? Buffer.from(text) : text);
  }

  sendRaw(data: string | Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(data);
  }

  sendMalformedBatch(): void {
    this.sendRaw('{"serverContent": {"modelTurn": ');
    this.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    this.sendRaw('"just a string"');
    this.send({});
    this.send({ somethingNew: { value: 1 } });
    this.send({ serverContent: 'not an object' });
    this.send({ serverContent: { modelTurn: { parts: 'nope' } } });
    this.send({ serverContent: { modelTurn: { parts: [{ inlineData: { data: 12, mimeType: 'audio/pcm;rate=24000' } }] } } });
    this.send({ toolCall: { functionCalls: [{ id: 'x' }] } });
    this.send({ toolCallCancellation: { ids: 'x' } });
  }

  /** One model audio message outside any scripted turn (benchmarks time these). */
  sendAudio(bytes: Uint8Array): void {
    this.send({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: `audio/pcm;rate=${OUT_RATE}`, data: Buffer.from(bytes).toString('base64') } }] } } });
  }

  /** `goAway`, then the close the service sends when the deadline passes. */
  goAway(closeAfterMs = 100): void {
    this.send({ goAway: { timeLeft: `${(closeAfterMs / 1000).toFixed(3)}s` } });
    setTimeout(() => this.drop(1011), closeAfterMs).unref();
  }

  /** Close with any code, e.g. 1008 (policy) or 1007 (invalid argument). */
  closeWith(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  drop(code: 1006 | 1011): void {
    if (code === 1011) this.#ws.close(1011, 'Deadline expired before operation could complete.');
    else this.#ws.terminate();
  }

  #onMessage(data: Buffer): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.clientMessages.push({ unparseable: true });
      return;
    }
    const ri = msg.realtimeInput as Record<string, unknown> | undefined;
    const audio = ri?.audio as { data?: string; mimeType?: string } | undefined;
    if (audio !== undefined) {
      const bytes = Buffer.from(String(audio.data ?? ''), 'base64');
      this.clientMessages.push({ realtimeInput: { audio: { mimeType: audio.mimeType, bytes: bytes.length } } });
      this.mimeTypes.add(String(audio.mimeType));
      this.audioBytes += bytes.length;
      if (this.#server.options.recordAudio !== false) this.audio.push(bytes);
      this.#server.onAudio?.(this, bytes);
      if (this.#faults.stall !== true) this.#onAudio(bytes, String(audio.mimeType));
      return;
    }
    this.clientMessages.push(msg);
    if (this.#faults.stall === true) return;
    if (this.setup === undefined) {
      if (msg.setup === undefined) {
        this.#ws.close(1007, 'Request contains an invalid argument.');
        return;
      }
      this.#onSetup(msg.setup as Record<string, unknown>);
      return;
    }
    if (ri !== undefined) {
      if (ri.activityStart !== undefined) this.#activityStart();
      else if (ri.activityEnd !== undefined) this.#activityEnd();
      else if (ri.audioStreamEnd === true && this.#vad?.speaking === true) this.#userTurnEnded();
      return;
    }
    const tr = msg.toolResponse as { functionResponses?: Array<{ id: string; name: string; response: unknown }> } | undefined;
    if (tr !== undefined) {
      const responses = tr.functionResponses ?? [];
      this.toolResponses.push(responses.map((r) => r.id));
      for (const r of responses) {
        this.functionResponses.push(r);
        this.pendingCalls.delete(r.id);
      }
      if (this.pendingCalls.size === 0) this.#startTurn();
      return;
    }
    const cc = msg.clientContent as { turns?: Array<{ role?: string; parts?: Array<{ text?: string }> }>; turnComplete?: boolean } | undefined;
    for (const turn of cc?.turns ?? []) {
      const text = (turn.parts ?? []).map((p) => p.text ?? '').join('');
      this.contentTurns.push({ role: String(turn.role), text });
      if (turn.role === 'user') this.userTexts.push(text);
    }
    // Client content interrupts the model's current generation (as the Live API documents).
    if ((cc?.turns ?? []).length > 0) this.#interrupt();
    if (cc?.turnComplete === true) this.#startTurn();
  }

  #onSetup(setup: Record<string, unknown>): void {
    const gen = setup.generationConfig as { responseModalities?: string[] } | undefined;
    if (typeof setup.model !== 'string' || !setup.model.startsWith('models/') || !(gen?.responseModalities ?? []).includes('AUDIO')) {
      this.#ws.close(1007, 'Request contains an invalid argument.');
      return;
    }
    const handle = (setup.sessionResumption as { handle?: string } | undefined)?.handle;
    if (handle !== undefined) {
      if (!this.#server.issuedHandles.has(handle)) {
        this.#ws.close(1008, 'Invalid session resumption handle.');
        return;
      }
      this.resumedFrom = handle;
    }
    this.setup = setup;
    const aad = (setup.realtimeInputConfig as { automaticActivityDetection?: { disabled?: boolean } } | undefined)?.automaticActivityDetection;
    this.#vad = aad?.disabled === true ? undefined : this.#newVad(16000);
    this.send({ setupComplete: {} });
    this.#issueHandle();
  }

  #newVad(rate: number): EnergyVad {
    return new EnergyVad(rate, this.#server.options.vadThreshold ?? 500, this.#server.options.vadSilenceMs ?? 200);
  }

  #issueHandle(): void {
    if (this.setup?.sessionResumption === undefined) return;
    const handle = `handle-${randomUUID()}`;
    this.#server.issuedHandles.add(handle);
    this.send({ sessionResumptionUpdate: { newHandle: handle, resumable: true } });
  }

  #onAudio(bytes: Buffer, mimeType: string): void {
    const rate = Number(/rate=(\d+)/.exec(mimeType)?.[1] ?? '16000');
    if (rate !== this.#inRate) {
      this.#inRate = rate;
      if (this.#vad !== undefined) this.#vad = this.#newVad(rate);
    }
    this.#turnAudio.push(bytes);
    const vad = this.#vad;
    if (vad === undefined) return;
    const copy = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
    for (const t of vad.push(new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2))) {
      if (t.kind === 'start') {
        this.#turnAudio = [bytes];
        this.#interrupt();
      } else this.#userTurnEnded();
    }
    if (!vad.speaking && this.#turnAudio.length > 0 && this.#active === undefined) this.#turnAudio = this.#turnAudio.slice(-1);
  }

  #activityStart(): void {
    this.#activity = true;
    this.#turnAudio = [];
    this.#interrupt();
  }

  #activityEnd(): void {
    if (!this.#activity) return;
    this.#activity = false;
    this.#userTurnEnded();
  }

  #interrupt(): void {
    if (this.#active === undefined && this.pendingCalls.size === 0) return;
    const sent = this.#active?.sent ?? 0;
    this.#stopActive();
    if (this.pendingCalls.size > 0) {
      this.send({ toolCallCancellation: { ids: [...this.pendingCalls] } });
      this.pendingCalls.clear();
    }
    this.send({ serverContent: { interrupted: true } });
    this.turns.push({ status: 'interrupted', audioBytes: sent });
  }

  #userTurnEnded(): void {
    this.#lastTurn = { bytes: Buffer.concat(this.#turnAudio), rate: this.#inRate };
    this.#turnAudio = [];
    if (this.setup?.inputAudioTranscription !== undefined) {
      const words = (this.#server.options.userTranscript ?? 'hello there').split(' ');
      words.forEach((w, i) => this.send({ serverContent: { inputTranscription: { text: i === 0 ? w : ` ${w}` } } }));
    }
    this.#startTurn();
  }

  #startTurn(): void {
    if (this.#active !== undefined) return;
    const plan = this.#server.plans.shift() ?? this.#server.defaultPlan;
    if (plan.toolCalls !== undefined && plan.toolCalls.length > 0) {
      const calls = plan.toolCalls.map((c) => ({ id: `function-call-${randomUUID()}`, name: c.name, args: c.args }));
      for (const c of calls) this.pendingCalls.add(c.id);
      this.send({ toolCall: { functionCalls: calls } });
      return;
    }
    const last = this.#lastTurn;
    const audio = plan.audio instanceof Uint8Array ? plan.audio : last.rate === OUT_RATE ? new Uint8Array(last.bytes) : tone24k(last.bytes.length / ((last.rate * 2) / 1000));
    const active: ActiveTurn = { audio, words: (plan.transcript ?? '').split(' ').filter((w) => w !== ''), sent: 0, spoken: 0, timer: undefined };
    this.#active = active;
    const bytesPerMs = (OUT_RATE * 2) / 1000;
    const chunk = Math.max(2, Math.round((plan.chunkMs ?? 40) * bytesPerMs) & ~1);
    const burst = Math.round((plan.burstMs ?? 200) * bytesPerMs);
    const interval = (plan.chunkMs ?? 40) / (plan.speed ?? 2);
    const transcribe = this.setup?.outputAudioTranscription !== undefined;
    const step = (): void => {
      active.timer = undefined;
      if (this.#active !== active || !this.open) return;
      do {
        const piece = active.audio.subarray(active.sent, active.sent + chunk);
        if (piece.length > 0) {
          this.sendAudio(piece);
          active.sent += piece.length;
        }
        const word = active.words[active.spoken];
        if (word !== undefined) {
          active.spoken++;
          if (transcribe) this.send({ serverContent: { outputTranscription: { text: active.spoken === 1 ? word : ` ${word}` } } });
        }
      } while (active.sent < burst && active.sent < active.audio.length);
      if (active.sent < active.audio.length || active.spoken < active.words.length) {
        active.timer = setTimeout(step, interval);
        return;
      }
      this.#active = undefined;
      this.send({ serverContent: { generationComplete: true } });
      this.send({ serverContent: { turnComplete: true }, usageMetadata: { promptTokenCount: 10, responseTokenCount: 5, totalTokenCount: 15 } });
      this.turns.push({ status: 'complete', audioBytes: active.sent });
      this.#issueHandle();
    };
    step();
  }

  #stopActive(): void {
    const active = this.#active;
    this.#active = undefined;
    if (active?.timer !== undefined) clearTimeout(active.timer);
  }
}

export class FakeGeminiLiveServer {
  readonly options: FakeLiveOptions;
  readonly connections: FakeLiveConnection[] = [];
  handshakes = 0;
  readonly plans: FakeLivePlan[] = [];
  defaultPlan: FakeLivePlan = { audio: 'echo', transcript: 'you said something' };
  faultsFor: (index: number) => FakeLiveFaults = () => ({});
  onAudio: ((conn: FakeLiveConnection, bytes: Buffer) => void) | undefined;
  /** Resumption handles handed out (any of them resumes). */
  readonly issuedHandles = new Set<string>();
  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(options: FakeLiveOptions) {
    this.options = options;
    this.#http = createServer((_req, res) => res.writeHead(404).end());
    this.#http.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#http.listen(0, '127.0.0.1', resolve));
    const addr = this.#http.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.#port = addr.port;
  }

  /** `baseUrl` for the adapter: a host with no path, so the SDK dials `//ws/...`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get openConnections(): number {
    return this.connections.filter((c) => c.open).length;
  }

  /** Resolve when `pred` holds (polled every 5 ms), or throw after `timeoutMs`. */
  async waitUntil(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`fake gemini live: ${what} not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const index = this.handshakes++;
    const faults = this.faultsFor(index);
    // Not `new URL(req.url, base)`: the leading `//ws` would be taken for a host.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = (q < 0 ? raw : raw.slice(0, q)).replace(/^\/+/, '/');
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const reject = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      socket.end(`HTTP/1.1 ${status} Rejected\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    if (path !== PATH) return reject(404, { error: { code: 404, message: 'Not found', status: 'NOT_FOUND' } });
    if (query.get('key') !== this.options.apiKey) {
      return reject(401, { error: { code: 401, message: 'API key not valid. Please pass a valid API key.', status: 'UNAUTHENTICATED' } });
    }
    if (faults.handshakeStatus !== undefined) return reject(faults.handshakeStatus, { error: { code: faults.handshakeStatus, message: 'fault', status: 'UNAVAILABLE' } });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections.push(new FakeLiveConnection(this, ws, index, raw, faults));
    });
  }
}
