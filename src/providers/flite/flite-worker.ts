/**
 * Worker thread that runs flite.wasm (the flite CLI compiled to WASI) over an in-memory WASI
 * (`memory-wasi.ts`; `node:wasi` leaked a host descriptor per instance).
 *
 * The wasm is the command-line program: each synthesis is one fresh instance whose `_start` runs
 * `flite -voice V -f /io/in.txt -o /io/out.wav`, both files held in memory. Instantiating copies
 * ~17 MB of data segments (tens of ms),
 * so after each job the next instance for the same voice is prepared ahead of time; the module itself
 * is compiled once. Running in a worker keeps that synchronous work off the event loop.
 *
 * Protocol: in `{ id, voice, text }`; out `{ id, pcm, sampleRate }` (pcm buffer transferred) or
 * `{ id, error }`.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { readWav } from '../../media/wav.ts';
import { MemoryWasi } from './memory-wasi.ts';

export interface FliteWorkerData {
  readonly wasmPath: string;
  /** Voice to prepare an instance for at start-up. */
  readonly warmVoice?: string;
}

export interface FliteJob {
  readonly id: number;
  readonly voice: string;
  readonly text: string;
}

export type FliteReply =
  | { readonly id: number; readonly pcm: Int16Array; readonly sampleRate: number }
  | { readonly id: number; readonly error: string };

interface Prepared {
  readonly voice: string;
  readonly wasi: MemoryWasi;
  readonly instance: object;
}

/** The slice of the WebAssembly global used here (the project's lib settings do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  instantiate(module: object, imports: object): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const data = workerData as FliteWorkerData;
const module = new wasm.Module(readFileSync(data.wasmPath));
let warm: Promise<Prepared> | undefined;

async function prepare(voice: string): Promise<Prepared> {
  const wasi = new MemoryWasi({ args: ['flite', '-voice', voice, '-f', '/io/in.txt', '-o', '/io/out.wav'], dir: '/io' });
  const instance = await wasm.instantiate(module, wasi.getImportObject());
  return { voice, wasi, instance };
}

async function synthesize(job: FliteJob): Promise<FliteReply> {
  const ready = warm !== undefined ? await warm : undefined;
  warm = undefined;
  const p = ready !== undefined && ready.voice === job.voice ? ready : await prepare(job.voice);
  // flite reads the text as a file, so no command-line quoting or length limits apply.
  p.wasi.setFile('in.txt', new TextEncoder().encode(job.text));
  let reply: FliteReply;
  try {
    const code = p.wasi.start(p.instance);
    const out = p.wasi.file('out.wav');
    if (code !== 0 || out === undefined) throw new Error(`flite exited with ${code}: ${p.wasi.output(2).trim() || 'no output'}`);
    const wav = readWav(out);
    reply = { id: job.id, pcm: wav.samples, sampleRate: wav.sampleRate };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  warm = prepareQuietly(job.voice);
  return reply;
}

/** Prepare ahead; a failure surfaces when the next job awaits it, never as an unhandled rejection. */
function prepareQuietly(voice: string): Promise<Prepared> {
  const p = prepare(voice);
  p.catch(() => undefined);
  return p;
}

// Jobs run one at a time, in order; the pool in the main thread decides which worker gets what.
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (job: FliteJob) => {
  chain = chain.then(async () => {
    const reply = await synthesize(job).catch((err: unknown) => ({ id: job.id, error: err instanceof Error ? err.message : String(err) }));
    if ('pcm' in reply) parentPort?.postMessage(reply, [reply.pcm.buffer as ArrayBuffer]);
    else parentPort?.postMessage(reply);
  });
});

if (data.warmVoice !== undefined) warm = prepareQuietly(data.warmVoice);
