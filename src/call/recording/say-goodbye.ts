/**
 * Speak one fixed line on a leg with the first of the agent's voices that manages it, and wait until it has
 * played: the drain's goodbye, said by the call manager after it took the leg over from the session.
 */
import { alawDecode, mulawDecode } from '../../media/g711.ts';
import type { TtsProvider } from '../../providers/types.ts';
import type { CallLeg } from '../call-leg.ts';

/** True when some voice spoke the line (and it played, or `signal` ended the wait). */
export async function sayGoodbye(leg: CallLeg, voices: readonly TtsProvider[], text: string, signal: AbortSignal, voice?: string): Promise<boolean> {
  if (text.trim() === '') return false;
  const outRate = leg.outputFormat?.sampleRate ?? 16000;
  for (const tts of voices) {
    if (signal.aborted) return false;
    const rates = [...tts.sampleRates].sort((a, b) => a - b);
    const sampleRate = rates.find((r) => r >= outRate) ?? rates.at(-1) ?? outRate;
    let spoke = false;
    try {
      for await (const chunk of tts.synthesize({ text: once(text), sampleRate, encoding: 'pcm_s16le', ...(voice === undefined ? {} : { voice }) }, signal)) {
        if (chunk.type !== 'audio') continue;
        const pcm = chunk.pcm ?? (chunk.encoding === 'mulaw' ? mulawDecode(chunk.bytes ?? new Uint8Array(0)) : chunk.encoding === 'alaw' ? alawDecode(chunk.bytes ?? new Uint8Array(0)) : undefined);
        if (pcm === undefined || pcm.length === 0) continue;
        await leg.write({ samples: pcm, sampleRate: chunk.sampleRate, timestamp: 0 }, signal);
        spoke = true;
      }
    } catch {
      // This voice failed (or the time is up): the next one tries, as long as nothing was said yet.
    }
    if (spoke) {
      await leg.drained(signal).catch(() => undefined);
      return true;
    }
  }
  return false;
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}
