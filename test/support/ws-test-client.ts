/**
 * A plain `ws` client speaking the Callroom WebSocket protocol, for tests and the bench: it records every
 * text message and binary frame with its arrival time, and waits for messages by type.
 */
import WebSocket from 'ws';

export interface ReceivedFrame {
  readonly at: number;
  readonly bytes: Buffer;
}

export interface TextMessage {
  readonly at: number;
  readonly type: string;
  readonly [key: string]: unknown;
}

export class WsTestClient {
  readonly ws: WebSocket;
  readonly messages: TextMessage[] = [];
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<{ match: (m: TextMessage) => boolean; resolve: (m: TextMessage) => void }> = [];
  #frameWaiters: Array<{ bytes: number; resolve: () => void }> = [];
  onFrame: ((frame: ReceivedFrame) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const at = performance.now();
      if (isBinary) {
        const frame = { at, bytes: data };
        this.frames.push(frame);
        this.onFrame?.(frame);
        const total = this.receivedBytes;
        this.#frameWaiters = this.#frameWaiters.filter((w) => {
          if (total < w.bytes) return true;
          w.resolve();
          return false;
        });
        return;
      }
      const m = { at, ...(JSON.parse(data.toString('utf8')) as { type: string }) };
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  /** Open a connection; rejects with the HTTP status and body when the upgrade is refused. */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsTestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
      const client = new WsTestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => {
          ws.terminate();
          reject(new RefusedError(res.statusCode ?? 0, body));
        });
      });
      ws.once('error', (err) => reject(err));
    });
  }

  get receivedBytes(): number {
    let n = 0;
    for (const f of this.frames) n += f.bytes.byteLength;
    return n;
  }

  /** The received audio as one sample array. */
  receivedSamples(): Int16Array {
    const all = Buffer.concat(this.frames.map((f) => f.bytes));
    return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + (all.byteLength & ~1)));
  }

  /** The first message of `type` (already received or the next one), matching `where`. */
  next(type: string, timeoutMs = 5000, where: (m: TextMessage) => boolean = () => true): Promise<TextMessage> {
    const match = (m: TextMessage): boolean => m.type === type && where(m);
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no ${type} message within ${timeoutMs} ms; got ${this.messages.map((x) => x.type).join(',')}`));
      }, timeoutMs);
      const done = (m: TextMessage): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  /** Messages of `type` received so far. */
  all(type: string): TextMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolve once at least `bytes` of audio have arrived. */
  audio(bytes: number, timeoutMs = 5000): Promise<void> {
    if (this.receivedBytes >= bytes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.receivedBytes} of ${bytes} audio bytes within ${timeoutMs} ms`)), timeoutMs);
      this.#frameWaiters.push({
        bytes,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendPcm(samples: Int16Array): void {
    this.ws.send(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), { binary: true });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
    this.ws.terminate();
  }
}

export class RefusedError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`upgrade refused with ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

/** A tone, as 16-bit samples. */
export function tone(rate: number, ms: number, hz: number, amplitude = 8000, phase = 0): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (phase + i)) / rate));
  return out;
}

/** Power of `hz` in `samples` relative to the total (Goertzel), 0..1. */
export function toneShare(samples: Int16Array, rate: number, hz: number): number {
  const k = (2 * Math.cos((2 * Math.PI * hz) / rate));
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return energy === 0 ? 0 : (2 * power) / (samples.length * energy);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
