import type { SttProvider } from '../../src/providers/types.ts';

/** Recognise recorded PCM with a real recogniser (the oracle for what a caller heard): the final words, joined. */
export async function recognise(pcm: Int16Array, sampleRate: number, stt: SttProvider): Promise<string> {
  const session = await stt.open({ sampleRate });
  const words: string[] = [];
  const done = (async () => {
    for await (const ev of session.events()) {
      if (ev.type === 'transcript' && ev.isFinal && ev.text.trim() !== '') words.push(ev.text.trim());
      if (ev.type === 'closed') break;
    }
  })();
  const step = sampleRate / 50;
  for (let at = 0; at < pcm.length; at += step) session.write({ samples: pcm.slice(at, at + step), sampleRate, timestamp: (at * 1000) / sampleRate });
  session.finalize();
  await session.close();
  await done;
  return words.join(' ').toLowerCase();
}
