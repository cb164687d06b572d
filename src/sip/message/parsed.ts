/**
 * Outcome of parsing one structured header value: the value, or why it is malformed. Parsers in
 * this folder return it instead of throwing, so a receive path can turn a failure into a 400.
 */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function bad<T = never>(reason: string): Parsed<T> {
  return { ok: false, reason };
}
