/**
 * A local stand-in for ElevenLabs text-to-speech that speaks the real wire protocol, so tests
 * drive the real `@elevenlabs/elevenlabs-js` SDK (HTTP) and a plain `ws` client (stream-input).
 *
 * Endpoints (all check the `xi-api-key` header; a wrong key gets 401 like the real service):
 * - `POST /v1/text-to-speech/{voice}/stream?output_format=F` -> raw audio bytes, streamed in
 *   `chunkBytes`-sized pieces (odd by default, so PCM samples straddle chunks).
 * - `POST /v1/text-to-speech/{voice}/stream/with-timestamps?output_format=F` -> NDJSON lines
 *   `{audio_base64, alignment, normalized_alignment}`; alignment times are seconds from the start
 *   of the utterance (`characters`, `character_start_times_seconds`, `character_end_times_seconds`).
 * - `GET /v1/text-to-speech/{voice}/stream-input?model_id=M&output_format=F` (WebSocket): first
 *   message `{"text":" ", voice_settings, generation_config}`, then text; audio is generated when
 *   the buffered text reaches the next `chunk_length_schedule` size, on `flush: true`, or at the
 *   end `{"text":""}`. Replies `{"audio": b64, "isFinal": null, "alignment": {chars,
 *   charStartTimesMs, charDurationsMs}}` (times relative to that audio chunk), then `{"isFinal": true}`, then closes 1000.
 *
 * Audio is a 440 Hz tone, `msPerChar` milliseconds per character, in the requested format
 * (`ulaw_8000`, `alaw_8000`, `pcm_8000|16000|22050|24000|44100`).
 *
 * Faults per request/connection index (`faultsFor`, counting every request and upgrade):
 * `status` (HTTP status / handshake status), `headersDelayMs` (slow response headers),
 * `firstByteDelayMs` (headers at once, first audio late), `dropAfterBytes` (destroy the socket
 * mid-body / after that much audio on the WebSocket), `malformed` (a broken NDJSON line / a
 * non-JSON WebSocket message after the first audio).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { alawEncode, mulawEncode } from '../../src/media/g711.ts';

export interface FakeElevenLabsFaults {
  readonly status?: number;
  readonly headersDelayMs?: number;
  readonly firstByteDelayMs?: number;
  readonly dropAfterBytes?: number;
  readonly malformed?: boolean;
}

export interface FakeElevenLabsRequest {
  readonly index: number;
  readonly kind: 'stream' | 'with-timestamps' | 'stream-input';
  readonly voice: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** HTTP: the JSON body. WebSocket: every parsed client message in order. */
  readonly messages: unknown[];
  closeCode?: number;
}

export interface FakeElevenLabsOptions {
  readonly apiKey: string;
  readonly msPerChar?: number;
  readonly chunkBytes?: number;
  readonly chunkGapMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Audio bytes of `chars` characters in `format`, plus its sample rate and bytes per sample. */
export function fakeAudio(format: string, chars: number, msPerChar: number): { bytes: Buffer; rate: number; bytesPerSample: number } {
  const m = /^(ulaw|alaw|pcm)_(\d+)$/.exec(format);
  if (m === null) throw new Error(`unsupported format ${format}`);
  const rate = Number(m[2]);
  const n = Math.round((rate * chars * msPerChar) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  if (m[1] === 'ulaw') return { bytes: Buffer.from(mulawEncode(pcm)), rate, bytesPerSample: 1 };
  if (m[1] === 'alaw') return { bytes: Buffer.from(alawEncode(pcm)), rate, bytesPerSample: 1 };
  return { bytes: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), rate, bytesPerSample: 2 };
}

export class FakeElevenLabsServer {
  readonly options: FakeElevenLabsOptions;
  readonly requests: FakeElevenLabsRequest[] = [];
  faultsFor: (index: number) => FakeElevenLabsFaults = () => ({});
  #count = 0;
  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(options: FakeElevenLabsOptions) {
    this.options = options;
    this.#http = createServer((req, res) => void this.#onRequest(req, res));
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

  /** Requests and upgrades seen so far (the index the next one gets). */
  get requestCount(): number {
    return this.#count;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Sockets (HTTP and WebSocket) currently open towards the server. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  get #msPerChar(): number {
    return this.options.msPerChar ?? 20;
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/v1\/text-to-speech\/([^/]+)\/stream(\/with-timestamps)?$/.exec(url.pathname);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || m === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
      return;
    }
    const index = this.#count++;
    const faults = this.faultsFor(index);
    let body: { text?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown };
    } catch {
      body = {};
    }
    const kind = m[2] !== undefined ? 'with-timestamps' : 'stream';
    this.requests.push({ index, kind, voice: decodeURIComponent(m[1] ?? ''), query: url.searchParams, headers: req.headers, messages: [body] });
    const json = (status: number, detail: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ detail }));
    };
    if (faults.headersDelayMs !== undefined) await sleep(faults.headersDelayMs);
    if (res.destroyed) return;
    if (req.headers['xi-api-key'] !== this.options.apiKey) return json(401, { status: 'invalid_api_key', message: 'Invalid API key' });
    if (faults.status !== undefined) return json(faults.status, { status: 'fault', message: 'injected' });
    if (typeof body.text !== 'string' || body.text.trim() === '') return json(422, { status: 'invalid_text', message: 'text is empty' });
    const format = url.searchParams.get('output_format') ?? 'mp3_44100_128';
    let audio: ReturnType<typeof fakeAudio>;
    try {
      audio = fakeAudio(format, body.text.length, this.#msPerChar);
    } catch {
      return json(422, { status: 'invalid_output_format', message: format });
    }
    res.writeHead(200, { 'content-type': kind === 'stream' ? 'audio/basic' : 'application/json' });
    res.flushHeaders();
    if (faults.firstByteDelayMs !== undefined) await sleep(faults.firstByteDelayMs);
    const gap = this.options.chunkGapMs ?? 5;
    let sent = 0;
    if (kind === 'stream') {
      const size = this.options.chunkBytes ?? 999;
      for (let o = 0; o < audio.bytes.length && !res.destroyed; o += size) {
        const piece = audio.bytes.subarray(o, o + size);
        res.write(piece);
        sent += piece.length;
        if (faults.dropAfterBytes !== undefined && sent >= faults.dropAfterBytes) {
          res.socket?.destroy();
          return;
        }
        await sleep(gap);
      }
      res.end();
      return;
    }
    // NDJSON: one line per group of characters, with absolute alignment times.
    const text = body.text;
    const charsPerLine = 12;
    const bytesPerChar = audio.bytes.length / text.length;
    for (let c = 0; c < text.length && !res.destroyed; c += charsPerLine) {
      const part = [...text.slice(c, c + charsPerLine)];
      const from = Math.round(c * bytesPerChar);
      const to = Math.round(Math.min(text.length, c + charsPerLine) * bytesPerChar);
      const alignment = {
        characters: part,
        character_start_times_seconds: part.map((_, i) => ((c + i) * this.#msPerChar) / 1000),
        character_end_times_seconds: part.map((_, i) => ((c + i + 1) * this.#msPerChar) / 1000),
      };
      const piece = audio.bytes.subarray(from - (from % audio.bytesPerSample), to - (to % audio.bytesPerSample));
      res.write(`${JSON.stringify({ audio_base64: piece.toString('base64'), alignment, normalized_alignment: alignment })}\n`);
      sent += piece.length;
      if (faults.malformed === true && c === 0) res.write('{"audio_base64": "AAAA", this is not json\n');
      if (faults.dropAfterBytes !== undefined && sent >= faults.dropAfterBytes) {
        res.socket?.destroy();
        return;
      }
      await sleep(gap);
    }
    res.end();
  }

  async #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/v1\/text-to-speech\/([^/]+)\/stream-input$/.exec(url.pathname);
    const index = this.#count++;
    const faults = this.faultsFor(index);
    // A client that gives up during a slow handshake half-closes; do not keep its socket around.
    socket.once('end', () => socket.destroy());
    if (faults.headersDelayMs !== undefined) await sleep(faults.headersDelayMs);
    if (socket.destroyed) return;
    const reject = (status: number): void => {
      const text = JSON.stringify({ detail: { status: status === 401 ? 'invalid_api_key' : 'fault', message: 'rejected' } });
      socket.end(`HTTP/1.1 ${status} Rejected\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
    };
    if (m === null) return reject(404);
    if (req.headers['xi-api-key'] !== this.options.apiKey) return reject(401);
    if (faults.status !== undefined) return reject(faults.status);
    const record: FakeElevenLabsRequest = {
      index,
      kind: 'stream-input',
      voice: decodeURIComponent(m[1] ?? ''),
      query: url.searchParams,
      headers: req.headers,
      messages: [],
    };
    this.requests.push(record);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onStreamInput(ws, record, faults));
  }

  #onStreamInput(ws: WebSocket, record: FakeElevenLabsRequest, faults: FakeElevenLabsFaults): void {
    const format = record.query.get('output_format') ?? 'mp3_44100_128';
    let schedule = [120, 160, 250, 290];
    let buffered = '';
    let scheduleIdx = 0;
    let sentBytes = 0;
    let first = true;
    let firstAudio = true;
    let malformedSent = false;
    // Generation is serialized so audio keeps text order even with an artificial first-byte delay.
    let chain = Promise.resolve();
    const generate = (text: string): void => {
      chain = chain.then(async () => {
        if (text === '' || ws.readyState !== ws.OPEN) return;
        if (firstAudio && faults.firstByteDelayMs !== undefined) await sleep(faults.firstByteDelayMs);
        firstAudio = false;
        if (ws.readyState !== ws.OPEN) return;
        const audio = fakeAudio(format, text.length, this.#msPerChar);
        const chars = [...text];
        ws.send(
          JSON.stringify({
            audio: audio.bytes.toString('base64'),
            isFinal: null,
            normalizedAlignment: null,
            alignment: {
              chars,
              charStartTimesMs: chars.map((_, i) => i * this.#msPerChar),
              charDurationsMs: chars.map(() => this.#msPerChar),
            },
          }),
        );
        sentBytes += audio.bytes.length;
        if (faults.malformed === true && !malformedSent) {
          malformedSent = true;
          ws.send('{"audio": "AAAA", not json');
        }
        if (faults.dropAfterBytes !== undefined && sentBytes >= faults.dropAfterBytes) ws.terminate();
      });
    };
    ws.on('message', (data: Buffer) => {
      let msg: { text?: unknown; flush?: unknown; generation_config?: { chunk_length_schedule?: number[] } };
      try {
        msg = JSON.parse(data.toString('utf8')) as typeof msg;
      } catch {
        ws.close(1008, 'Invalid JSON');
        return;
      }
      record.messages.push(msg);
      if (typeof msg.text !== 'string') {
        ws.close(1008, 'Invalid message: text is required');
        return;
      }
      if (first) {
        first = false;
        if (msg.text !== ' ') ws.close(1008, 'First message must be a single space');
        const s = msg.generation_config?.chunk_length_schedule;
        if (Array.isArray(s) && s.length > 0) schedule = s;
        return;
      }
      if (msg.text === '') {
        generate(buffered);
        buffered = '';
        chain = chain.then(() => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(JSON.stringify({ isFinal: true }));
          ws.close(1000);
        });
        return;
      }
      buffered += msg.text;
      const threshold = schedule[Math.min(scheduleIdx, schedule.length - 1)] ?? 120;
      if (msg.flush === true || buffered.length >= threshold) {
        scheduleIdx++;
        generate(buffered);
        buffered = '';
      }
    });
    ws.on('close', (code: number) => {
      record.closeCode = code;
    });
    ws.on('error', () => undefined);
  }
}
