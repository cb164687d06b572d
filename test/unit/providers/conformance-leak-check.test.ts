/**
 * The leak check the STT/TTS conformance suites share also watches what `process.getActiveResourcesInfo()`
 * cannot see (worker threads, native decoder pools), through the harness hook `activeResources()`.
 */
import { describe, expect, it } from 'vitest';
import { FliteEngine } from '../../../src/providers/flite/flite-engine.ts';
import { resourcesGrownAfter, resourceSnapshot, settledSnapshot } from '../../support/stt-conformance.ts';

describe('conformance leak check with activeResources()', () => {
  it('reports an adapter count that stays above its starting value, and passes once it is back', async () => {
    let busy = 0;
    const counter = () => ({ busyWorkers: busy });
    const base = await settledSnapshot(20, 500, counter);
    expect(base.get('adapter:busyWorkers')).toBe(0);
    busy = 1;
    expect(await resourcesGrownAfter(base, 100, counter)).toEqual(['adapter:busyWorkers: 0 -> 1']);
    setTimeout(() => (busy = 0), 50);
    expect(await resourcesGrownAfter(base, 1000, counter)).toEqual([]);
  });

  it('sees a flite worker thread with a job, which the active-resource list does not show', async () => {
    const engine = new FliteEngine({ workers: 1 });
    try {
      const counter = () => {
        const a = engine.activity;
        return { fliteBusyWorkers: a.busyWorkers, flitePendingJobs: a.pendingJobs };
      };
      const base = resourceSnapshot(counter);
      const job = engine.synthesize('Hello there.', 'kal16');
      const during = resourceSnapshot(counter);
      expect(during.get('adapter:flitePendingJobs')).toBe(1);
      expect(await resourcesGrownAfter(base, 0, counter)).toContain('adapter:flitePendingJobs: 0 -> 1');
      expect((await job).pcm.length).toBeGreaterThan(0);
      expect(await resourcesGrownAfter(base, 1000, counter)).toEqual([]);
      expect(engine.activity.workers).toBe(1);
    } finally {
      await engine.close();
    }
    expect(engine.activity).toEqual({ workers: 0, busyWorkers: 0, pendingJobs: 0 });
  });
});
