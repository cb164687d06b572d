/**
 * RFC 4733 telephone-events: the 4-octet payload, a receiver that turns the redundant packet stream into one
 * start and one end per key press, and a sender that paces one event into marker / update / end packets.
 */

import { tsDiff } from './sequence.ts';

/** One telephone-event payload (RFC 4733 §2.3). */
export interface TelephoneEvent {
  /** Event code: 0-9, 10 = '*', 11 = '#', 12-15 = 'A'-'D', others are non-DTMF tones. */
  readonly event: number;
  /** E bit: this packet ends the event. */
  readonly end: boolean;
  /** Power level as -dBm0, 0..63. */
  readonly volume: number;
  /** Duration so far in timestamp units, measured from the event's RTP timestamp. */
  readonly duration: number;
}

/** A DTMF digit as a single character. */
export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** What the receiver reports, once per key press each. */
export type DtmfEvent =
  | { readonly type: 'digit-start'; readonly digit: DtmfDigit; readonly timestamp: number }
  | { readonly type: 'digit-end'; readonly digit: DtmfDigit; readonly timestamp: number; readonly durationMs: number };

const DIGITS = '0123456789*#ABCD';

/** Event code for a digit, or -1 if `ch` is not one (lower-case a-d accepted). */
export function dtmfEventCode(ch: string): number {
  return ch.length === 1 ? DIGITS.indexOf(ch.toUpperCase()) : -1;
}

/** Digit for an event code 0..15, or null for other telephone events. */
export function dtmfDigit(event: number): DtmfDigit | null {
  return event >= 0 && event < 16 ? (DIGITS[event] as DtmfDigit) : null;
}

/** Parse a telephone-event payload; null when shorter than 4 octets. Extra octets are ignored. Never throws. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null;
  const b1 = payload[1] as number;
  return {
    event: payload[0] as number,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: ((payload[2] as number) << 8) | (payload[3] as number),
  };
}

/** Encode a telephone-event payload into `out` (4 octets) or a new buffer. The R bit is always 0. */
export function buildTelephoneEvent(ev: TelephoneEvent, out: Uint8Array = new Uint8Array(4)): Uint8Array {
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255) throw new RangeError('event must be 0..255');
  if (!Number.isInteger(ev.volume) || ev.volume < 0 || ev.volume > 63) throw new RangeError('volume must be 0..63');
  if (!Number.isInteger(ev.duration) || ev.duration < 0 || ev.duration > 0xffff) {
    throw new RangeError('duration must be 0..65535');
  }
  out[0] = ev.event;
  out[1] = (ev.end ? 0x80 : 0) | ev.volume;
  out[2] = ev.duration >> 8;
  out[3] = ev.duration & 0xff;
  return out;
}

/** The parts of an RTP packet the receiver looks at. */
export interface TelephoneEventPacket {
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export interface DtmfReceiverOptions {
  /** Clock rate of the telephone-event payload type (8000 unless negotiated otherwise). */
  readonly clockRate?: number;
  /** End an event whose end packets were all lost after this long without packets. Default 1000 ms. */
  readonly endTimeoutMs?: number;
  /** Called synchronously for each start and end. */
  readonly onEvent: (ev: DtmfEvent) => void;
}

/**
 * Turns a telephone-event packet stream into exactly one `digit-start` and one `digit-end` per event.
 * Events are identified by their RTP timestamp (§2.5.2.1): repeated updates and the three redundant end packets
 * share it, a new key press gets a new one. A lost start is tolerated (first packet seen is an update or end),
 * a lost end is inferred from the next event or from `expire()`.
 */
export class DtmfReceiver {
  readonly #clockRate: number;
  readonly #endTimeoutMs: number;
  readonly #onEvent: (ev: DtmfEvent) => void;
  #has = false;
  #ts = 0;
  #event = 0;
  #duration = 0;
  /** Samples carried from earlier segments of a long event (§2.5.1.3). */
  #carried = 0;
  #ended = true;
  #lastSeenMs = 0;
  /** Payloads too short to parse. */
  invalid = 0;

  constructor(opts: DtmfReceiverOptions) {
    this.#clockRate = opts.clockRate ?? 8000;
    this.#endTimeoutMs = opts.endTimeoutMs ?? 1000;
    this.#onEvent = opts.onEvent;
  }

  /** True between a digit-start and its digit-end. */
  get active(): boolean {
    return this.#has && !this.#ended;
  }

  /** Feed one telephone-event packet; `nowMs` is its arrival time on the caller's clock (for `expire`). */
  receive(pkt: TelephoneEventPacket, nowMs = 0): void {
    const ev = parseTelephoneEvent(pkt.payload);
    if (ev === null) {
      this.invalid++;
      return;
    }
    const digit = dtmfDigit(ev.event);
    if (digit === null) return;

    if (this.#has && pkt.timestamp === this.#ts) {
      // Same event: an update, a redundant end, or a late packet after the end.
      if (this.#ended || ev.event !== this.#event) return;
      this.#lastSeenMs = nowMs;
      if (ev.duration > this.#duration) this.#duration = ev.duration;
      if (ev.end) this.#finish();
      return;
    }
    if (this.#has && tsDiff(pkt.timestamp, this.#ts) < 0) return; // straggler from an earlier event

    if (this.#has && !this.#ended) {
      const gap = tsDiff(pkt.timestamp, this.#ts);
      const continues =
        !pkt.marker && ev.event === this.#event && (gap === this.#duration || this.#duration >= 0xff00) && gap > 0;
      if (continues) {
        // A long event split because the 16-bit duration overflowed: same key press, new segment.
        this.#carried += gap;
        this.#ts = pkt.timestamp;
        this.#duration = ev.duration;
        this.#lastSeenMs = nowMs;
        if (ev.end) this.#finish();
        return;
      }
      this.#finish(); // its end packets were lost; the new event proves it is over
    }

    this.#has = true;
    this.#ended = false;
    this.#ts = pkt.timestamp;
    this.#event = ev.event;
    this.#duration = ev.duration;
    this.#carried = 0;
    this.#lastSeenMs = nowMs;
    this.#onEvent({ type: 'digit-start', digit, timestamp: pkt.timestamp });
    if (ev.end) this.#finish();
  }

  /** End an event whose end packets never came. Call periodically (the RTP session does, on its pacing tick). */
  expire(nowMs: number): void {
    if (this.#has && !this.#ended && nowMs - this.#lastSeenMs >= this.#endTimeoutMs) this.#finish();
  }

  /** Forget the current event without reporting its end (new remote stream). */
  reset(): void {
    this.#has = false;
    this.#ended = true;
  }

  #finish(): void {
    this.#ended = true;
    const digit = dtmfDigit(this.#event) as DtmfDigit;
    const durationMs = ((this.#carried + this.#duration) * 1000) / this.#clockRate;
    this.#onEvent({ type: 'digit-end', digit, timestamp: this.#ts, durationMs });
  }
}

export interface DtmfSenderOptions {
  /** Packet interval of the session that sends, in ms (its ptime): `tick()` is called once per interval. */
  readonly packetMs: number;
  readonly clockRate?: number;
  /** How often to send an update during the event (§2.5.1.2); rounded up to whole packet intervals. Default 50. */
  readonly updateIntervalMs?: number;
  /** Power level, -dBm0 (0..63). Default 10. */
  readonly volume?: number;
  /** Audio gap between consecutive digits. Default 60 ms. */
  readonly interDigitGapMs?: number;
}

/** One telephone-event packet to put on the wire now. */
export interface DtmfPacketOut {
  readonly marker: boolean;
  /** RTP timestamp of the event (constant for all its packets). */
  readonly timestamp: number;
  readonly end: boolean;
  readonly payload: Uint8Array;
}

/** Events longer than this cannot be signalled without segmentation; the sender caps durations here. */
const MAX_DURATION_SAMPLES = 0xffff;
const END_PACKETS = 3;

type SenderState = 'idle' | 'event' | 'gap';

/**
 * Paces digits as RFC 4733 events on the session's packet clock: first packet with the marker bit, updates with
 * the same timestamp and growing duration every `updateIntervalMs`, then three end packets with the E bit and the
 * final duration (§2.5.1.4). Audio is held while an event is on the wire; the session supplies sequence numbers,
 * so they continue the audio stream's.
 */
export class DtmfSender {
  readonly #packetMs: number;
  readonly #clockRate: number;
  readonly #updateMs: number;
  readonly #volume: number;
  readonly #gapMs: number;
  readonly #queue: Array<{ code: number; durationMs: number }> = [];
  #state: SenderState = 'idle';
  #code = 0;
  #ts = 0;
  #elapsedMs = 0;
  #totalMs = 0;
  #nextUpdateMs = 0;
  #endsSent = 0;
  #gapLeftMs = 0;

  constructor(opts: DtmfSenderOptions) {
    if (!(opts.packetMs > 0)) throw new RangeError('packetMs must be > 0');
    this.#packetMs = opts.packetMs;
    this.#clockRate = opts.clockRate ?? 8000;
    this.#updateMs = opts.updateIntervalMs ?? 50;
    this.#volume = opts.volume ?? 10;
    this.#gapMs = opts.interDigitGapMs ?? 60;
    if (!Number.isInteger(this.#volume) || this.#volume < 0 || this.#volume > 63) {
      throw new RangeError('volume must be 0..63');
    }
  }

  /**
   * Queue digits to send, each lasting `durationMs` (at least one packet interval, at most 0xFFFF samples).
   * Throws RangeError on a character that is not a DTMF digit, queuing nothing.
   */
  enqueue(digits: string, durationMs = 100): void {
    const codes: number[] = [];
    for (const ch of digits) {
      const code = dtmfEventCode(ch);
      if (code < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(ch)}`);
      codes.push(code);
    }
    const maxMs = (MAX_DURATION_SAMPLES * 1000) / this.#clockRate;
    const d = Math.min(Math.max(durationMs, this.#packetMs), maxMs);
    for (const code of codes) this.#queue.push({ code, durationMs: d });
  }

  /** Digits queued or on the wire. */
  get pending(): number {
    return this.#queue.length + (this.#state === 'event' ? 1 : 0);
  }

  /** True while an event is on the wire: the session must not send audio in this slot. */
  get holdsAudio(): boolean {
    return this.#state === 'event';
  }

  /** Drop queued digits (the one on the wire still completes, so the peer sees its end). */
  clear(): void {
    this.#queue.length = 0;
  }

  /**
   * Advance one packet interval. `timestamp` is the RTP timestamp of this slot; it becomes the event's timestamp
   * when a new event starts here. Returns the packet to send in this slot, or null.
   */
  tick(timestamp: number): DtmfPacketOut | null {
    if (this.#state === 'gap') {
      if (this.#gapLeftMs > 0) {
        this.#gapLeftMs -= this.#packetMs;
        return null;
      }
      this.#state = 'idle';
    }
    if (this.#state === 'idle') {
      const next = this.#queue.shift();
      if (next === undefined) return null;
      this.#state = 'event';
      this.#code = next.code;
      this.#ts = timestamp;
      this.#totalMs = next.durationMs;
      this.#elapsedMs = 0;
      this.#nextUpdateMs = this.#updateMs;
      this.#endsSent = 0;
    }

    const t = this.#elapsedMs;
    this.#elapsedMs += this.#packetMs;
    // A packet sent at t covers audio up to t + packetMs (it stands in for that slot's audio frame).
    const covered = Math.min(t + this.#packetMs, this.#totalMs);
    if (this.#endsSent > 0 || covered >= this.#totalMs) {
      this.#endsSent++;
      // §2.3.2, §2.5.1.2: the first packet of an event carries the marker, even when a one-packet digit's first packet
      // is already an end packet; the redundant ends that follow do not.
      const out = this.#packet(t === 0, true, this.#samples(this.#totalMs));
      if (this.#endsSent >= END_PACKETS) {
        this.#state = this.#gapMs > 0 ? 'gap' : 'idle';
        this.#gapLeftMs = this.#gapMs;
      }
      return out;
    }
    if (t === 0) return this.#packet(true, false, this.#samples(covered));
    if (t >= this.#nextUpdateMs) {
      while (this.#nextUpdateMs <= t) this.#nextUpdateMs += this.#updateMs;
      return this.#packet(false, false, this.#samples(covered));
    }
    return null;
  }

  #samples(ms: number): number {
    return Math.min(MAX_DURATION_SAMPLES, Math.round((ms * this.#clockRate) / 1000));
  }

  #packet(marker: boolean, end: boolean, duration: number): DtmfPacketOut {
    const payload = buildTelephoneEvent({ event: this.#code, end, volume: this.#volume, duration });
    return { marker, timestamp: this.#ts, end, payload };
  }
}
