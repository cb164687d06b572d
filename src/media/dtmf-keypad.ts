/**
 * The DTMF keypad (ITU-T Q.23): each key is one low-group and one high-group frequency, row by row, and the
 * level reference both the tone generator and the detector work from.
 */

/** The keys row by row: key `i` is row `i >> 2` (low group) and column `i & 3` (high group). */
export const DTMF_KEYPAD = '123A456B789C*0#D';
export const DTMF_LOW_HZ = [697, 770, 852, 941] as const;
export const DTMF_HIGH_HZ = [1209, 1336, 1477, 1633] as const;

/** 0 dBm0 as the peak of a sine in 16-bit linear PCM (G.711: +3.17 dBm0 at full scale). */
export const ZERO_DBM0_PEAK = 32767 / 10 ** (3.17 / 20);
