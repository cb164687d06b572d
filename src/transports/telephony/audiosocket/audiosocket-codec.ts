/**
 * Asterisk AudioSocket framing (res_audiosocket.c, app_audiosocket.c, chan_audiosocket.c): a TCP stream of
 * `kind:u8 | length:u16 big-endian | payload[length]` frames. Kinds: 0x00 hang-up, 0x01 the call's UUID
 * (16 bytes, first from Asterisk), 0x03 DTMF (one ASCII byte), 0x10 signed linear 16-bit little-endian
 * mono 8 kHz, 0x11-0x18 the higher rates, 0xff error (optional one-byte code).
 *
 * The higher-rate kinds exist in two numberings: older docs and libraries (asterisk/documentation#158,
 * the CyCore README, res_audiosocket.h before Oct 2025) have 0x11 = slin16 only; Asterisk since ff0523a has
 * 0x11 slin12, 0x12 slin16, 0x13 slin24, 0x14 slin32, 0x15 slin44.1, 0x16 slin48, 0x17 slin96, 0x18 slin192.
 * Only 0x11 is ambiguous; `auto` takes a 20 ms frame's size to tell (480 bytes at 12 kHz, 640 at 16 kHz).
 */

export const KIND_HANGUP = 0x00;
export const KIND_UUID = 0x01;
export const KIND_DTMF = 0x03;
export const KIND_SLIN = 0x10;
export const KIND_ERROR = 0xff;

/** AudioSocket error codes (bit flags in the error frame's byte). */
export const ERROR_CALLER_HANGUP = 0x01;
export const ERROR_FRAME_FORWARDING = 0x02;
export const ERROR_MEMORY = 0x04;

export type Kind11 = 'auto' | 'slin12' | 'slin16';

const CURRENT_RATES: Readonly<Record<number, number>> = {
  0x10: 8000,
  0x11: 12000,
  0x12: 16000,
  0x13: 24000,
  0x14: 32000,
  0x15: 44100,
  0x16: 48000,
  0x17: 96000,
  0x18: 192000,
};

export function isAudioKind(kind: number): boolean {
  return kind >= 0x10 && kind <= 0x18;
}

/**
 * The sample rate of an audio kind, given the first frame's payload length for 0x11 under `auto`
 * (a multiple of 480 bytes but not of 640: 12 kHz; otherwise 16 kHz, the older and commoner reading).
 */
export function audioKindRate(kind: number, payloadBytes: number, kind11: Kind11): number | undefined {
  if (kind !== 0x11) return CURRENT_RATES[kind];
  if (kind11 === 'slin12') return 12000;
  if (kind11 === 'slin16') return 16000;
  return payloadBytes % 480 === 0 && payloadBytes % 640 !== 0 ? 12000 : 16000;
}

export interface TlvFrame {
  readonly kind: number;
  readonly payload: Buffer;
}

export type TlvResult = { readonly ok: true; readonly frames: TlvFrame[] } | { readonly ok: false; readonly frames: TlvFrame[]; readonly detail: string };

/**
 * Cuts the TCP byte stream into frames, however it was split into chunks. A frame longer than `maxPayload`
 * is an error (the stream cannot be trusted past it); frames before it in the same chunk are returned.
 */
export class TlvReader {
  readonly #maxPayload: number;
  #buf: Buffer = Buffer.alloc(0);

  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /** Bytes of an incomplete frame held (a non-zero value at the end of the stream is a truncated frame). */
  get pending(): number {
    return this.#buf.byteLength;
  }

  push(chunk: Buffer): TlvResult {
    const buf = this.#buf.byteLength === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: TlvFrame[] = [];
    let at = 0;
    while (buf.byteLength - at >= 3) {
      const kind = buf[at] as number;
      const length = buf.readUInt16BE(at + 1);
      if (length > this.#maxPayload) {
        this.#buf = Buffer.alloc(0);
        return { ok: false, frames, detail: `frame of kind 0x${kind.toString(16)} announces ${length} bytes, over the limit of ${this.#maxPayload}` };
      }
      if (buf.byteLength - at - 3 < length) break;
      // A copy: the payload may be kept (UUID) and the chunk is the socket's buffer.
      frames.push({ kind, payload: Buffer.from(buf.subarray(at + 3, at + 3 + length)) });
      at += 3 + length;
    }
    this.#buf = at === buf.byteLength ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return { ok: true, frames };
  }
}

/** One frame to Asterisk. */
export function tlvFrame(kind: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(3 + payload.byteLength);
  out[0] = kind;
  out.writeUInt16BE(payload.byteLength, 1);
  out.set(payload, 3);
  return out;
}

/** The hang-up frame: `00 00 00`. */
export const HANGUP_FRAME: Buffer = tlvFrame(KIND_HANGUP);

/** A 16-byte UUID as its canonical text (8-4-4-4-12, lowercase). */
export function uuidText(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
