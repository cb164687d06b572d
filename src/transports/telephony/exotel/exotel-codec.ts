/**
 * Exotel Voicebot applet (AgentStream), as on the wire (developer.exotel.com agentstream websocket-protocol;
 * pipecat serializers/exotel.py): JSON text frames with an `event`; in: `connected`, `start` (`stream_sid`,
 * `start.call_sid`, `start.media_format` `audio/x-raw` 16-bit little-endian at 8/16/24 kHz), `media`
 * (base64 PCM, about 100 ms), `dtmf`, `mark`, `stop`; out: `media` (at least 3.2 KB per message and a
 * multiple of 320 bytes, or playback has gaps), `mark`, `clear`.
 */
import { decodeBase64, isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import type { StreamCodec, StreamEvent, StreamOutbound } from '../stream-session.ts';
import { padPcm, wireCodec } from '../wire-codec.ts';

export function parseExotel(data: Buffer): StreamEvent {
  const m = parseJsonObject(data);
  if (m === undefined) return { type: 'bad', kind: 'malformed', detail: 'text frame is not a JSON object' };
  const event = stringField(m, 'event', 64);
  switch (event) {
    case 'connected':
      return { type: 'ignore' };
    case 'start':
      return start(m);
    case 'media': {
      const payload = decodeBase64(objectField(m, 'media')?.['payload']);
      return payload === undefined ? { type: 'bad', kind: 'invalid', detail: 'media without a base64 payload' } : { type: 'media', payload };
    }
    case 'dtmf': {
      const dtmf = objectField(m, 'dtmf');
      const digit = dtmf?.['digit'];
      return isDtmfDigit(digit)
        ? { type: 'dtmf', digit: digit.toUpperCase(), durationMs: numberField(dtmf, 'duration') }
        : { type: 'bad', kind: 'invalid', detail: 'dtmf without a digit' };
    }
    case 'mark': {
      const name = stringField(objectField(m, 'mark'), 'name', 128);
      return name === undefined ? { type: 'bad', kind: 'invalid', detail: 'mark without a name' } : { type: 'mark', name };
    }
    case 'stop':
      return { type: 'stop', detail: 'Exotel stopped the stream' };
    case undefined:
      return { type: 'bad', kind: 'malformed', detail: 'message has no string "event"' };
    default:
      return { type: 'bad', kind: 'unknownEvent', detail: `unknown event "${event}"` };
  }
}

function start(m: JsonObject): StreamEvent {
  const s = objectField(m, 'start');
  const streamSid = safeId(m['stream_sid']) ?? safeId(s?.['stream_sid']);
  const callSid = safeId(s?.['call_sid']);
  if (streamSid === undefined || callSid === undefined) return { type: 'bad', kind: 'invalid', detail: 'start without stream_sid and start.call_sid' };
  const format = objectField(s, 'media_format');
  const encoding = stringField(format, 'encoding', 64) ?? 'audio/x-raw';
  const rate = numberField(format, 'sample_rate') ?? 8000;
  if (encoding !== 'audio/x-raw' || (rate !== 8000 && rate !== 16000 && rate !== 24000)) {
    return { type: 'unsupported', detail: `Exotel format ${encoding}/${rate} is not supported (audio/x-raw at 8, 16 or 24 kHz)` };
  }
  const params = objectField(s, 'custom_parameters');
  return {
    type: 'start',
    start: {
      platformCallId: callSid,
      from: stringField(s, 'from'),
      to: stringField(s, 'to'),
      token: stringField(params, 'token', 1024),
      agent: stringField(params, 'agent', 64),
      codec: wireCodec('l16le', rate),
      out: exotelOutbound(streamSid),
      frameMs: exotelFrameMs(rate),
      chunkedInbound: true,
    },
  };
}

/** At least 3,200 bytes and 100 ms per message, in 20 ms steps (a multiple of 320 bytes at every rate). */
export function exotelFrameMs(rate: number): number {
  const bytesPerMs = (rate * 2) / 1000;
  return Math.max(100, Math.ceil(3200 / bytesPerMs / 20) * 20);
}

/** Outbound messages; a short last frame of a reply is padded with silence to 3.2 KB and a multiple of 320 bytes. */
export function exotelOutbound(streamSid: string): StreamOutbound {
  const sid = JSON.stringify(streamSid);
  return {
    media: (bytes) => {
      const size = Math.max(3200, Math.ceil(bytes.byteLength / 320) * 320);
      const padded = padPcm(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), size);
      return `{"event":"media","stream_sid":${sid},"media":{"payload":"${padded.toString('base64')}"}}`;
    },
    mark: (name) => `{"event":"mark","stream_sid":${sid},"mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => `{"event":"clear","stream_sid":${sid}}`,
  };
}

export const exotelCodec: StreamCodec = { dialect: 'exotel', parse: parseExotel };
