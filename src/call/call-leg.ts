/**
 * A live call's audio and control, as the call session sees it. Every medium implements it: SIP/RTP
 * (`transports/sip/sip-call-leg.ts`), the WebSocket medium, and the telephony WebSocket bridges. The
 * session never learns which one it talks to; it reads `inputFormat`/`outputFormat` to pick the
 * providers' audio format (G.711 passes through untouched where a provider speaks it).
 */
import type { AudioFrame } from '../core/audio-frame.ts';
import type { Unsubscribe } from '../core/listeners.ts';
import type { ClientToolConnection } from '../room/client-tool.ts';
import type { SessionEvent } from './session-events.ts';

/** Encodings a leg can hand over or take as they are on the wire. */
export type LegEncoding = 'pcm_s16le' | 'mulaw' | 'alaw';

/** Audio as the medium carries it: PCM frames always, and G.711 bytes where that is the wire format. */
export interface LegAudioFormat {
  readonly sampleRate: number;
  /** The wire encoding: `mulaw`/`alaw` legs also offer `onEncoded`/`writeEncoded`. */
  readonly encoding: LegEncoding;
}

/** A DTMF key from any path: RFC 4733 on RTP, SIP INFO, or a medium's own message. */
export interface CallDtmf {
  readonly digit: string;
  readonly durationMs: number | undefined;
  /** RFC 4733 events, SIP INFO, tones heard in the audio, or the medium's own message. */
  readonly source: 'rfc4733' | 'info' | 'inband' | 'medium';
}

/**
 * Why a leg ended, in call words: the far end hung up (`remote-hangup`), we did (`local-hangup`),
 * a transfer completed, the call was cancelled or refused before it was answered, the medium timed out
 * or failed (a vanished WebSocket peer is `error` with a detail).
 */
export type LegEndReason = 'remote-hangup' | 'local-hangup' | 'transferred' | 'cancelled' | 'rejected' | 'timeout' | 'error';

export interface LegEnd {
  readonly reason: LegEndReason;
  /** The SIP status involved, where there is one (487 cancel, 408 timeout, a rejection's status). */
  readonly status?: number;
  /** Where a transfer sent the caller. */
  readonly transferredTo?: string;
  /** A short, safe explanation for logs and the call record. */
  readonly detail?: string;
}

export interface LegTransferResult {
  readonly ok: boolean;
  /** The final status the transferee reported (SIP), or 0 when the medium gives none. */
  readonly status: number;
}

/** Where outbound audio stands, in milliseconds of audio since the leg started. */
export interface OutputPosition {
  /** Audio accepted by `write`/`writeEncoded` (minus what `clearOutput` dropped). */
  readonly writtenMs: number;
  /** Audio that has left for the caller (sent on its real-time schedule, or acknowledged by the medium). */
  readonly playedMs: number;
}

export interface CallLeg {
  /** The call id (SIP Call-ID, or the id the medium was created with). */
  readonly id: string;
  /** Which medium: `sip`, `websocket`, `twilio`, ... (for records and metrics; never branched on). */
  readonly medium: string;
  /** Resolves once, when the leg ends for any reason. */
  readonly ended: Promise<LegEnd>;
  /** Format of the audio arriving now (a SIP re-INVITE can change it); undefined before media is agreed. */
  readonly inputFormat: LegAudioFormat | undefined;
  /** The format the medium sends natively; `write` accepts PCM at any rate and converts. */
  readonly outputFormat: LegAudioFormat | undefined;
  /** Application messages for client tools, when the medium carries them (WebSocket); else undefined. */
  readonly clientTools: ClientToolConnection | undefined;

  /**
   * Caller audio as PCM, one frame per packet time, called synchronously on the media path. Frames may be
   * kept (they are not reused). A throwing listener is logged and does not stop the others.
   */
  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe;
  /**
   * Caller audio as the wire's G.711 bytes (only when `inputFormat.encoding` is mulaw or alaw), alongside
   * `onFrame`, for providers that take it without transcoding.
   */
  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe;
  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe;

  /**
   * Queue PCM for the caller without waiting (a real-time source such as echo): synchronous, no Promise per
   * frame; false when the buffer is full (the frame is dropped) or the leg cannot send.
   */
  sendFrame(frame: AudioFrame): boolean;
  /**
   * Queue PCM for the caller, waiting while the medium's bounded buffer is full (a producer faster than
   * real time waits here). Resolves at once, dropping the frame, when the leg cannot send (ended, held).
   */
  write(frame: AudioFrame, signal?: AbortSignal): Promise<void>;
  /** Queue wire-format bytes (`outputFormat.encoding` mulaw/alaw only), as `write`. */
  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void>;
  /** Send any partial packet and resolve when everything queued has been played (or the leg ended). */
  drained(signal?: AbortSignal): Promise<void>;
  /**
   * Hold queued audio without dropping it (true), or play on from where it stopped (false): the caller
   * may be starting to talk over the agent, and it may be only a cough.
   */
  pauseOutput(paused: boolean): void;
  /** Drop everything queued and not yet played (barge-in); returns how much audio was dropped. */
  clearOutput(): { readonly droppedMs: number };
  /** Outbound audio written and played so far. */
  outputPosition(): OutputPosition;

  /**
   * The session's events, for a medium that forwards them to its client (the WebSocket medium sends
   * state, transcripts and `playback_clear_buffer`); media without a client side ignore them.
   */
  onSessionEvent?(event: SessionEvent): void;
  /**
   * When the medium's latest outbound talk spurts started, on the call clock (the first packet of each on the
   * wire), where it knows: the time-to-first-packet of each reply in the call's latency waterfall.
   */
  talkSpurtStarts?(): readonly number[];
  /** The medium's own per-call counters (packets sent/received/lost, ...), flat, for logs and the call record. */
  mediaStats(): Readonly<Record<string, number>>;

  /** Accept the call (SIP 200 OK; a WebSocket `call_started`). Outbound and already-answered legs resolve at once. */
  answer(): Promise<void>;
  /** End the call from our side. Idempotent. */
  hangup(): Promise<void>;
  /** Send DTMF digits the medium's way (RFC 4733, INFO, or a medium message). */
  sendDtmf(digits: string, durationMs?: number): Promise<void>;
  /** Blind transfer, where the medium can (SIP REFER); undefined otherwise. */
  readonly transfer: ((target: string) => Promise<LegTransferResult>) | undefined;
}

/** Where a call came from, for choosing its agent and for its record. */
export interface CallOrigin {
  readonly direction: 'inbound' | 'outbound';
  readonly from: string;
  readonly to: string;
  /** The user part the caller dialled (`sip:<dialled>@host`), or the medium's agent name; '' when none. */
  readonly dialled: string;
  /** The SIP trunk an inbound call came through. */
  readonly trunk?: string;
}

/**
 * What a medium does with a new call: hand its leg to the call layer. Rejects with a `CallRejectedError`
 * (before answering) when the call cannot be taken; the medium turns that into its own refusal (SIP 503/404).
 */
export type StartCall = (leg: CallLeg, origin: CallOrigin) => Promise<void>;
