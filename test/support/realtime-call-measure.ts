/**
 * Timing probes for speech-to-speech benchmarks, with one clock across processes (`wallMs`: the process's
 * time origin plus its monotonic clock, so a time written in one process can be read in another on the
 * same machine). Audio is tagged in its first bytes:
 *   caller packets: [0..8) when the phone sent it, [8..16) when the gateway's leg handed it to the call layer;
 *   model deltas:   [0..8) when the model sent it.
 * `MeasuredLeg` wraps a call's real leg for the gateway under test: it writes the hand-over time into each
 * caller payload and times each model delta from the model's send to the leg's `writeEncoded`. Pass-through
 * G.711 carries the tags unchanged; that is what makes the cross-process reading possible.
 */
import type { AudioFrame } from '../../src/core/audio-frame.ts';
import type { Unsubscribe } from '../../src/core/listeners.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, LegTransferResult, OutputPosition } from '../../src/call/call-leg.ts';
import type { ClientToolConnection } from '../../src/room/client-tool.ts';

/** Milliseconds on a clock every process on this machine shares. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function stamp(bytes: Uint8Array, at: number, offset: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat64(offset, at, true);
}

/** A plausible time written at `offset` (within the last minute), else undefined (an untagged packet). */
export function readStamp(bytes: Uint8Array, offset: number, now = wallMs()): number | undefined {
  if (bytes.byteLength < offset + 8) return undefined;
  const t = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(offset, true);
  return Number.isFinite(t) && t <= now + 1 && now - t < 60_000 ? t : undefined;
}

/** Latencies the gateway side sees: model delta sent -> handed to the leg. */
export class GatewayProbe {
  outMs: number[] = [];
  reset(): void {
    this.outMs = [];
  }
}

export class MeasuredLeg implements CallLeg {
  readonly #leg: CallLeg;
  readonly #probe: GatewayProbe;

  constructor(leg: CallLeg, probe: GatewayProbe) {
    this.#leg = leg;
    this.#probe = probe;
  }

  get id(): string {
    return this.#leg.id;
  }
  get medium(): string {
    return this.#leg.medium;
  }
  get ended(): Promise<LegEnd> {
    return this.#leg.ended;
  }
  get inputFormat(): LegAudioFormat | undefined {
    return this.#leg.inputFormat;
  }
  get outputFormat(): LegAudioFormat | undefined {
    return this.#leg.outputFormat;
  }
  get clientTools(): ClientToolConnection | undefined {
    return this.#leg.clientTools;
  }
  get transfer(): ((target: string) => Promise<LegTransferResult>) | undefined {
    return this.#leg.transfer;
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    return this.#leg.onFrame(fn);
  }
  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe {
    return this.#leg.onEncoded((bytes, encoding) => {
      if (bytes.byteLength >= 16) stamp(bytes, wallMs(), 8);
      fn(bytes, encoding);
    });
  }
  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    return this.#leg.onDtmf(fn);
  }
  sendFrame(frame: AudioFrame): boolean {
    return this.#leg.sendFrame(frame);
  }
  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.#leg.write(frame, signal);
  }
  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    const now = wallMs();
    const sent = readStamp(bytes, 0, now);
    if (sent !== undefined) this.#probe.outMs.push(now - sent);
    return this.#leg.writeEncoded(bytes, encoding, signal);
  }
  drained(signal?: AbortSignal): Promise<void> {
    return this.#leg.drained(signal);
  }
  pauseOutput(paused: boolean): void {
    this.#leg.pauseOutput(paused);
  }
  clearOutput(): { readonly droppedMs: number } {
    return this.#leg.clearOutput();
  }
  outputPosition(): OutputPosition {
    return this.#leg.outputPosition();
  }
  mediaStats(): Readonly<Record<string, number>> {
    return this.#leg.mediaStats();
  }
  answer(): Promise<void> {
    return this.#leg.answer();
  }
  hangup(): Promise<void> {
    return this.#leg.hangup();
  }
  sendDtmf(digits: string, durationMs?: number): Promise<void> {
    return this.#leg.sendDtmf(digits, durationMs);
  }
}
