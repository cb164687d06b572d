/**
 * In-band DTMF for tests, from the Q.23 table written here: `keyTones` makes keys as audio, and a reference
 * listener hears them in test audio: 20 ms windows, the Goertzel power of the eight
 * Q.23 frequencies (written from the standard's table, not from Callroom's generator), a key when one low
 * and one high tone hold most of the window's energy for two windows or more, a new key only after a
 * window without one.
 */
import { toneShare } from './ws-test-client.ts';

const KEYS: Record<string, [number, number]> = {
  '1': [697, 1209], '2': [697, 1336], '3': [697, 1477], A: [697, 1633],
  '4': [770, 1209], '5': [770, 1336], '6': [770, 1477], B: [770, 1633],
  '7': [852, 1209], '8': [852, 1336], '9': [852, 1477], C: [852, 1633],
  '*': [941, 1209], '0': [941, 1336], '#': [941, 1477], D: [941, 1633],
};
/** G.711 full scale, dBm0. */
export const FULL_SCALE_DBM0 = 3.17;

/** Keys as tones: each `toneMs` at `dbm0` per tone (high group `twistDb` louder), then `gapMs` of silence. */
export function keyTones(keys: string, rate: number, o: { toneMs?: number; gapMs?: number; dbm0?: number; twistDb?: number } = {}): Int16Array {
  const tone = Math.round((rate * (o.toneMs ?? 100)) / 1000);
  const gap = Math.round((rate * (o.gapMs ?? 100)) / 1000);
  const peak = (db: number) => 32767 * 10 ** ((db - FULL_SCALE_DBM0) / 20);
  const low = peak(o.dbm0 ?? -10);
  const high = peak((o.dbm0 ?? -10) + (o.twistDb ?? 0));
  const out = new Int16Array(keys.length * (tone + gap) + gap);
  [...keys].forEach((k, j) => {
    const [fl, fh] = KEYS[k] as [number, number];
    for (let n = 0; n < tone; n++) out[gap + j * (tone + gap) + n] = Math.round(low * Math.sin((2 * Math.PI * fl * n) / rate) + high * Math.sin((2 * Math.PI * fh * n) / rate));
  });
  return out;
}

const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYPAD = ['123A', '456B', '789C', '*0#D'];

function strongest(window: Int16Array, rate: number, hz: readonly number[]): { i: number; share: number } {
  let best = { i: 0, share: 0 };
  hz.forEach((f, i) => {
    const share = toneShare(window, rate, f);
    if (share > best.share) best = { i, share };
  });
  return best;
}

/** The key sounding in one window, or undefined. */
export function keyIn(window: Int16Array, rate: number): string | undefined {
  const low = strongest(window, rate, LOW);
  const high = strongest(window, rate, HIGH);
  if (low.share < 0.15 || high.share < 0.15 || low.share + high.share < 0.6) return undefined;
  return KEYPAD[low.i]?.[high.i];
}

/** The keys heard in `pcm`, in order. */
export function heardKeys(pcm: Int16Array, rate: number): string {
  const step = Math.round(rate / 50);
  let keys = '';
  let run: string | undefined;
  let runLength = 0;
  for (let at = 0; at + step <= pcm.length; at += step) {
    const key = keyIn(pcm.subarray(at, at + step), rate);
    if (key !== undefined && key === run) runLength++;
    else {
      run = key;
      runLength = key === undefined ? 0 : 1;
    }
    if (runLength === 2 && run !== undefined) keys += run;
  }
  return keys;
}
