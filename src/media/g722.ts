/**
 * ITU-T G.722 at 64 kbit/s (mode 1): 16 kHz 16-bit PCM <-> one byte per two samples
 * (6-bit lower sub-band ADPCM code in bits 0-5, 2-bit higher sub-band code in bits 6-7, the
 * RTP payload layout of RFC 3551 section 4.5.2). A 20 ms frame is 320 samples = 160 bytes.
 *
 * Bit-exact with the ITU fixed-point reference as implemented by ffmpeg's `g722` codec (no
 * trellis) and spandsp: the tests compare bitstreams and decoded PCM with ffmpeg's.
 * Encoder and decoder are stateful per stream and synchronous: call them once per frame with
 * reused buffers on the media path.
 */
import { CallroomError } from '../core/errors.ts';
import { G722Band, HIGH_INV_QUANT, LOW_INV_QUANT6 } from './g722/band.ts';
import { QmfHistory } from './g722/qmf.ts';

/** Decision levels of the lower band quantiser (table 12, magnitude part), scaled by the scale factor. */
const LOW_QUANT = new Int32Array([
  35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121,
  1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
]);

/** Initial scale factors of the lower and higher band (the minimum of each, G.722 section 3.8). */
const LOW_INITIAL_SCALE = 8;
const HIGH_INITIAL_SCALE = 2;

function clip(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function clip16(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/** Block 1L: 6-bit lower band code of `xlow` against the band's prediction and scale. */
function quantiseLow(band: G722Band, xlow: number): number {
  const diff = clip16(xlow - band.sPredictor);
  // |diff| rounded towards the decision levels: diff >= 0 ? diff : -(diff + 1).
  const limit = ((diff ^ (diff >> 31)) + 1) << 10;
  const scale = band.scaleFactor;
  let i = limit > (LOW_QUANT[8] as number) * scale ? 9 : 0;
  while (i < 29 && limit > (LOW_QUANT[i] as number) * scale) i++;
  return (diff < 0 ? (i < 2 ? 63 : 33) : 61) - i;
}

/** Block 1H: 2-bit higher band code (sign bit 1, magnitude bit 0 set for the small level). */
function quantiseHigh(band: G722Band, xhigh: number): number {
  const diff = clip16(xhigh - band.sPredictor);
  const threshold = (141 * band.scaleFactor) >> 8;
  return ((diff ^ (diff >> 31)) < threshold ? 1 : 0) + (diff >= 0 ? 2 : 0);
}

/**
 * G.722 64 kbit/s encoder for one stream. An odd trailing sample is held and coded with the
 * next call, so splitting the input at any point gives the same bytes as one call.
 */
export class G722Encoder {
  private readonly low = new G722Band(LOW_INITIAL_SCALE);
  private readonly high = new G722Band(HIGH_INITIAL_SCALE);
  private readonly qmf = new QmfHistory();
  private pending = 0;
  private hasPending = false;

  /**
   * Encode 16 kHz PCM. Returns floor((held + pcm.length) / 2) bytes. With `out` large enough
   * nothing is allocated and the result is `out` or a subarray of it.
   * @throws CallroomError `CR_CODEC_BUFFER` if `out` is too small (a programming error).
   */
  encode(pcm16k: Int16Array, out?: Uint8Array): Uint8Array {
    const total = pcm16k.length + (this.hasPending ? 1 : 0);
    const nBytes = total >> 1;
    let dst: Uint8Array;
    if (out === undefined) dst = new Uint8Array(nBytes);
    else if (out.length < nBytes) {
      throw new CallroomError('CR_CODEC_BUFFER', `output buffer holds ${out.length} bytes, ${nBytes} needed`);
    } else dst = out.length === nBytes ? out : out.subarray(0, nBytes);

    let i = 0;
    let j = 0;
    if (this.hasPending && pcm16k.length > 0) {
      dst[j++] = this.encodePair(this.pending, pcm16k[0] as number);
      i = 1;
      this.hasPending = false;
    }
    const n = pcm16k.length;
    for (; i + 1 < n; i += 2) dst[j++] = this.encodePair(pcm16k[i] as number, pcm16k[i + 1] as number);
    if (i < n) {
      this.pending = pcm16k[i] as number;
      this.hasPending = true;
    }
    return dst;
  }

  /** Forget all history, as for a new stream. */
  reset(): void {
    this.low.reset();
    this.high.reset();
    this.qmf.reset();
    this.pending = 0;
    this.hasPending = false;
  }

  private encodePair(s0: number, s1: number): number {
    const qmf = this.qmf;
    qmf.push(s0, s1);
    const xlow = (qmf.out1 + qmf.out2) >> 14;
    const xhigh = (qmf.out1 - qmf.out2) >> 14;
    const high = this.high;
    const low = this.low;
    const ihigh = quantiseHigh(high, xhigh);
    const ilow = quantiseLow(low, xlow);
    high.updateHigh((high.scaleFactor * (HIGH_INV_QUANT[ihigh] as number)) >> 10, ihigh);
    low.updateLow(ilow >> 2);
    return (ihigh << 6) | ilow;
  }
}

/** G.722 64 kbit/s decoder for one stream: every byte gives two 16 kHz samples. */
export class G722Decoder {
  private readonly low = new G722Band(LOW_INITIAL_SCALE);
  private readonly high = new G722Band(HIGH_INITIAL_SCALE);
  private readonly qmf = new QmfHistory();

  /**
   * Decode G.722 bytes to 2 * codes.length samples; `out` as for {@link G722Encoder.encode}.
   * Any byte sequence is valid input (there is no framing to be malformed).
   */
  decode(codes: Uint8Array, out?: Int16Array): Int16Array {
    const nSamples = codes.length * 2;
    let dst: Int16Array;
    if (out === undefined) dst = new Int16Array(nSamples);
    else if (out.length < nSamples) {
      throw new CallroomError('CR_CODEC_BUFFER', `output buffer holds ${out.length} samples, ${nSamples} needed`);
    } else dst = out.length === nSamples ? out : out.subarray(0, nSamples);

    const low = this.low;
    const high = this.high;
    const qmf = this.qmf;
    for (let j = 0; j < codes.length; j++) {
      const code = codes[j] as number;
      const ihigh = code >> 6;
      const ilow = code & 0x3f;

      const rlow = clip(((low.scaleFactor * (LOW_INV_QUANT6[ilow] as number)) >> 10) + low.sPredictor, -16384, 16383);
      low.updateLow(ilow >> 2);

      const dhigh = (high.scaleFactor * (HIGH_INV_QUANT[ihigh] as number)) >> 10;
      const rhigh = clip(dhigh + high.sPredictor, -16384, 16383);
      high.updateHigh(dhigh, ihigh);

      qmf.push(rlow + rhigh, rlow - rhigh);
      dst[2 * j] = clip16(qmf.out1 >> 11);
      dst[2 * j + 1] = clip16(qmf.out2 >> 11);
    }
    return dst;
  }

  /** Forget all history, as for a new stream (e.g. after an SSRC change). */
  reset(): void {
    this.low.reset();
    this.high.reset();
    this.qmf.reset();
  }
}
