import { createResampler } from './resampler.ts';

/**
 * Resample a whole buffer in one go (fixtures, recordings, offline checks), including the filter's tail, so the
 * result holds every input sample's worth of audio. Streaming callers use `createResampler` instead.
 */
export function resampleBuffer(pcm: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return pcm.slice();
  const r = createResampler(fromRate, toRate);
  try {
    // process() and flush() return views of one reused buffer: copy the first before the second call.
    const head = r.process(pcm).slice();
    const tail = r.flush();
    const out = new Int16Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } finally {
    r.close();
  }
}
