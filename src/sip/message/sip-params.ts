/**
 * Ordered `;name=value` parameters of a header value or a URI. Names compare case-insensitively
 * (RFC 3261 §7.3.1); order and spelling are kept so a value is written back the way it came.
 * Header parameter values are kept raw, quoted strings with their quotes; URI parameter values are
 * kept decoded (the URI writes the escapes back).
 */
export class SipParams implements Iterable<[string, string | null]> {
  #names: string[] = [];
  #values: (string | null)[] = [];

  /** Number of parameters. */
  get size(): number {
    return this.#names.length;
  }

  #index(name: string): number {
    const n = this.#names;
    for (let i = 0; i < n.length; i++) {
      const k = n[i] as string;
      if (k === name || (k.length === name.length && k.toLowerCase() === name.toLowerCase())) return i;
    }
    return -1;
  }

  /** The value: a string, `null` for a parameter without `=value`, `undefined` when absent. */
  get(name: string): string | null | undefined {
    const i = this.#index(name);
    return i < 0 ? undefined : (this.#values[i] as string | null);
  }

  has(name: string): boolean {
    return this.#index(name) >= 0;
  }

  /** Sets (replacing in place, or appending) a parameter; `null` means a flag without a value. */
  set(name: string, value: string | null): this {
    const i = this.#index(name);
    if (i < 0) {
      this.#names.push(name);
      this.#values.push(value);
    } else this.#values[i] = value;
    return this;
  }

  /** Appends without looking for an existing one (parsers keep duplicates as received). */
  append(name: string, value: string | null): this {
    this.#names.push(name);
    this.#values.push(value);
    return this;
  }

  delete(name: string): boolean {
    const i = this.#index(name);
    if (i < 0) return false;
    this.#names.splice(i, 1);
    this.#values.splice(i, 1);
    return true;
  }

  *[Symbol.iterator](): Iterator<[string, string | null]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i] as string, this.#values[i] as string | null];
  }

  /** Parameter names in order. */
  names(): string[] {
    return [...this.#names];
  }

  clone(): SipParams {
    const p = new SipParams();
    p.#names = [...this.#names];
    p.#values = [...this.#values];
    return p;
  }

  /** `;a=b;c` with values as stored, or with `encode` applied to names and values (URI params). */
  format(encode?: (s: string) => string): string {
    let out = '';
    for (let i = 0; i < this.#names.length; i++) {
      const name = this.#names[i] as string;
      const value = this.#values[i] as string | null;
      out += ';' + (encode ? encode(name) : name);
      if (value !== null) out += '=' + (encode ? encode(value) : value);
    }
    return out;
  }

  toString(): string {
    return this.format();
  }
}
