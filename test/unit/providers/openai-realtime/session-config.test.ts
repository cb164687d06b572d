import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import { buildGaSession, bytesPerMs, OPENAI_REALTIME_CAPABILITIES, toGaFormat } from '../../../../src/providers/openai-realtime/session-config.ts';
import type { RealtimeSessionOptions } from '../../../../src/providers/types.ts';

const base: RealtimeSessionOptions = {
  instructions: 'be brief',
  tools: [{ name: 't', description: 'd', parameters: { type: 'object' } }],
  inputFormat: { encoding: 'pcm_s16le', sampleRate: 24000 },
  outputFormat: { encoding: 'alaw', sampleRate: 8000 },
  turnDetection: 'semantic_vad',
  transcription: false,
};
const defaults = { voice: 'marin', transcriptionModel: 'gpt-4o-mini-transcribe' };

describe('OpenAI Realtime GA session config', () => {
  it('maps exactly the GA formats and nothing else', () => {
    expect(toGaFormat({ encoding: 'pcm_s16le', sampleRate: 24000 })).toEqual({ type: 'audio/pcm', rate: 24000 });
    expect(toGaFormat({ encoding: 'mulaw', sampleRate: 8000 })).toEqual({ type: 'audio/pcmu' });
    expect(toGaFormat({ encoding: 'alaw', sampleRate: 8000 })).toEqual({ type: 'audio/pcma' });
    for (const bad of [
      { encoding: 'pcm_s16le', sampleRate: 16000 },
      { encoding: 'pcm_s16le', sampleRate: 8000 },
      { encoding: 'mulaw', sampleRate: 16000 },
    ] as const) {
      expect(toGaFormat(bad)).toBeUndefined();
    }
    for (const f of OPENAI_REALTIME_CAPABILITIES.inputFormats) expect(toGaFormat(f)).toBeDefined();
  });

  it('builds the GA body: semantic VAD, mixed formats, no transcription when off', () => {
    expect(buildGaSession(base, defaults)).toEqual({
      type: 'realtime',
      instructions: 'be brief',
      output_modalities: ['audio'],
      audio: {
        input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'semantic_vad', create_response: true, interrupt_response: true } },
        output: { format: { type: 'audio/pcma' }, voice: 'marin' },
      },
      tools: [{ type: 'function', name: 't', description: 'd', parameters: { type: 'object' } }],
      tool_choice: 'auto',
    });
  });

  it('manual turns turn server detection off with null', () => {
    const s = buildGaSession({ ...base, turnDetection: 'manual', voice: 'ash', transcription: true }, defaults);
    expect(s.audio?.input?.turn_detection).toBeNull();
    expect(s.audio?.input?.transcription).toEqual({ model: 'gpt-4o-mini-transcribe' });
    expect(s.audio?.output?.voice).toBe('ash');
  });

  it('refuses a format GA does not have with a typed, non-retryable error', () => {
    const err = (() => {
      try {
        buildGaSession({ ...base, outputFormat: { encoding: 'pcm_s16le', sampleRate: 16000 } }, defaults);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_REALTIME_FORMAT', retryable: false });
  });

  it('counts bytes per ms per encoding', () => {
    expect(bytesPerMs({ encoding: 'pcm_s16le', sampleRate: 24000 })).toBe(48);
    expect(bytesPerMs({ encoding: 'mulaw', sampleRate: 8000 })).toBe(8);
  });
});
