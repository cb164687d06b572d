/**
 * A plain `ws` client standing in for a telephony platform: it sends text and binary frames exactly as the
 * test writes them, and records everything it receives with arrival times.
 */
import WebSocket from 'ws';

export interface PeerText {
  readonly at: number;
  readonly text: string;
  /** The frame parsed as JSON, when it is JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export interface PeerBinary {
  readonly at: number;
  readonly bytes: Buffer;
}

export class WsPeer {
  readonly ws: WebSocket;
  readonly texts: PeerText[] = [];
  readonly binaries: PeerBinary[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  onText: ((t: PeerText) => void) | undefined;
  onBinary: ((b: PeerBinary) => void) | undefined;
  #waiters: Array<{ match: (t: PeerText) => boolean; resolve: (t: PeerText) => void }> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const at = performance.now();
      if (isBinary) {
        const b = { at, bytes: data };
        this.binaries.push(b);
        this.onBinary?.(b);
        return;
      }
      const text = data.toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        const v: unknown = JSON.parse(text);
        if (v !== null && typeof v === 'object') json = v as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const t = { at, text, json };
      this.texts.push(t);
      this.onText?.(t);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(t)) return true;
        w.resolve(t);
        return false;
      });
    });
  }

  /** Open a connection; rejects with `status <code>: <body>` when the upgrade is refused. */
  static connect(url: string, protocols?: string | string[], headers?: Record<string, string>): Promise<WsPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...(headers === undefined ? {} : { headers }) });
      const peer = new WsPeer(ws);
      ws.once('open', () => resolve(peer));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => {
          ws.terminate();
          reject(new Error(`status ${res.statusCode}: ${body}`));
        });
      });
      ws.once('error', (err) => reject(err));
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendText(text: string): void {
    if (this.open) this.ws.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.open) this.ws.send(bytes, { binary: true });
  }

  /** The first text frame matching `match` (already received or to come). */
  waitText(match: (t: PeerText) => boolean, timeoutMs = 5000): Promise<PeerText> {
    const seen = this.texts.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching text frame within ${timeoutMs} ms; got ${this.texts.map((t) => t.text.slice(0, 60)).join(' | ')}`));
      }, timeoutMs);
      const done = (t: PeerText): void => {
        clearTimeout(timer);
        resolve(t);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000))]);
    this.ws.terminate();
  }
}
