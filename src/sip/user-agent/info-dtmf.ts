/** A DTMF key press received in a SIP INFO. */
export interface InfoDtmf {
  /** '0'-'9', '*', '#', 'A'-'D'. */
  readonly digit: string;
  /** Tone duration when the body gave one. */
  readonly durationMs: number | undefined;
}

const DIGITS = '0123456789*#ABCD';

/** A key from its text or its RFC 4733 event code (10 = '*', 11 = '#', 12-15 = A-D). */
function normaliseDigit(text: string): string | undefined {
  const t = text.trim().toUpperCase();
  if (t.length === 1 && DIGITS.includes(t)) return t;
  if (/^\d{1,2}$/.test(t)) return DIGITS[Number(t)];
  return undefined;
}

/**
 * The key press in an INFO body: `application/dtmf-relay` (`Signal=5` and `Duration=160` lines, the
 * de facto format of Cisco and most PBXs) or `application/dtmf` (the key alone). Undefined when the
 * body holds no key (an empty INFO is a keep-alive).
 */
export function parseInfoDtmf(mime: string, body: string): InfoDtmf | undefined {
  if (mime === 'application/dtmf') {
    const digit = normaliseDigit(body);
    return digit === undefined ? undefined : { digit, durationMs: undefined };
  }
  if (mime !== 'application/dtmf-relay') return undefined;
  let digit: string | undefined;
  let durationMs: number | undefined;
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === 'signal') digit = normaliseDigit(value);
    else if (key === 'duration' && /^\d{1,6}$/.test(value)) durationMs = Number(value);
  }
  return digit === undefined ? undefined : { digit, durationMs };
}

/** Whether every character of `digits` is a key INFO can carry. */
export function isDtmfString(digits: string): boolean {
  return digits.length > 0 && [...digits.toUpperCase()].every((d) => DIGITS.includes(d));
}

/** An `application/dtmf-relay` body for one key. */
export function formatInfoDtmf(digit: string, durationMs: number): string {
  return `Signal=${digit.toUpperCase()}\r\nDuration=${Math.round(durationMs)}\r\n`;
}
