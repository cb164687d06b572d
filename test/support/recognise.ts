import type { SttProvider } from '../../src/providers/types.ts';

/**
 * Recognise recorded PCM with a real recogniser (the oracle for what a caller heard): the final words,
 * joined. The whole recording is queued at once, so give pocketsphinx a queue that holds it (`maxQueueMs`).
 */
export async function recognise(pcm: Int16Array, sampleRate: number, stt: SttProvider): Promise<string> {
  const session = await stt.open({ sampleRate });
  const words: string[] = [];
  const done = (async () => {
    for await (const ev of session.events()) {
      if (ev.type === 'transcript' && ev.isFinal && ev.text.trim() !== '') words.push(ev.text.trim());
      if (ev.type === 'closed') break;
    }
  })();
  // Long runs of (often digital) silence are cut to 300 ms: a recogniser adapts to what it hears, and a
  // recording of a call is mostly the other side's silence.
  const step = sampleRate / 50;
  let quiet = 0;
  for (let at = 0; at < pcm.length; at += step) {
    const frame = pcm.slice(at, at + step);
    let sum = 0;
    for (const v of frame) sum += v * v;
    quiet = Math.sqrt(sum / Math.max(1, frame.length)) < 30 ? quiet + 1 : 0;
    if (quiet > 15) continue;
    session.write({ samples: frame, sampleRate, timestamp: (at * 1000) / sampleRate });
  }
  session.finalize();
  await session.close();
  await done;
  return words.join(' ').toLowerCase();
}
