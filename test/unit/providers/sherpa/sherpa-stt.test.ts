/**
 * SherpaStt's streaming logic against a stand-in native module (no model can be installed on the
 * build machines): the shared STT conformance suite at 8 and 16 kHz, then the specifics.
 * The same adapter runs on a real model in test/integration/providers/sherpa-stt.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SherpaStt, type SherpaSttOptions } from '../../../../src/providers/sherpa/sherpa-stt.ts';
import { wordsFromResult } from '../../../../src/providers/sherpa/sherpa-stt-session.ts';
import type { SttSession, SttSessionOptions } from '../../../../src/providers/types.ts';
import { assertSttOrdering, collectSttEvents, finalText, runSttConformance, within } from '../../../support/stt-conformance.ts';
import { fakeSherpa, type FakeSherpaOptions } from './fake-sherpa-module.ts';

const dir = mkdtempSync(join(tmpdir(), 'sherpa-stt-'));
for (const f of ['encoder-epoch-99-avg-1-chunk-16-left-128.onnx', 'decoder-epoch-99-avg-1-chunk-16-left-128.onnx', 'joiner-epoch-99-avg-1-chunk-16-left-128.onnx', 'tokens.txt']) {
  writeFileSync(join(dir, f), f.endsWith('.onnx') ? Buffer.from([0x08, 0x07]) : 'x');
}
const noTokens = mkdtempSync(join(tmpdir(), 'sherpa-stt-bad-'));
writeFileSync(join(noTokens, 'encoder.onnx'), Buffer.from([0x08, 0x07]));
writeFileSync(join(noTokens, 'decoder.onnx'), Buffer.from([0x08, 0x07]));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(noTokens, { recursive: true, force: true });
});

function stt(fake: FakeSherpaOptions = {}, extra: Partial<SherpaSttOptions> = {}): SherpaStt {
  const { module } = fakeSherpa(fake);
  return new SherpaStt({ modelDir: dir, loadModule: () => module, ...extra });
}

/** Two words (0.4 s) then 0.8 s of trailing audio, in 20 ms frames. */
async function feed(session: SttSession, o: SttSessionOptions): Promise<void> {
  const per = o.sampleRate / 50;
  for (let i = 0; i < 60; i++) {
    session.write({ samples: new Int16Array(per), sampleRate: o.sampleRate, timestamp: i * 20 });
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
}

for (const sampleRate of [8000, 16000]) {
  runSttConformance({
    name: `sherpa-onnx (stand-in module) at ${sampleRate} Hz`,
    createProvider: () => stt(),
    sessionOptions: { sampleRate },
    feedUtterance: feed,
    expectText: 'hello world',
    faults: [
      {
        name: 'model directory without tokens.txt',
        when: 'open',
        createProvider: () => new SherpaStt({ modelDir: noTokens, loadModule: () => fakeSherpa().module }),
        retryable: false,
        code: 'CR_PROVIDER_CONFIG',
      },
      { name: 'model fails to load', when: 'open', createProvider: () => stt({ failLoad: true }), retryable: false, code: 'CR_PROVIDER_CONFIG' },
      { name: 'decoder fails mid-stream', when: 'stream', createProvider: () => stt({ failAfterSec: 0.3 }), retryable: false, code: 'CR_PROVIDER_INTERNAL' },
    ],
  });
}

describe('SherpaStt specifics', () => {
  it('loads the native module lazily, once, with the transducer config', async () => {
    const f = fakeSherpa();
    let loads = 0;
    const p = new SherpaStt({ modelDir: dir, loadModule: () => (loads++, f.module), numThreads: 2 });
    expect(loads).toBe(0);
    await (await p.open({ sampleRate: 8000 })).close();
    await (await p.open({ sampleRate: 16000 })).close();
    expect(loads).toBe(1);
    expect(f.recognizers).toHaveLength(1);
    const cfg = f.recognizers[0]!.config as { featConfig: object; modelConfig: Record<string, unknown> };
    expect(cfg.featConfig).toEqual({ sampleRate: 16000, featureDim: 80 });
    expect(cfg.modelConfig).toMatchObject({
      transducer: { joiner: join(dir, 'joiner-epoch-99-avg-1-chunk-16-left-128.onnx') },
      tokens: join(dir, 'tokens.txt'),
      numThreads: 2,
    });
  });

  it('feeds 8 kHz audio at its own rate (sherpa resamples to the feature rate)', async () => {
    const f = fakeSherpa();
    const s = await new SherpaStt({ modelDir: dir, loadModule: () => f.module }).open({ sampleRate: 8000 });
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    await s.close();
    const stream = f.recognizers[0]!.streams[0] as unknown as { rates: Set<number> };
    expect([...stream.rates]).toEqual([8000]);
  });

  it('emits speech_started, interims, then a final with words and utterance_end at the endpoint', async () => {
    const s = await stt({ words: ['CHECK', 'MY', 'ORDER'] }).open({ sampleRate: 16000 });
    const log = collectSttEvents(s);
    await feed(s, { sampleRate: 16000 });
    const fin = await within(2000, 'endpoint final', log.waitFor((e) => e.type === 'transcript' && e.isFinal));
    expect(fin.type === 'transcript' && fin.speechFinal).toBe(true);
    expect(fin.type === 'transcript' && fin.words?.map((w) => w.word)).toEqual(['CHECK', 'MY', 'ORDER']);
    await s.close();
    await log.ended;
    const types = log.events.map((e) => e.type);
    expect(types[0]).toBe('speech_started');
    expect(types.indexOf('transcript')).toBeLessThan(types.indexOf('utterance_end'));
    const interims = log.events.flatMap((e) => (e.type === 'transcript' && !e.isFinal ? [e.text] : []));
    expect(interims.length).toBeGreaterThanOrEqual(2);
    expect(interims.at(-1)).toBe('CHECK MY ORDER');
    // Each partial extends the previous one; none repeats.
    for (let i = 1; i < interims.length; i++) expect(interims[i]!.startsWith(interims[i - 1]!) && interims[i] !== interims[i - 1]).toBe(true);
  });

  it('finalize() flushes the words so far as a final without an endpoint', async () => {
    const s = await stt({ words: ['ONE', 'TWO', 'THREE'], wordSec: 0.2 }).open({ sampleRate: 16000 });
    const log = collectSttEvents(s);
    s.write({ samples: new Int16Array(16000 * 0.45), sampleRate: 16000, timestamp: 0 });
    s.finalize();
    await s.close();
    await log.ended;
    const finals = log.events.filter((e) => e.type === 'transcript' && e.isFinal);
    expect(finals.map((e) => e.type === 'transcript' && [e.text, e.speechFinal])).toEqual([['ONE TWO THREE', false]]);
    expect(finalText(log.events)).toBe('ONE TWO THREE');
  });

  it('keeps word timings in real audio time across turns (the finalize padding is not session time)', async () => {
    const s = await stt({ words: ['ONE', 'TWO', 'THREE', 'FOUR'], wordSec: 0.2, loudOnly: true }).open({ sampleRate: 16000 });
    const log = collectSttEvents(s);
    const speak = async (sec: number): Promise<void> => {
      for (let i = 0; i < sec * 50; i++) {
        s.write({ samples: new Int16Array(320).fill(1000), sampleRate: 16000, timestamp: 0 });
        if (i % 5 === 4) await new Promise((r) => setImmediate(r));
      }
    };
    await speak(0.4);
    s.finalize();
    await speak(0.4);
    s.finalize();
    await s.close();
    await log.ended;
    const finals = log.events.flatMap((e) => (e.type === 'transcript' && e.isFinal && e.text !== '' ? [e] : []));
    expect(finals.map((e) => e.text)).toEqual(['ONE TWO', 'THREE FOUR']);
    const starts = finals.flatMap((e) => e.words?.map((w) => [w.word, Number(w.start.toFixed(3))]) ?? []);
    expect(starts).toEqual([
      ['ONE', 0],
      ['TWO', 0.2],
      ['THREE', 0.4],
      ['FOUR', 0.6],
    ]);
    const ends = log.events.flatMap((e) => (e.type === 'utterance_end' ? [Number(e.timestamp.toFixed(3))] : []));
    expect(ends.at(-1)).toBeLessThanOrEqual(0.8);
  });

  it('finalize() with no words still emits a final (empty) transcript, and the session goes on', async () => {
    const s = await stt({ loudOnly: true }).open({ sampleRate: 16000 });
    const log = collectSttEvents(s);
    s.write({ samples: new Int16Array(16000 * 0.3), sampleRate: 16000, timestamp: 0 });
    s.finalize();
    const fin = await within(2000, 'empty final', log.waitFor((e) => e.type === 'transcript' && e.isFinal));
    expect(fin).toEqual({ type: 'transcript', text: '', isFinal: true, speechFinal: false, words: [] });
    expect(log.events.some((e) => e.type === 'closed')).toBe(false);
    await s.close();
    await log.ended;
    // close() flushes too, but promises no empty final of its own.
    expect(log.events.filter((e) => e.type === 'transcript')).toHaveLength(1);
    assertSttOrdering(log.events);
  });

  it('takes raw little-endian PCM through writeEncoded, aligned or not', async () => {
    const f = fakeSherpa();
    const s = await new SherpaStt({ modelDir: dir, loadModule: () => f.module }).open({ sampleRate: 16000 });
    s.writeEncoded(new Uint8Array(640));
    s.writeEncoded(new Uint8Array(641).subarray(1));
    await s.close();
    const stream = f.recognizers[0]!.streams[0] as unknown as { sec: number };
    expect(stream.sec).toBeCloseTo(0.04 + 0.5, 5);
  });

  it('rejects encodings it cannot take', async () => {
    await expect(stt().open({ sampleRate: 8000, encoding: 'mulaw' })).rejects.toMatchObject({ code: 'CR_PROVIDER_UNSUPPORTED', retryable: false });
  });
});

describe('wordsFromResult', () => {
  it('merges sentencepiece tokens into words with start/end times', () => {
    expect(wordsFromResult({ text: 'HELLO WORLD', tokens: ['▁HE', 'LLO', '▁WOR', 'LD'], timestamps: [0.1, 0.2, 0.5, 0.6] }, 10)).toEqual([
      { word: 'HELLO', start: 10.1, end: 10.5 },
      { word: 'WORLD', start: 10.5, end: 10.7 },
    ]);
    expect(wordsFromResult({ text: '', tokens: ['a'], timestamps: [] }, 0)).toBeUndefined();
  });
});
