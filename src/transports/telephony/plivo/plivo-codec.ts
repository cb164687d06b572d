/**
 * Plivo audio streams, bidirectional (`<Stream bidirectional="true">`), as on the wire (docs.plivo.com
 * audiostream and play-audio events; pipecat serializers/plivo.py): JSON text frames with an `event`; in:
 * `start` (`start.streamId`, `start.callId`, `start.mediaFormat`), `media` (base64), `dtmf`, `playedStream`
 * (a checkpoint reached), `clearedAudio`, `stop`; out: `playAudio`, `checkpoint`, `clearAudio`.
 * Formats: `audio/x-mulaw` 8 kHz, `audio/x-l16` 8 or 16 kHz (little-endian). The key: an extra header `token`.
 */
import { decodeBase64, isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import type { StreamCodec, StreamEvent, StreamOutbound } from '../stream-session.ts';
import { wireCodec, type WireCodec } from '../wire-codec.ts';

export function parsePlivo(data: Buffer): StreamEvent {
  const m = parseJsonObject(data);
  if (m === undefined) return { type: 'bad', kind: 'malformed', detail: 'text frame is not a JSON object' };
  const event = stringField(m, 'event', 64);
  switch (event) {
    case 'start':
      return start(m);
    case 'media': {
      const media = objectField(m, 'media');
      const track = stringField(media, 'track', 32);
      if (track !== undefined && track !== 'inbound') return { type: 'ignore' };
      const payload = decodeBase64(media?.['payload']);
      return payload === undefined ? { type: 'bad', kind: 'invalid', detail: 'media without a base64 payload' } : { type: 'media', payload };
    }
    case 'dtmf': {
      const digit = objectField(m, 'dtmf')?.['digit'];
      return isDtmfDigit(digit) ? { type: 'dtmf', digit: digit.toUpperCase() } : { type: 'bad', kind: 'invalid', detail: 'dtmf without a digit' };
    }
    case 'playedStream': {
      const name = stringField(m, 'name', 128);
      return name === undefined ? { type: 'bad', kind: 'invalid', detail: 'playedStream without a name' } : { type: 'mark', name };
    }
    case 'clearedAudio':
      return { type: 'ignore' };
    case 'stop':
      return { type: 'stop', detail: 'Plivo stopped the stream' };
    case undefined:
      return { type: 'bad', kind: 'malformed', detail: 'message has no string "event"' };
    default:
      return { type: 'bad', kind: 'unknownEvent', detail: `unknown event "${event}"` };
  }
}

function start(m: JsonObject): StreamEvent {
  const s = objectField(m, 'start');
  const streamId = safeId(s?.['streamId']) ?? safeId(m['streamId']);
  const callId = safeId(s?.['callId']);
  if (streamId === undefined || callId === undefined) return { type: 'bad', kind: 'invalid', detail: 'start without start.streamId and start.callId' };
  const format = objectField(s, 'mediaFormat');
  const encoding = stringField(format, 'encoding', 64) ?? 'audio/x-mulaw';
  const rate = numberField(format, 'sampleRate') ?? 8000;
  const codec = plivoCodecOf(encoding, rate);
  if (codec === undefined) return { type: 'unsupported', detail: `Plivo format ${encoding}/${rate} is not supported` };
  const headers = extraHeaders(m['extra_headers'] ?? m['extraHeaders'] ?? s?.['extraHeaders'] ?? s?.['extra_headers']);
  return {
    type: 'start',
    start: {
      platformCallId: callId,
      from: stringField(s, 'from'),
      to: stringField(s, 'to'),
      token: headers['token'],
      agent: headers['agent'],
      codec,
      out: plivoOutbound(streamId, codec),
    },
  };
}

function plivoCodecOf(encoding: string, rate: number): WireCodec | undefined {
  if (encoding === 'audio/x-mulaw' && rate === 8000) return wireCodec('mulaw', 8000);
  if (encoding === 'audio/x-l16' && (rate === 8000 || rate === 16000)) return wireCodec('l16le', rate);
  return undefined;
}

/** Extra headers as an object, a JSON text, or `k=v` pairs separated by `,` or `;`. */
function extraHeaders(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let o: unknown = v;
  if (typeof v === 'string') {
    const parsed = v.trim().startsWith('{') ? parseJsonObject(v) : undefined;
    if (parsed !== undefined) o = parsed;
    else {
      for (const pair of v.slice(0, 2048).split(/[,;]/)) {
        const i = pair.indexOf('=');
        if (i > 0) out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
      }
      return out;
    }
  }
  if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, val] of Object.entries(o).slice(0, 32)) if (typeof val === 'string' && val.length <= 1024) out[k] = val;
  }
  return out;
}

export function plivoOutbound(streamId: string, codec: WireCodec): StreamOutbound {
  const sid = JSON.stringify(streamId);
  const contentType = codec.encoding === 'mulaw' ? 'audio/x-mulaw' : 'audio/x-l16';
  return {
    media: (bytes) =>
      `{"event":"playAudio","media":{"contentType":"${contentType}","sampleRate":${codec.sampleRate},"payload":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}"},"streamId":${sid}}`,
    mark: (name) => `{"event":"checkpoint","streamId":${sid},"name":${JSON.stringify(name)}}`,
    clear: () => `{"event":"clearAudio","streamId":${sid}}`,
  };
}

export const plivoCodec: StreamCodec = { dialect: 'plivo', parse: parsePlivo };
