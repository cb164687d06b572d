/**
 * A `fetch` for the ElevenLabs SDK that drops malformed NDJSON lines from `/with-timestamps`
 * responses before the SDK parses them. The SDK would otherwise throw on the first bad line and
 * lose the rest of the utterance; a voice call is better served by a short gap and a warning.
 */
import type { Logger } from '../../core/logger.ts';

function isAudioLine(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && 'audio_base64' in v && typeof v.audio_base64 === 'string';
  } catch {
    return false;
  }
}

/** A TransformStream passing through only complete lines that parse as audio chunks. */
export function ndjsonLineFilter(logger: Logger): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buf = '';
  const emit = (line: string, controller: TransformStreamDefaultController<Uint8Array>): void => {
    if (line.trim() === '') return;
    if (isAudioLine(line)) controller.enqueue(encoder.encode(`${line}\n`));
    else logger.warn({ length: line.length }, 'elevenlabs: malformed stream line ignored');
  };
  return new TransformStream({
    transform(chunk, controller) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        emit(buf.slice(0, nl), controller);
        buf = buf.slice(nl + 1);
      }
    },
    flush(controller) {
      buf += decoder.decode();
      emit(buf, controller);
      buf = '';
    },
  });
}

/** Wrap `fetch` so with-timestamps response bodies go through `ndjsonLineFilter`. */
export function filteringFetch(logger: Logger, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!res.ok || res.body === null || !url.includes('/with-timestamps')) return res;
    return new Response(res.body.pipeThrough(ndjsonLineFilter(logger)), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}
