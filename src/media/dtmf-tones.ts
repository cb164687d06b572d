/**
 * DTMF as in-band audio: the two tones of each key (ITU-T Q.23 frequencies), for media that carry no DTMF
 * events (the telephony WebSocket bridges: Twilio, Telnyx, Vonage, AudioSocket, ...). The platform plays the
 * tones to the call like any other audio, and G.711 carries them to the PSTN intact.
 *
 * Levels follow common practice for DTMF senders: the low-group tone at -9 dBm0 and the high-group tone 2 dB
 * louder (positive twist), well inside Q.24's reception limits. Timing: each key sounds for `toneMs`
 * (at least 40 ms, as Q.24 receivers need) followed by `gapMs` of silence.
 */

import { CallroomError } from '../core/errors.ts';
import { DTMF_HIGH_HZ, DTMF_KEYPAD, DTMF_LOW_HZ, ZERO_DBM0_PEAK } from './dtmf-keypad.ts';
const LOW_PEAK = ZERO_DBM0_PEAK * 10 ** (-9 / 20);
const HIGH_PEAK = ZERO_DBM0_PEAK * 10 ** (-7 / 20);
/** Ramp at each end of a tone, so the keying does not click (well under Q.24's rise-time limits). */
const RAMP_MS = 3;

export interface DtmfToneOptions {
  /** How long each key sounds, ms (default 100; at least 40). */
  readonly toneMs?: number;
  /** Silence after each key, ms (default 80; at least 40). */
  readonly gapMs?: number;
}

/** The key's low- and high-group frequencies, Hz; undefined when `key` is not one of 0-9 * # A-D (a-d accepted). */
export function dtmfFrequencies(key: string): readonly [number, number] | undefined {
  const i = key.length === 1 ? DTMF_KEYPAD.indexOf(key.toUpperCase()) : -1;
  if (i < 0) return undefined;
  return [DTMF_LOW_HZ[i >> 2] as number, DTMF_HIGH_HZ[i & 3] as number];
}

/**
 * The keys `digits` as PCM at `sampleRate`: one tone pair and one gap per key. Throws `CR_DTMF_INVALID` for a
 * character that is not a key or an empty string, and for tone or gap lengths outside 40 ms..5 s.
 */
export function dtmfTones(digits: string, sampleRate: number, options: DtmfToneOptions = {}): Int16Array {
  const toneMs = options.toneMs ?? 100;
  const gapMs = options.gapMs ?? 80;
  if (!(toneMs >= 40 && toneMs <= 5000) || !(gapMs >= 40 && gapMs <= 5000)) {
    throw new CallroomError('CR_DTMF_INVALID', `DTMF tone and gap lengths must be 40..5000 ms (got ${toneMs} and ${gapMs})`);
  }
  if (digits.length === 0) throw new CallroomError('CR_DTMF_INVALID', 'no DTMF keys to send');
  const pairs = [...digits].map((key) => {
    const f = dtmfFrequencies(key);
    if (f === undefined) throw new CallroomError('CR_DTMF_INVALID', `${JSON.stringify(key)} is not a DTMF key (0-9, *, #, A-D)`);
    return f;
  });
  const tone = Math.round((sampleRate * toneMs) / 1000);
  const gap = Math.round((sampleRate * gapMs) / 1000);
  const ramp = Math.max(1, Math.round((sampleRate * RAMP_MS) / 1000));
  const out = new Int16Array(pairs.length * (tone + gap));
  pairs.forEach(([low, high], k) => {
    const base = k * (tone + gap);
    const wl = (2 * Math.PI * low) / sampleRate;
    const wh = (2 * Math.PI * high) / sampleRate;
    for (let n = 0; n < tone; n++) {
      const edge = Math.min(1, (n + 1) / ramp, (tone - n) / ramp);
      out[base + n] = Math.round(edge * (LOW_PEAK * Math.sin(wl * n) + HIGH_PEAK * Math.sin(wh * n)));
    }
  });
  return out;
}
