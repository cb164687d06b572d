import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingStore } from '../../../../src/call/recording/recording-store.ts';
import { WavStreamWriter } from '../../../../src/call/recording/wav-stream-writer.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { readWav } from '../../../../src/media/wav.ts';
import { ClockedLeg, level } from './clocked-leg.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-rec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WavStreamWriter', () => {
  it('is a valid WAV after every flush, before it is closed (a crash keeps what was flushed)', async () => {
    const path = join(dir, 'a.wav');
    const w = await WavStreamWriter.create(path, { sampleRate: 8000, channels: 2 });
    expect(readWav(await readFile(path)).samples).toHaveLength(0);
    w.append(Int16Array.from([1, -1, 2, -2]));
    w.append(Int16Array.from([3, -3]));
    await w.flush();
    let wav = readWav(await readFile(path));
    expect(wav).toMatchObject({ sampleRate: 8000, channels: 2 });
    expect([...wav.samples]).toEqual([1, -1, 2, -2, 3, -3]);
    // Appended but not flushed: not in the file yet, and the header does not count it.
    w.append(Int16Array.from([4, -4]));
    expect((await stat(path)).size).toBe(44 + 12);
    await w.close();
    wav = readWav(await readFile(path));
    expect([...wav.samples]).toEqual([1, -1, 2, -2, 3, -3, 4, -4]);
    expect(w.dataBytes).toBe(16);
  });

  it('reports a file that cannot be created once and drops what follows', async () => {
    const errors: unknown[] = [];
    const w = new WavStreamWriter(join(dir, 'missing', 'x.wav'), { sampleRate: 8000, channels: 2, onError: (e) => errors.push(e) });
    w.append(Int16Array.from([1, 2]));
    await w.flush();
    await w.close();
    expect(errors).toHaveLength(1);
    expect(w.failed).toBe(true);
  });
});

describe('RecordingStore', () => {
  it('records a call to its file, finds it while live and after, and streams the playable part', async () => {
    const leg = new ClockedLeg();
    const store = await RecordingStore.open({ dir, sampleRate: 8000, retentionDays: 30, flushMs: 200, logger: silentLogger(), clock: leg.clock });
    const rec = store.record('abc@10.0.0.1', leg);
    expect(store.activeCount).toBe(1);
    leg.caller = level(1000, 1234);
    leg.step(50);
    await new Promise((r) => setTimeout(r, 20));
    const live = await store.find('abc@10.0.0.1');
    expect(live?.active).toBe(true);
    expect(live?.durationMs).toBeGreaterThan(600);
    leg.end();
    await rec.finished;
    const done = await store.find('abc@10.0.0.1');
    expect(done).toMatchObject({ sampleRate: 8000, channels: 2, active: false, durationMs: 1000 });
    const chunks: Buffer[] = [];
    for await (const c of store.read(done!)) chunks.push(c as Buffer);
    const wav = readWav(Buffer.concat(chunks));
    expect(wav.samples.length / 2).toBe(8000);
    expect(store.pathFor('abc@10.0.0.1')).toMatch(/\/abc_10\.0\.0\.1-[0-9a-f]{10}\.wav$/);
    // Ids that only differ in characters a file name cannot hold get different files.
    expect(store.pathFor('a/b')).not.toBe(store.pathFor('a_b'));
    expect(await store.find('nope')).toBeUndefined();
    await store.close();
  });

  it('deletes recordings past the retention period and keeps the rest', async () => {
    const old = join(dir, 'old-0000000000.wav');
    const fresh = join(dir, 'fresh-0000000000.wav');
    const other = join(dir, 'notes.txt');
    for (const f of [old, fresh, other]) await writeFile(f, 'x');
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(old, longAgo, longAgo);
    await utimes(other, longAgo, longAgo);
    const store = await RecordingStore.open({ dir, sampleRate: 8000, retentionDays: 30, flushMs: 500, logger: silentLogger() });
    await expect(stat(old)).rejects.toThrow();
    expect((await stat(fresh)).isFile()).toBe(true);
    expect((await stat(other)).isFile()).toBe(true);
    await store.close();
  });
});
