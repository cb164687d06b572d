import { TOKEN, isChar, isWs } from './char-classes.ts';

/**
 * A cursor over one unfolded header value. Folding (CRLF + WS) has already become a single SP, so
 * linear white space here is only SP and HTAB. Every method returns a value or a sentinel and never
 * throws: the structured parsers turn sentinels into `Parsed` failures.
 */
export class Lexer {
  readonly s: string;
  i: number;

  constructor(s: string, start = 0) {
    this.s = s;
    this.i = start;
  }

  get done(): boolean {
    return this.i >= this.s.length;
  }

  /** Char code at the cursor, or -1 at the end. */
  peek(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  /** Skips SP/HTAB; true when at least one was skipped. */
  ws(): boolean {
    const start = this.i;
    while (this.i < this.s.length && isWs(this.s.charCodeAt(this.i))) this.i++;
    return this.i > start;
  }

  /** Consumes `ch` (a char code) when it is next. */
  eat(ch: number): boolean {
    if (this.i < this.s.length && this.s.charCodeAt(this.i) === ch) {
      this.i++;
      return true;
    }
    return false;
  }

  /** Consumes `ch` with optional white space around it (SEMI, COMMA, EQUAL, SLASH, COLON of §25.1). */
  sep(ch: number): boolean {
    const save = this.i;
    this.ws();
    if (this.eat(ch)) {
      this.ws();
      return true;
    }
    this.i = save;
    return false;
  }

  /** The longest run of characters of class `mask` ('' when none). */
  run(mask: number): string {
    const start = this.i;
    while (this.i < this.s.length && isChar(this.s.charCodeAt(this.i), mask)) this.i++;
    return this.s.slice(start, this.i);
  }

  token(): string {
    return this.run(TOKEN);
  }

  /**
   * A quoted-string at the cursor, returned raw (with its quotes and escapes) so it can be written
   * back byte for byte; undefined when the cursor is not on a quote or the string is unterminated.
   */
  quotedRaw(): string | undefined {
    if (this.peek() !== 0x22) return undefined;
    const start = this.i;
    let j = this.i + 1;
    const s = this.s;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x22) {
        this.i = j + 1;
        return s.slice(start, this.i);
      }
      if (c === 0x5c) {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): CR and LF cannot follow.
        const n = j + 1 < s.length ? s.charCodeAt(j + 1) : -1;
        if (n < 0 || n === 0x0a || n === 0x0d || n > 0x7f) return undefined;
        j += 2;
        continue;
      }
      j++;
    }
    return undefined;
  }
}

/** The content of a raw quoted-string (quotes removed, quoted-pairs undone). */
export function unquote(raw: string): string {
  if (raw.length < 2 || raw.charCodeAt(0) !== 0x22) return raw;
  const inner = raw.slice(1, -1);
  if (!inner.includes('\\')) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (c === '\\' && i + 1 < inner.length) {
      out += inner[i + 1] as string;
      i++;
    } else out += c;
  }
  return out;
}

/** A quoted-string for `value`, escaping `"` and `\`. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (m) => `\\${m}`)}"`;
}
