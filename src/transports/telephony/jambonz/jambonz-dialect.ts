/**
 * jambonz `listen` with bidirectional streaming audio (docs.jambonz.org verbs/listen; jambonz-feature-server
 * lib/tasks/listen.js; freeswitch-modules mod_audio_fork lws_glue.cpp; pipecat serializers/jambonz.py):
 * jambonz connects with subprotocol `audio.jambonz.org`; the first text frame is the call's attributes
 * (`callSid`, `from`, `to`, ...) with `sampleRate`, `mixType` and the verb's `metadata` merged in; then
 * binary L16 little-endian at `sampleRate` (stereo: caller left). Back (`bidirectionalAudio.streaming`):
 * binary L16 at `bidirectionalAudio.sampleRate` into jambonz's playout buffer; `{"type":"killAudio"}`
 * flushes it; `{"type":"mark","data":{"name":...}}` comes back with `event` `playout` or `cleared` (30 at
 * most); `{"type":"disconnect"}` ends the verb. DTMF (`passDtmf`): `{"event":"dtmf","dtmf":"5","duration":"1600"}`.
 */
import type { SocketClosed } from '../../ws/client-socket.ts';
import { BridgeLeg } from '../bridge-leg.ts';
import type { DialectSession, WsBridgeContext, WsDialect } from '../dialect.ts';
import { isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import { ProtocolIssues } from '../protocol-issues.ts';
import { wireCodec, type WireCodec } from '../wire-codec.ts';

const RATES = new Set([8000, 16000, 24000, 32000, 48000]);

class JambonzSession implements DialectSession {
  readonly #ctx: WsBridgeContext;
  readonly #issues: ProtocolIssues;
  #leg: BridgeLeg | undefined;
  #codec: WireCodec | undefined;
  #stereo = false;

  constructor(ctx: WsBridgeContext) {
    this.#ctx = ctx;
    this.#issues = new ProtocolIssues(ctx.logger);
  }

  text(data: Buffer): void {
    const m = parseJsonObject(data);
    if (m === undefined) {
      this.#issues.note('malformed', 'text frame is not a JSON object');
      return;
    }
    const leg = this.#leg;
    if (leg === undefined) {
      this.#start(m);
      return;
    }
    const type = stringField(m, 'type', 64);
    const event = stringField(m, 'event', 64);
    if (event === 'dtmf') {
      const digit = m['dtmf'];
      if (isDtmfDigit(digit)) leg.dtmf(digit.toUpperCase(), numberField(m, 'duration'));
      else this.#issues.note('invalid', 'dtmf without a digit');
      return;
    }
    switch (type) {
      case 'mark': {
        const d = objectField(m, 'data');
        const name = stringField(d, 'name', 128);
        if (name === undefined) this.#issues.note('invalid', 'mark without a name');
        else if (stringField(d, 'event', 32) === 'playout' && !leg.played(name)) this.#issues.note('staleMark', 'a mark for no outstanding mark');
        return;
      }
      case 'playDone':
      case 'transcription':
        return;
      case 'error':
        this.#ctx.logger.warn({ detail: stringField(objectField(m, 'data'), 'error', 200) ?? stringField(m, 'error', 200) }, 'the telephony platform reported an error');
        return;
      default:
        this.#issues.note('unknownEvent', `unknown message ${JSON.stringify((type ?? event ?? '').slice(0, 40))}`);
    }
  }

  binary(data: Buffer): void {
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('mediaBeforeStart', 'audio before the call attributes');
      return;
    }
    if (data.byteLength % 2 !== 0) this.#issues.note('oddLength', 'audio frame of an odd byte count');
    if (data.byteLength < 2) return;
    const pcm = (this.#codec as WireCodec).decode(data);
    leg.receive(this.#stereo ? leftChannel(pcm) : pcm);
  }

  closed(closed: SocketClosed): void {
    this.#leg?.remoteEnded({ reason: closed.cause === 'client-closed' ? 'remote-hangup' : 'error', detail: closed.detail });
  }

  #start(m: JsonObject): void {
    const rate = numberField(m, 'sampleRate');
    if (rate === undefined || !RATES.has(rate)) {
      this.#ctx.refuse('the call attributes carry no usable sampleRate', 1003);
      return;
    }
    const bidi = objectField(m, 'bidirectionalAudio');
    const outRate = numberField(bidi, 'sampleRate') ?? this.#ctx.settings.outputSampleRate ?? rate;
    if (!RATES.has(outRate)) {
      this.#ctx.refuse(`bidirectional audio at ${outRate} Hz is not supported`, 1003);
      return;
    }
    this.#stereo = stringField(m, 'mixType', 16) === 'stereo';
    this.#codec = wireCodec('l16le', rate);
    const metadata = objectField(m, 'metadata');
    const socket = this.#ctx.socket;
    const issues = this.#issues;
    this.#leg = this.#ctx.begin(
      {
        platformCallId: safeId(m['callSid']),
        from: stringField(m, 'from'),
        to: stringField(m, 'to'),
        token: stringField(m, 'token', 1024) ?? stringField(metadata, 'token', 1024),
        agent: stringField(m, 'agent', 64) ?? stringField(metadata, 'agent', 64),
      },
      (setup) =>
        new BridgeLeg({
          callId: setup.callId,
          medium: 'jambonz',
          input: { sampleRate: rate, encoding: 'pcm_s16le' },
          output: { sampleRate: outRate, encoding: 'pcm_s16le' },
          pacer: setup.pacer,
          playout: setup.playout,
          queued: true,
          logger: setup.logger,
          wire: {
            audio: (pcm) => socket.sendBinary(pcm),
            mark: (name) => void socket.sendText(`{"type":"mark","data":{"name":${JSON.stringify(name)}}}`),
            clear: () => void socket.sendText('{"type":"killAudio"}'),
            hangup: () => void socket.sendText('{"type":"disconnect"}'),
            close: (code, reason) => socket.close(code, reason),
            stats: () => issues.stats(),
          },
        }),
    );
  }
}

/** The first (caller's) channel of interleaved stereo. */
function leftChannel(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = pcm[2 * i] as number;
  return out;
}

export const jambonzDialect: WsDialect = {
  name: 'jambonz',
  subprotocols: ['audio.jambonz.org', 'audio.drachtio.org'],
  open: (ctx) => new JambonzSession(ctx),
};
