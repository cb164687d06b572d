/**
 * Asterisk chan_websocket (asterisk@f0c1c1a channels/chan_websocket.c): binary frames are raw media in the
 * channel's codec; control is text, either plain (`EVENT key:value ...`, commands `COMMAND [arg]`, at most
 * 128 bytes) or JSON (`{"event":...}` / `{"command":...}`), whichever `f(json)` / `control_message_format`
 * chose: we answer in the format the MEDIA_START came in. Events: MEDIA_START (connection_id, channel,
 * channel_id, format, optimal_frame_size, ptime; JSON adds channel_variables), MEDIA_XOFF / MEDIA_XON
 * (queue above 900 / below 800 frames), MEDIA_MARK_PROCESSED <id>, DTMF_END, ERROR, STATUS, QUEUE_DRAINED,
 * MEDIA_BUFFERING_COMPLETED. Commands we send: ANSWER, MARK_MEDIA <id>, FLUSH_MEDIA, HANGUP.
 */
import { isDtmfDigit, numberField, objectField, parseJsonObject, stringField, type JsonObject } from '../json-message.ts';
import { wireCodec, type WireCodec } from '../wire-codec.ts';

export interface MediaStart {
  readonly connectionId: string | undefined;
  readonly channel: string | undefined;
  readonly channelId: string | undefined;
  readonly format: string;
  readonly optimalFrameSize: number | undefined;
  readonly ptime: number;
  readonly channelVariables: Readonly<Record<string, string>>;
}

export type AsteriskEvent =
  | { readonly event: 'MEDIA_START'; readonly start: MediaStart }
  | { readonly event: 'MEDIA_XOFF' | 'MEDIA_XON' | 'QUEUE_DRAINED' | 'STATUS' }
  | { readonly event: 'MEDIA_MARK_PROCESSED' | 'MEDIA_BUFFERING_COMPLETED'; readonly id: string }
  | { readonly event: 'DTMF_END'; readonly digit: string }
  | { readonly event: 'ERROR'; readonly text: string };

export type ParsedAsterisk =
  | { readonly ok: true; readonly json: boolean; readonly message: AsteriskEvent }
  | { readonly ok: false; readonly kind: 'malformed' | 'unknownEvent' | 'invalid'; readonly detail: string };

export function parseAsteriskEvent(data: Buffer): ParsedAsterisk {
  const first = data.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b) return fromJson(parseJsonObject(data));
  const text = data.toString('utf8').trim();
  if (text === '' || text.length > 4096) return { ok: false, kind: 'malformed', detail: 'empty or oversized control text' };
  const space = text.indexOf(' ');
  const name = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? '' : text.slice(space + 1).trim();
  const fields: Record<string, string> = {};
  for (const m of rest.matchAll(/(\w+):(\S*)/g)) fields[m[1] as string] = m[2] as string;
  switch (name) {
    case 'MEDIA_START':
      return mediaStart(false, fields, {});
    case 'MEDIA_XOFF':
    case 'MEDIA_XON':
    case 'QUEUE_DRAINED':
    case 'STATUS':
      return { ok: true, json: false, message: { event: name } };
    case 'MEDIA_MARK_PROCESSED':
    case 'MEDIA_BUFFERING_COMPLETED':
      return { ok: true, json: false, message: { event: name, id: rest } };
    case 'DTMF_END':
      return dtmf(false, fields['digit']);
    case 'ERROR': {
      const at = rest.indexOf('error_text:');
      return { ok: true, json: false, message: { event: 'ERROR', text: (at < 0 ? rest : rest.slice(at + 11)).slice(0, 200) } };
    }
    default:
      return { ok: false, kind: 'unknownEvent', detail: `unknown event "${name.slice(0, 40)}"` };
  }
}

function fromJson(m: JsonObject | undefined): ParsedAsterisk {
  if (m === undefined) return { ok: false, kind: 'malformed', detail: 'control text is neither plain text nor a JSON object' };
  const event = stringField(m, 'event', 64);
  switch (event) {
    case 'MEDIA_START': {
      const vars: Record<string, string> = {};
      for (const [k, v] of Object.entries(objectField(m, 'channel_variables') ?? {}).slice(0, 256)) if (typeof v === 'string' && v.length <= 1024) vars[k] = v;
      const fields: Record<string, string> = {};
      for (const k of ['connection_id', 'channel', 'channel_id', 'format', 'optimal_frame_size', 'ptime']) {
        const v = stringField(m, k);
        if (v !== undefined) fields[k] = v;
      }
      return mediaStart(true, fields, vars);
    }
    case 'MEDIA_XOFF':
    case 'MEDIA_XON':
    case 'QUEUE_DRAINED':
    case 'STATUS':
      return { ok: true, json: true, message: { event } };
    case 'MEDIA_MARK_PROCESSED':
    case 'MEDIA_BUFFERING_COMPLETED':
      return { ok: true, json: true, message: { event, id: stringField(m, 'correlation_id', 256) ?? '' } };
    case 'DTMF_END':
      return dtmf(true, m['digit']);
    case 'ERROR':
      return { ok: true, json: true, message: { event: 'ERROR', text: stringField(m, 'error_text', 200) ?? '' } };
    case undefined:
      return { ok: false, kind: 'malformed', detail: 'JSON control message without an event' };
    default:
      return { ok: false, kind: 'unknownEvent', detail: `unknown event "${event}"` };
  }
}

function mediaStart(json: boolean, f: Record<string, string>, vars: Record<string, string>): ParsedAsterisk {
  const format = f['format'];
  if (format === undefined || format === '') return { ok: false, kind: 'invalid', detail: 'MEDIA_START without a format' };
  const ptime = numberField(f, 'ptime') ?? 20;
  return {
    ok: true,
    json,
    message: {
      event: 'MEDIA_START',
      start: {
        connectionId: f['connection_id'],
        channel: f['channel'],
        channelId: f['channel_id'],
        format,
        optimalFrameSize: numberField(f, 'optimal_frame_size'),
        ptime: ptime >= 10 && ptime <= 200 ? ptime : 20,
        channelVariables: vars,
      },
    },
  };
}

function dtmf(json: boolean, digit: unknown): ParsedAsterisk {
  return isDtmfDigit(digit) ? { ok: true, json, message: { event: 'DTMF_END', digit: digit.toUpperCase() } } : { ok: false, kind: 'invalid', detail: 'DTMF_END without a digit' };
}

const SLIN_RATES: Readonly<Record<string, number>> = {
  slin: 8000,
  slin12: 12000,
  slin16: 16000,
  slin24: 24000,
  slin32: 32000,
  slin44: 44100,
  slin48: 48000,
  slin96: 96000,
  slin192: 192000,
};

/** The codec of an Asterisk format name; undefined for the ones we do not speak (opus, g729, ...). */
export function asteriskCodec(format: string): WireCodec | undefined {
  if (format === 'ulaw') return wireCodec('mulaw', 8000);
  if (format === 'alaw') return wireCodec('alaw', 8000);
  if (format === 'g722') return wireCodec('g722', 16000);
  const rate = Object.hasOwn(SLIN_RATES, format) ? SLIN_RATES[format] : undefined;
  return rate === undefined ? undefined : wireCodec('l16le', rate);
}

/** A command in the control format Asterisk uses on this channel. */
export function asteriskCommand(json: boolean, command: 'ANSWER' | 'HANGUP' | 'FLUSH_MEDIA' | 'MARK_MEDIA', id?: string): string {
  if (json) return JSON.stringify(id === undefined ? { command } : { command, correlation_id: id });
  return id === undefined ? command : `${command} ${id}`;
}
