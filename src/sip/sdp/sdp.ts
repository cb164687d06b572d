/**
 * SDP (RFC 4566/8866) model, parser and serializer. Parsing is lenient about unknown lines (kept as they are)
 * and strict about the lines negotiation depends on; a malformed description is a value, not an exception.
 */

export interface SdpConnection {
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

export interface SdpAttribute {
  readonly name: string;
  readonly value?: string;
}

export interface SdpMedia {
  readonly type: string;
  readonly port: number;
  readonly portCount?: number;
  readonly protocol: string;
  readonly formats: readonly string[];
  readonly connection?: SdpConnection;
  readonly bandwidths: readonly string[];
  readonly attributes: readonly SdpAttribute[];
}

export interface SessionDescription {
  readonly version: number;
  readonly origin: {
    readonly username: string;
    readonly sessionId: string;
    readonly sessionVersion: string;
    readonly netType: string;
    readonly addrType: string;
    readonly address: string;
  };
  readonly sessionName: string;
  readonly connection?: SdpConnection;
  readonly bandwidths: readonly string[];
  readonly timing: string;
  readonly attributes: readonly SdpAttribute[];
  readonly media: readonly SdpMedia[];
}

export type SdpParseResult = { ok: true; sdp: SessionDescription } | { ok: false; reason: string };

const MAX_SDP_BYTES = 64 * 1024;

/** Parse an SDP body. Never throws. */
export function parseSdp(text: string): SdpParseResult {
  if (text.length > MAX_SDP_BYTES) return { ok: false, reason: 'SDP too large' };
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  let version: number | undefined;
  let origin: SessionDescription['origin'] | undefined;
  let sessionName = '';
  let connection: SdpConnection | undefined;
  let timing = '0 0';
  const bandwidths: string[] = [];
  const attributes: SdpAttribute[] = [];
  const media: Array<{ -readonly [K in keyof SdpMedia]: SdpMedia[K] } & { attributes: SdpAttribute[]; bandwidths: string[] }> = [];

  for (const line of lines) {
    // The reason may become a SIP reason phrase: never echo the peer's bytes (a CR would make it unsendable).
    if (line.length < 2 || line[1] !== '=') return { ok: false, reason: 'malformed SDP line' };
    const kind = line[0];
    const value = line.slice(2).trim();
    const current = media[media.length - 1];
    switch (kind) {
      case 'v':
        version = Number(value);
        if (!Number.isInteger(version)) return { ok: false, reason: 'bad v= line' };
        break;
      case 'o': {
        const p = value.split(/\s+/);
        if (p.length !== 6) return { ok: false, reason: 'bad o= line' };
        origin = {
          username: p[0] as string,
          sessionId: p[1] as string,
          sessionVersion: p[2] as string,
          netType: p[3] as string,
          addrType: p[4] as string,
          address: p[5] as string,
        };
        break;
      }
      case 's':
        sessionName = value;
        break;
      case 'c': {
        const c = parseConnection(value);
        if (c === undefined) return { ok: false, reason: 'bad c= line' };
        if (current !== undefined) current.connection = c;
        else connection = c;
        break;
      }
      case 'b':
        (current?.bandwidths ?? bandwidths).push(value);
        break;
      case 't':
        timing = value;
        break;
      case 'a': {
        const colon = value.indexOf(':');
        const attr: SdpAttribute = colon < 0 ? { name: value } : { name: value.slice(0, colon), value: value.slice(colon + 1) };
        (current?.attributes ?? attributes).push(attr);
        break;
      }
      case 'm': {
        const p = value.split(/\s+/);
        if (p.length < 3) return { ok: false, reason: 'bad m= line' };
        const [portText = '', countText] = (p[1] as string).split('/');
        const port = Number(portText);
        if (!Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, reason: 'bad m= port' };
        const entry: (typeof media)[number] = {
          type: p[0] as string,
          port,
          protocol: p[2] as string,
          formats: p.slice(3),
          bandwidths: [],
          attributes: [],
        };
        if (countText !== undefined) entry.portCount = Number(countText);
        media.push(entry);
        break;
      }
      default:
        // i=, u=, e=, p=, r=, z=, k= carry nothing negotiation needs.
        break;
    }
  }
  if (version === undefined) return { ok: false, reason: 'missing v= line' };
  if (origin === undefined) return { ok: false, reason: 'missing o= line' };
  const sdp: SessionDescription = {
    version,
    origin,
    sessionName,
    bandwidths,
    timing,
    attributes,
    media,
    ...(connection !== undefined ? { connection } : {}),
  };
  return { ok: true, sdp };
}

function parseConnection(value: string): SdpConnection | undefined {
  const p = value.split(/\s+/);
  if (p.length !== 3) return undefined;
  // Multicast TTL/count suffixes are kept out of the address.
  const address = (p[2] as string).split('/')[0] as string;
  return { netType: p[0] as string, addrType: p[1] as string, address };
}

/** Serialize with CRLF line ends, in the order RFC 4566 §5 requires. */
export function serializeSdp(sdp: SessionDescription): string {
  const out: string[] = [];
  const o = sdp.origin;
  out.push(`v=${sdp.version}`);
  out.push(`o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`);
  out.push(`s=${sdp.sessionName.length > 0 ? sdp.sessionName : '-'}`);
  if (sdp.connection !== undefined) out.push(connectionLine(sdp.connection));
  for (const b of sdp.bandwidths) out.push(`b=${b}`);
  out.push(`t=${sdp.timing}`);
  for (const a of sdp.attributes) out.push(attributeLine(a));
  for (const m of sdp.media) {
    const port = m.portCount !== undefined ? `${m.port}/${m.portCount}` : String(m.port);
    out.push(`m=${m.type} ${port} ${m.protocol} ${m.formats.join(' ')}`);
    if (m.connection !== undefined) out.push(connectionLine(m.connection));
    for (const b of m.bandwidths) out.push(`b=${b}`);
    for (const a of m.attributes) out.push(attributeLine(a));
  }
  return `${out.join('\r\n')}\r\n`;
}

function connectionLine(c: SdpConnection): string {
  return `c=${c.netType} ${c.addrType} ${c.address}`;
}

function attributeLine(a: SdpAttribute): string {
  return a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}

/** First value of a media-level attribute, falling back to the session level. */
export function findAttribute(sdp: SessionDescription, media: SdpMedia, name: string): string | undefined {
  const own = media.attributes.find((a) => a.name === name);
  if (own !== undefined) return own.value ?? '';
  const session = sdp.attributes.find((a) => a.name === name);
  return session === undefined ? undefined : (session.value ?? '');
}
