/**
 * A caller's line for speech-to-speech tests: real-time G.711 (or PCM) to the gateway with a short send
 * queue (at most `leadMs` ahead, so speech goes out when the test says it, not after a second of queued
 * silence), silence between utterances, and everything sent and heard kept byte for byte. With PCMU the
 * payloads sent are exactly the bytes given here (`writeEncoded` of one packet at a time), and the heard
 * payloads are the gateway's RTP payloads (`onEncoded`), so pass-through can be checked to the byte.
 *
 * Speech: human recordings (Debian's asterisk-prompt-en, Allison, G.722) decoded with src/media/g722.ts.
 */
import { readFileSync } from 'node:fs';
import { G722Decoder } from '../../src/media/g722.ts';
import { mulawEncode } from '../../src/media/g711.ts';
import { resampleBuffer } from '../../src/media/resample/index.ts';
import type { SipCallLeg } from '../../src/transports/sip/sip-call-leg.ts';

export const ALLISON_DIR = '/usr/share/asterisk/sounds/en_US_f_Allison';

/** An Allison prompt as 16 kHz PCM. */
export function allison(name: string): Int16Array {
  return new G722Decoder().decode(new Uint8Array(readFileSync(`${ALLISON_DIR}/${name}.g722`)));
}

/** An Allison prompt as mu-law at 8 kHz (what a PCMU phone sends). */
export function allisonMulaw(name: string): Uint8Array {
  return mulawEncode(resampleBuffer(allison(name), 16000, 8000));
}

/** Bytes the model "says": a recording, so the caller hears a voice; never the silence code 0xFF. */
export function modelVoice(name: string, ms?: number): Uint8Array {
  let bytes = allisonMulaw(name);
  if (ms !== undefined) {
    const want = Math.round(ms * 8);
    const out = new Uint8Array(want);
    for (let at = 0; at < want; at += bytes.length) out.set(bytes.subarray(0, Math.min(bytes.length, want - at)), at);
    bytes = out;
  }
  return bytes.map((b) => (b === 0xff ? 0xfe : b));
}

const PACKET = 160;

/**
 * Model audio whose every 20 ms packet carries its index in its first two bytes (never 0xFF), so the phone can
 * tell exactly which packets of it arrived unchanged, whatever else the line carried.
 */
export function taggedVoice(name: string, ms: number): Uint8Array {
  const bytes = modelVoice(name, ms);
  for (let k = 0; k * PACKET < bytes.length; k++) {
    bytes[k * PACKET] = (k >> 7) & 0x7f;
    if (k * PACKET + 1 < bytes.length) bytes[k * PACKET + 1] = k & 0x7f;
  }
  return bytes;
}

/** Indexes of the packets of `tagged` (see `taggedVoice`) heard unchanged. */
export function heardPackets(heard: ReadonlyArray<{ readonly bytes: Uint8Array }>, tagged: Uint8Array): Set<number> {
  const out = new Set<number>();
  for (const { bytes } of heard) {
    if (bytes.length < 2) continue;
    const k = ((bytes[0] as number) << 7) | (bytes[1] as number);
    const want = tagged.subarray(k * PACKET, (k + 1) * PACKET);
    if (want.length === bytes.length && Buffer.compare(Buffer.from(want), Buffer.from(bytes)) === 0) out.add(k);
  }
  return out;
}

/** How many packets of `tagged` were heard from the first on without a gap. */
export function heardRun(heard: ReadonlyArray<{ readonly bytes: Uint8Array }>, tagged: Uint8Array): number {
  const got = heardPackets(heard, tagged);
  let n = 0;
  while (got.has(n)) n++;
  return n;
}
const SILENCE = 0xff;

export class PhoneLine {
  readonly leg: SipCallLeg;
  /** Every payload byte sent, in order. */
  readonly sent: number[] = [];
  /** Every payload heard (the gateway's RTP payloads), with arrival times. */
  readonly heard: Array<{ at: number; bytes: Uint8Array }> = [];
  readonly #leadMs: number;
  readonly #tag: boolean;
  #queue: Uint8Array[] = [];
  #timer: NodeJS.Timeout | undefined;
  #waiters: Array<{ until: number; resolve: () => void }> = [];
  #sentBytes = 0;
  #writtenMs = 0;
  /** Writes one after the other: the leg's `writeEncoded` keeps a partial packet between calls. */
  #chain: Promise<void> = Promise.resolve();
  readonly #off: () => void;

  /** `tag`: every packet sent carries its index in its first three bytes, as quiet codes (see `phoneTag`). */
  constructor(leg: SipCallLeg, o: { leadMs?: number; tag?: boolean } = {}) {
    this.leg = leg;
    this.#leadMs = o.leadMs ?? 60;
    this.#tag = o.tag ?? false;
    this.#off = leg.onEncoded((bytes) => this.heard.push({ at: performance.now(), bytes: bytes.slice() }));
  }

  /** Start sending: silence whenever nothing is queued. */
  start(): void {
    this.#timer ??= setInterval(() => this.#pump(), 5);
  }

  /** Queue mu-law bytes; resolves once they have all been sent. */
  say(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; at += PACKET) {
      const p = new Uint8Array(PACKET).fill(SILENCE);
      p.set(bytes.subarray(at, Math.min(bytes.length, at + PACKET)));
      this.#queue.push(p);
    }
    const until = this.#sentBytes + this.#queue.length * PACKET;
    return new Promise((resolve) => this.#waiters.push({ until, resolve }));
  }

  /** Everything heard, joined. */
  heardBytes(): Uint8Array {
    return Buffer.concat(this.heard.map((h) => h.bytes));
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#off();
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #pump(): void {
    for (;;) {
      const pos = this.leg.outputPosition();
      if (this.#writtenMs - pos.playedMs >= this.#leadMs) break;
      const p = this.#queue.shift() ?? new Uint8Array(PACKET).fill(SILENCE);
      if (this.#tag) setPhoneTag(p, this.#sentBytes / PACKET);
      this.#writtenMs += PACKET / 8;
      for (const b of p) this.sent.push(b);
      this.#sentBytes += PACKET;
      this.#chain = this.#chain.then(() => this.leg.writeEncoded(p, 'mulaw')).catch(() => undefined);
    }
    const played = this.leg.outputPosition().playedMs * 8;
    this.#waiters = this.#waiters.filter((w) => {
      if (played < w.until) return true;
      w.resolve();
      return false;
    });
  }
}

/**
 * Whether the packets of `tagged` came through unchanged and in order, at least `share` of them, the first
 * included (and the last, with the default `share`). Only byte-identical packets count (a packet altered on the way is not one of
 * them). Under load the RTP stack drops audio a stall made stale (the pacer skips those slots) and the
 * phone's jitter buffer conceals what comes too late (repeating the packet before it): neither is the
 * sender's doing, so `share` may stay below 1 where a test is not about every packet.
 */
export function heardWhole(heard: ReadonlyArray<{ readonly bytes: Uint8Array }>, tagged: Uint8Array, share = 0.95): boolean {
  const packets = Math.ceil(tagged.length / PACKET);
  const order: number[] = [];
  for (const { bytes } of heard) {
    if (bytes.length < 2) continue;
    const k = ((bytes[0] as number) << 7) | (bytes[1] as number);
    if (k >= packets) continue;
    const want = tagged.subarray(k * PACKET, (k + 1) * PACKET);
    if (bytes.length >= want.length && Buffer.compare(Buffer.from(bytes.subarray(0, want.length)), Buffer.from(want)) === 0) order.push(k);
  }
  for (let i = 1; i < order.length; i++) if ((order[i] as number) < (order[i - 1] as number)) return false;
  const got = new Set(order);
  return got.has(0) && (share < 1 || got.has(packets - 1)) && got.size >= Math.ceil(packets * share);
}

/**
 * A packet index in four mu-law codes a VAD takes for silence (0xF0-0xFF and 0x70-0x7F are within about
 * +-120 of zero): five bits each in three codes (32,768 packets, 11 minutes) and a check code, so silence
 * (all 0xFF) and a concealment frame do not read as a tag.
 */
export function setPhoneTag(packet: Uint8Array, index: number): void {
  const code = (v: number): number => ((v & 0x10) !== 0 ? 0x70 : 0xf0) | (v & 0x0f);
  for (let i = 0; i < 3; i++) packet[i] = code((index >> (5 * i)) & 0x1f);
  packet[3] = code((index * 7 + 11) & 0x1f);
}

/** The index `setPhoneTag` wrote, or undefined when the first bytes are not such a tag. */
export function phoneTag(packet: Uint8Array): number | undefined {
  const value = (b: number | undefined): number | undefined => (b === undefined || (b & 0x70) !== 0x70 ? undefined : ((b & 0x80) === 0 ? 0x10 : 0) | (b & 0x0f));
  let index = 0;
  for (let i = 0; i < 3; i++) {
    const v = value(packet[i]);
    if (v === undefined) return undefined;
    index |= v << (5 * i);
  }
  return value(packet[3]) === ((index * 7 + 11) & 0x1f) ? index : undefined;
}

/** Where `needle` starts in `hay` (first match of its first `probe` bytes), or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, probe = 64): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.subarray(0, Math.min(probe, needle.length))));
}

/** How many leading bytes of `needle` appear unchanged and contiguous in `hay` (0 when they do not start anywhere). */
export function heardPrefix(hay: Uint8Array, needle: Uint8Array): number {
  const at = indexOfBytes(hay, needle);
  if (at < 0) return 0;
  let n = 0;
  while (n < needle.length && at + n < hay.length && hay[at + n] === needle[n]) n++;
  return n;
}
