import { CallroomError } from '../../core/errors.ts';
import { isToken, trimWs } from './char-classes.ts';
import { canonicalName, headerKey, isListHeader, splitList } from './header-names.ts';
import { HEADER_PARSERS, type HeaderKey, type HeaderTypes } from './header-parsers.ts';
import type { CSeq, MediaType } from './header-values.ts';
import type { NameAddr } from './name-addr.ts';
import type { Parsed } from './parsed.ts';
import { serializeMessage } from './serialize.ts';
import { parseUri, type Uri } from './uri.ts';
import type { Via } from './via.ts';

/** One header line: canonical name for output, lower-case lookup key, unfolded trimmed value. */
export interface SipHeader {
  readonly name: string;
  readonly key: string;
  readonly value: string;
}

const EMPTY = new Uint8Array(0);

/**
 * A SIP request or response (RFC 3261 §7). Header lines are kept in order, as received (one entry
 * per line, a line may hold several comma-separated values); structured values are parsed on first
 * use and cached until that header changes. Structured values returned by the getters are shared
 * with the cache: treat them as read-only, `clone()` one to build a changed header.
 */
export class SipMessage {
  readonly kind: 'request' | 'response';
  /** Request method (case-sensitive, RFC 3261 §7.1); '' for a response. */
  method = '';
  /** Response status code; 0 for a request. */
  status = 0;
  /** Response reason phrase (UTF-8 text, may be empty). */
  reason = '';
  version = 'SIP/2.0';
  /** Body octets, passed through untouched. A parsed body is a view on the received buffer. */
  body: Uint8Array = EMPTY;
  #requestUri = '';
  #uri: Parsed<Uri> | undefined;
  #headers: SipHeader[] = [];
  #cache: Map<string, Parsed<unknown>> | undefined;

  constructor(kind: 'request' | 'response') {
    this.kind = kind;
  }

  /** A new request with an empty header list. */
  static request(method: string, uri: string | Uri): SipMessage {
    if (!isToken(method)) throw new CallroomError('CR_SIP_BAD_METHOD', `invalid SIP method: ${JSON.stringify(method)}`);
    const m = new SipMessage('request');
    m.method = method;
    m.requestUri = typeof uri === 'string' ? uri : uri.toString();
    return m;
  }

  /** A new response with an empty header list. */
  static response(status: number, reason: string): SipMessage {
    if (!Number.isInteger(status) || status < 100 || status > 699) throw new CallroomError('CR_SIP_BAD_STATUS', `invalid SIP status: ${status}`);
    if (/[\r\n]/.test(reason)) throw new CallroomError('CR_SIP_BAD_REASON', 'reason phrase with CR or LF');
    const m = new SipMessage('response');
    m.status = status;
    m.reason = reason;
    return m;
  }

  /**
   * @internal For the parser: adopts header lines (already split and unfolded) without copying,
   * and a Request-URI as received even when it is malformed (so a 400 can still be built).
   */
  static adopt(msg: SipMessage, headers: SipHeader[], requestUri: string): void {
    msg.#headers = headers;
    msg.#requestUri = requestUri;
    msg.#uri = undefined;
    msg.#cache = undefined;
  }

  get isRequest(): boolean {
    return this.kind === 'request';
  }

  get isResponse(): boolean {
    return this.kind === 'response';
  }

  /** Request-URI text as received or set. */
  get requestUri(): string {
    return this.#requestUri;
  }

  set requestUri(value: string) {
    if (/[\s]/.test(value)) throw new CallroomError('CR_SIP_BAD_URI', 'Request-URI with white space');
    this.#requestUri = value;
    this.#uri = undefined;
  }

  /** Parsed Request-URI (cached); undefined for a response or an unparseable URI. */
  get uri(): Uri | undefined {
    if (this.kind !== 'request') return undefined;
    this.#uri ??= parseUri(this.#requestUri);
    return this.#uri.ok ? this.#uri.value : undefined;
  }

  set uri(value: Uri) {
    this.requestUri = value.toString();
  }

  /** Request-Line or Status-Line, without CRLF. */
  startLine(): string {
    return this.kind === 'request'
      ? `${this.method} ${this.#requestUri} ${this.version}`
      : `${this.version} ${this.status} ${this.reason}`;
  }

  /** All header lines in order (read-only view). */
  get headers(): readonly SipHeader[] {
    return this.#headers;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    for (const h of this.#headers) if (h.key === key) return true;
    return false;
  }

  /** First value of a header (the first comma-separated element for list headers). */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const h of this.#headers) {
      if (h.key !== key) continue;
      if (!isListHeader(key) || !h.value.includes(',')) return h.value;
      return splitList(h.value)[0] ?? '';
    }
    return undefined;
  }

  /** Every value of a header in order; list headers are split at commas (RFC 3261 §7.3.1). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const list = isListHeader(key);
    const out: string[] = [];
    for (const h of this.#headers) {
      if (h.key !== key) continue;
      if (list && h.value.includes(',')) for (const v of splitList(h.value)) out.push(v);
      else out.push(h.value);
    }
    return out;
  }

  /** Raw header lines of one header (no splitting). */
  lines(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const h of this.#headers) if (h.key === key) out.push(h.value);
    return out;
  }

  #entry(name: string, value: unknown): SipHeader {
    if (!isToken(name)) throw new CallroomError('CR_SIP_BAD_HEADER', `invalid header name: ${JSON.stringify(name)}`);
    const text = trimWs(String(value));
    if (/[\r\n]/.test(text)) throw new CallroomError('CR_SIP_BAD_HEADER', `header ${name} value with CR or LF`);
    const key = headerKey(name);
    return { name: canonicalName(key, name), key, value: text };
  }

  #changed(key: string): void {
    this.#cache?.delete(key);
  }

  /** Replaces every line of a header with one line per value, at the position of the first one. */
  set(name: string, value: string | { toString(): string } | readonly (string | { toString(): string })[]): this {
    const values = Array.isArray(value) ? value : [value];
    const entries = values.map((v) => this.#entry(name, v));
    const key = headerKey(name);
    let at = -1;
    const kept: SipHeader[] = [];
    for (const h of this.#headers) {
      if (h.key === key) {
        if (at < 0) at = kept.length;
      } else kept.push(h);
    }
    kept.splice(at < 0 ? kept.length : at, 0, ...entries);
    this.#headers = kept;
    this.#changed(key);
    return this;
  }

  /** Adds a header line after all others. */
  append(name: string, value: string | { toString(): string }): this {
    const e = this.#entry(name, value);
    this.#headers.push(e);
    this.#changed(e.key);
    return this;
  }

  /** Adds a header line before the first line of the same header (a new top Via), else first. */
  prepend(name: string, value: string | { toString(): string }): this {
    const e = this.#entry(name, value);
    const i = this.#headers.findIndex((h) => h.key === e.key);
    this.#headers.splice(i < 0 ? 0 : i, 0, e);
    this.#changed(e.key);
    return this;
  }

  /** Removes every line of a header; returns how many were removed. */
  delete(name: string): number {
    const key = headerKey(name);
    const before = this.#headers.length;
    this.#headers = this.#headers.filter((h) => h.key !== key);
    this.#changed(key);
    return before - this.#headers.length;
  }

  /**
   * Replaces (with `value`) or removes (without) the first value of a header, splitting a
   * comma-joined first line when needed: the top Via (`received`/`rport`) or the top Route.
   */
  #editFirst(name: string, value: string | undefined): string | undefined {
    const key = headerKey(name);
    const i = this.#headers.findIndex((h) => h.key === key);
    if (i < 0) return undefined;
    const line = this.#headers[i] as SipHeader;
    const parts = isListHeader(key) && line.value.includes(',') ? splitList(line.value) : [line.value];
    const removed = parts.shift();
    if (value !== undefined) parts.unshift(this.#entry(line.name, value).value);
    if (parts.length === 0) this.#headers.splice(i, 1);
    else this.#headers[i] = { name: line.name, key, value: parts.join(', ') };
    this.#changed(key);
    return removed;
  }

  /** Removes and returns the first value of a header. */
  shift(name: string): string | undefined {
    return this.#editFirst(name, undefined);
  }

  /** Replaces the first value of a header; false when the header is absent. */
  replaceFirst(name: string, value: string | { toString(): string }): boolean {
    return this.#editFirst(name, String(value)) !== undefined;
  }

  /**
   * Structured value of a known header, parsed once and cached: undefined when the header is
   * absent, `{ ok: false, reason }` when malformed.
   */
  parsed<K extends HeaderKey>(key: K): Parsed<HeaderTypes[K]> | undefined {
    const cached = this.#cache?.get(key);
    if (cached !== undefined) return cached as Parsed<HeaderTypes[K]>;
    let lines: string[] | undefined;
    for (const h of this.#headers) if (h.key === key) (lines ??= []).push(h.value);
    if (lines === undefined) return undefined;
    const p = HEADER_PARSERS[key](lines);
    (this.#cache ??= new Map()).set(key, p);
    return p;
  }

  #value<K extends HeaderKey>(key: K): HeaderTypes[K] | undefined {
    const p = this.parsed(key);
    return p?.ok ? p.value : undefined;
  }

  /** All Via values, top first ([] when absent or malformed). */
  get vias(): readonly Via[] {
    return this.#value('via') ?? [];
  }

  get topVia(): Via | undefined {
    return this.#value('via')?.[0];
  }

  get from(): NameAddr | undefined {
    return this.#value('from');
  }

  get to(): NameAddr | undefined {
    return this.#value('to');
  }

  get callId(): string | undefined {
    return this.#value('call-id');
  }

  get cseq(): CSeq | undefined {
    return this.#value('cseq');
  }

  get maxForwards(): number | undefined {
    return this.#value('max-forwards');
  }

  get contentType(): MediaType | undefined {
    return this.#value('content-type');
  }

  /** Contact addresses ([] when absent, malformed or `*`; see `parsed('contact')` for `*`). */
  get contacts(): readonly NameAddr[] {
    return this.#value('contact')?.values ?? [];
  }

  get routes(): readonly NameAddr[] {
    return this.#value('route') ?? [];
  }

  get recordRoutes(): readonly NameAddr[] {
    return this.#value('record-route') ?? [];
  }

  /** A copy with its own header list (header entries and body bytes are shared, both immutable). */
  clone(): SipMessage {
    const m = new SipMessage(this.kind);
    m.method = this.method;
    m.status = this.status;
    m.reason = this.reason;
    m.version = this.version;
    m.body = this.body;
    m.#requestUri = this.#requestUri;
    m.#headers = [...this.#headers];
    return m;
  }

  /** Wire form; Content-Length is always written from the body. */
  toBuffer(): Buffer {
    return serializeMessage(this);
  }

  /** Wire form as text (the body decoded as UTF-8): for logs and tests. */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}
