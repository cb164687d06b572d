/** Audio codecs the gateway speaks on RTP, with their RTP clock and the PCM rate they decode to. */
export type CodecName = 'PCMU' | 'PCMA' | 'G722';

export interface CodecInfo {
  readonly name: CodecName;
  /** RFC 3551 static payload type. */
  readonly staticPayloadType: number;
  /** RTP clock rate. G.722 is 8000 by RFC 3551 §4.5.2, though it samples at 16 kHz. */
  readonly clockRate: number;
  /** Sample rate of the decoded PCM. */
  readonly sampleRate: number;
}

export const CODECS: Readonly<Record<CodecName, CodecInfo>> = {
  PCMU: { name: 'PCMU', staticPayloadType: 0, clockRate: 8000, sampleRate: 8000 },
  PCMA: { name: 'PCMA', staticPayloadType: 8, clockRate: 8000, sampleRate: 8000 },
  G722: { name: 'G722', staticPayloadType: 9, clockRate: 8000, sampleRate: 16000 },
};

/** The codec an RTP payload type maps to under the given rtpmap entries, if one of ours. */
export function codecForPayloadType(pt: number, rtpmap: ReadonlyMap<number, string>): CodecName | undefined {
  const mapped = rtpmap.get(pt);
  if (mapped !== undefined) {
    const [name = '', rate = ''] = mapped.split('/');
    const upper = name.toUpperCase();
    for (const codec of Object.values(CODECS)) {
      if (codec.name === upper && Number(rate) === codec.clockRate) return codec.name;
    }
    return undefined;
  }
  for (const codec of Object.values(CODECS)) if (codec.staticPayloadType === pt) return codec.name;
  return undefined;
}
