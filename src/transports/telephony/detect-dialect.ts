/**
 * Which platform is on a connection, from its WebSocket subprotocol or its first text frames, as Pipecat's
 * runner recognises them (`_detect_transport_type_from_message`): Twilio `start.streamSid`+`callSid`,
 * Telnyx `stream_id`+`start.call_control_id`, Plivo `start.streamId`+`callId`, Exotel `stream_sid`+`call_sid`;
 * plus Vonage's first message (`websocket:connected` / `content-type`), Genesys AudioHook `open`, and
 * chan_websocket's `MEDIA_START`. The Twilio-style platforms open with a `connected` that does not tell them
 * apart: detection waits for their `start`.
 */
import { objectField, parseJsonObject, stringField } from './json-message.ts';
import type { TelephonyDialect } from './dialect.ts';

export type Detection =
  | { readonly kind: 'dialect'; readonly dialect: TelephonyDialect }
  /** Not decided yet: keep the message and look at the next one. */
  | { readonly kind: 'wait' }
  | { readonly kind: 'unknown'; readonly detail: string };

const SUBPROTOCOLS: Readonly<Record<string, TelephonyDialect>> = {
  'audio.jambonz.org': 'jambonz',
  'audio.drachtio.org': 'jambonz',
  media: 'chan_websocket',
};

/** The dialect a WebSocket subprotocol names, if any. */
export function dialectOfSubprotocol(protocol: string): TelephonyDialect | undefined {
  return Object.hasOwn(SUBPROTOCOLS, protocol) ? SUBPROTOCOLS[protocol] : undefined;
}

/** Look at one text frame received before the dialect is known. */
export function detectDialect(data: Buffer): Detection {
  const head = data.subarray(0, 16).toString('latin1');
  if (head.startsWith('MEDIA_START')) return { kind: 'dialect', dialect: 'chan_websocket' };
  const m = parseJsonObject(data);
  if (m === undefined) return { kind: 'unknown', detail: 'first text frame is not a JSON object or MEDIA_START' };
  const event = stringField(m, 'event');
  if (event === 'MEDIA_START') return { kind: 'dialect', dialect: 'chan_websocket' };
  if (event === 'connected') return { kind: 'wait' };
  if (event === 'start') {
    const start = objectField(m, 'start');
    if (stringField(start, 'streamSid') !== undefined && stringField(start, 'callSid') !== undefined) return { kind: 'dialect', dialect: 'twilio' };
    if (stringField(m, 'stream_id') !== undefined && stringField(start, 'call_control_id') !== undefined) return { kind: 'dialect', dialect: 'telnyx' };
    if (stringField(start, 'streamId') !== undefined && stringField(start, 'callId') !== undefined) return { kind: 'dialect', dialect: 'plivo' };
    if ((stringField(m, 'stream_sid') ?? stringField(start, 'stream_sid')) !== undefined && stringField(start, 'call_sid') !== undefined) {
      return { kind: 'dialect', dialect: 'exotel' };
    }
    return { kind: 'unknown', detail: 'a start message of no known platform' };
  }
  if (event === 'websocket:connected' || typeof m['content-type'] === 'string') return { kind: 'dialect', dialect: 'vonage' };
  if (stringField(m, 'type') === 'open' && m['version'] !== undefined) return { kind: 'dialect', dialect: 'genesys' };
  if (stringField(m, 'callSid') !== undefined && m['sampleRate'] !== undefined) return { kind: 'dialect', dialect: 'jambonz' };
  return { kind: 'unknown', detail: event === undefined ? 'first message of no known platform' : `first event "${event.slice(0, 40)}" of no known platform` };
}
