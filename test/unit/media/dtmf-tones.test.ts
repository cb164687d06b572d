/**
 * In-band DTMF tones: each key's two Q.23 frequencies at every rate the bridges play at, heard back by an
 * independent listener, through G.711 as a platform would carry them; the levels and timing; bad keys refused.
 */
import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import { CallroomError } from '../../../src/core/errors.ts';
import { dtmfFrequencies, dtmfTones } from '../../../src/media/dtmf-tones.ts';
import { heardKeys, keyIn } from '../../support/dtmf-keys.ts';
import { toneShare } from '../../support/ws-test-client.ts';

const ALL = '0123456789*#ABCD';

describe('dtmfTones', () => {
  it.each([8000, 16000, 24000, 48000])('every key is heard back at %i Hz', (rate) => {
    expect(heardKeys(dtmfTones(ALL, rate), rate)).toBe(ALL);
  });

  it('the listener hears no key in noise, a single tone or speech-band chords', () => {
    let seed = 7;
    const noise = Int16Array.from({ length: 8000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 16000);
    const sine = (hz: number[]) => Int16Array.from({ length: 8000 }, (_, n) => hz.reduce((a, f) => a + 6000 * Math.sin((2 * Math.PI * f * n) / 8000), 0));
    expect(heardKeys(noise, 8000)).toBe('');
    expect(heardKeys(sine([1000]), 8000)).toBe('');
    expect(heardKeys(sine([697]), 8000)).toBe('');
    expect(heardKeys(sine([300, 1100, 2400]), 8000)).toBe('');
  });

  it('survives mu-law and A-law, the way a platform carries it', () => {
    const pcm = dtmfTones('159#*0', 8000);
    expect(heardKeys(alawmulaw.mulaw.decode(alawmulaw.mulaw.encode(pcm)), 8000)).toBe('159#*0');
    expect(heardKeys(alawmulaw.alaw.decode(alawmulaw.alaw.encode(pcm)), 8000)).toBe('159#*0');
  });

  it('gives each key its two frequencies and nothing else, low group -9 dBm0 and high group -7 dBm0', () => {
    expect(dtmfFrequencies('5')).toEqual([770, 1336]);
    expect(dtmfFrequencies('d')).toEqual([941, 1633]);
    expect(dtmfFrequencies('x')).toBeUndefined();
    const rate = 8000;
    // The steady middle of one 400 ms tone (10 full periods of 50 Hz resolution).
    const pcm = dtmfTones('5', rate, { toneMs: 400 }).subarray(800, 2400);
    const low = toneShare(pcm, rate, 770);
    const high = toneShare(pcm, rate, 1336);
    expect(low + high).toBeGreaterThan(0.99);
    // 2 dB of twist: the high tone carries 10^0.2 times the low tone's power.
    expect(high / low).toBeCloseTo(10 ** 0.2, 1);
    // The pair's peak: -9 and -7 dBm0 sines, 0 dBm0 being 3.17 dB under full scale.
    const zero = 32767 / 10 ** (3.17 / 20);
    const expectedPeak = zero * (10 ** (-9 / 20) + 10 ** (-7 / 20));
    const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(expectedPeak * 0.97);
    expect(peak).toBeLessThanOrEqual(Math.ceil(expectedPeak));
  });

  it('sounds each key for toneMs and is silent for gapMs after it', () => {
    const rate = 16000;
    const pcm = dtmfTones('12', rate, { toneMs: 60, gapMs: 140 });
    expect(pcm.length).toBe(2 * (960 + 2240));
    expect(keyIn(pcm.subarray(0, 320), rate)).toBe('1');
    expect(pcm.subarray(960, 3200).every((x) => x === 0)).toBe(true);
    expect(keyIn(pcm.subarray(3200, 3520), rate)).toBe('2');
    // The keying is ramped: no full-scale step at either end of a tone.
    expect(Math.abs(pcm[0] as number)).toBeLessThan(2000);
    expect(Math.abs(pcm[959] as number)).toBeLessThan(2000);
  });

  it('refuses what is not a key, an empty string and lengths outside 40 ms to 5 s', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return err instanceof CallroomError ? err.code : 'other';
      }
      return undefined;
    };
    expect(code(() => dtmfTones('12x', 8000))).toBe('CR_DTMF_INVALID');
    expect(code(() => dtmfTones('', 8000))).toBe('CR_DTMF_INVALID');
    expect(code(() => dtmfTones('1', 8000, { toneMs: 20 }))).toBe('CR_DTMF_INVALID');
    expect(code(() => dtmfTones('1', 8000, { gapMs: 6000 }))).toBe('CR_DTMF_INVALID');
    expect(code(() => dtmfTones('1', 8000, { toneMs: Number.NaN }))).toBe('CR_DTMF_INVALID');
    expect(heardKeys(dtmfTones('abcd', 8000), 8000)).toBe('ABCD');
  });
});
