import { HOST, isAllDigits, isChar } from './char-classes.ts';
import { parseGenericParams } from './generic-params.ts';
import { formatHost, isIpv6, isValidHost, parsePort } from './host.ts';
import { Lexer } from './lexer.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { SipParams } from './sip-params.ts';

/** RFC 3261 §8.1.1.7: a branch starting with this was made by an RFC 3261 element. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/**
 * One Via value (RFC 3261 §20.42): sent-protocol, sent-by and parameters. `transport` is
 * upper-cased; the host has no IPv6 brackets.
 */
export class Via {
  protocolName: string;
  protocolVersion: string;
  transport: string;
  host: string;
  port: number | undefined;
  params: SipParams;

  constructor(transport: string, host: string, port?: number, params = new SipParams()) {
    this.protocolName = 'SIP';
    this.protocolVersion = '2.0';
    this.transport = transport.toUpperCase();
    this.host = host;
    this.port = port;
    this.params = params;
  }

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }

  set branch(value: string | undefined) {
    if (value === undefined) this.params.delete('branch');
    else this.params.set('branch', value);
  }

  /** Whether the branch carries the RFC 3261 magic cookie (with something after it, RFC 4475 badbranch). */
  get hasRfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.length > BRANCH_MAGIC_COOKIE.length && b.startsWith(BRANCH_MAGIC_COOKIE);
  }

  /** `received` parameter (RFC 3261 §18.2.1). */
  get received(): string | undefined {
    return this.params.get('received') ?? undefined;
  }

  set received(value: string | undefined) {
    if (value === undefined) this.params.delete('received');
    else this.params.set('received', value);
  }

  /** `rport` (RFC 3581): the port number, `true` for a bare `rport` request, undefined when absent. */
  get rport(): number | true | undefined {
    const v = this.params.get('rport');
    if (v === undefined) return undefined;
    if (v === null) return true;
    return parsePort(v) ?? true;
  }

  set rport(value: number | true | undefined) {
    if (value === undefined) this.params.delete('rport');
    else this.params.set('rport', value === true ? null : String(value));
  }

  get maddr(): string | undefined {
    return this.params.get('maddr') ?? undefined;
  }

  get ttl(): number | undefined {
    const v = this.params.get('ttl');
    return typeof v === 'string' && isAllDigits(v) ? Number(v) : undefined;
  }

  /** `host[:port]` as written in the Via. */
  get sentBy(): string {
    return this.port === undefined ? formatHost(this.host) : `${formatHost(this.host)}:${this.port}`;
  }

  clone(): Via {
    const v = new Via(this.transport, this.host, this.port, this.params.clone());
    v.protocolName = this.protocolName;
    v.protocolVersion = this.protocolVersion;
    return v;
  }

  toString(): string {
    return `${this.protocolName}/${this.protocolVersion}/${this.transport} ${this.sentBy}${this.params.format()}`;
  }
}

function checkParams(params: SipParams): string | undefined {
  for (const [name, value] of params) {
    switch (name.toLowerCase()) {
      case 'branch':
        if (value === null) return 'Via branch without value';
        break;
      case 'ttl':
        if (value === null || !isAllDigits(value) || Number(value) > 255) return 'bad Via ttl';
        break;
      case 'rport':
        if (value !== null && parsePort(value) === undefined) return 'bad Via rport';
        break;
      case 'received':
      case 'maddr': {
        const host = value !== null && value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
        if (host === null || !isValidHost(host)) return `bad Via ${name}`;
        break;
      }
    }
  }
  return undefined;
}

/** Parses one Via header value, which may hold several comma-separated vias. */
export function parseVia(value: string): Parsed<Via[]> {
  const lx = new Lexer(value);
  const out: Via[] = [];
  for (;;) {
    lx.ws();
    const name = lx.token();
    if (name.length === 0 || !lx.sep(0x2f)) return bad('bad Via sent-protocol');
    const version = lx.token();
    if (version.length === 0 || !lx.sep(0x2f)) return bad('bad Via sent-protocol');
    const transport = lx.token();
    if (transport.length === 0 || !lx.ws()) return bad('bad Via transport');
    let host: string;
    if (lx.peek() === 0x5b) {
      const close = value.indexOf(']', lx.i);
      if (close < 0) return bad('bad Via sent-by');
      host = value.slice(lx.i + 1, close);
      if (!isIpv6(host)) return bad('bad Via sent-by');
      lx.i = close + 1;
    } else {
      host = lx.run(HOST);
      if (!isValidHost(host)) return bad('bad Via sent-by');
    }
    let port: number | undefined;
    if (lx.sep(0x3a)) {
      const start = lx.i;
      while (lx.i < value.length && value.charCodeAt(lx.i) >= 0x30 && value.charCodeAt(lx.i) <= 0x39) lx.i++;
      port = parsePort(value.slice(start, lx.i));
      if (port === undefined) return bad('bad Via port');
    }
    const via = new Via(transport, host, port);
    via.protocolName = name;
    via.protocolVersion = version;
    if (!parseGenericParams(lx, via.params)) return bad('bad Via parameter');
    const why = checkParams(via.params);
    if (why !== undefined) return bad(why);
    out.push(via);
    lx.ws();
    if (lx.done) return ok(out);
    if (!lx.eat(0x2c)) return bad('unexpected text in Via');
    lx.ws();
    if (lx.done) return bad('empty Via element');
  }
}

/**
 * The transport and sent-by of a Via that does not fully parse (RFC 4475 badinv01 has `;;` in
 * it), enough to route a 400 back; undefined when not even that is recognisable.
 */
export function parseViaSentBy(value: string): { transport: string; host: string; port: number | undefined } | undefined {
  const lx = new Lexer(value);
  lx.ws();
  if (lx.token().length === 0 || !lx.sep(0x2f) || lx.token().length === 0 || !lx.sep(0x2f)) return undefined;
  const transport = lx.token();
  if (transport.length === 0 || !lx.ws()) return undefined;
  let host: string;
  if (lx.peek() === 0x5b) {
    const close = value.indexOf(']', lx.i);
    if (close < 0) return undefined;
    host = value.slice(lx.i + 1, close);
    if (!isIpv6(host)) return undefined;
    lx.i = close + 1;
  } else {
    host = lx.run(HOST);
    if (!isValidHost(host)) return undefined;
  }
  let port: number | undefined;
  if (lx.sep(0x3a)) {
    const start = lx.i;
    while (lx.i < value.length && isChar(value.charCodeAt(lx.i), HOST)) lx.i++;
    port = parsePort(value.slice(start, lx.i));
    if (port === undefined) return undefined;
  }
  return { transport: transport.toUpperCase(), host, port };
}
