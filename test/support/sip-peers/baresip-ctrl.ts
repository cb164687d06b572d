/**
 * Client for baresip 1.0.0's `ctrl_tcp` module: netstring-framed JSON both ways.
 *
 * Requests are `{"command":"dial","params":"sip:...","token":"7"}`; baresip answers
 * `{"response":true,"ok":true,"data":"...","token":"7"}` and, unasked, sends events such as
 * `{"event":true,"type":"CALL_ESTABLISHED","peeruri":"sip:...","id":"...","param":"..."}`.
 * Several netstrings can arrive in one read and one can be split across reads. The commands
 * `dial`, `hangup`, `sndcode`, `transfer` and `accept` come from the `menu` module, which must be loaded.
 */
import net from 'node:net';

/** An event baresip reported (type e.g. CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, CALL_DTMF_START). */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  readonly accountaor?: string;
  readonly direction?: string;
  readonly peeruri?: string;
  readonly id?: string;
  readonly param?: string;
  readonly [key: string]: unknown;
}

/** The answer to one command. */
export interface BaresipResponse {
  readonly ok: boolean;
  readonly data: string;
}

/** Incremental netstring decoder (`LEN:BYTES,`). */
export class NetstringDecoder {
  #buf: Buffer = Buffer.alloc(0);

  /**
   * Add bytes and return every complete message.
   * @throws Error on a malformed frame (the stream cannot be resynchronised after that).
   */
  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const colon = this.#buf.indexOf(0x3a);
      if (colon < 0) {
        if (this.#buf.length > 10 || !/^\d*$/.test(this.#buf.toString('latin1'))) throw new Error('netstring: bad length prefix');
        return out;
      }
      const lenText = this.#buf.subarray(0, colon).toString('latin1');
      if (!/^\d{1,9}$/.test(lenText)) throw new Error(`netstring: bad length '${lenText.slice(0, 20)}'`);
      const len = Number(lenText);
      const end = colon + 1 + len;
      if (this.#buf.length < end + 1) return out;
      if (this.#buf[end] !== 0x2c) throw new Error('netstring: missing trailing comma');
      out.push(this.#buf.subarray(colon + 1, end));
      this.#buf = this.#buf.subarray(end + 1);
    }
  }
}

/** Frame one message as a netstring. */
export function encodeNetstring(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`, 'latin1'), body, Buffer.from(',', 'latin1')]);
}

/** A connection to one baresip's ctrl_tcp port. */
export class BaresipCtrl {
  /** Every event received on this connection, oldest first. */
  readonly events: BaresipEvent[] = [];
  #socket: net.Socket;
  #decoder = new NetstringDecoder();
  #token = 0;
  #pending = new Map<string, { resolve: (r: BaresipResponse) => void; reject: (e: Error) => void }>();
  #watchers = new Set<() => void>();
  #closed = false;
  #error: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.#decoder.push(chunk);
      } catch (err) {
        this.#fail(err as Error);
        return;
      }
      for (const m of messages) this.#onMessage(m);
    });
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('baresip ctrl connection closed')));
  }

  /**
   * Connect, retrying until baresip listens or `timeoutMs` passes.
   * @throws Error when no connection could be made in time.
   */
  static async connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<BaresipCtrl> {
    const deadline = Date.now() + timeoutMs;
    let last: Error | undefined;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, host);
          s.once('connect', () => {
            s.removeListener('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        return new BaresipCtrl(socket);
      } catch (err) {
        last = err as Error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`cannot connect to baresip ctrl_tcp on ${host}:${port}: ${last?.message ?? 'timeout'}`);
  }

  #onMessage(raw: Buffer): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return; // not JSON: baresip never sends that, and a test client should not die of it
    }
    if (msg.event === true && typeof msg.type === 'string') {
      this.events.push(msg as BaresipEvent);
      for (const w of this.#watchers) w();
    } else if (msg.response === true) {
      const token = typeof msg.token === 'string' ? msg.token : '';
      const p = this.#pending.get(token);
      if (p === undefined) return;
      this.#pending.delete(token);
      p.resolve({ ok: msg.ok === true, data: typeof msg.data === 'string' ? msg.data : '' });
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    for (const w of this.#watchers) w();
    this.#socket.destroy();
  }

  /**
   * Run a menu command; resolves with baresip's answer (check `ok`).
   * @throws Error when the connection fails or no answer comes within `timeoutMs`.
   */
  command(command: string, params?: string, timeoutMs = 5000): Promise<BaresipResponse> {
    if (this.#closed) return Promise.reject(this.#error ?? new Error('closed'));
    const token = String(++this.#token);
    const body = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new Error(`baresip: no answer to '${command}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(token, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.write(encodeNetstring(body));
    });
  }

  /** Run a command and require `ok`. */
  async #must(command: string, params?: string): Promise<BaresipResponse> {
    const r = await this.command(command, params);
    if (!r.ok) throw new Error(`baresip '${command}${params === undefined ? '' : ` ${params}`}' failed: ${r.data.trim()}`);
    return r;
  }

  /** Place a call. */
  dial(uri: string): Promise<BaresipResponse> {
    return this.#must('dial', uri);
  }

  /** Hang up the current call. */
  hangup(): Promise<BaresipResponse> {
    return this.#must('hangup');
  }

  /** Answer the ringing call (for `answermode=manual`). */
  accept(): Promise<BaresipResponse> {
    return this.#must('accept');
  }

  /** Send DTMF on the current call (RFC 4733 when telephone-event was negotiated). */
  sndcode(digits: string): Promise<BaresipResponse> {
    return this.#must('sndcode', digits);
  }

  /** Blind-transfer the current call's peer to `uri` (REFER). */
  transfer(uri: string): Promise<BaresipResponse> {
    return this.#must('transfer', uri);
  }

  /**
   * The first event (received at any time on this connection, from index `from`) that matches.
   * @throws Error after `timeoutMs` or when the connection closes first.
   */
  waitForEvent(
    match: string | ((e: BaresipEvent) => boolean),
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<BaresipEvent> {
    const pred = typeof match === 'string' ? (e: BaresipEvent) => e.type === match : match;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.slice(opts.from ?? 0).find(pred);
        if (found !== undefined) finish(() => resolve(found));
        else if (this.#closed) finish(() => reject(this.#error ?? new Error('closed')));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`baresip: no ${typeof match === 'string' ? match : 'matching'} event within ${timeoutMs} ms; got ${this.events.map((e) => e.type).join(', ')}`)),
          ),
        timeoutMs,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
        f();
      };
      this.#watchers.add(check);
      check();
    });
  }

  /** Close the connection. */
  close(): void {
    this.#fail(new Error('closed'));
  }
}
