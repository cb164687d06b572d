import type { SocketClosed } from '../../ws/client-socket.ts';
import { BridgeLeg } from '../bridge-leg.ts';
import type { DialectSession, WsBridgeContext, WsDialect } from '../dialect.ts';
import { safeId } from '../json-message.ts';
import { ProtocolIssues } from '../protocol-issues.ts';
import { padPcm, type WireCodec } from '../wire-codec.ts';
import { asteriskCodec, asteriskCommand, parseAsteriskEvent, type MediaStart } from './chan-websocket-codec.ts';

/**
 * Asterisk chan_websocket as a bridge dialect (Asterisk dials us: websocket_client.conf, subprotocol
 * `media`). MEDIA_START begins the call; audio goes back in whole `ptime` frames (Asterisk drops a
 * partial one), ahead of real time with marks (MARK_MEDIA -> MEDIA_MARK_PROCESSED when playout reaches
 * it), held while Asterisk says MEDIA_XOFF; barge-in sends FLUSH_MEDIA (which also drops our marks); our
 * hang-up is HANGUP. The key: `?token=` in the URI (`v(token=...)` in the dial string), or the channel
 * variable CALLROOM_TOKEN (JSON control format).
 */
class ChanWebsocketSession implements DialectSession {
  readonly #ctx: WsBridgeContext;
  readonly #issues: ProtocolIssues;
  #leg: BridgeLeg | undefined;
  #codec: WireCodec | undefined;
  #json = false;
  #xoff = false;
  #xoffs = 0;

  constructor(ctx: WsBridgeContext) {
    this.#ctx = ctx;
    this.#issues = new ProtocolIssues(ctx.logger);
  }

  text(data: Buffer): void {
    const p = parseAsteriskEvent(data);
    if (!p.ok) {
      this.#issues.note(p.kind, p.detail);
      return;
    }
    const m = p.message;
    if (m.event === 'MEDIA_START') {
      if (this.#leg !== undefined) this.#issues.note('duplicateStart', 'a second MEDIA_START');
      else this.#start(m.start, p.json);
      return;
    }
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('beforeStart', `${m.event} before MEDIA_START`);
      return;
    }
    switch (m.event) {
      case 'MEDIA_XOFF':
        this.#xoff = true;
        this.#xoffs++;
        return;
      case 'MEDIA_XON':
        this.#xoff = false;
        return;
      case 'MEDIA_MARK_PROCESSED':
        if (!leg.played(m.id)) this.#issues.note('staleMark', 'MEDIA_MARK_PROCESSED for no outstanding mark');
        return;
      case 'DTMF_END':
        leg.dtmf(m.digit);
        return;
      case 'ERROR':
        this.#ctx.logger.warn({ detail: m.text }, 'the telephony platform reported an error');
        return;
      default:
        return;
    }
  }

  binary(data: Buffer): void {
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('mediaBeforeStart', 'audio before MEDIA_START');
      return;
    }
    const codec = this.#codec as WireCodec;
    if (codec.encoding === 'l16le' && data.byteLength % 2 !== 0) this.#issues.note('oddLength', 'audio frame of an odd byte count');
    const pcm = codec.decode(data);
    if (pcm.length === 0) return;
    leg.receive(pcm);
    if (codec.legEncoding !== 'pcm_s16le') leg.receiveEncoded(data);
  }

  closed(closed: SocketClosed): void {
    this.#leg?.remoteEnded({ reason: closed.cause === 'client-closed' ? 'remote-hangup' : 'error', detail: closed.detail });
  }

  #start(start: MediaStart, json: boolean): void {
    const codec = asteriskCodec(start.format);
    if (codec === undefined) {
      this.#ctx.refuse(`Asterisk format ${start.format.slice(0, 20)} is not supported (ulaw, alaw, g722, slin*)`, 1003);
      return;
    }
    this.#json = json;
    this.#codec = codec;
    const frameMs = start.ptime;
    // Whole frames only: PCM bytes of one ptime at the codec's rate.
    const frameBytes = Math.round((codec.sampleRate * frameMs) / 1000) * 2;
    const socket = this.#ctx.socket;
    const issues = this.#issues;
    const format = { sampleRate: codec.sampleRate, encoding: codec.legEncoding };
    const vars = start.channelVariables;
    this.#leg = this.#ctx.begin(
      {
        platformCallId: safeId(start.channelId),
        from: vars['CALLERID(num)'] ?? vars['CALLERID_NUM'],
        to: vars['EXTEN'],
        token: vars['CALLROOM_TOKEN'],
        agent: vars['CALLROOM_AGENT'],
      },
      (setup) =>
        new BridgeLeg({
          callId: setup.callId,
          medium: 'chan_websocket',
          input: format,
          output: format,
          frameMs,
          pacer: setup.pacer,
          playout: setup.playout,
          queued: true,
          logger: setup.logger,
          wire: {
            audio: (pcm) => !this.#xoff && socket.canSendAudio() && socket.sendBinary(Buffer.from(codec.encode(padPcm(pcm, frameBytes)))),
            answer: () => void socket.sendText(asteriskCommand(this.#json, 'ANSWER')),
            mark: (name) => void socket.sendText(asteriskCommand(this.#json, 'MARK_MEDIA', name)),
            clear: () => void socket.sendText(asteriskCommand(this.#json, 'FLUSH_MEDIA')),
            hangup: () => void socket.sendText(asteriskCommand(this.#json, 'HANGUP')),
            close: (code, reason) => socket.close(code, reason),
            stats: () => ({ ...issues.stats(), xoffs: this.#xoffs }),
          },
        }),
    );
  }
}

export const chanWebsocketDialect: WsDialect = { name: 'chan_websocket', subprotocols: ['media'], open: (ctx) => new ChanWebsocketSession(ctx) };
