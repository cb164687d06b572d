/**
 * A local stand-in for Deepgram's live transcription endpoint (`GET /v1/listen`, WebSocket) that
 * speaks the real wire protocol, so tests drive the real `@deepgram/sdk` against 127.0.0.1.
 *
 * It behaves like a tiny deterministic recogniser: the utterances given in `transcript` are
 * "heard" as audio arrives, one word per `wordMs` of audio (bytes per second follow the
 * `encoding`/`sample_rate` query parameters). It sends:
 * - `SpeechStarted` when an utterance's first audio arrives,
 * - interim `Results` (is_final false) every `interimEveryMs` of audio with the words heard so far,
 * - a final `Results` (is_final and speech_final true) once all words of the utterance were heard,
 *   then `UtteranceEnd` (`last_word_end`),
 * - on `{"type":"Finalize"}`: a final `Results` with `from_finalize: true` for the words heard but
 *   not yet finalized (empty transcript if none),
 * - on `{"type":"CloseStream"}`: the same flush, then `Metadata`, then a 1000 close.
 * `{"type":"KeepAlive"}` is recorded only. Every binary frame and text message is recorded per connection.
 *
 * Faults, chosen per connection index by `faultsFor` (0 = first connection): `handshakeStatus`
 * (answer the upgrade with that HTTP status), `openDelayMs` (slow handshake), `dropAfterBytes` +
 * `dropCode` (1006 = socket destroyed without a close frame, 1011 = close frame 1011), and
 * `malformedAfterBytes` (send non-JSON text and shape-broken JSON once), `silent` (open the socket,
 * take audio and control messages, and never send anything nor close: a first byte that never comes).
 * A wrong or missing `Authorization: Token KEY` gets a 401 handshake like the real service.
 */
import { mulawDecode } from '../../src/media/g711.ts';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeDeepgramFaults {
  readonly handshakeStatus?: number;
  readonly openDelayMs?: number;
  readonly dropAfterBytes?: number;
  readonly dropCode?: 1006 | 1011;
  readonly malformedAfterBytes?: number;
  readonly silent?: boolean;
}

/** What one connection sent and how it ended. */
export interface FakeDeepgramConnection {
  readonly index: number;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  audioBytes: number;
  readonly audio: Buffer[];
  /** Parsed text messages from the client (KeepAlive, Finalize, CloseStream...). */
  readonly controls: Array<{ type?: string }>;
  /** Close code seen by the server, once closed. */
  closeCode: number | undefined;
}

export interface FakeDeepgramOptions {
  readonly apiKey: string;
  /** Utterances the fake "hears", in order. */
  readonly transcript: readonly string[];
  readonly wordMs?: number;
  readonly interimEveryMs?: number;
  /**
   * Count only audio with energy as heard (a call streams silence between turns): words come from
   * speech, as a real recogniser's do. Default false: every byte counts.
   */
  readonly speechOnly?: boolean;
}

interface RecognizerState {
  utterance: number;
  utteranceStartMs: number;
  heard: number;
  finalized: number;
  speechStarted: boolean;
  lastInterimMs: number;
  malformedSent: boolean;
}

export class FakeDeepgramServer {
  readonly options: FakeDeepgramOptions;
  readonly connections: FakeDeepgramConnection[] = [];
  /** Upgrade attempts, including rejected ones. */
  handshakes = 0;
  /** Faults for the connection with this index (counting every upgrade attempt). */
  faultsFor: (index: number) => FakeDeepgramFaults = () => ({});
  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<Socket>();
  readonly #clients = new Set<WebSocket>();
  #port = 0;

  constructor(options: FakeDeepgramOptions) {
    this.options = options;
    this.#http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    this.#http.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#http.on('upgrade', (req, socket, head) => void this.#onUpgrade(req, socket as Socket, head));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#http.listen(0, '127.0.0.1', resolve));
    const addr = this.#http.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.#port = addr.port;
  }

  /** `baseUrl` for `new DeepgramClient({ baseUrl })`. */
  get baseUrl(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  /** WebSocket connections currently open on the server side. */
  get openConnections(): number {
    return this.#clients.size;
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) c.terminate();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  async #onUpgrade(req: import('node:http').IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const index = this.handshakes++;
    const faults = this.faultsFor(index);
    const url = new URL(req.url ?? '/', 'http://x');
    // A client that gives up during a slow handshake half-closes; do not keep its socket around.
    socket.once('end', () => socket.destroy());
    if (faults.openDelayMs !== undefined) await new Promise((r) => setTimeout(r, faults.openDelayMs));
    if (socket.destroyed) return;
    const reject = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} Rejected\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    if (url.pathname !== '/v1/listen') return reject(404, { err_code: 'NOT_FOUND' });
    if (req.headers.authorization !== `Token ${this.options.apiKey}`) {
      return reject(401, { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.', request_id: randomUUID() });
    }
    if (faults.handshakeStatus !== undefined) return reject(faults.handshakeStatus, { err_code: 'FAULT' });
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, index, url.searchParams, req.headers, faults));
  }

  #onConnection(ws: WebSocket, index: number, query: URLSearchParams, headers: IncomingHttpHeaders, faults: FakeDeepgramFaults): void {
    const conn: FakeDeepgramConnection = { index, query, headers, audioBytes: 0, audio: [], controls: [], closeCode: undefined };
    this.connections.push(conn);
    this.#clients.add(ws);
    const requestId = randomUUID();
    const encoding = query.get('encoding') ?? 'linear16';
    const rate = Number(query.get('sample_rate') ?? '16000');
    const bytesPerMs = (rate * (encoding === 'linear16' ? 2 : 1)) / 1000;
    const wordMs = this.options.wordMs ?? 200;
    const interimEveryMs = this.options.interimEveryMs ?? 100;
    const utterances = this.options.transcript.map((t) => t.split(/\s+/).filter((w) => w !== ''));
    const st: RecognizerState = {
      utterance: 0,
      utteranceStartMs: 0,
      heard: 0,
      finalized: 0,
      speechStarted: false,
      lastInterimMs: 0,
      malformedSent: false,
    };
    const send = (msg: object): void => {
      if (ws.readyState === ws.OPEN && faults.silent !== true) ws.send(JSON.stringify(msg));
    };
    let speechBytes = 0;
    const audioMs = (): number => (this.options.speechOnly === true ? speechBytes : conn.audioBytes) / bytesPerMs;
    const loud = (chunk: Buffer): boolean => {
      const pcm = encoding === 'linear16' ? new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + (chunk.length & ~1))) : mulawDecode(chunk);
      let sum = 0;
      for (const v of pcm) sum += v * v;
      return Math.sqrt(sum / Math.max(1, pcm.length)) > 400;
    };
    const results = (from: number, to: number, isFinal: boolean, speechFinal: boolean, fromFinalize: boolean): void => {
      const words = (utterances[st.utterance] ?? []).slice(from, to).map((w, i) => {
        const start = (st.utteranceStartMs + (from + i) * wordMs) / 1000;
        return { word: w.toLowerCase(), punctuated_word: w, start, end: start + (wordMs * 0.8) / 1000, confidence: 0.99 };
      });
      const start = words[0]?.start ?? audioMs() / 1000;
      send({
        type: 'Results',
        channel_index: [0, 1],
        duration: (words.at(-1)?.end ?? start) - start,
        start,
        is_final: isFinal,
        speech_final: speechFinal,
        from_finalize: fromFinalize,
        channel: { alternatives: [{ transcript: words.map((w) => w.punctuated_word).join(' '), confidence: 0.98, words }] },
        metadata: {
          request_id: requestId,
          model_info: { name: 'general-nova-3', version: '2024-01-01', arch: 'nova-3' },
          model_uuid: randomUUID(),
        },
      });
    };
    const flush = (fromFinalize: boolean): void => {
      const from = st.finalized;
      results(from, st.heard, true, false, fromFinalize);
      st.finalized = st.heard;
    };
    const onAudio = (): void => {
      if (faults.malformedAfterBytes !== undefined && !st.malformedSent && conn.audioBytes >= faults.malformedAfterBytes) {
        st.malformedSent = true;
        ws.send('{"type":"Results", this is not json');
        send({ type: 'Results', channel: 'not an object' });
        send({ type: 'Results', channel: { alternatives: [{ transcript: 42 }] } });
        send({ no_type: true });
        send({ type: 'SomethingNew', value: 1 });
        ws.send(Buffer.from([1, 2, 3]));
      }
      const words = utterances[st.utterance];
      if (words === undefined) return;
      const now = audioMs();
      if (!st.speechStarted) {
        st.speechStarted = true;
        send({ type: 'SpeechStarted', channel: [0], timestamp: st.utteranceStartMs / 1000 });
      }
      st.heard = Math.max(st.heard, Math.min(words.length, Math.floor((now - st.utteranceStartMs) / wordMs)));
      if (st.heard === words.length) {
        results(st.finalized, words.length, true, true, false);
        const lastEnd = (st.utteranceStartMs + words.length * wordMs - wordMs * 0.2) / 1000;
        send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: lastEnd });
        st.utterance++;
        st.utteranceStartMs = now;
        st.heard = 0;
        st.finalized = 0;
        st.speechStarted = false;
        st.lastInterimMs = now;
      } else if (now - st.lastInterimMs >= interimEveryMs && st.heard > st.finalized) {
        st.lastInterimMs = now;
        results(st.finalized, st.heard, false, false, false);
      }
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        conn.audio.push(Buffer.from(data));
        conn.audioBytes += data.length;
        if (faults.dropAfterBytes !== undefined && conn.audioBytes >= faults.dropAfterBytes) {
          if (faults.dropCode === 1011) ws.close(1011, 'NET-0001');
          else ws.terminate();
          return;
        }
        if (this.options.speechOnly === true) {
          if (!loud(data)) return;
          speechBytes += data.length;
        }
        onAudio();
        return;
      }
      let msg: { type?: string };
      try {
        msg = JSON.parse(data.toString('utf8')) as { type?: string };
      } catch {
        msg = { type: 'unparseable' };
      }
      conn.controls.push(msg);
      if (msg.type === 'Finalize') flush(true);
      else if (msg.type === 'CloseStream') {
        if (st.heard > st.finalized) flush(false);
        send({
          type: 'Metadata',
          transaction_key: 'deprecated',
          request_id: requestId,
          sha256: '0'.repeat(64),
          created: new Date().toISOString(),
          duration: audioMs() / 1000,
          channels: 1,
        });
        if (faults.silent !== true) ws.close(1000);
      }
    });
    ws.on('close', (code: number) => {
      conn.closeCode = code;
      this.#clients.delete(ws);
    });
    ws.on('error', () => undefined);
  }
}
