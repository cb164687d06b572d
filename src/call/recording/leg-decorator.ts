/**
 * A `CallLeg` that hands every call to another leg: the base of the decorators the call manager puts
 * between a medium's leg and the call session (recording, playout marks, the drain's goodbye). A subclass
 * overrides only what it watches; everything else reaches the medium unchanged.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Unsubscribe } from '../../core/listeners.ts';
import type { ClientToolConnection } from '../../room/client-tool.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, LegTransferResult, OutputPosition } from '../call-leg.ts';
import type { SessionEvent } from '../session-events.ts';

export class LegDecorator implements CallLeg {
  protected readonly inner: CallLeg;

  constructor(inner: CallLeg) {
    this.inner = inner;
  }

  get id(): string {
    return this.inner.id;
  }

  get medium(): string {
    return this.inner.medium;
  }

  get ended(): Promise<LegEnd> {
    return this.inner.ended;
  }

  get inputFormat(): LegAudioFormat | undefined {
    return this.inner.inputFormat;
  }

  get outputFormat(): LegAudioFormat | undefined {
    return this.inner.outputFormat;
  }

  get clientTools(): ClientToolConnection | undefined {
    return this.inner.clientTools;
  }

  get transfer(): ((target: string) => Promise<LegTransferResult>) | undefined {
    const t = this.inner.transfer;
    return t === undefined ? undefined : (target) => t.call(this.inner, target);
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    return this.inner.onFrame(fn);
  }

  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe {
    return this.inner.onEncoded(fn);
  }

  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    return this.inner.onDtmf(fn);
  }

  sendFrame(frame: AudioFrame): boolean {
    return this.inner.sendFrame(frame);
  }

  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.inner.write(frame, signal);
  }

  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    return this.inner.writeEncoded(bytes, encoding, signal);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.inner.drained(signal);
  }

  pauseOutput(paused: boolean): void {
    this.inner.pauseOutput(paused);
  }

  clearOutput(): { readonly droppedMs: number } {
    return this.inner.clearOutput();
  }

  outputPosition(): OutputPosition {
    return this.inner.outputPosition();
  }

  onSessionEvent(event: SessionEvent): void {
    this.inner.onSessionEvent?.(event);
  }

  /** The medium's talk-spurt starts, where it keeps them (an empty list where it does not). */
  talkSpurtStarts(): readonly number[] {
    return (this.inner as CallLeg & { talkSpurtStarts?(): readonly number[] }).talkSpurtStarts?.() ?? [];
  }

  mediaStats(): Readonly<Record<string, number>> {
    return this.inner.mediaStats();
  }

  answer(): Promise<void> {
    return this.inner.answer();
  }

  hangup(): Promise<void> {
    return this.inner.hangup();
  }

  sendDtmf(digits: string, durationMs?: number): Promise<void> {
    return this.inner.sendDtmf(digits, durationMs);
  }
}
