/**
 * flite over the in-memory WASI: the same audio as under `node:wasi` (the reference), every error surfaced,
 * and no host file descriptor left behind however many sentences are spoken (node:wasi leaked one each).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { afterAll, describe, expect, it } from 'vitest';
import { FliteEngine, fliteWasmPath } from '../../../../src/providers/flite/flite-engine.ts';
import { MemoryWasi } from '../../../../src/providers/flite/memory-wasi.ts';

const wasmApi = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; instantiate(m: object, i: object): Promise<object> } }).WebAssembly;
const module = new wasmApi.Module(readFileSync(fliteWasmPath()));
const args = (voice: string): string[] => ['flite', '-voice', voice, '-f', '/io/in.txt', '-o', '/io/out.wav'];

async function underMemory(text: string, voice = 'slt'): Promise<{ code: number; wav: Uint8Array | undefined; stderr: string }> {
  const wasi = new MemoryWasi({ args: args(voice), dir: '/io', files: new Map([['in.txt', new TextEncoder().encode(text)]]) });
  const instance = await wasmApi.instantiate(module, wasi.getImportObject());
  const code = wasi.start(instance);
  return { code, wav: wasi.file('out.wav'), stderr: wasi.output(2) };
}

async function underNodeWasi(text: string, voice = 'slt'): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'flite-ref-'));
  try {
    writeFileSync(join(dir, 'in.txt'), text);
    const wasi = new WASI({ version: 'preview1', args: args(voice), preopens: { '/io': dir }, returnOnExit: true });
    const instance = await wasmApi.instantiate(module, wasi.getImportObject());
    expect(wasi.start(instance)).toBe(0);
    return readFileSync(join(dir, 'out.wav'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('MemoryWasi running flite', () => {
  const engines: FliteEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.close();
  });

  it('writes byte for byte the WAV that node:wasi writes, for several voices and texts', async () => {
    for (const [voice, text] of [
      ['slt', 'Your order has shipped and will arrive on Tuesday.'],
      ['kal', 'One, two, three. Four?'],
      ['awb', 'x'.repeat(3) + ' and a longer sentence, with a comma; and a semicolon.'],
    ] as const) {
      const mem = await underMemory(text, voice);
      expect(mem.code).toBe(0);
      expect(mem.wav).toBeDefined();
      expect(Buffer.from(mem.wav ?? [])).toEqual(Buffer.from(await underNodeWasi(text, voice)));
    }
  });

  it('a program error reaches the caller: stderr is kept, no output file appears', async () => {
    const missing = new MemoryWasi({ args: args('slt'), dir: '/io' });
    missing.start(await wasmApi.instantiate(module, missing.getImportObject()));
    expect(missing.output(2)).toMatch(/failed to open file "\/io\/in.txt"/);
    expect(missing.file('out.wav')).toBeUndefined();
  });

  it('runs once per instance', async () => {
    const mem = new MemoryWasi({ args: args('slt'), dir: '/io', files: new Map([['in.txt', new TextEncoder().encode('hi')]]) });
    const instance = await wasmApi.instantiate(module, mem.getImportObject());
    mem.start(instance);
    expect(() => mem.start(instance)).toThrow(/once/);
  });

  it('leaves no file descriptor behind after many syntheses on the worker pool', async () => {
    const engine = new FliteEngine({ workers: 2 });
    engines.push(engine);
    await engine.synthesize('Warm up.', 'slt');
    const before = openFds();
    for (let i = 0; i < 40; i++) await engine.synthesize(`Sentence number ${i}.`, 'slt');
    // node:wasi kept one descriptor per instance: 40 or more here.
    expect(openFds() - before).toBeLessThan(5);
  });
});
