import { Modality } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { buildLiveConfig, closeIsFinal } from '../../../../src/providers/gemini-live/live-connect.ts';
import type { RealtimeSessionOptions } from '../../../../src/providers/types.ts';

const options: RealtimeSessionOptions = {
  instructions: 'be brief',
  tools: [],
  inputFormat: { encoding: 'pcm_s16le', sampleRate: 16000 },
  outputFormat: { encoding: 'pcm_s16le', sampleRate: 24000 },
  turnDetection: 'manual',
  transcription: false,
};

describe('Gemini Live connect config', () => {
  it('always asks for resumption handles, and resumes with one when given', () => {
    const fresh = buildLiveConfig({ model: 'm', options, voice: undefined, resumeHandle: undefined, compressContext: false });
    expect(fresh).toEqual({
      responseModalities: [Modality.AUDIO],
      systemInstruction: 'be brief',
      sessionResumption: {},
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
    });
    const resumed = buildLiveConfig({ model: 'm', options: { ...options, turnDetection: 'server_vad' }, voice: 'Kore', resumeHandle: 'h', compressContext: true });
    expect(resumed.sessionResumption).toEqual({ handle: 'h' });
    expect(resumed.realtimeInputConfig).toBeUndefined();
    expect(resumed.speechConfig).toEqual({ voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } });
    expect(resumed.contextWindowCompression).toEqual({ slidingWindow: {} });
  });

  it('treats invalid-argument and policy closes as final, drops and deadlines as not', () => {
    expect([1003, 1007, 1008].map(closeIsFinal)).toEqual([true, true, true]);
    expect([1000, 1006, 1011, 1001].map(closeIsFinal)).toEqual([false, false, false, false]);
  });
});
