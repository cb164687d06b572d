import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ndjsonLineFilter } from '../../../../src/providers/elevenlabs/ndjson-line-filter.ts';

async function filter(parts: Uint8Array[]): Promise<string> {
  const src = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  let out = '';
  const dec = new TextDecoder();
  for await (const chunk of src.pipeThrough(ndjsonLineFilter(silentLogger()))) out += dec.decode(chunk, { stream: true });
  return out;
}

const good1 = '{"audio_base64":"AAA=","alignment":{"characters":["é"]}}';
const good2 = '{"audio_base64":"BBB="}';
const input = `${good1}\n{"audio_base64": broken\n\n[1,2]\n{"other":1}\n${good2}`;

describe('ndjsonLineFilter', () => {
  it('keeps only complete audio lines, for every split of the input (multi-byte UTF-8 included)', async () => {
    const bytes = new TextEncoder().encode(input);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const out = await filter([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(out, `cut ${cut}`).toBe(`${good1}\n${good2}\n`);
    }
  });
});
