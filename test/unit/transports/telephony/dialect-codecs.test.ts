/**
 * The JSON dialects' parsers against messages written from the wire notes, their outbound messages byte
 * for byte, and bad input as values (never a throw).
 */
import { describe, expect, it } from 'vitest';
import { parseAsteriskEvent, asteriskCodec, asteriskCommand } from '../../../../src/transports/telephony/chan-websocket/chan-websocket-codec.ts';
import { detectDialect, dialectOfSubprotocol } from '../../../../src/transports/telephony/detect-dialect.ts';
import { exotelFrameMs, exotelOutbound, parseExotel } from '../../../../src/transports/telephony/exotel/exotel-codec.ts';
import { pickGenesysMedia } from '../../../../src/transports/telephony/genesys/genesys-dialect.ts';
import { parsePlivo, plivoOutbound } from '../../../../src/transports/telephony/plivo/plivo-codec.ts';
import { parseTelnyx, telnyxOutbound } from '../../../../src/transports/telephony/telnyx/telnyx-codec.ts';
import { parseTwilio, twilioOutbound } from '../../../../src/transports/telephony/twilio/twilio-codec.ts';
import { vonageRate } from '../../../../src/transports/telephony/vonage/vonage-dialect.ts';
import { wireCodec } from '../../../../src/transports/telephony/wire-codec.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('Twilio messages', () => {
  it('reads start, media, dtmf, mark and stop as Twilio sends them', () => {
    const start = parseTwilio(
      b('{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"customParameters":{"token":"k","agent":"sales","from":"+1"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}'),
    );
    expect(start).toMatchObject({ type: 'start', start: { platformCallId: 'CA1', token: 'k', agent: 'sales', from: '+1', codec: { encoding: 'mulaw', sampleRate: 8000 } } });
    expect(parseTwilio(b('{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"/38A"}}'))).toEqual({
      type: 'media',
      payload: Buffer.from([0xff, 0x7f, 0x00]),
    });
    expect(parseTwilio(b('{"event":"dtmf","sequenceNumber":"4","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"#"}}'))).toEqual({ type: 'dtmf', digit: '#' });
    expect(parseTwilio(b('{"event":"mark","sequenceNumber":"5","streamSid":"MZ1","mark":{"name":"cr-4"}}'))).toEqual({ type: 'mark', name: 'cr-4' });
    expect(parseTwilio(b('{"event":"stop","sequenceNumber":"6","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}'))).toMatchObject({ type: 'stop' });
    expect(parseTwilio(b('{"event":"connected","protocol":"Call","version":"1.0.0"}'))).toEqual({ type: 'ignore' });
  });

  it('writes media, mark and clear exactly', () => {
    const out = twilioOutbound('MZ1');
    expect(out.media(new Uint8Array([0xff, 0x7f, 0x00]))).toBe('{"event":"media","streamSid":"MZ1","media":{"payload":"/38A"}}');
    expect(out.mark('cr-1')).toBe('{"event":"mark","streamSid":"MZ1","mark":{"name":"cr-1"}}');
    expect(out.clear()).toBe('{"event":"clear","streamSid":"MZ1"}');
  });

  it('returns bad input as values', () => {
    expect(parseTwilio(b('not json'))).toMatchObject({ type: 'bad', kind: 'malformed' });
    expect(parseTwilio(b('[1,2]'))).toMatchObject({ type: 'bad', kind: 'malformed' });
    expect(parseTwilio(b('{"no":"event"}'))).toMatchObject({ type: 'bad', kind: 'malformed' });
    expect(parseTwilio(b('{"event":"frobnicate"}'))).toMatchObject({ type: 'bad', kind: 'unknownEvent' });
    expect(parseTwilio(b('{"event":"media","media":{"payload":"***"}}'))).toMatchObject({ type: 'bad', kind: 'invalid' });
    expect(parseTwilio(b('{"event":"media","media":{"payload":"abc"}}'))).toMatchObject({ type: 'bad', kind: 'invalid' });
    expect(parseTwilio(b('{"event":"dtmf","dtmf":{"digit":"55"}}'))).toMatchObject({ type: 'bad', kind: 'invalid' });
    expect(parseTwilio(b('{"event":"start","start":{"streamSid":"MZ\\"1","callSid":"CA1"}}'))).toMatchObject({ type: 'bad', kind: 'invalid' });
    expect(parseTwilio(Buffer.from([0xff, 0xfe, 0x7b]))).toMatchObject({ type: 'bad', kind: 'malformed' });
    expect(parseTwilio(b('{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","mediaFormat":{"encoding":"audio/x-l16","sampleRate":16000}}}'))).toMatchObject({
      type: 'unsupported',
    });
  });
});

describe('Telnyx, Plivo and Exotel messages', () => {
  it('Telnyx: start with its codec, media with the chunk counter, the auth token in connected, error and outbound', () => {
    const start = parseTelnyx(
      b('{"event":"start","sequence_number":"1","start":{"user_id":"u","call_control_id":"v3:abc","call_session_id":"s","from":"+1","to":"+2","custom_parameters":[{"name":"token","value":"k"}],"media_format":{"encoding":"L16","sample_rate":16000,"channels":1}},"stream_id":"sid"}'),
    );
    expect(start).toMatchObject({ type: 'start', start: { platformCallId: 'v3:abc', token: 'k', from: '+1', to: '+2', codec: { encoding: 'l16be', sampleRate: 16000 } } });
    expect(parseTelnyx(b('{"event":"start","start":{"call_control_id":"c","media_format":{"encoding":"PCMA","sample_rate":8000}},"stream_id":"s"}'))).toMatchObject({ start: { codec: { encoding: 'alaw' } } });
    expect(parseTelnyx(b('{"event":"start","start":{"call_control_id":"c","media_format":{"encoding":"G722","sample_rate":8000}},"stream_id":"s"}'))).toMatchObject({ start: { codec: { encoding: 'g722', sampleRate: 16000 } } });
    expect(parseTelnyx(b('{"event":"start","start":{"call_control_id":"c","media_format":{"encoding":"AMR-WB","sample_rate":16000}},"stream_id":"s"}'))).toMatchObject({ type: 'unsupported' });
    expect(parseTelnyx(b('{"event":"media","sequence_number":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"AAA="},"stream_id":"s"}'))).toEqual({ type: 'media', payload: Buffer.from([0, 0]), seq: 2 });
    expect(parseTelnyx(b('{"event":"connected","version":"1.0.0","x-telnyx-streaming-auth-token":"k"}'))).toEqual({ type: 'token', token: 'k' });
    expect(parseTelnyx(b('{"event":"error","payload":{"code":100002,"title":"Unknown error","detail":"x"}}'))).toEqual({ type: 'platform_error', detail: '100002 Unknown error x' });
    const out = telnyxOutbound();
    expect(out.media(new Uint8Array([0, 0]))).toBe('{"event":"media","media":{"payload":"AAA="}}');
    expect(out.mark('cr-2')).toBe('{"event":"mark","mark":{"name":"cr-2"}}');
    expect(out.clear()).toBe('{"event":"clear"}');
  });

  it('Plivo: start with extra headers, playedStream as a mark, playAudio/checkpoint/clearAudio out', () => {
    const start = parsePlivo(b('{"event":"start","sequenceNumber":1,"start":{"callId":"call-1","streamId":"st-1","mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},"extra_headers":"token=k;agent=a"}'));
    expect(start).toMatchObject({ type: 'start', start: { platformCallId: 'call-1', token: 'k', agent: 'a' } });
    expect(parsePlivo(b('{"event":"playedStream","streamId":"st-1","name":"cr-3"}'))).toEqual({ type: 'mark', name: 'cr-3' });
    expect(parsePlivo(b('{"event":"clearedAudio","streamId":"st-1"}'))).toEqual({ type: 'ignore' });
    const out = plivoOutbound('st-1', wireCodec('mulaw', 8000));
    expect(out.media(new Uint8Array([0xff]))).toBe('{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"/w=="},"streamId":"st-1"}');
    expect(out.mark('cr-1')).toBe('{"event":"checkpoint","streamId":"st-1","name":"cr-1"}');
    expect(out.clear()).toBe('{"event":"clearAudio","streamId":"st-1"}');
  });

  it('Exotel: start at 16 kHz, messages of at least 3.2 KB in multiples of 320 bytes', () => {
    const start = parseExotel(
      b('{"event":"start","sequence_number":1,"stream_sid":"ss","start":{"stream_sid":"ss","call_sid":"cs","account_sid":"a","from":"1","to":"2","custom_parameters":{"token":"k"},"media_format":{"encoding":"audio/x-raw","sample_rate":"16000","bit_rate":"16"}}}'),
    );
    expect(start).toMatchObject({ type: 'start', start: { platformCallId: 'cs', token: 'k', frameMs: 100, codec: { encoding: 'l16le', sampleRate: 16000 } } });
    expect([8000, 16000, 24000].map(exotelFrameMs)).toEqual([200, 100, 100]);
    const msg = JSON.parse(exotelOutbound('ss').media(new Uint8Array(1000).fill(1))) as { media: { payload: string } };
    const bytes = Buffer.from(msg.media.payload, 'base64');
    expect(bytes.length).toBe(3200);
    expect(bytes.subarray(0, 1000).every((x) => x === 1)).toBe(true);
    expect(bytes.subarray(1000).every((x) => x === 0)).toBe(true);
    expect(exotelOutbound('ss').clear()).toBe('{"event":"clear","stream_sid":"ss"}');
  });
});

describe('Asterisk chan_websocket control', () => {
  it('reads plain-text and JSON events', () => {
    expect(parseAsteriskEvent(b('MEDIA_START connection_id:c1 channel:WebSocket/c1/0x1 channel_id:1733.42 format:ulaw optimal_frame_size:160 ptime:20'))).toEqual({
      ok: true,
      json: false,
      message: { event: 'MEDIA_START', start: { connectionId: 'c1', channel: 'WebSocket/c1/0x1', channelId: '1733.42', format: 'ulaw', optimalFrameSize: 160, ptime: 20, channelVariables: {} } },
    });
    expect(parseAsteriskEvent(b('{"event":"MEDIA_START","connection_id":"c","channel":"W","channel_id":"1.2","format":"slin16","optimal_frame_size":640,"ptime":20,"channel_variables":{"CALLROOM_TOKEN":"k"}}'))).toMatchObject({
      ok: true,
      json: true,
      message: { start: { format: 'slin16', channelVariables: { CALLROOM_TOKEN: 'k' } } },
    });
    expect(parseAsteriskEvent(b('MEDIA_MARK_PROCESSED cr-7'))).toEqual({ ok: true, json: false, message: { event: 'MEDIA_MARK_PROCESSED', id: 'cr-7' } });
    expect(parseAsteriskEvent(b('{"event":"MEDIA_MARK_PROCESSED","channel_id":"1","correlation_id":"cr-7"}'))).toMatchObject({ message: { id: 'cr-7' } });
    expect(parseAsteriskEvent(b('DTMF_END digit:5 channel_id:1.2'))).toMatchObject({ message: { event: 'DTMF_END', digit: '5' } });
    expect(parseAsteriskEvent(b('MEDIA_XOFF'))).toMatchObject({ message: { event: 'MEDIA_XOFF' } });
    expect(parseAsteriskEvent(b('ERROR channel_id:1.2 error_text:FLUSH_MEDIA not supported in passthrough mode'))).toMatchObject({ message: { text: 'FLUSH_MEDIA not supported in passthrough mode' } });
    expect(parseAsteriskEvent(b('SOMETHING_NEW x:1'))).toMatchObject({ ok: false, kind: 'unknownEvent' });
    expect(parseAsteriskEvent(b('{"event":'))).toMatchObject({ ok: false, kind: 'malformed' });
    expect(parseAsteriskEvent(b('MEDIA_START channel_id:1'))).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('writes commands in the format Asterisk uses, and knows its codecs', () => {
    expect(asteriskCommand(false, 'MARK_MEDIA', 'cr-1')).toBe('MARK_MEDIA cr-1');
    expect(asteriskCommand(false, 'FLUSH_MEDIA')).toBe('FLUSH_MEDIA');
    expect(asteriskCommand(true, 'MARK_MEDIA', 'cr-1')).toBe('{"command":"MARK_MEDIA","correlation_id":"cr-1"}');
    expect(asteriskCommand(true, 'HANGUP')).toBe('{"command":"HANGUP"}');
    expect(['ulaw', 'alaw', 'slin', 'slin16', 'slin44', 'g722', 'opus'].map((f) => asteriskCodec(f)?.sampleRate)).toEqual([8000, 8000, 8000, 16000, 44100, 16000, undefined]);
  });
});

describe('dialect detection and small parsers', () => {
  it('recognises every platform from its first frames or subprotocol', () => {
    expect(detectDialect(b('{"event":"connected","protocol":"Call","version":"1.0.0"}'))).toEqual({ kind: 'wait' });
    expect(detectDialect(b('{"event":"start","start":{"streamSid":"MZ","callSid":"CA"}}'))).toEqual({ kind: 'dialect', dialect: 'twilio' });
    expect(detectDialect(b('{"event":"start","stream_id":"s","start":{"call_control_id":"c"}}'))).toEqual({ kind: 'dialect', dialect: 'telnyx' });
    expect(detectDialect(b('{"event":"start","start":{"streamId":"s","callId":"c"}}'))).toEqual({ kind: 'dialect', dialect: 'plivo' });
    expect(detectDialect(b('{"event":"start","stream_sid":"s","start":{"call_sid":"c"}}'))).toEqual({ kind: 'dialect', dialect: 'exotel' });
    expect(detectDialect(b('{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}'))).toEqual({ kind: 'dialect', dialect: 'vonage' });
    expect(detectDialect(b('{"content-type":"audio/l16;rate=8000"}'))).toEqual({ kind: 'dialect', dialect: 'vonage' });
    expect(detectDialect(b('{"version":"2","type":"open","id":"x"}'))).toEqual({ kind: 'dialect', dialect: 'genesys' });
    expect(detectDialect(b('MEDIA_START connection_id:c'))).toEqual({ kind: 'dialect', dialect: 'chan_websocket' });
    expect(detectDialect(b('{"callSid":"c","sampleRate":8000}'))).toEqual({ kind: 'dialect', dialect: 'jambonz' });
    expect(detectDialect(b('hello'))).toMatchObject({ kind: 'unknown' });
    expect(detectDialect(b('{"event":"start","start":{}}'))).toMatchObject({ kind: 'unknown' });
    expect(dialectOfSubprotocol('audio.jambonz.org')).toBe('jambonz');
    expect(dialectOfSubprotocol('media')).toBe('chan_websocket');
    expect(dialectOfSubprotocol('toString')).toBeUndefined();
  });

  it('reads Vonage content types and picks the Genesys media offer', () => {
    expect(['audio/l16;rate=16000', 'audio/l16; rate=8000', 'audio/L16;rate=24000', 'audio/l16;rate=11025', 'audio/pcmu'].map(vonageRate)).toEqual([16000, 8000, 24000, undefined, undefined]);
    expect(pickGenesysMedia([{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }, { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }])).toEqual({ channels: ['external'] });
    expect(pickGenesysMedia([{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }])).toEqual({ channels: ['external', 'internal'] });
    expect(pickGenesysMedia([{ type: 'audio', format: 'L16', channels: ['external'], rate: 16000 }])).toBeUndefined();
    expect(pickGenesysMedia('nope')).toBeUndefined();
  });

  it('L16 big-endian round trip and the odd trailing byte', () => {
    const c = wireCodec('l16be', 16000);
    expect(c.decode(new Uint8Array([0x01, 0x02, 0xff, 0xfe, 0x07]))).toEqual(new Int16Array([0x0102, -2]));
    expect(Buffer.from(c.encode(Buffer.from(new Int16Array([0x0102, -2]).buffer)))).toEqual(Buffer.from([0x01, 0x02, 0xff, 0xfe]));
  });
});
