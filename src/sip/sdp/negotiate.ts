import { CODECS, codecForPayloadType, type CodecName } from './codecs.ts';
import { findAttribute, type SdpMedia, type SessionDescription } from './sdp.ts';

/** Media direction from one side's point of view (RFC 3264 §6.1). */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What both sides agreed for the audio stream, from our point of view. */
export interface NegotiatedAudio {
  readonly codec: CodecName;
  readonly payloadType: number;
  /** RFC 4733 telephone-event payload type, if both sides do it. */
  readonly dtmfPayloadType: number | undefined;
  readonly ptime: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Our direction: 'sendrecv', or 'recvonly' when the peer holds us (it sends only / is inactive). */
  readonly direction: Direction;
}

export interface LocalMediaOptions {
  /** Address placed in c= and o=. */
  readonly address: string;
  readonly port: number;
  /** Codec preference, best first. */
  readonly codecs: readonly CodecName[];
  readonly ptime: number;
  readonly dtmfPayloadType: number;
  readonly direction: Direction;
  /** o= session id and version; bump the version on every new offer or answer in a dialog (RFC 3264 §8). */
  readonly sessionId: string;
  readonly sessionVersion: number;
}

export type AnswerResult =
  | { ok: true; answer: SessionDescription; audio: NegotiatedAudio }
  | { ok: false; status: 488; reason: string };

const REVERSE: Readonly<Record<Direction, Direction>> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/**
 * Answer an offer (RFC 3264 §6): pick our most preferred codec the offer has on its first usable audio stream,
 * keep telephone-event at the offerer's payload type, mirror the direction, and reject (port 0) every other
 * stream. 488 when nothing is acceptable.
 */
export function answerOffer(offer: SessionDescription, local: LocalMediaOptions): AnswerResult {
  const audioIndex = offer.media.findIndex((m) => m.type === 'audio' && m.port !== 0 && isPlainRtp(m.protocol));
  if (audioIndex < 0) return { ok: false, status: 488, reason: 'no RTP/AVP audio stream offered' };
  const offered = offer.media[audioIndex] as SdpMedia;
  const rtpmap = rtpmapOf(offered);

  let chosen: { codec: CodecName; pt: number } | undefined;
  for (const want of local.codecs) {
    for (const fmt of offered.formats) {
      const pt = Number(fmt);
      if (Number.isInteger(pt) && codecForPayloadType(pt, rtpmap) === want) {
        chosen = { codec: want, pt };
        break;
      }
    }
    if (chosen !== undefined) break;
  }
  if (chosen === undefined) return { ok: false, status: 488, reason: 'no common audio codec' };

  const dtmfPt = telephoneEventPt(offered, rtpmap);
  const remote = offered.connection ?? offer.connection;
  if (remote === undefined) return { ok: false, status: 488, reason: 'no connection address' };
  const offeredDir = directionOf(offer, offered);
  // RFC 3264 §8.4: c=0.0.0.0 is the old (RFC 2543) way of putting a call on hold.
  const holdByAddress = remote.address === '0.0.0.0';
  const peerDir: Direction = holdByAddress ? (offeredDir === 'sendrecv' ? 'sendonly' : offeredDir) : offeredDir;
  const ourDir = intersect(REVERSE[peerDir], local.direction);
  const offeredPtime = Number(findAttribute(offer, offered, 'ptime'));
  const ptime = Number.isFinite(offeredPtime) && offeredPtime >= 10 && offeredPtime <= 60 ? offeredPtime : local.ptime;

  const formats = [String(chosen.pt), ...(dtmfPt !== undefined ? [String(dtmfPt)] : [])];
  const attributes = [
    { name: 'rtpmap', value: `${chosen.pt} ${rtpmapName(chosen.codec)}` },
    ...(dtmfPt !== undefined
      ? [
          { name: 'rtpmap', value: `${dtmfPt} telephone-event/8000` },
          { name: 'fmtp', value: `${dtmfPt} 0-16` },
        ]
      : []),
    { name: 'ptime', value: String(ptime) },
    { name: ourDir },
  ];
  const media: SdpMedia[] = offer.media.map((m, i) =>
    i === audioIndex
      ? { type: 'audio', port: local.port, protocol: offered.protocol, formats, bandwidths: [], attributes }
      : // RFC 3264 §6: a rejected stream keeps its m= line with port 0.
        { type: m.type, port: 0, protocol: m.protocol, formats: m.formats.slice(0, 1), bandwidths: [], attributes: [] },
  );
  return {
    ok: true,
    answer: sessionOf(local, media),
    audio: {
      codec: chosen.codec,
      payloadType: chosen.pt,
      dtmfPayloadType: dtmfPt,
      ptime,
      remoteAddress: remote.address,
      remotePort: offered.port,
      direction: ourDir,
    },
  };
}

/** Our offer (INVITE without SDP, outbound INVITE, re-INVITE for hold): every codec we do, plus telephone-event. */
export function createOffer(local: LocalMediaOptions): SessionDescription {
  const pts = local.codecs.map((c) => CODECS[c].staticPayloadType);
  const attributes = [
    ...local.codecs.map((c) => ({ name: 'rtpmap', value: `${CODECS[c].staticPayloadType} ${rtpmapName(c)}` })),
    { name: 'rtpmap', value: `${local.dtmfPayloadType} telephone-event/8000` },
    { name: 'fmtp', value: `${local.dtmfPayloadType} 0-16` },
    { name: 'ptime', value: String(local.ptime) },
    { name: local.direction },
  ];
  return sessionOf(local, [
    {
      type: 'audio',
      port: local.port,
      protocol: 'RTP/AVP',
      formats: [...pts.map(String), String(local.dtmfPayloadType)],
      bandwidths: [],
      attributes,
    },
  ]);
}

export type AnswerToOfferResult = { ok: true; audio: NegotiatedAudio } | { ok: false; reason: string };

/** Read the peer's answer to our offer: the first of our codecs it kept. */
export function acceptAnswer(answer: SessionDescription, local: LocalMediaOptions): AnswerToOfferResult {
  const m = answer.media.find((x) => x.type === 'audio' && x.port !== 0 && isPlainRtp(x.protocol));
  if (m === undefined) return { ok: false, reason: 'answer rejected the audio stream' };
  const rtpmap = rtpmapOf(m);
  for (const fmt of m.formats) {
    const pt = Number(fmt);
    const codec = Number.isInteger(pt) ? codecForPayloadType(pt, rtpmap) : undefined;
    if (codec === undefined || !local.codecs.includes(codec)) continue;
    const remote = m.connection ?? answer.connection;
    if (remote === undefined) return { ok: false, reason: 'no connection address' };
    const ptimeAttr = Number(findAttribute(answer, m, 'ptime'));
    const peerDir = directionOf(answer, m);
    return {
      ok: true,
      audio: {
        codec,
        payloadType: pt,
        dtmfPayloadType: telephoneEventPt(m, rtpmap),
        ptime: Number.isFinite(ptimeAttr) && ptimeAttr >= 10 && ptimeAttr <= 60 ? ptimeAttr : local.ptime,
        remoteAddress: remote.address,
        remotePort: m.port,
        direction: intersect(REVERSE[peerDir], local.direction),
      },
    };
  }
  return { ok: false, reason: 'answer has none of the offered codecs' };
}

function sessionOf(local: LocalMediaOptions, media: SdpMedia[]): SessionDescription {
  const addrType = local.address.includes(':') ? 'IP6' : 'IP4';
  return {
    version: 0,
    origin: {
      username: 'callroom',
      sessionId: local.sessionId,
      sessionVersion: String(local.sessionVersion),
      netType: 'IN',
      addrType,
      address: local.address,
    },
    sessionName: 'callroom',
    connection: { netType: 'IN', addrType, address: local.address },
    bandwidths: [],
    timing: '0 0',
    attributes: [],
    media,
  };
}

function isPlainRtp(protocol: string): boolean {
  return protocol.toUpperCase() === 'RTP/AVP';
}

function rtpmapOf(m: SdpMedia): Map<number, string> {
  const map = new Map<number, string>();
  for (const a of m.attributes) {
    if (a.name !== 'rtpmap' || a.value === undefined) continue;
    const match = /^(\d+)\s+(\S+)/.exec(a.value);
    if (match !== null) map.set(Number(match[1]), match[2] as string);
  }
  return map;
}

function telephoneEventPt(m: SdpMedia, rtpmap: ReadonlyMap<number, string>): number | undefined {
  for (const fmt of m.formats) {
    const pt = Number(fmt);
    const name = rtpmap.get(pt);
    if (name !== undefined && name.toLowerCase() === 'telephone-event/8000') return pt;
  }
  return undefined;
}

function rtpmapName(codec: CodecName): string {
  return `${codec}/${CODECS[codec].clockRate}`;
}

function directionOf(sdp: SessionDescription, m: SdpMedia): Direction {
  for (const d of ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const) {
    if (m.attributes.some((a) => a.name === d)) return d;
  }
  for (const d of ['sendonly', 'recvonly', 'inactive'] as const) {
    if (sdp.attributes.some((a) => a.name === d)) return d;
  }
  return 'sendrecv';
}

function intersect(a: Direction, b: Direction): Direction {
  const send = (a === 'sendrecv' || a === 'sendonly') && (b === 'sendrecv' || b === 'sendonly');
  const recv = (a === 'sendrecv' || a === 'recvonly') && (b === 'sendrecv' || b === 'recvonly');
  return send && recv ? 'sendrecv' : send ? 'sendonly' : recv ? 'recvonly' : 'inactive';
}
