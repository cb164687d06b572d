import { errorMessage } from '../../core/errors.ts';
import { resolveLimits, type SipLimits, type SipParseOptions } from './limits.ts';
import type { ParseOutcome, SipParseError } from './parse-error.ts';
import { parseHead, type Head } from './parse-head.ts';
import { parseError, validateMessage } from './validate.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** A Buffer view of any Uint8Array, without copying. */
export function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function fail(error: SipParseError): ParseOutcome {
  return { ok: false, error };
}

/** The head's own problem as a parse error, if any. */
export function headError(head: Head): SipParseError | undefined {
  const p = head.problem;
  if (p === undefined) return undefined;
  return parseError(p.code, p.reason, p.status, head.message);
}

/**
 * Attaches `body` to a head that framed correctly and checks the rest: the @internal second half
 * of parsing, shared by `parseMessage` (datagrams) and `StreamFramer` (streams).
 */
export function completeMessage(head: Head, body: Uint8Array, validate: boolean): ParseOutcome {
  const early = headError(head);
  if (early !== undefined) return fail(early);
  const message = head.message;
  if (message === undefined) return fail(parseError('CR_SIP_BAD_START_LINE', 'Malformed start line', undefined, undefined));
  message.body = body;
  if (validate) {
    const error = validateMessage(message);
    if (error !== undefined) return fail(error);
  }
  return { ok: true, message };
}

/** Index just past the leading CRLFs that §7.5 says to ignore before a start line. */
export function skipLeadingCrlf(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i + 1 < end && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}

/** Head of an oversized message, read only within the limit, to see whether a 513 can be sent. */
function tooLarge(buf: Buffer, start: number, limits: SipLimits): ParseOutcome {
  const end = Math.min(buf.length, start + limits.maxMessageSize);
  const h = buf.indexOf(CRLFCRLF, start);
  const head = parseHead(buf, start, h >= 0 && h < end ? h + 2 : end, limits);
  return fail(parseError('CR_SIP_TOO_LARGE', 'Message Too Large', 513, head.message));
}

function parseDatagram(input: Uint8Array, options: SipParseOptions | undefined): ParseOutcome {
  const limits = resolveLimits(options);
  const buf = asBuffer(input);
  const len = buf.length;
  const start = skipLeadingCrlf(buf, 0, len);
  if (start >= len || (start + 1 === len && buf[start] === 0x0d)) {
    return fail(parseError('CR_SIP_KEEPALIVE', 'Keep-alive', undefined, undefined));
  }
  if (len > limits.maxMessageSize) return tooLarge(buf, start, limits);
  const h = buf.indexOf(CRLFCRLF, start);
  // Without the empty line (RFC 4475 baddn's archive copy lacks it) the datagram is all head.
  const headEnd = h < 0 ? len : h + 2;
  const bodyStart = h < 0 ? len : h + 4;
  const head = parseHead(buf, start, headEnd, limits);
  const early = headError(head);
  if (early !== undefined) return fail(early);
  let bodyEnd = len;
  if (head.lengthState === 'invalid') {
    return fail(parseError('CR_SIP_BAD_CONTENT_LENGTH', 'Bad Request - Malformed Content-Length', 400, head.message, 'Content-Length'));
  }
  if (head.lengthState === 'ok') {
    // §18.3: octets beyond Content-Length in a datagram are discarded (RFC 4475 dblreq); fewer
    // octets than announced is a 400 (clerr).
    if (len - bodyStart < head.contentLength) {
      return fail(parseError('CR_SIP_BODY_MISMATCH', 'Bad Request - Content-Length mismatch', 400, head.message, 'Content-Length'));
    }
    bodyEnd = bodyStart + head.contentLength;
  }
  // 'absent' or 'conflict' (mcl01, which checkRequest refuses): the body is the rest of the datagram.
  return completeMessage(head, buf.subarray(bodyStart, bodyEnd), options?.validate ?? true);
}

/**
 * Parses one SIP message from a datagram (or any buffer holding one whole message). Never throws:
 * every outcome is a value. The start line and header lines are split eagerly; with `validate`
 * (the default) the headers every element needs are parsed too (and cached on the message), the
 * rest on first use. Leading CRLFs are skipped (§7.5); a buffer of only CRLFs is a keep-alive.
 * The body is a view on `input`, not a copy.
 */
export function parseMessage(input: Uint8Array, options?: SipParseOptions): ParseOutcome {
  try {
    return parseDatagram(input, options);
  } catch (err) {
    // Not expected (the fuzz test looks for it); a receive path must never see an exception.
    return fail({ code: 'CR_SIP_INTERNAL', reason: `Internal parse error: ${errorMessage(err)}`, canRespond: false });
  }
}
