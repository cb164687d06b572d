/**
 * Vonage (Nexmo) Voice API WebSocket endpoint, as on the wire (developer.vonage.com voice-api websockets;
 * Vonage AsyncAPI; pipecat serializers/vonage.py): the first text frame is JSON with `content-type`
 * `audio/l16;rate=8000|16000` (and the NCCO's headers; current platforms name it `websocket:connected`),
 * then binary frames of 16-bit little-endian mono PCM, 20 ms each. Back: binary frames of the same size;
 * `{"action":"clear"}` flushes (answered by `websocket:cleared`); `{"action":"notify","payload":{...}}` is
 * echoed as `websocket:notify` once the audio sent before it has played (our marks); DTMF arrives as
 * `websocket:dtmf`. The key: the NCCO header `token` (or the URL). Vonage takes no hang-up on the socket.
 */
import type { SocketClosed } from '../../ws/client-socket.ts';
import { BridgeLeg } from '../bridge-leg.ts';
import type { DialectSession, WsBridgeContext, WsDialect } from '../dialect.ts';
import { isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import { ProtocolIssues } from '../protocol-issues.ts';
import { padPcm, wireCodec, type WireCodec } from '../wire-codec.ts';

/** The rate in a Vonage content type (`audio/l16;rate=16000`), when it is one we take. */
export function vonageRate(contentType: string | undefined): number | undefined {
  if (contentType === undefined) return undefined;
  const m = /^audio\/l16\s*;\s*rate\s*=\s*(\d+)\s*$/i.exec(contentType.trim());
  const rate = m === null ? NaN : Number(m[1]);
  return rate === 8000 || rate === 16000 || rate === 24000 ? rate : undefined;
}

class VonageSession implements DialectSession {
  readonly #ctx: WsBridgeContext;
  readonly #issues: ProtocolIssues;
  #leg: BridgeLeg | undefined;
  #codec: WireCodec | undefined;

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
    if (this.#leg === undefined) {
      this.#start(m);
      return;
    }
    const event = stringField(m, 'event', 64);
    switch (event) {
      case 'websocket:dtmf': {
        const d = objectField(m, 'dtmf') ?? m;
        const digit = d['digit'];
        if (isDtmfDigit(digit)) this.#leg.dtmf(digit.toUpperCase(), numberField(d, 'duration'));
        else this.#issues.note('invalid', 'websocket:dtmf without a digit');
        return;
      }
      case 'websocket:notify': {
        const name = stringField(objectField(m, 'payload'), 'mark', 128);
        if (name === undefined) this.#issues.note('invalid', 'websocket:notify without our payload');
        else if (!this.#leg.played(name)) this.#issues.note('staleMark', 'a notify for no outstanding mark');
        return;
      }
      case 'websocket:cleared':
      case 'websocket:connected':
        return;
      case 'websocket:error':
        this.#ctx.logger.warn({ detail: stringField(m, 'description', 200) ?? stringField(m, 'error', 200) }, 'the telephony platform reported an error');
        return;
      default:
        this.#issues.note('unknownEvent', event === undefined ? 'message without an event' : `unknown event "${event}"`);
    }
  }

  binary(data: Buffer): void {
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('mediaBeforeStart', 'audio before the first JSON message');
      return;
    }
    if (data.byteLength % 2 !== 0) this.#issues.note('oddLength', 'audio frame of an odd byte count');
    if (data.byteLength >= 2) leg.receive((this.#codec as WireCodec).decode(data));
  }

  closed(closed: SocketClosed): void {
    this.#leg?.remoteEnded({ reason: closed.cause === 'client-closed' ? 'remote-hangup' : 'error', detail: closed.detail });
  }

  #start(m: JsonObject): void {
    const rate = vonageRate(stringField(m, 'content-type', 64));
    if (rate === undefined) {
      this.#ctx.refuse('the first message names no audio/l16 rate (8000, 16000 or 24000)', 1003);
      return;
    }
    const headers = objectField(m, 'headers') ?? m;
    const codec = wireCodec('l16le', rate);
    this.#codec = codec;
    const socket = this.#ctx.socket;
    const issues = this.#issues;
    this.#leg = this.#ctx.begin(
      {
        platformCallId: safeId(headers['call_uuid']) ?? safeId(headers['uuid']) ?? safeId(m['uuid']),
        from: stringField(headers, 'from'),
        to: stringField(headers, 'to'),
        token: stringField(headers, 'token', 1024),
        agent: stringField(headers, 'agent', 64),
      },
      (setup) =>
        new BridgeLeg({
          callId: setup.callId,
          medium: 'vonage',
          input: { sampleRate: rate, encoding: 'pcm_s16le' },
          output: { sampleRate: rate, encoding: 'pcm_s16le' },
          pacer: setup.pacer,
          playout: setup.playout,
          queued: true,
          logger: setup.logger,
          wire: {
            // Frames of the size Vonage sends (20 ms): a reply's short last one is padded with silence.
            audio: (pcm) => socket.sendBinary(padPcm(pcm, rate / 25)),
            mark: (name) => void socket.sendText(`{"action":"notify","payload":{"mark":${JSON.stringify(name)}}}`),
            clear: () => void socket.sendText('{"action":"clear"}'),
            close: (code, reason) => socket.close(code, reason),
            stats: () => issues.stats(),
          },
        }),
    );
  }
}

export const vonageDialect: WsDialect = { name: 'vonage', subprotocols: [], open: (ctx) => new VonageSession(ctx) };
