import type { Socket } from 'node:net';
import type { CallOrigin } from '../../../call/call-leg.ts';
import { errorMessage } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Pacer } from '../../../media/rtp/pacer.ts';
import type { BridgeCalls } from '../bridge-calls.ts';
import { BridgeLeg, type PlayoutSettings } from '../bridge-leg.ts';
import { ProtocolIssues } from '../protocol-issues.ts';
import { wireCodec, type WireCodec } from '../wire-codec.ts';
import {
  ERROR_CALLER_HANGUP,
  HANGUP_FRAME,
  isAudioKind,
  KIND_DTMF,
  KIND_ERROR,
  KIND_HANGUP,
  KIND_SLIN,
  KIND_UUID,
  audioKindRate,
  tlvFrame,
  TlvReader,
  uuidText,
  type Kind11,
  type TlvFrame,
} from './audiosocket-codec.ts';

export interface AudioSocketSessionOptions {
  readonly socket: Socket;
  readonly calls: BridgeCalls;
  readonly agent: string | undefined;
  readonly kind11: Kind11;
  readonly startTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly pacer: Pacer;
  readonly playout: PlayoutSettings;
  readonly logger: Logger;
  readonly onDone: () => void;
}

/** How long to wait after the UUID for the first audio frame, which tells the rate (Asterisk sends one every 20 ms). */
const FORMAT_WAIT_MS = 500;
/** Outbound bytes queued in the socket beyond which a frame waits for the next slot. */
const HIGH_WATER = 64 * 1024;
/** After our close, how long the peer has to close its side before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

type Phase = 'uuid' | 'format' | 'call' | 'ended';

/**
 * One AudioSocket connection from Asterisk: the UUID first (within `startTimeoutMs`), then the first audio
 * frame gives the rate (kind 0x10 slin 8 kHz from the dialplan app; 0x11-0x18 from the channel driver),
 * then the call runs as a `BridgeLeg` paced at real time (Asterisk writes each frame to the channel as it
 * comes: nothing to flush on barge-in, and played means sent). Our audio goes back in the kind Asterisk
 * uses. Endings: Asterisk's hang-up or error frame, the socket closing (remote-hangup) or failing (error),
 * no frame for `idleTimeoutMs` (timeout); ours send `00 00 00` and close. A frame over `maxFrameBytes`
 * ends the call (the stream cannot be trusted after it); unknown kinds are counted and skipped.
 */
export class AudioSocketSession {
  readonly #o: AudioSocketSessionOptions;
  readonly #socket: Socket;
  readonly #reader: TlvReader;
  readonly #issues: ProtocolIssues;
  #logger: Logger;
  #phase: Phase = 'uuid';
  #uuid = '';
  #kind = KIND_SLIN;
  #codec: WireCodec | undefined;
  #leg: BridgeLeg | undefined;
  #timer: NodeJS.Timeout | undefined;
  #idle: NodeJS.Timeout | undefined;
  #lastFrameAt = performance.now();
  #early: TlvFrame[] = [];
  #remoteClosed = false;

  constructor(options: AudioSocketSessionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.#logger = options.logger;
    this.#issues = new ProtocolIssues(options.logger);
    this.#reader = new TlvReader(options.maxFrameBytes);
    const s = this.#socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.#guard(() => this.#data(chunk)));
    s.on('end', () => this.#guard(() => this.#peerEnded()));
    s.on('error', (err: Error & { code?: string }) => this.#guard(() => this.#failed(err)));
    s.on('close', () => this.#guard(() => this.#closed()));
    this.#timer = setTimeout(() => this.#refuse(`no UUID within ${options.startTimeoutMs} ms`), options.startTimeoutMs);
    this.#idle = setInterval(() => this.#checkIdle(), Math.min(1000, options.idleTimeoutMs));
  }

  get started(): boolean {
    return this.#leg !== undefined;
  }

  /** Gateway shutdown before a call began. */
  abandon(): void {
    if (this.#leg === undefined) this.#refuse('gateway shutting down');
  }

  #data(chunk: Buffer): void {
    if (this.#phase === 'ended') return;
    this.#lastFrameAt = performance.now();
    const r = this.#reader.push(chunk);
    for (const f of r.frames) {
      this.#frame(f);
      if ((this.#phase as Phase) === 'ended') return;
    }
    if (!r.ok) {
      this.#issues.note('oversized', r.detail);
      this.#endWith({ reason: 'error', detail: r.detail });
    }
  }

  #frame(f: TlvFrame): void {
    switch (this.#phase) {
      case 'uuid':
        if (f.kind !== KIND_UUID || f.payload.byteLength !== 16) {
          this.#refuse(f.kind === KIND_UUID ? `UUID frame of ${f.payload.byteLength} bytes, not 16` : `first frame of kind 0x${f.kind.toString(16)}, not the UUID`);
          return;
        }
        this.#uuid = uuidText(f.payload);
        this.#phase = 'format';
        this.#clearTimer();
        this.#timer = setTimeout(() => this.#begin(KIND_SLIN, 8000), FORMAT_WAIT_MS);
        return;
      case 'format':
        if (isAudioKind(f.kind)) {
          const rate = audioKindRate(f.kind, f.payload.byteLength, this.#o.kind11);
          this.#early.push(f);
          this.#begin(f.kind, rate ?? 8000);
          return;
        }
        if (this.#early.length < 50) this.#early.push(f);
        return;
      case 'call':
        this.#callFrame(f);
        return;
      case 'ended':
        return;
    }
  }

  #begin(kind: number, rate: number): void {
    if (this.#phase !== 'format') return;
    this.#clearTimer();
    this.#phase = 'call';
    this.#kind = kind;
    const codec = wireCodec('l16le', rate);
    this.#codec = codec;
    const calls = this.#o.calls;
    const callId = calls.callId('audiosocket', this.#uuid);
    this.#logger = this.#o.logger.child({ callId, medium: 'audiosocket' });
    const socket = this.#socket;
    const format = { sampleRate: rate, encoding: 'pcm_s16le' as const };
    const leg = new BridgeLeg({
      callId,
      medium: 'audiosocket',
      input: format,
      output: format,
      pacer: this.#o.pacer,
      playout: this.#o.playout,
      queued: false,
      logger: this.#logger,
      wire: {
        audio: (pcm) => {
          if (socket.destroyed || !socket.writable || socket.writableLength > HIGH_WATER) return false;
          socket.write(tlvFrame(kind, pcm));
          return true;
        },
        hangup: () => {
          if (!socket.destroyed && socket.writable) socket.write(HANGUP_FRAME);
        },
        close: () => this.#closeSocket(),
        stats: () => this.#issues.stats(),
      },
    });
    this.#leg = leg;
    const origin: CallOrigin = { direction: 'inbound', from: '', to: '', dialled: this.#o.agent ?? '' };
    calls.start(leg, origin, this.#logger);
    const early = this.#early;
    this.#early = [];
    for (const f of early) this.#callFrame(f);
  }

  #callFrame(f: TlvFrame): void {
    const leg = this.#leg;
    if (leg === undefined) return;
    if (isAudioKind(f.kind)) {
      if (f.kind !== this.#kind) {
        this.#issues.note('kindChange', `audio of kind 0x${f.kind.toString(16)} in a call of kind 0x${this.#kind.toString(16)}`);
        return;
      }
      if (f.payload.byteLength % 2 !== 0) this.#issues.note('oddLength', 'audio frame of an odd byte count');
      if (f.payload.byteLength >= 2) leg.receive((this.#codec as WireCodec).decode(f.payload));
      return;
    }
    switch (f.kind) {
      case KIND_DTMF: {
        const digit = f.payload.toString('latin1', 0, 1).toUpperCase();
        if (f.payload.byteLength >= 1 && /^[0-9*#A-D]$/.test(digit)) leg.dtmf(digit);
        else this.#issues.note('invalid', 'DTMF frame without a key');
        return;
      }
      case KIND_HANGUP:
        leg.remoteEnded({ reason: 'remote-hangup', detail: 'Asterisk sent hang-up' });
        return;
      case KIND_ERROR: {
        const code = f.payload.byteLength > 0 ? (f.payload[0] as number) : 0;
        if ((code & ERROR_CALLER_HANGUP) !== 0) leg.remoteEnded({ reason: 'remote-hangup', detail: 'the caller hung up (AudioSocket error 0x01)' });
        else leg.remoteEnded({ reason: 'error', detail: `Asterisk reported AudioSocket error 0x${code.toString(16).padStart(2, '0')}` });
        return;
      }
      case KIND_UUID:
        this.#issues.note('invalid', 'a second UUID frame');
        return;
      default:
        this.#issues.note('unknownKind', `frame of unknown kind 0x${f.kind.toString(16)}`);
    }
  }

  #peerEnded(): void {
    this.#remoteClosed = true;
    if (this.#reader.pending > 0) this.#issues.note('truncated', `the stream ended inside a frame (${this.#reader.pending} bytes held)`);
    this.#endWith({ reason: 'remote-hangup', detail: 'Asterisk closed the connection' });
  }

  #failed(err: Error & { code?: string }): void {
    this.#endWith({ reason: 'error', detail: `connection failed (${err.code ?? errorMessage(err)})` });
  }

  #closed(): void {
    this.#endWith({ reason: this.#remoteClosed ? 'remote-hangup' : 'error', detail: 'connection closed' });
    this.#clearTimer();
    if (this.#idle !== undefined) clearInterval(this.#idle);
    this.#idle = undefined;
    this.#o.onDone();
  }

  #checkIdle(): void {
    if (this.#phase === 'ended' || performance.now() - this.#lastFrameAt < this.#o.idleTimeoutMs) return;
    if (this.#leg === undefined) this.#refuse('no frames from Asterisk');
    else this.#endWith({ reason: 'timeout', detail: `no frame from Asterisk for ${this.#o.idleTimeoutMs} ms` }, true);
  }

  /** The call (or the connection, before a call) ends: `hangup` tells Asterisk first. */
  #endWith(end: { reason: 'remote-hangup' | 'error' | 'timeout'; detail: string }, hangup = false): void {
    if (this.#phase === 'ended') return;
    const leg = this.#leg;
    if (leg === undefined) {
      this.#refuse(end.detail);
      return;
    }
    this.#phase = 'ended';
    if (hangup) {
      leg.endCall(end);
      return;
    }
    leg.remoteEnded(end);
  }

  #refuse(detail: string): void {
    if (this.#phase === 'ended') return;
    this.#phase = 'ended';
    this.#clearTimer();
    this.#logger.warn({ detail }, 'audiosocket connection refused');
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(HANGUP_FRAME);
    this.#closeSocket();
  }

  #closeSocket(): void {
    this.#phase = 'ended';
    const s = this.#socket;
    if (s.destroyed) return;
    s.end();
    const t = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
    t.unref();
    s.once('close', () => clearTimeout(t));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err: errorMessage(err) }, 'audiosocket bridge failed');
      try {
        if (this.#leg !== undefined) this.#leg.fail('the bridge failed on a frame from Asterisk');
        else this.#socket.destroy();
      } catch {
        this.#socket.destroy();
      }
    }
  }
}
