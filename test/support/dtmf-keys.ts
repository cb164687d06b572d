/**
 * A reference listener for in-band DTMF in test audio: 20 ms windows, the Goertzel power of the eight
 * Q.23 frequencies (written from the standard's table, not from Callroom's generator), a key when one low
 * and one high tone hold most of the window's energy for two windows or more, a new key only after a
 * window without one.
 */
import { toneShare } from './ws-test-client.ts';

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
