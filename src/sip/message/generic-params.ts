import { TOKEN, URI_PARAM, isChar } from './char-classes.ts';
import type { Lexer } from './lexer.ts';
import type { SipParams } from './sip-params.ts';

/** token / host (IPv6 with ':' and brackets) characters of a gen-value. */
function isGenValueChar(c: number): boolean {
  return isChar(c, TOKEN) || c === 0x3a || c === 0x5b || c === 0x5d;
}

/** paramchar of a tel: URI parameter value (RFC 3966), escapes included. */
function isLooseValueChar(c: number): boolean {
  return isChar(c, URI_PARAM) || c === 0x25;
}

/**
 * Reads `*(SEMI generic-param)` (RFC 3261 §25.1) into `params`, values raw (quoted strings keep
 * their quotes). Stops before anything that is not a ';' (a ',' of a list, the end). False when a
 * parameter is malformed: an empty name (`;;`), a missing value after '=', an unterminated quote.
 */
export function parseGenericParams(lx: Lexer, params: SipParams, looseValues = false): boolean {
  for (;;) {
    const save = lx.i;
    lx.ws();
    if (!lx.eat(0x3b)) {
      lx.i = save;
      return true;
    }
    lx.ws();
    const name = lx.token();
    if (name.length === 0) return false;
    if (!lx.sep(0x3d)) {
      params.append(name, null);
      continue;
    }
    let value: string | undefined;
    if (lx.peek() === 0x22) value = lx.quotedRaw();
    else {
      const start = lx.i;
      const s = lx.s;
      let j = start;
      while (j < s.length && (looseValues ? isLooseValueChar(s.charCodeAt(j)) : isGenValueChar(s.charCodeAt(j)))) j++;
      lx.i = j;
      value = j > start ? s.slice(start, j) : undefined;
    }
    if (value === undefined) return false;
    params.append(name, value);
  }
}
