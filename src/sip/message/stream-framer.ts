import { resolveLimits, type SipLimits, type SipParseOptions } from './limits.ts';
import type { SipParseError } from './parse-error.ts';
import { completeMessage } from './parse-message.ts';
import { parseHead, type Head } from './parse-head.ts';
import type { SipMessage } from './sip-message.ts';
import { parseError } from './validate.ts';

/**
 * What the framer found in the stream, in order:
 * - `message`: a complete, valid message (its own copy of the bytes).
 * - `invalid`: a framed but invalid message; answer it when `error.canRespond`, then go on.
 * - `keepalive`: a CRLF between messages (RFC 5626 §4.4.1). Every CRLF yields `crlf`; one that
 *   completes a double CRLF yields `ping` instead, which a server answers with a single CRLF
 *   ("pong"); a client waiting for a pong takes any `crlf`. Deciding per CRLF, without looking
 *   ahead, makes the events the same however the bytes were split.
 * - `fatal`: the stream cannot be framed any further (no or bad Content-Length, over the size
 *   limit). Answer when `error.canRespond`, then close the connection; the framer takes no more.
 */
export type FramerEvent =
  | { readonly type: 'message'; readonly message: SipMessage }
  | { readonly type: 'invalid'; readonly error: SipParseError }
  | { readonly type: 'keepalive'; readonly kind: 'crlf' | 'ping' }
  | { readonly type: 'fatal'; readonly error: SipParseError };

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Splits a byte stream (TCP, TLS) into SIP messages by Content-Length, which stream transports
 * must carry (RFC 3261 §18.3). Feed chunks of any size; the buffer never holds more than
 * `maxMessageSize + 1` bytes. Synchronous and exception-free.
 */
export class StreamFramer {
  readonly #limits: SipLimits;
  readonly #validate: boolean;
  #buf: Buffer = Buffer.alloc(0);
  #len = 0;
  #state: 'boundary' | 'head' | 'body' | 'closed' = 'boundary';
  #scanFrom = 0;
  #head: Head | undefined;
  #bodyStart = 0;
  #crlfRun = 0;

  constructor(options?: SipParseOptions) {
    this.#limits = resolveLimits(options);
    this.#validate = options?.validate ?? true;
  }

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#len;
  }

  /** True after a `fatal` event: the connection should be closed. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Adds received bytes; returns the events they complete (often none or one). */
  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    const cap = this.#limits.maxMessageSize + 1;
    let offset = 0;
    while (offset < chunk.length && this.#state !== 'closed') {
      const n = Math.min(chunk.length - offset, cap - this.#len);
      if (this.#len + n > this.#buf.length) {
        const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(4096, (this.#len + n) * 2)));
        this.#buf.copy(grown, 0, 0, this.#len);
        this.#buf = grown;
      }
      this.#buf.set(chunk.subarray(offset, offset + n), this.#len);
      this.#len += n;
      offset += n;
      this.#process(out);
    }
    return out;
  }

  #fatal(out: FramerEvent[], error: SipParseError): void {
    out.push({ type: 'fatal', error });
    this.#state = 'closed';
    this.#buf = Buffer.alloc(0);
    this.#len = 0;
    this.#head = undefined;
  }

  #process(out: FramerEvent[]): void {
    const buf = this.#buf;
    const len = this.#len;
    const max = this.#limits.maxMessageSize;
    let pos = 0;
    for (;;) {
      if (this.#state === 'boundary') {
        while (pos + 1 < len && buf[pos] === 0x0d && buf[pos + 1] === 0x0a) {
          pos += 2;
          this.#crlfRun++;
          out.push({ type: 'keepalive', kind: this.#crlfRun % 2 === 0 ? 'ping' : 'crlf' });
        }
        if (pos >= len || (pos + 1 === len && buf[pos] === 0x0d)) break;
        this.#state = 'head';
        this.#crlfRun = 0;
        this.#scanFrom = pos;
      }
      if (this.#state === 'head') {
        const view = buf.subarray(0, len);
        const idx = view.indexOf(CRLFCRLF, this.#scanFrom);
        if (idx < 0) {
          if (len - pos > max) {
            // Read what the head holds so far, to know whether a 513 can be sent.
            const lastLine = view.lastIndexOf('\r\n', len - 1);
            const head = parseHead(buf, pos, lastLine > pos ? lastLine + 2 : len, this.#limits);
            return this.#fatal(out, parseError('CR_SIP_TOO_LARGE', 'Message Too Large', 513, head.message));
          }
          this.#scanFrom = Math.max(pos, len - 3);
          break;
        }
        const head = parseHead(buf, pos, idx + 2, this.#limits);
        if (head.lengthState === 'absent') {
          return this.#fatal(out, parseError('CR_SIP_MISSING_CONTENT_LENGTH', 'Bad Request - Missing Content-Length', 400, head.message, 'Content-Length'));
        }
        if (head.lengthState !== 'ok') {
          const why = head.lengthState === 'conflict' ? 'Conflicting' : 'Malformed';
          return this.#fatal(out, parseError('CR_SIP_BAD_CONTENT_LENGTH', `Bad Request - ${why} Content-Length`, 400, head.message, 'Content-Length'));
        }
        if (idx + 4 - pos + head.contentLength > max) {
          return this.#fatal(out, parseError('CR_SIP_TOO_LARGE', 'Message Too Large', 513, head.message));
        }
        this.#head = head;
        this.#bodyStart = idx + 4;
        this.#state = 'body';
      }
      if (this.#state === 'body') {
        const head = this.#head as Head;
        const end = this.#bodyStart + head.contentLength;
        if (end > len) break;
        const body = Buffer.from(buf.subarray(this.#bodyStart, end));
        const outcome = completeMessage(head, body, this.#validate);
        out.push(outcome.ok ? { type: 'message', message: outcome.message } : { type: 'invalid', error: outcome.error });
        this.#head = undefined;
        this.#state = 'boundary';
        pos = end;
      }
    }
    if (pos > 0) {
      buf.copyWithin(0, pos, len);
      this.#len = len - pos;
      this.#bodyStart -= pos;
      this.#scanFrom = Math.max(0, this.#scanFrom - pos);
    }
  }
}
