/**
 * The session shared by the platforms whose protocol is Twilio-shaped: JSON text frames with an event
 * name, base64 audio inside `media` messages, marks echoed back, a `clear` to flush (Twilio, Telnyx,
 * Plivo, Exotel). Each platform's codec turns its messages into `StreamEvent`s and makes its outbound
 * messages; this session runs the call: start (key, leg), audio (reordered where the platform does not
 * keep order), DTMF, marks, stop, and bad input counted and logged, never thrown.
 */
import type { SocketClosed } from '../ws/client-socket.ts';
import { BridgeLeg } from './bridge-leg.ts';
import type { BridgeStart, DialectSession, TelephonyDialect, WsBridgeContext, WsDialect } from './dialect.ts';
import { ProtocolIssues } from './protocol-issues.ts';
import { ReorderBuffer } from './reorder-buffer.ts';
import type { WireCodec } from './wire-codec.ts';

/** The platform's outbound messages for one stream (its stream id is bound in). */
export interface StreamOutbound {
  /** A text frame carrying one outbound frame's bytes. */
  media(bytes: Uint8Array): string;
  mark(name: string): string;
  clear(): string;
}

export interface StreamStartInfo extends BridgeStart {
  readonly codec: WireCodec;
  readonly out: StreamOutbound;
  /** Outbound frame length (Exotel wants at least 100 ms per message); default 20. */
  readonly frameMs?: number;
  /** Caller audio comes in chunks longer than a packet (Exotel, ~100 ms): smooth it to one frame per 20 ms. */
  readonly chunkedInbound?: boolean;
}

export type StreamEvent =
  /** Nothing to do (`connected`, informational events). */
  | { readonly type: 'ignore' }
  /** A key the platform sends before its start (Telnyx `connected` with its streaming auth token). */
  | { readonly type: 'token'; readonly token: string }
  | { readonly type: 'start'; readonly start: StreamStartInfo }
  /** The start message was understood but cannot be served (a codec we do not speak). */
  | { readonly type: 'unsupported'; readonly detail: string }
  /** `seq`: the platform's frame counter, where frames may arrive out of order. */
  | { readonly type: 'media'; readonly payload: Buffer; readonly seq?: number | undefined }
  | { readonly type: 'dtmf'; readonly digit: string; readonly durationMs?: number | undefined }
  /** A mark came back; `cleared`: the platform says it was dropped by a flush, not played. */
  | { readonly type: 'mark'; readonly name: string; readonly cleared?: boolean }
  | { readonly type: 'stop'; readonly detail: string }
  /** The platform reports an error of its own (Telnyx `error`). */
  | { readonly type: 'platform_error'; readonly detail: string }
  | { readonly type: 'bad'; readonly kind: 'malformed' | 'unknownEvent' | 'invalid'; readonly detail: string };

export interface StreamCodec {
  readonly dialect: TelephonyDialect;
  parse(data: Buffer): StreamEvent;
  /** Media frames carry a counter and may arrive out of order (Telnyx). */
  readonly reorder?: boolean;
}

/** A dialect for a Twilio-shaped platform. */
export function streamDialect(codec: StreamCodec): WsDialect {
  return { name: codec.dialect, subprotocols: [], open: (ctx) => new StreamSession(ctx, codec) };
}

class StreamSession implements DialectSession {
  readonly #ctx: WsBridgeContext;
  readonly #codec: StreamCodec;
  readonly #issues: ProtocolIssues;
  #leg: BridgeLeg | undefined;
  #wire: WireCodec | undefined;
  #reorder: ReorderBuffer | undefined;
  #stopped = false;
  #token: string | undefined;

  constructor(ctx: WsBridgeContext, codec: StreamCodec) {
    this.#ctx = ctx;
    this.#codec = codec;
    this.#issues = new ProtocolIssues(ctx.logger);
  }

  text(data: Buffer): void {
    const ev = this.#codec.parse(data);
    switch (ev.type) {
      case 'ignore':
        return;
      case 'token':
        this.#token = ev.token;
        return;
      case 'bad':
        this.#issues.note(ev.kind, ev.detail);
        return;
      case 'unsupported':
        this.#ctx.refuse(ev.detail, 1003);
        return;
      case 'start':
        this.#start(ev.start);
        return;
      case 'media':
        this.#media(ev.payload, ev.seq);
        return;
      case 'dtmf':
        if (this.#leg === undefined) this.#issues.note('beforeStart', 'dtmf before start');
        else this.#leg.dtmf(ev.digit, ev.durationMs);
        return;
      case 'mark':
        if (ev.cleared === true || this.#leg === undefined) return;
        if (!this.#leg.played(ev.name)) this.#issues.note('staleMark', 'a mark echo for no outstanding mark');
        return;
      case 'platform_error':
        this.#ctx.logger.warn({ detail: ev.detail }, 'the telephony platform reported an error');
        return;
      case 'stop':
        this.#stop(ev.detail);
        return;
    }
  }

  binary(): void {
    this.#issues.note('unexpectedBinary', 'a binary frame on a JSON protocol');
  }

  closed(closed: SocketClosed): void {
    this.#reorder?.flush();
    this.#leg?.remoteEnded({ reason: closed.cause === 'client-closed' || this.#stopped ? 'remote-hangup' : 'error', detail: closed.detail });
  }

  #start(start: StreamStartInfo): void {
    if (this.#leg !== undefined) {
      this.#issues.note('duplicateStart', 'a second start on the same stream');
      return;
    }
    const socket = this.#ctx.socket;
    const codec = start.codec;
    const out = start.out;
    const issues = this.#issues;
    this.#wire = codec;
    const begin = start.token === undefined && this.#token !== undefined ? { ...start, token: this.#token } : start;
    this.#leg = this.#ctx.begin(begin, (setup) => {
      const format = { sampleRate: codec.sampleRate, encoding: codec.legEncoding };
      return new BridgeLeg({
        callId: setup.callId,
        medium: this.#codec.dialect,
        input: format,
        output: format,
        ...(start.frameMs === undefined ? {} : { frameMs: start.frameMs }),
        smoothInbound: start.chunkedInbound === true,
        pacer: setup.pacer,
        playout: setup.playout,
        queued: true,
        logger: setup.logger,
        wire: {
          audio: (pcm) => socket.canSendAudio() && socket.sendText(out.media(codec.encode(pcm))),
          mark: (name) => void socket.sendText(out.mark(name)),
          clear: () => void socket.sendText(out.clear()),
          close: (code, reason) => socket.close(code, reason),
          stats: () => ({ ...issues.stats(), ...(this.#reorder?.stats() ?? {}) }),
        },
      });
    });
    if (this.#leg !== undefined && this.#codec.reorder === true) {
      const leg = this.#leg;
      this.#reorder = new ReorderBuffer((payload) => this.#deliver(leg, payload));
    }
  }

  #media(payload: Buffer, seq: number | undefined): void {
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('mediaBeforeStart', 'media before start');
      return;
    }
    if (this.#reorder !== undefined && seq !== undefined) this.#reorder.push(seq, payload);
    else this.#deliver(leg, payload);
  }

  #deliver(leg: BridgeLeg, payload: Buffer): void {
    const codec = this.#wire;
    if (codec === undefined || payload.byteLength === 0) return;
    leg.receive(codec.decode(payload));
    if (codec.legEncoding !== 'pcm_s16le') leg.receiveEncoded(payload);
  }

  #stop(detail: string): void {
    this.#stopped = true;
    if (this.#leg === undefined) {
      this.#ctx.refuse('stop before start', 1000);
      return;
    }
    this.#reorder?.flush();
    this.#leg.remoteEnded({ reason: 'remote-hangup', detail });
  }
}
