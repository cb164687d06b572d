/**
 * Where one output item's audio sits on the leg's output timeline (the leg's `outputPosition()` ms): the
 * contiguous spans it was written as (more than one when the line ran dry between its deltas), so the
 * part of it the caller heard is read off the leg's played position. PCM deltas may split a sample: the
 * odd byte is carried here, per item.
 */
export class ItemTimeline {
  readonly itemId: string;
  readonly responseId: string;
  receivedMs = 0;
  readonly segments: Array<{ start: number; ms: number }> = [];
  /** A PCM sample split across deltas. */
  readonly carry: { byte: number | undefined } = { byte: undefined };
  /** How its audio goes to the leg, decided at its first delta: as PCM, as the leg's own G.711, or decoded. */
  write: 'pcm' | 'encoded' | 'decode' | undefined;

  constructor(itemId: string, responseId: string) {
    this.itemId = itemId;
    this.responseId = responseId;
  }

  place(start: number, ms: number): void {
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && Math.abs(last.start + last.ms - start) < 0.01) last.ms += ms;
    else this.segments.push({ start, ms });
  }

  playedAt(position: number): number {
    let played = 0;
    for (const s of this.segments) played += Math.min(s.ms, Math.max(0, position - s.start));
    return played;
  }

  endsAt(): number {
    const last = this.segments[this.segments.length - 1];
    return last === undefined ? -Infinity : last.start + last.ms;
  }
}
