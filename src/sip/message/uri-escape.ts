import { isChar } from './char-classes.ts';

/**
 * `%HH` escaping of URI components (RFC 3261 §19.1.2, §19.1.4). Decoded text is a byte string: one
 * char per octet (latin1), so decoding is lossless for any escape (`%00`, `%FF`) and two URIs
 * compare equal exactly when their octets do.
 */

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Validates `s[start, end)` against the class `mask` (plus `%HH` escapes) and returns it decoded;
 * undefined when a character is not allowed or an escape is broken.
 */
export function unescapeComponent(s: string, start: number, end: number, mask: number): string | undefined {
  let hasEscape = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end) return undefined;
      if (hexVal(s.charCodeAt(i + 1)) < 0 || hexVal(s.charCodeAt(i + 2)) < 0) return undefined;
      hasEscape = true;
      i += 2;
    } else if (!isChar(c, mask)) return undefined;
  }
  if (!hasEscape) return s.slice(start, end);
  let out = '';
  let runStart = start;
  for (let i = start; i < end; i++) {
    if (s.charCodeAt(i) === 0x25) {
      out += s.slice(runStart, i) + String.fromCharCode(hexVal(s.charCodeAt(i + 1)) * 16 + hexVal(s.charCodeAt(i + 2)));
      i += 2;
      runStart = i + 1;
    }
  }
  return out + s.slice(runStart, end);
}

const HEX = '0123456789ABCDEF';

/** Escapes every char of `s` outside class `mask` (and every `%`) as `%HH`. */
export function escapeComponent(s: string, mask: number): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || !isChar(c, mask)) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x25 && isChar(c, mask)) out += s[i] as string;
    else if (c <= 0xff) out += '%' + HEX[c >> 4] + HEX[c & 15];
    else for (const b of Buffer.from(String.fromCodePoint(s.codePointAt(i) as number), 'utf8')) out += '%' + HEX[b >> 4] + HEX[b & 15];
    if (c >= 0xd800 && c <= 0xdbff) i++; // the low surrogate was encoded with its pair
  }
  return out;
}
