/**
 * Twilio Media Streams, bidirectional (`<Connect><Stream>`), as on the wire
 * (twilio.com/docs/voice/media-streams/websocket-messages; Fonoster's emulation; pipecat serializers/twilio.py):
 * JSON text frames with an `event`; in: `connected`, `start`, `media` (base64 mu-law 8 kHz, 20 ms), `dtmf`,
 * `mark` (echo of ours, once played or cleared), `stop`; out: `media`, `mark`, `clear` (anything else is
 * Twilio error 31924). The key is the `<Parameter name="token">` custom parameter; the call id is the CallSid.
 */
import { decodeBase64, isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField } from '../json-message.ts';
import type { StreamCodec, StreamEvent, StreamOutbound } from '../stream-session.ts';
import { wireCodec } from '../wire-codec.ts';

export function parseTwilio(data: Buffer): StreamEvent {
  const m = parseJsonObject(data);
  if (m === undefined) return { type: 'bad', kind: 'malformed', detail: 'text frame is not a JSON object' };
  const event = stringField(m, 'event', 64);
  switch (event) {
    case 'connected':
      return { type: 'ignore' };
    case 'start': {
      const start = objectField(m, 'start');
      const streamSid = safeId(start?.['streamSid']) ?? safeId(m['streamSid']);
      const callSid = safeId(start?.['callSid']);
      if (streamSid === undefined || callSid === undefined) return { type: 'bad', kind: 'invalid', detail: 'start without streamSid and callSid' };
      const format = objectField(start, 'mediaFormat');
      const encoding = stringField(format, 'encoding', 64) ?? 'audio/x-mulaw';
      const rate = numberField(format, 'sampleRate') ?? 8000;
      if (encoding !== 'audio/x-mulaw' || rate !== 8000) return { type: 'unsupported', detail: `Twilio media format ${encoding}/${rate} is not mu-law 8 kHz` };
      const params = objectField(start, 'customParameters');
      return {
        type: 'start',
        start: {
          platformCallId: callSid,
          from: stringField(params, 'from'),
          to: stringField(params, 'to'),
          token: stringField(params, 'token', 1024),
          agent: stringField(params, 'agent', 64),
          codec: wireCodec('mulaw', 8000),
          out: twilioOutbound(streamSid),
        },
      };
    }
    case 'media': {
      const media = objectField(m, 'media');
      const track = stringField(media, 'track', 32);
      if (track !== undefined && track !== 'inbound' && track !== 'inbound_track') return { type: 'ignore' };
      const payload = decodeBase64(media?.['payload']);
      if (payload === undefined) return { type: 'bad', kind: 'invalid', detail: 'media without a base64 payload' };
      return { type: 'media', payload };
    }
    case 'dtmf': {
      const digit = objectField(m, 'dtmf')?.['digit'];
      return isDtmfDigit(digit) ? { type: 'dtmf', digit: digit.toUpperCase() } : { type: 'bad', kind: 'invalid', detail: 'dtmf without a digit' };
    }
    case 'mark': {
      const name = stringField(objectField(m, 'mark'), 'name', 128);
      return name === undefined ? { type: 'bad', kind: 'invalid', detail: 'mark without a name' } : { type: 'mark', name };
    }
    case 'stop':
      return { type: 'stop', detail: 'Twilio stopped the stream' };
    case undefined:
      return { type: 'bad', kind: 'malformed', detail: 'message has no string "event"' };
    default:
      return { type: 'bad', kind: 'unknownEvent', detail: `unknown event "${event}"` };
  }
}

/** Outbound messages for one stream (the streamSid is validated by `safeId`: no escaping needed beyond JSON's). */
export function twilioOutbound(streamSid: string): StreamOutbound {
  const sid = JSON.stringify(streamSid);
  return {
    media: (bytes) => `{"event":"media","streamSid":${sid},"media":{"payload":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}"}}`,
    mark: (name) => `{"event":"mark","streamSid":${sid},"mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => `{"event":"clear","streamSid":${sid}}`,
  };
}

export const twilioCodec: StreamCodec = { dialect: 'twilio', parse: parseTwilio };
