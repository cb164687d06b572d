/**
 * Which formats a speech-to-speech session is opened with, per medium and model: G.711 straight through
 * where the model speaks it, PCM at the call's own rate where the model takes it, else the model's next
 * rate up (never downsampling the caller when the model could take more).
 */
import { describe, expect, it } from 'vitest';
import { chooseFormats, isPassThrough } from '../../../../src/call/realtime/formats.ts';
import type { LegAudioFormat } from '../../../../src/call/call-leg.ts';
import { GEMINI_LIVE_CAPABILITIES } from '../../../../src/providers/gemini-live/gemini-live.ts';
import { OPENAI_REALTIME_CAPABILITIES } from '../../../../src/providers/openai-realtime/session-config.ts';

const leg = (encoding: LegAudioFormat['encoding'], sampleRate: number) => ({ inputFormat: { encoding, sampleRate }, outputFormat: { encoding, sampleRate } });
const pcm = (sampleRate: number) => ({ encoding: 'pcm_s16le', sampleRate });

describe('chooseFormats', () => {
  it.each([
    ['SIP PCMU', leg('mulaw', 8000), { encoding: 'mulaw', sampleRate: 8000 }, { encoding: 'mulaw', sampleRate: 8000 }],
    ['SIP PCMA', leg('alaw', 8000), { encoding: 'alaw', sampleRate: 8000 }, { encoding: 'alaw', sampleRate: 8000 }],
    ['SIP G.722', leg('pcm_s16le', 16000), pcm(24000), pcm(24000)],
    ['WebSocket 16 kHz', leg('pcm_s16le', 16000), pcm(24000), pcm(24000)],
    ['WebSocket 24 kHz', leg('pcm_s16le', 24000), pcm(24000), pcm(24000)],
    ['WebSocket 48 kHz', leg('pcm_s16le', 48000), pcm(24000), pcm(24000)],
  ])('OpenAI, %s', (_name, l, input, output) => {
    expect(chooseFormats(l, OPENAI_REALTIME_CAPABILITIES)).toEqual({ input, output });
  });

  it.each([
    ['SIP PCMU', leg('mulaw', 8000), pcm(8000)],
    ['SIP G.722', leg('pcm_s16le', 16000), pcm(16000)],
    ['WebSocket 24 kHz', leg('pcm_s16le', 24000), pcm(24000)],
    ['WebSocket 48 kHz', leg('pcm_s16le', 48000), pcm(48000)],
    ['WebSocket 22.05 kHz', leg('pcm_s16le', 22050), pcm(24000)],
  ])('Gemini, %s: caller audio at the call rate where it can, the model always speaks 24 kHz', (_name, l, input) => {
    expect(chooseFormats(l, GEMINI_LIVE_CAPABILITIES)).toEqual({ input, output: pcm(24000) });
  });

  it('a leg without agreed media gets 16 kHz PCM choices', () => {
    expect(chooseFormats({ inputFormat: undefined, outputFormat: undefined }, GEMINI_LIVE_CAPABILITIES).input).toEqual(pcm(16000));
  });

  it('passes through only G.711 of the same law at 8 kHz', () => {
    expect(isPassThrough({ encoding: 'mulaw', sampleRate: 8000 }, { encoding: 'mulaw', sampleRate: 8000 })).toBe(true);
    expect(isPassThrough({ encoding: 'alaw', sampleRate: 8000 }, { encoding: 'mulaw', sampleRate: 8000 })).toBe(false);
    expect(isPassThrough({ encoding: 'pcm_s16le', sampleRate: 8000 }, { encoding: 'pcm_s16le', sampleRate: 8000 })).toBe(false);
    expect(isPassThrough(undefined, { encoding: 'mulaw', sampleRate: 8000 })).toBe(false);
  });
});
