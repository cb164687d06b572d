/**
 * In-band DTMF detection: every key at 8 and 16 kHz, the shortest keys and pauses Q.24 asks receivers to take
 * (40 ms / 40 ms), low levels and noise, audio cut at any frame size, how long a key lasted; and no key heard
 * in 50 minutes of real human speech (Asterisk's Allison prompts, every one, at both rates).
 *
 * The tones come from the test's own Q.23 table (test/support/dtmf-keys.ts), not from Callroom's generator.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InbandDtmfDetector } from '../../../src/media/dtmf-detector.ts';
import { loadSpeech } from '../../support/call-harness.ts';
import { ALLISON_DIR } from '../../support/realtime-call-phone.ts';
import { prng } from '../../support/sip-peers/test-signal.ts';
import { FULL_SCALE_DBM0, keyTones as tones } from '../../support/dtmf-keys.ts';

function detect(pcm: Int16Array, rate: number, chunk = rate / 50): Array<{ key: string; ms: number }> {
  const got: Array<{ key: string; ms: number }> = [];
  const d = new InbandDtmfDetector(rate, (key, ms) => got.push({ key, ms }));
  for (let i = 0; i < pcm.length; i += chunk) d.push(pcm.subarray(i, i + chunk));
  d.push(new Int16Array(rate / 10));
  return got;
}

const keysOf = (pcm: Int16Array, rate: number, chunk?: number) => detect(pcm, rate, chunk).map((k) => k.key).join('');
const ALL = '123A456B789C*0#D';

describe('InbandDtmfDetector', () => {
  it.each([8000, 16000])('hears every key at %i Hz, down to 40 ms keys with 40 ms pauses', (rate) => {
    expect(keysOf(tones(ALL, rate), rate)).toBe(ALL);
    expect(keysOf(tones(ALL, rate, { toneMs: 40, gapMs: 40 }), rate)).toBe(ALL);
  });

  it('reports how long each key sounded and one report per press, even for the same key twice', () => {
    const got = detect(tones('55', 8000, { toneMs: 300, gapMs: 60 }), 8000);
    expect(got.map((k) => k.key)).toEqual(['5', '5']);
    for (const k of got) expect(Math.abs(k.ms - 300)).toBeLessThanOrEqual(26);
  });

  it('takes any frame size, and tones split across pushes', () => {
    const pcm = tones('9#0', 8000, { toneMs: 60, gapMs: 50 });
    for (const chunk of [1, 7, 80, 160, 333, pcm.length]) expect(keysOf(pcm, 8000, chunk)).toBe('9#0');
  });

  it('hears quiet keys (-25 dBm0), 6 dB of twist either way, and keys in noise at 15 dB SNR', () => {
    expect(keysOf(tones('147', 8000, { dbm0: -25 }), 8000)).toBe('147');
    expect(keysOf(tones('147', 8000, { twistDb: 6 }), 8000)).toBe('147');
    expect(keysOf(tones('147', 8000, { twistDb: -6 }), 8000)).toBe('147');
    const pcm = tones('2580', 8000, { dbm0: -15 });
    const rand = prng(3);
    // White noise 15 dB under the pair's power.
    const tonePower = 2 * (32767 * 10 ** ((-15 - FULL_SCALE_DBM0) / 20)) ** 2 / 2;
    const sd = Math.sqrt(tonePower / 10 ** 1.5);
    const noisy = pcm.map((x) => x + Math.round(sd * Math.sqrt(3) * (2 * rand() - 1)));
    expect(keysOf(noisy, 8000)).toBe('2580');
  });

  it('hears nothing in too-quiet tones, a single tone, two tones of one group, or a key shorter than 23 ms', () => {
    expect(keysOf(tones('1', 8000, { dbm0: -45 }), 8000)).toBe('');
    const single = Int16Array.from({ length: 8000 }, (_, n) => 8000 * Math.sin((2 * Math.PI * 697 * n) / 8000));
    expect(keysOf(single, 8000)).toBe('');
    const sameGroup = Int16Array.from({ length: 8000 }, (_, n) => 6000 * (Math.sin((2 * Math.PI * 697 * n) / 8000) + Math.sin((2 * Math.PI * 852 * n) / 8000)));
    expect(keysOf(sameGroup, 8000)).toBe('');
    expect(keysOf(tones('3', 8000, { toneMs: 20 }), 8000)).toBe('');
  });

  it('hears no key in any of the Allison prompts (about 50 minutes of human speech, 8 and 16 kHz)', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.wav')) files.push(p);
      }
    };
    walk(ALLISON_DIR);
    expect(files.length).toBeGreaterThan(500);
    const heard: string[] = [];
    let seconds = 0;
    for (const file of files) {
      for (const rate of [8000, 16000]) {
        const pcm = loadSpeech(file, rate);
        seconds += pcm.length / rate;
        for (const k of detect(pcm, rate)) heard.push(`${file} at ${rate}: ${k.key}`);
      }
    }
    expect(seconds).toBeGreaterThan(2500);
    expect(heard).toEqual([]);
  }, 120_000);
});
