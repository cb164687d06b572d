/**
 * The slice of WASI preview1 that the flite command-line program imports, over files held in memory.
 *
 * Why not `node:wasi`: it opens a host file descriptor for every preopened directory of every instance and
 * never closes it (not on exit, not on garbage collection), and flite runs as one fresh instance per
 * synthesis, so a long-running gateway leaked a descriptor per spoken sentence (hundreds a minute under
 * load) until `EMFILE`. Here the program sees one preopened directory (`/io`, fd 3) whose files are a
 * `Map` of byte arrays, and stdout/stderr are captured for error messages. Nothing touches the host.
 *
 * Implemented: args, clock, fd_{read,write,seek,close,fdstat_get,fdstat_set_flags,prestat_get,
 * prestat_dir_name}, path_open (read existing / create-truncate), proc_exit. Anything else the module
 * imported would fail to link at instantiation, loudly.
 */

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const EISDIR = 31;
const ENOENT = 44;
const ENOTDIR = 54;

const FILETYPE_CHARACTER_DEVICE = 2;
const FILETYPE_DIRECTORY = 3;
const FILETYPE_REGULAR_FILE = 4;

const OFLAG_CREAT = 1;
const OFLAG_DIRECTORY = 2;
const OFLAG_TRUNC = 8;
const FDFLAG_APPEND = 1;

const ALL_RIGHTS = 0x1fffffffn;
const DIR_FD = 3;

/** `proc_exit` unwinds the wasm stack with this; `start` turns it back into an exit code. */
class WasiExit {
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

interface OpenFile {
  readonly name: string;
  position: number;
  readonly append: boolean;
}

/** A growable byte buffer standing for one file. */
class MemFile {
  bytes: Uint8Array;
  size: number;
  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.bytes = initial;
    this.size = initial.length;
  }
  writeAt(position: number, data: Uint8Array): void {
    const end = position + data.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    if (position > this.size) this.bytes.fill(0, this.size, position);
    this.bytes.set(data, position);
    this.size = Math.max(this.size, end);
  }
  content(): Uint8Array {
    return this.bytes.slice(0, this.size);
  }
}

export interface MemoryWasiOptions {
  readonly args: readonly string[];
  /** Name of the one preopened directory, as the program sees it (e.g. '/io'). */
  readonly dir: string;
  /** Files in that directory before the program starts. */
  readonly files?: ReadonlyMap<string, Uint8Array>;
}

export class MemoryWasi {
  readonly #args: Uint8Array[];
  readonly #dirName: Uint8Array;
  readonly #files = new Map<string, MemFile>();
  readonly #open = new Map<number, OpenFile>();
  readonly #output: Record<1 | 2, string[]> = { 1: [], 2: [] };
  #nextFd = DIR_FD + 1;
  #memory: { buffer: ArrayBuffer } | undefined;
  #started = false;

  constructor(options: MemoryWasiOptions) {
    const enc = new TextEncoder();
    this.#args = options.args.map((a) => enc.encode(`${a}\0`));
    this.#dirName = enc.encode(options.dir);
    for (const [name, bytes] of options.files ?? []) this.#files.set(name, new MemFile(bytes.slice()));
  }

  /** Put (or replace) a file before `start`. */
  setFile(name: string, bytes: Uint8Array): void {
    this.#files.set(name, new MemFile(bytes.slice()));
  }

  /** A file's bytes after the program ran (undefined if it never existed). */
  file(name: string): Uint8Array | undefined {
    return this.#files.get(name)?.content();
  }

  /** What the program wrote to stdout (1) or stderr (2). */
  output(fd: 1 | 2): string {
    return this.#output[fd].join('');
  }

  /** Run `_start` once; returns the exit code (0 when `_start` returns normally). */
  start(instance: object): number {
    if (this.#started) throw new Error('a WASI instance runs once');
    this.#started = true;
    const exports = (instance as { exports: { memory?: { buffer: ArrayBuffer }; _start?: () => void } }).exports;
    if (exports.memory === undefined || typeof exports._start !== 'function') throw new Error('not a WASI command (no memory or _start export)');
    this.#memory = exports.memory;
    try {
      exports._start();
      return 0;
    } catch (err) {
      if (err instanceof WasiExit) return err.code;
      throw err;
    } finally {
      this.#open.clear();
    }
  }

  getImportObject(): { wasi_snapshot_preview1: Record<string, (...args: never[]) => number> } {
    const self = this;
    const view = (): DataView => new DataView(this.#mem());
    const bytes = (): Uint8Array => new Uint8Array(this.#mem());
    const fns = {
      args_sizes_get(argcPtr: number, bufSizePtr: number): number {
        const v = view();
        v.setUint32(argcPtr, self.#args.length, true);
        v.setUint32(bufSizePtr, self.#args.reduce((n, a) => n + a.length, 0), true);
        return ESUCCESS;
      },
      args_get(argvPtr: number, bufPtr: number): number {
        const v = view();
        const mem = bytes();
        let at = bufPtr;
        self.#args.forEach((a, i) => {
          v.setUint32(argvPtr + i * 4, at, true);
          mem.set(a, at);
          at += a.length;
        });
        return ESUCCESS;
      },
      clock_time_get(_id: number, _precision: bigint, timePtr: number): number {
        const ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
        view().setBigUint64(timePtr, ns, true);
        return ESUCCESS;
      },
      fd_prestat_get(fd: number, prestatPtr: number): number {
        if (fd !== DIR_FD) return EBADF;
        const v = view();
        v.setUint8(prestatPtr, 0);
        v.setUint32(prestatPtr + 4, self.#dirName.length, true);
        return ESUCCESS;
      },
      fd_prestat_dir_name(fd: number, pathPtr: number, pathLen: number): number {
        if (fd !== DIR_FD) return EBADF;
        bytes().set(self.#dirName.subarray(0, pathLen), pathPtr);
        return ESUCCESS;
      },
      fd_fdstat_get(fd: number, statPtr: number): number {
        const type = fd <= 2 ? FILETYPE_CHARACTER_DEVICE : fd === DIR_FD ? FILETYPE_DIRECTORY : self.#open.has(fd) ? FILETYPE_REGULAR_FILE : -1;
        if (type < 0) return EBADF;
        const v = view();
        v.setUint8(statPtr, type);
        v.setUint16(statPtr + 2, self.#open.get(fd)?.append === true ? FDFLAG_APPEND : 0, true);
        v.setBigUint64(statPtr + 8, ALL_RIGHTS, true);
        v.setBigUint64(statPtr + 16, ALL_RIGHTS, true);
        return ESUCCESS;
      },
      fd_fdstat_set_flags(fd: number): number {
        return fd <= DIR_FD || self.#open.has(fd) ? ESUCCESS : EBADF;
      },
      path_open(
        dirFd: number,
        _dirFlags: number,
        pathPtr: number,
        pathLen: number,
        oflags: number,
        _rightsBase: bigint,
        _rightsInheriting: bigint,
        fdFlags: number,
        fdPtr: number,
      ): number {
        if (dirFd !== DIR_FD) return EBADF;
        const name = new TextDecoder().decode(bytes().subarray(pathPtr, pathPtr + pathLen)).replace(/^(\.\/)+/, '');
        if (name === '' || name === '.') return (oflags & OFLAG_DIRECTORY) !== 0 ? EINVAL : EISDIR;
        if (name.includes('/')) return ENOENT;
        if ((oflags & OFLAG_DIRECTORY) !== 0) return ENOTDIR;
        let file = self.#files.get(name);
        if (file === undefined) {
          if ((oflags & OFLAG_CREAT) === 0) return ENOENT;
          file = new MemFile();
          self.#files.set(name, file);
        } else if ((oflags & OFLAG_TRUNC) !== 0) {
          file.size = 0;
        }
        const fd = self.#nextFd++;
        self.#open.set(fd, { name, position: 0, append: (fdFlags & FDFLAG_APPEND) !== 0 });
        view().setUint32(fdPtr, fd, true);
        return ESUCCESS;
      },
      fd_read(fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number {
        const v = view();
        if (fd === 0) {
          v.setUint32(nreadPtr, 0, true);
          return ESUCCESS;
        }
        const open = self.#open.get(fd);
        const file = open === undefined ? undefined : self.#files.get(open.name);
        if (open === undefined || file === undefined) return EBADF;
        const mem = bytes();
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const buf = v.getUint32(iovsPtr + i * 8, true);
          const len = v.getUint32(iovsPtr + i * 8 + 4, true);
          const n = Math.max(0, Math.min(len, file.size - open.position));
          mem.set(file.bytes.subarray(open.position, open.position + n), buf);
          open.position += n;
          total += n;
          if (n < len) break;
        }
        v.setUint32(nreadPtr, total, true);
        return ESUCCESS;
      },
      fd_write(fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number {
        const v = view();
        const mem = bytes();
        const open = self.#open.get(fd);
        const file = open === undefined ? undefined : self.#files.get(open.name);
        if ((fd !== 1 && fd !== 2 && file === undefined) || (fd > 2 && open === undefined)) return EBADF;
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const buf = v.getUint32(iovsPtr + i * 8, true);
          const len = v.getUint32(iovsPtr + i * 8 + 4, true);
          const chunk = mem.subarray(buf, buf + len);
          if (fd === 1 || fd === 2) self.#output[fd].push(new TextDecoder().decode(chunk));
          else if (open !== undefined && file !== undefined) {
            if (open.append) open.position = file.size;
            file.writeAt(open.position, chunk);
            open.position += len;
          }
          total += len;
        }
        v.setUint32(nwrittenPtr, total, true);
        return ESUCCESS;
      },
      fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
        const open = self.#open.get(fd);
        const file = open === undefined ? undefined : self.#files.get(open.name);
        if (open === undefined || file === undefined) return fd <= DIR_FD ? EINVAL : EBADF;
        const base = whence === 0 ? 0 : whence === 1 ? open.position : whence === 2 ? file.size : -1;
        if (base < 0) return EINVAL;
        const next = base + Number(offset);
        if (next < 0) return EINVAL;
        open.position = next;
        view().setBigUint64(newOffsetPtr, BigInt(next), true);
        return ESUCCESS;
      },
      fd_close(fd: number): number {
        if (fd <= 2) return ESUCCESS;
        return self.#open.delete(fd) ? ESUCCESS : EBADF;
      },
      proc_exit(code: number): number {
        throw new WasiExit(code);
      },
    };
    return { wasi_snapshot_preview1: fns as unknown as Record<string, (...args: never[]) => number> };
  }

  #mem(): ArrayBuffer {
    if (this.#memory === undefined) throw new Error('the WASI program is not running');
    return this.#memory.buffer;
  }
}
