/**
 * Where call recordings live: one stereo WAV per call in a directory, named from the call id (made safe for
 * a file name, with a hash so two ids never share a file). It starts a `RecordingLeg` per recorded call,
 * finds a call's file for the API, deletes files past the retention period (at start and hourly), and on
 * `close()` waits for the recordings still being written.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CallLeg } from '../call-leg.ts';
import { RecordingLeg } from './recording-leg.ts';
import { WavStreamWriter } from './wav-stream-writer.ts';

export interface RecordingStoreOptions {
  readonly dir: string;
  readonly sampleRate: number;
  /** 0: keep forever. */
  readonly retentionDays: number;
  readonly flushMs: number;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** A recording could not be written (disk full, permissions): counted by the caller. */
  readonly onWriteError?: () => void;
  /** Sweep interval (default hourly). */
  readonly sweepEveryMs?: number;
}

/** A call's recording as found on disk. */
export interface RecordingInfo {
  readonly path: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** Audio bytes the header counts (what is readable as WAV now). */
  readonly dataBytes: number;
  readonly durationMs: number;
  /** Still being written (the call is live). */
  readonly active: boolean;
}

const HEADER_BYTES = 44;

export class RecordingStore {
  readonly dir: string;
  readonly #o: RecordingStoreOptions;
  readonly #active = new Map<string, RecordingLeg>();
  readonly #sweep: NodeJS.Timeout | undefined;

  private constructor(options: RecordingStoreOptions) {
    this.#o = options;
    this.dir = options.dir;
    if (options.retentionDays > 0) {
      this.#sweep = setInterval(() => void this.sweep(), options.sweepEveryMs ?? 3_600_000);
      this.#sweep.unref();
    }
  }

  /** Create the directory (checked writable) and delete what is past retention. */
  static async open(options: RecordingStoreOptions): Promise<RecordingStore> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const store = new RecordingStore(options);
    await store.sweep();
    return store;
  }

  /** Recordings being written now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** The file of a call's recording. */
  pathFor(callId: string): string {
    const safe = callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
    const hash = createHash('sha256').update(callId).digest('hex').slice(0, 10);
    return join(this.dir, `${safe}-${hash}.wav`);
  }

  /** Wrap a call's leg so the call is recorded to its file. */
  record(callId: string, leg: CallLeg): RecordingLeg {
    const log = this.#o.logger.child({ callId });
    let reported = false;
    const sink = new WavStreamWriter(this.pathFor(callId), {
      sampleRate: this.#o.sampleRate,
      channels: 2,
      onError: (err) => {
        if (reported) return;
        reported = true;
        this.#o.onWriteError?.();
        log.error({ err: errorMessage(err) }, 'recording write failed: the rest of this call is not recorded');
      },
    });
    const rec = new RecordingLeg(leg, { sink, sampleRate: this.#o.sampleRate, flushMs: this.#o.flushMs, logger: log, ...(this.#o.clock === undefined ? {} : { clock: this.#o.clock }) });
    this.#active.set(callId, rec);
    void rec.finished.then(() => {
      if (this.#active.get(callId) === rec) this.#active.delete(callId);
    });
    return rec;
  }

  /** A call's recording, or undefined when there is none. */
  async find(callId: string): Promise<RecordingInfo | undefined> {
    const path = this.pathFor(callId);
    let head: Buffer;
    try {
      const fh = await open(path, 'r');
      try {
        head = Buffer.alloc(HEADER_BYTES);
        const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
        if (bytesRead < HEADER_BYTES) return undefined;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return undefined;
    const channels = head.readUInt16LE(22);
    const sampleRate = head.readUInt32LE(24);
    const dataBytes = head.readUInt32LE(40);
    const bytesPerMs = (sampleRate * channels * 2) / 1000;
    return { path, sampleRate, channels, dataBytes, durationMs: bytesPerMs > 0 ? Math.round(dataBytes / bytesPerMs) : 0, active: this.#active.has(callId) };
  }

  /** The readable part of a recording (header and the audio it counts). */
  read(info: RecordingInfo): ReadStream {
    return createReadStream(info.path, { start: 0, end: HEADER_BYTES + info.dataBytes - 1 });
  }

  /** Delete recordings older than the retention period; returns how many went. */
  async sweep(): Promise<number> {
    if (this.#o.retentionDays <= 0) return 0;
    const cutoff = Date.now() - this.#o.retentionDays * 86_400_000;
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const active = new Set([...this.#active.keys()].map((id) => this.pathFor(id)));
    for (const name of names) {
      if (!name.endsWith('.wav')) continue;
      const path = join(this.dir, name);
      if (active.has(path)) continue;
      try {
        if ((await stat(path)).mtimeMs < cutoff) {
          await unlink(path);
          removed++;
        }
      } catch {
        // Gone meanwhile, or not ours to delete.
      }
    }
    if (removed > 0) this.#o.logger.info({ removed, retentionDays: this.#o.retentionDays }, 'old recordings deleted');
    return removed;
  }

  /** Stop sweeping; wait (at most `timeoutMs`) for recordings still being written to be closed. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    const all = Promise.all([...this.#active.values()].map((r) => r.close()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }
}
