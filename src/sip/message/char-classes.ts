/**
 * ASCII character classes of the RFC 3261 grammar (§25.1), as one bit table so every scanner in
 * this folder tests a character with a single array read instead of a regular expression.
 */

/** `token` (§25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
export const TOKEN = 1;
/** `word` (Call-ID): token plus ( ) < > : \ " / [ ] ? { }. */
export const WORD = 2;
/** Characters allowed unescaped in a SIP URI user part. */
export const USER = 4;
/** Characters allowed unescaped in a SIP URI password. */
export const PASSWORD = 8;
/** `paramchar` of a URI parameter name or value (without the escape `%`). */
export const URI_PARAM = 16;
/** `hname` / `hvalue` characters of a URI header (without the escape `%`). */
export const URI_HEADER = 32;
/** Host name characters (alphanum, "-", ".", and "_" which real deployments use). */
export const HOST = 64;
/** `uric` of an absolute URI of an unknown scheme (RFC 2396), plus "%" and "[" "]". */
export const URIC = 128;

const table = new Uint8Array(128);

function add(mask: number, chars: string): void {
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = (table[chars.charCodeAt(i)] ?? 0) | mask;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MARK = "-_.!~*'()";
const UNRESERVED = ALNUM + MARK;
add(TOKEN, ALNUM + "-.!%*_+`'~");
add(WORD, ALNUM + "-.!%*_+`'~" + '()<>:\\"/[]?{}');
add(USER, UNRESERVED + '&=+$,;?/');
add(PASSWORD, UNRESERVED + '&=+$,');
add(URI_PARAM, UNRESERVED + '[]/:&+$');
add(URI_HEADER, UNRESERVED + '[]/?:+$');
add(HOST, ALNUM + '-._');
add(URIC, UNRESERVED + ';/?:@&=+$,%[]#');

/** Whether char code `c` is in all the classes of `mask`. */
export function isChar(c: number, mask: number): boolean {
  return c < 128 && ((table[c] as number) & mask) !== 0;
}

/** Whether `s` is a non-empty run of characters of class `mask`. */
export function isAll(s: string, mask: number): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || ((table[c] as number) & mask) === 0) return false;
  }
  return true;
}

/** Whether `s` is a SIP `token` (method names, header names, parameter names, option tags). */
export function isToken(s: string): boolean {
  return isAll(s, TOKEN);
}

/** SP or HTAB: the only whitespace left in a header value once folding is undone. */
export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isAllDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Trims SP and HTAB only: String.prototype.trim also strips characters such as U+FEFF and U+00A0
 * that are data in a SIP header value (RFC 4475 intmeth starts a value with a BOM).
 */
export function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
