/**
 * Telnyx media streaming, bidirectional RTP mode, as on the wire (developers.telnyx.com AsyncAPI "Stream call
 * media over WebSocket"; pipecat serializers/telnyx.py): JSON text frames with an `event`; in: `connected`
 * (with `x-telnyx-streaming-auth-token` when configured), `start` (`stream_id`, `start.call_control_id`,
 * `media_format`), `media` (base64 RTP payload in the stream's codec; order not guaranteed: `media.chunk`
 * orders them), `dtmf`, `mark`, `error`, `stop`; out: `media`, `mark`, `clear`. Codecs: PCMU, PCMA, G722,
 * L16 (network byte order); OPUS and AMR-WB are refused.
 */
import { decodeBase64, isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import type { StreamCodec, StreamEvent, StreamOutbound } from '../stream-session.ts';
import { wireCodec, type WireCodec } from '../wire-codec.ts';

export function parseTelnyx(data: Buffer): StreamEvent {
  const m = parseJsonObject(data);
  if (m === undefined) return { type: 'bad', kind: 'malformed', detail: 'text frame is not a JSON object' };
  const event = stringField(m, 'event', 64);
  switch (event) {
    case 'connected': {
      const token = stringField(m, 'x-telnyx-streaming-auth-token', 1024);
      return token === undefined ? { type: 'ignore' } : { type: 'token', token };
    }
    case 'start':
      return start(m);
    case 'media': {
      const media = objectField(m, 'media');
      const track = stringField(media, 'track', 32);
      if (track !== undefined && track !== 'inbound') return { type: 'ignore' };
      const payload = decodeBase64(media?.['payload']);
      if (payload === undefined) return { type: 'bad', kind: 'invalid', detail: 'media without a base64 payload' };
      return { type: 'media', payload, seq: numberField(media, 'chunk') ?? numberField(m, 'sequence_number') };
    }
    case 'dtmf': {
      const digit = objectField(m, 'dtmf')?.['digit'];
      return isDtmfDigit(digit) ? { type: 'dtmf', digit: digit.toUpperCase() } : { type: 'bad', kind: 'invalid', detail: 'dtmf without a digit' };
    }
    case 'mark': {
      const name = stringField(objectField(m, 'mark'), 'name', 128);
      return name === undefined ? { type: 'bad', kind: 'invalid', detail: 'mark without a name' } : { type: 'mark', name };
    }
    case 'error': {
      const p = objectField(m, 'payload');
      return { type: 'platform_error', detail: `${stringField(p, 'code', 32) ?? '?'} ${stringField(p, 'title', 200) ?? ''} ${stringField(p, 'detail', 200) ?? ''}`.trim() };
    }
    case 'stop':
      return { type: 'stop', detail: 'Telnyx stopped the stream' };
    case undefined:
      return { type: 'bad', kind: 'malformed', detail: 'message has no string "event"' };
    default:
      return { type: 'bad', kind: 'unknownEvent', detail: `unknown event "${event}"` };
  }
}

function start(m: JsonObject): StreamEvent {
  const s = objectField(m, 'start');
  const streamId = safeId(m['stream_id']);
  const callControlId = safeId(s?.['call_control_id']);
  if (streamId === undefined || callControlId === undefined) return { type: 'bad', kind: 'invalid', detail: 'start without stream_id and start.call_control_id' };
  const format = objectField(s, 'media_format');
  const encoding = (stringField(format, 'encoding', 32) ?? 'PCMU').toUpperCase();
  const rate = numberField(format, 'sample_rate') ?? 8000;
  const codec = telnyxCodecOf(encoding, rate);
  if (codec === undefined) return { type: 'unsupported', detail: `Telnyx codec ${encoding}/${rate} is not supported (PCMU, PCMA, G722, L16)` };
  const params = customParameters(s?.['custom_parameters']);
  return {
    type: 'start',
    start: {
      platformCallId: callControlId,
      from: stringField(s, 'from'),
      to: stringField(s, 'to'),
      token: params['token'],
      agent: params['agent'],
      codec,
      out: telnyxOutbound(),
    },
  };
}

function telnyxCodecOf(encoding: string, rate: number): WireCodec | undefined {
  if (encoding === 'PCMU' && rate === 8000) return wireCodec('mulaw', 8000);
  if (encoding === 'PCMA' && rate === 8000) return wireCodec('alaw', 8000);
  if (encoding === 'G722') return wireCodec('g722', 16000);
  if (encoding === 'L16' && (rate === 8000 || rate === 16000 || rate === 24000)) return wireCodec('l16be', rate);
  return undefined;
}

/** `custom_parameters` as an object, or a list of `{name, value}`. */
function customParameters(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const p of v.slice(0, 32)) {
      const o = p !== null && typeof p === 'object' ? (p as JsonObject) : undefined;
      const name = stringField(o, 'name', 64);
      const value = stringField(o, 'value', 1024);
      if (name !== undefined && value !== undefined) out[name] = value;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, val] of Object.entries(v).slice(0, 32)) if (typeof val === 'string' && k.length <= 64 && val.length <= 1024) out[k] = val;
  }
  return out;
}

export function telnyxOutbound(): StreamOutbound {
  return {
    media: (bytes) => `{"event":"media","media":{"payload":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}"}}`,
    mark: (name) => `{"event":"mark","mark":{"name":${JSON.stringify(name)}}}`,
    clear: () => '{"event":"clear"}',
  };
}

export const telnyxCodec: StreamCodec = { dialect: 'telnyx', parse: parseTelnyx, reorder: true };
