import { describe, expect, it } from 'vitest';
import { alignmentFromChunkMs, alignmentFromSeconds } from '../../../../src/providers/elevenlabs/alignment.ts';

describe('ElevenLabs alignment', () => {
  it('converts HTTP seconds to milliseconds and durations', () => {
    expect(
      alignmentFromSeconds({ characters: ['H', 'i'], characterStartTimesSeconds: [0, 0.1], characterEndTimesSeconds: [0.1, 0.25] }),
    ).toEqual({ chars: ['H', 'i'], startMs: [0, 100], durationMs: [100, 150] });
  });

  it('shifts WebSocket chunk-relative times by the chunk offset', () => {
    expect(alignmentFromChunkMs({ chars: ['a', 'b'], charStartTimesMs: [0, 30], charDurationsMs: [30, 40] }, 500)).toEqual({
      chars: ['a', 'b'],
      startMs: [500, 530],
      durationMs: [30, 40],
    });
    // The older spelling some server versions use.
    expect(alignmentFromChunkMs({ chars: ['a'], charStartTimesMs: [0], charsDurationsMs: [10] }, 0)?.durationMs).toEqual([10]);
  });

  it.each([
    [null],
    ['x'],
    [{}],
    [{ characters: ['a'], characterStartTimesSeconds: [0, 1], characterEndTimesSeconds: [1] }],
    [{ characters: [1], characterStartTimesSeconds: [0], characterEndTimesSeconds: [1] }],
    [{ characters: [], characterStartTimesSeconds: [], characterEndTimesSeconds: [] }],
  ])('returns undefined for malformed HTTP alignment %j', (raw) => {
    expect(alignmentFromSeconds(raw)).toBeUndefined();
  });

  it('returns undefined for malformed WebSocket alignment', () => {
    expect(alignmentFromChunkMs(null, 0)).toBeUndefined();
    expect(alignmentFromChunkMs({ chars: ['a'], charStartTimesMs: ['0'], charDurationsMs: [1] }, 0)).toBeUndefined();
  });
});
