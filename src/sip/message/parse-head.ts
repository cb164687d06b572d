import { isToken, trimWs } from './char-classes.ts';
import { resolveHeaderName } from './header-names.ts';
import type { SipLimits } from './limits.ts';
import type { SipParseErrorCode } from './parse-error.ts';
import { SipMessage, type SipHeader } from './sip-message.ts';

/** A problem found while splitting the head; the first one found is reported. */
export interface HeadProblem {
  readonly code: SipParseErrorCode;
  readonly reason: string;
  readonly status: 400 | 505 | 513 | undefined;
}

/** Content-Length as the framing sees it. */
export type LengthState = 'absent' | 'ok' | 'invalid' | 'conflict';

/**
 * The start line and header lines of one message. `message` is undefined only when the start line
 * is not recognisable as a request or a response at all.
 */
export interface Head {
  readonly message: SipMessage | undefined;
  readonly problem: HeadProblem | undefined;
  readonly lengthState: LengthState;
  readonly contentLength: number;
}

const VERSION = /^SIP\/\d+\.\d+$/i;

function problem(code: SipParseErrorCode, reason: string, status: 400 | 505 | 513 | undefined): HeadProblem {
  return { code, reason, status };
}

function isResponseLine(line: string): boolean {
  return (
    line.length >= 4 &&
    (line.charCodeAt(0) | 0x20) === 0x73 &&
    (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70 &&
    line.charCodeAt(3) === 0x2f
  );
}

function parseStatusLine(line: string): { message?: SipMessage; problem?: HeadProblem } {
  const sp = line.indexOf(' ');
  const code = sp < 0 ? '' : line.slice(sp + 1, sp + 4);
  const after = sp + 4 < line.length ? line.charCodeAt(sp + 4) : 0x20;
  if (sp < 0 || !/^[1-6]\d\d$/.test(code) || after !== 0x20) {
    return { problem: problem('CR_SIP_BAD_START_LINE', 'Malformed Status-Line', undefined) };
  }
  const version = line.slice(0, sp);
  if (!VERSION.test(version)) return { problem: problem('CR_SIP_BAD_START_LINE', 'Malformed Status-Line', undefined) };
  const message = new SipMessage('response');
  message.status = Number(code);
  message.reason = line.slice(sp + 5);
  message.version = version.toUpperCase();
  if (message.version !== 'SIP/2.0') return { message, problem: problem('CR_SIP_BAD_VERSION', 'Version Not Supported', undefined) };
  return { message };
}

/** Request-Line = Method SP Request-URI SP SIP-Version, single spaces, nothing after (§7.1). */
function parseRequestLine(line: string): { message?: SipMessage; uri: string; problem?: HeadProblem } {
  const sp1 = line.indexOf(' ');
  const method = sp1 < 0 ? line : line.slice(0, sp1);
  if (!isToken(method)) return { uri: '', problem: problem('CR_SIP_BAD_START_LINE', 'Malformed Request-Line', undefined) };
  const message = new SipMessage('request');
  message.method = method;
  const sp2 = line.lastIndexOf(' ');
  const bad = problem('CR_SIP_BAD_START_LINE', 'Bad Request - Malformed Request-Line', 400);
  if (sp1 < 0 || sp2 === sp1) return { message, uri: sp1 < 0 ? '' : line.slice(sp1 + 1), problem: bad };
  const uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  // RFC 4475 lwsruri, lwsstart, trws: extra spaces make the URI or the version malformed.
  if (uri.length === 0 || /[ \t]/.test(uri) || !VERSION.test(version)) return { message, uri, problem: bad };
  message.version = version.toUpperCase();
  // RFC 4475 badvers: 505 Version Not Supported (§8.2.2 does not say it; §21.5.6 does).
  if (message.version !== 'SIP/2.0') return { message, uri, problem: problem('CR_SIP_BAD_VERSION', 'Version Not Supported', 505) };
  return { message, uri };
}

/**
 * Splits `buf[start, end)` (start line and header lines, each ending in CRLF; the last CRLF may be
 * missing) into a message with unfolded, trimmed header values. Never throws; keeps going after a
 * problem so that what is needed for a response is still collected.
 */
export function parseHead(buf: Buffer, start: number, end: number, limits: SipLimits): Head {
  const text = buf.toString('utf8', start, end);
  const n = text.length;
  let found: HeadProblem | undefined;
  // The first problem is reported, except that an exceeded limit (513) outranks a syntax error.
  const note = (p: HeadProblem): void => {
    if (found === undefined || (p.status === 513 && found.status !== 513)) found = p;
  };

  let firstEnd = text.indexOf('\r\n');
  if (firstEnd < 0) firstEnd = n;
  const line = text.slice(0, firstEnd);
  if (line.length > limits.maxLineLength) note(problem('CR_SIP_LINE_TOO_LONG', 'Message Too Large', 513));
  let message: SipMessage | undefined;
  let requestUri = '';
  if (isResponseLine(line)) {
    const r = parseStatusLine(line);
    message = r.message;
    if (r.problem) note(r.problem);
  } else {
    const r = parseRequestLine(line);
    message = r.message;
    requestUri = r.uri;
    if (r.problem) note(r.problem);
  }
  if (/[\r\n]/.test(line)) note(problem('CR_SIP_BAD_START_LINE', 'Bad Request - Malformed start line', 400));

  const headers: SipHeader[] = [];
  let lengthState: LengthState = 'absent';
  let contentLength = 0;
  let name = '';
  let value = '';
  let open = false;
  const flush = (): void => {
    if (!open) return;
    open = false;
    const v = trimWs(value);
    const { key, name: canonical } = resolveHeaderName(name);
    if (v.length > limits.maxLineLength) note(problem('CR_SIP_LINE_TOO_LONG', 'Message Too Large', 513));
    headers.push({ name: canonical, key, value: v });
    if (key === 'content-length') {
      const ok = /^\d{1,15}$/.test(v);
      const len = ok ? Number(v) : -1;
      if (!ok) lengthState = 'invalid';
      else if (lengthState === 'absent') {
        lengthState = 'ok';
        contentLength = len;
      } else if (lengthState === 'ok' && len !== contentLength) lengthState = 'conflict';
    }
  };

  const badLine = problem('CR_SIP_BAD_HEADER_LINE', 'Bad Request - Malformed header line', 400);
  let pos = firstEnd + 2;
  while (pos < n) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl < 0 ? n : nl - 1;
    const next = nl < 0 ? n : nl + 1;
    if (nl >= 0 && (nl === pos || text.charCodeAt(nl - 1) !== 0x0d)) {
      note(badLine); // bare LF
      flush();
      pos = next;
      continue;
    }
    const cr = text.indexOf('\r', pos);
    if ((cr >= 0 && cr < lineEnd) || lineEnd === pos) {
      note(badLine); // bare CR, or an empty line inside the head
      flush();
      pos = next;
      continue;
    }
    if (lineEnd - pos > limits.maxLineLength) note(problem('CR_SIP_LINE_TOO_LONG', 'Message Too Large', 513));
    const c0 = text.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) {
      // Folding (§7.3.1): the continuation joins the previous line with one SP.
      if (open) value = trimWs(value) + ' ' + trimWs(text.slice(pos, lineEnd));
      else note(badLine);
    } else {
      flush();
      const colon = text.indexOf(':', pos);
      const hname = colon < 0 || colon >= lineEnd ? '' : trimWs(text.slice(pos, colon));
      if (isToken(hname)) {
        name = hname;
        value = text.slice(colon + 1, lineEnd);
        open = true;
      } else note(badLine);
    }
    pos = next;
  }
  flush();
  if (headers.length > limits.maxHeaderCount) note(problem('CR_SIP_TOO_MANY_HEADERS', 'Message Too Large', 513));
  if (message !== undefined) SipMessage.adopt(message, headers, requestUri);
  return { message, problem: found, lengthState, contentLength };
}
