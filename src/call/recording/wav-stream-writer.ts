/**
 * A WAV file written as audio arrives: the 44-byte header first (sizes zero), then each `flush` appends the
 * buffered samples and rewrites the header with the sizes so far. Data goes out before the header that
 * counts it, so after a crash the file is a valid WAV of everything flushed (at most one flush interval is
 * lost). Writes are serialised; a failed write stops the writer (the call goes on) and is reported once.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Where a recording's interleaved samples go. */
export interface RecordingSink {
  /** Interleaved 16-bit samples (whole frames); kept until the next `flush`. Synchronous and cheap. */
  append(samples: Int16Array): void;
  /** Write out what was appended; resolves when it is on disk (in the page cache) with a header that counts it. */
  flush(): Promise<void>;
  /** Flush and close; idempotent. */
  close(): Promise<void>;
}

const HEADER_BYTES = 44;
/** RIFF sizes are 32-bit. */
const MAX_DATA_BYTES = 0xffff_ffff - 36;

export interface WavStreamWriterOptions {
  readonly sampleRate: number;
  readonly channels: number;
  /** A write failed: the recording stops there (reported once). */
  readonly onError?: (err: unknown) => void;
}

export class WavStreamWriter implements RecordingSink {
  readonly path: string;
  /** Resolves once the file is open with its header written (rejects when it cannot be created). */
  readonly ready: Promise<void>;
  readonly #o: WavStreamWriterOptions;
  #fh: FileHandle | undefined;
  #pending: Int16Array[] = [];
  #pendingBytes = 0;
  #dataBytes = 0;
  #chain: Promise<void>;
  #failed = false;
  #closed: Promise<void> | undefined;

  /** Starts creating (or truncating) `path` at once; appends are buffered meanwhile. */
  constructor(path: string, options: WavStreamWriterOptions) {
    if (!Number.isInteger(options.sampleRate) || options.sampleRate <= 0 || !Number.isInteger(options.channels) || options.channels < 1) {
      throw new RangeError(`bad WAV format ${options.sampleRate} Hz x ${options.channels}`);
    }
    this.path = path;
    this.#o = options;
    this.ready = (async () => {
      const fh = await open(path, 'w', 0o600);
      this.#fh = fh;
      await fh.write(header(options.sampleRate, options.channels, 0), 0, HEADER_BYTES, 0);
    })();
    this.#chain = this.ready.catch((err: unknown) => this.#fail(err));
  }

  /** Create `path` and wait until its header is written. */
  static async create(path: string, options: WavStreamWriterOptions): Promise<WavStreamWriter> {
    const w = new WavStreamWriter(path, options);
    await w.ready;
    return w;
  }

  /** Audio bytes written so far (flushed). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  get failed(): boolean {
    return this.#failed;
  }

  append(samples: Int16Array): void {
    if (this.#failed || this.#closed !== undefined || samples.length === 0) return;
    if (this.#dataBytes + this.#pendingBytes + samples.byteLength > MAX_DATA_BYTES) return;
    this.#pending.push(samples);
    this.#pendingBytes += samples.byteLength;
  }

  flush(): Promise<void> {
    if (this.#pendingBytes === 0 || this.#failed) return this.#chain;
    const parts = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#chain = this.#chain.then(async () => {
      const fh = this.#fh;
      if (this.#failed || fh === undefined) return;
      try {
        const buf = Buffer.allocUnsafe(bytes);
        let at = 0;
        for (const p of parts) {
          // WAV is little-endian, as is every platform Node runs on here; copy the bytes as they are.
          buf.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
          at += p.byteLength;
        }
        await fh.write(buf, 0, bytes, HEADER_BYTES + this.#dataBytes);
        this.#dataBytes += bytes;
        await fh.write(header(this.#o.sampleRate, this.#o.channels, this.#dataBytes), 0, HEADER_BYTES, 0);
      } catch (err) {
        this.#fail(err);
      }
    });
    return this.#chain;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.flush();
      await this.#chain;
      await this.#fh?.close().catch((err: unknown) => this.#fail(err));
    })();
    return this.#closed;
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#o.onError?.(err);
  }
}

/** The canonical 44-byte PCM header for `dataBytes` of audio. */
export function header(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  const blockAlign = channels * 2;
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * blockAlign, 28);
  b.writeUInt16LE(blockAlign, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataBytes, 40);
  return b;
}
