/**
 * RTP through the optional native addon (native/udp-batch, built from source at install): the batched path.
 *
 * - Receive: the addon drains every readable media socket with recvmmsg into one shared area and calls
 *   `#onBatch` once per event-loop turn with the count; each datagram goes to its socket's receiver as a view of
 *   that area, valid during the call only (RtpSession's handlers copy what they keep).
 * - Send: `sendRtp` serializes straight into a shared send area; one flush per synchronous burst (a pacer
 *   wake-up: a microtask after it) sends the lot, consecutive packets of one socket in one sendmmsg.
 *
 * The datagrams on the wire and the datagrams handed to the session are the ones node:dgram gives
 * (test/integration/media/udp-io-equivalence.test.ts); differences: a send the kernel refuses (full socket
 * buffer) is counted as a send error instead of queued in libuv, and a datagram over RX_SLOT octets (2 KiB; audio
 * RTP is under 1,500) is a receive error instead of a packet.
 */

import { constants as osConstants } from 'node:os';
import { createRequire } from 'node:module';
import { CallroomError } from '../../core/errors.ts';
import { rtpSize, serializeRtpInto, type RtpPacketInit } from './packet.ts';
import type { PortAllocator } from './port-allocator.ts';
import type { RtpRemote } from './rtp-session-options.ts';
import { bindInRange, ipFamily, type SocketBufferSizes } from './udp-bind.ts';
import type { DatagramReceiver, RtpIo, RtpUdpSocket } from './udp-io.ts';

/** The addon's surface (native/udp-batch/udp_batch.c). */
interface EngineHandle {
  bind(family: number, address: string, port: number, rcvbuf: number, sndbuf: number, id: number): [number, number] | number;
  closeSocket(fd: number): number;
  bufferSizes(fd: number): [number, number];
  flush(count: number): number;
  close(): void;
}

interface UdpBatchAddon {
  readonly Engine: new (
    onBatch: (count: number) => void,
    rxData: ArrayBuffer,
    rxMeta: ArrayBuffer,
    txData: ArrayBuffer,
    txMeta: ArrayBuffer,
  ) => EngineHandle;
  ntop(family: number, a0: number, a1: number, a2: number, a3: number): string;
  pton(address: string): [number, number, number, number, number] | null;
  readonly constants: { readonly RX_SLOT: number; readonly RX_STRIDE: number; readonly TX_STRIDE: number; readonly ABI: number };
}

const ADDON_PATH = new URL('../../../native/udp-batch/build/Release/udp_batch.node', import.meta.url);
const ADDON_ABI = 1;

let loaded: { addon: UdpBatchAddon | null; reason: string } | undefined;

/** The addon, or null with the reason it is not there (not built, no compiler at install, another platform). */
export function loadUdpBatchAddon(): { readonly addon: UdpBatchAddon | null; readonly reason: string } {
  if (loaded !== undefined) return loaded;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH.pathname) as UdpBatchAddon;
    if (addon.constants?.ABI !== ADDON_ABI) loaded = { addon: null, reason: `native/udp-batch is a stale build (ABI ${String(addon.constants?.ABI)}, want ${ADDON_ABI}): run npm run build:native` };
    else loaded = { addon, reason: 'loaded' };
  } catch (err) {
    loaded = { addon: null, reason: `native/udp-batch not built (${(err as Error).message.split('\n')[0]}): run npm run build:native` };
  }
  return loaded;
}

/** Receive slots per batch (x RX_SLOT octets) and send entries / octets per flush. */
const RX_SLOTS = 512;
const TX_ENTRIES = 2048;
const TX_BYTES = 512 * 1024;

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

function errnoError(errno: number, what: string): Error {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: -errno });
}

/** One media socket owned by the native engine. */
class NativeRtpSocket implements RtpUdpSocket {
  readonly kind = 'native' as const;
  readonly port: number;
  readonly fd: number;
  readonly id: number;
  readonly #io: NativeRtpIo;
  onDatagram: DatagramReceiver = () => {};
  onError: (err: Error) => void = () => {};
  onSendError: (err: Error) => void = () => {};
  closed = false;
  /** The destination last sent to, and its words (an RtpSession's remote changes only on SDP or a new latch). */
  destRemote: RtpRemote | null = null;
  readonly dest = new Int32Array(6);
  /** The source last received from (a peer sends from one address): reused while it does not change. */
  fromRemote: RtpRemote | null = null;
  readonly from = new Int32Array(6);

  constructor(io: NativeRtpIo, id: number, fd: number, port: number) {
    this.#io = io;
    this.id = id;
    this.fd = fd;
    this.port = port;
  }

  sendRtp(pkt: RtpPacketInit, remote: RtpRemote): number {
    if (this.closed) throw new CallroomError('CR_RTP_SOCKET_CLOSED', 'RTP socket closed');
    return this.#io.enqueue(this, pkt, remote);
  }

  setReceiver(onDatagram: DatagramReceiver, onError: (err: Error) => void): void {
    this.onDatagram = onDatagram;
    this.onError = onError;
  }

  setSendErrorHandler(onSendError: (err: Error) => void): void {
    this.onSendError = onSendError;
  }

  bufferSizes(): { recv: number; send: number } {
    if (this.closed) return { recv: 0, send: 0 };
    const [recv, send] = this.#io.engine.bufferSizes(this.fd);
    return { recv, send };
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.#io.release(this);
    }
    return Promise.resolve();
  }
}

/** The batched RtpIo. Create with `NativeRtpIo.create()`, which is null when the addon is not built. */
export class NativeRtpIo implements RtpIo {
  readonly kind = 'native' as const;
  readonly engine: EngineHandle;
  readonly #addon: UdpBatchAddon;
  readonly #rxData: Uint8Array;
  readonly #rxMeta: Int32Array;
  readonly #txData: Uint8Array;
  readonly #txMeta: Int32Array;
  readonly #rxStride: number;
  readonly #txStride: number;
  readonly #txOwners: Array<NativeRtpSocket | null> = new Array<NativeRtpSocket | null>(TX_ENTRIES).fill(null);
  readonly #sockets = new Map<number, NativeRtpSocket>();
  #nextId = 1;
  #txCount = 0;
  #txOffset = 0;
  #flushQueued = false;
  #closed = false;
  /** Batches delivered, datagrams in them, flushes and packets flushed (for the bench and tests). */
  readonly counters = { batches: 0, datagrams: 0, flushes: 0, sent: 0, sendErrors: 0 };

  /** The native io, or null (with the reason) when the addon cannot be loaded. */
  static create(): { io: NativeRtpIo | null; reason: string } {
    const { addon, reason } = loadUdpBatchAddon();
    if (addon === null) return { io: null, reason };
    return { io: new NativeRtpIo(addon), reason };
  }

  private constructor(addon: UdpBatchAddon) {
    this.#addon = addon;
    const c = addon.constants;
    this.#rxStride = c.RX_STRIDE;
    this.#txStride = c.TX_STRIDE;
    const rxData = new ArrayBuffer(RX_SLOTS * c.RX_SLOT);
    const rxMeta = new ArrayBuffer(RX_SLOTS * c.RX_STRIDE * 4);
    const txData = new ArrayBuffer(TX_BYTES);
    const txMeta = new ArrayBuffer(TX_ENTRIES * c.TX_STRIDE * 4);
    this.#rxData = new Uint8Array(rxData);
    this.#rxMeta = new Int32Array(rxMeta);
    this.#txData = new Uint8Array(txData);
    this.#txMeta = new Int32Array(txMeta);
    this.engine = new addon.Engine(this.#onBatch, rxData, rxMeta, txData, txMeta);
  }

  /** Sockets open now. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  async open(address: string, ports: PortAllocator | undefined, port: number | undefined, buffers: SocketBufferSizes): Promise<RtpUdpSocket> {
    if (this.#closed) throw new CallroomError('CR_RTP_BIND_FAILED', 'native RTP io closed');
    const family = ipFamily(address);
    return bindInRange(address, ports, port, async (p) => {
      const id = this.#nextId++;
      const r = this.engine.bind(family, address, p, buffers.recvBufferSize ?? 0, buffers.sendBufferSize ?? 0, id);
      if (typeof r === 'number') throw errnoError(-r, `bind ${address}:${p}`);
      const socket = new NativeRtpSocket(this, id, r[0], r[1]);
      this.#sockets.set(id, socket);
      return socket;
    });
  }

  /** Send whatever is queued now (also run as a microtask after each burst of sends). */
  flush(): void {
    const count = this.#txCount;
    if (count === 0) return;
    this.#txCount = 0;
    this.#txOffset = 0;
    const failed = this.engine.flush(count);
    this.counters.flushes++;
    this.counters.sent += count - failed;
    const owners = this.#txOwners;
    if (failed > 0) {
      this.counters.sendErrors += failed;
      const meta = this.#txMeta;
      for (let i = 0; i < count; i++) {
        const errno = meta[i * this.#txStride + 9] as number;
        if (errno !== 0) owners[i]?.onSendError(errnoError(errno, 'rtp send'));
      }
    }
    for (let i = 0; i < count; i++) owners[i] = null;
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    for (const s of [...this.#sockets.values()]) void s.close();
    this.#closed = true;
    this.engine.close();
  }

  /** @internal NativeRtpSocket.sendRtp. */
  enqueue(socket: NativeRtpSocket, pkt: RtpPacketInit, remote: RtpRemote): number {
    const size = rtpSize(pkt);
    if (size > this.#txData.length) throw new RangeError(`RTP packet of ${size} octets exceeds the send area`);
    if (this.#txCount === TX_ENTRIES || this.#txOffset + size > this.#txData.length) this.flush();
    if (socket.destRemote !== remote) this.#setDest(socket, remote);
    const start = this.#txOffset;
    const end = serializeRtpInto(pkt, this.#txData, start);
    const i = this.#txCount;
    const m = i * this.#txStride;
    const meta = this.#txMeta;
    const d = socket.dest;
    meta[m] = socket.fd;
    meta[m + 1] = start;
    meta[m + 2] = end - start;
    meta[m + 3] = d[0] as number;
    meta[m + 4] = d[1] as number;
    meta[m + 5] = d[2] as number;
    meta[m + 6] = d[3] as number;
    meta[m + 7] = d[4] as number;
    meta[m + 8] = d[5] as number;
    meta[m + 9] = 0;
    this.#txOwners[i] = socket;
    this.#txCount = i + 1;
    this.#txOffset = (end + 7) & ~7;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
    return end - start;
  }

  /** @internal NativeRtpSocket.close: its queued packets go out first (its descriptor may be reused at once). */
  release(socket: NativeRtpSocket): void {
    this.#sockets.delete(socket.id);
    if (this.#closed) return;
    this.flush();
    this.engine.closeSocket(socket.fd);
  }

  #flushTask = (): void => {
    this.#flushQueued = false;
    if (!this.#closed) this.flush();
  };

  #setDest(socket: NativeRtpSocket, remote: RtpRemote): void {
    const w = this.#addon.pton(remote.address);
    if (w === null) throw new CallroomError('CR_RTP_REMOTE_INVALID', 'RTP destination must be an IP literal');
    const d = socket.dest;
    d[0] = w[0];
    d[1] = remote.port;
    d[2] = w[1];
    d[3] = w[2];
    d[4] = w[3];
    d[5] = w[4];
    socket.destRemote = remote;
  }

  #onBatch = (count: number): void => {
    const meta = this.#rxMeta;
    const data = this.#rxData;
    const stride = this.#rxStride;
    this.counters.batches++;
    this.counters.datagrams += count;
    for (let i = 0; i < count; i++) {
      const m = i * stride;
      const socket = this.#sockets.get(meta[m] as number);
      if (socket === undefined || socket.closed) continue; // closed while this batch was read
      const len = meta[m + 2] as number;
      try {
        if (len < 0) {
          socket.onError(errnoError(-len, 'rtp receive'));
          continue;
        }
        const off = meta[m + 1] as number;
        socket.onDatagram(data.subarray(off, off + len), this.#source(socket, meta, m + 3));
      } catch {
        // receivers never throw (RtpSession counts its own failures); one that does must not stop the batch
      }
    }
  };

  /** The datagram's source as an RtpRemote, the same object as last time while the peer's address is the same. */
  #source(socket: NativeRtpSocket, meta: Int32Array, m: number): RtpRemote {
    const f = socket.from;
    const cached = socket.fromRemote;
    if (
      cached !== null &&
      f[0] === meta[m] &&
      f[1] === meta[m + 1] &&
      f[2] === meta[m + 2] &&
      f[3] === meta[m + 3] &&
      f[4] === meta[m + 4] &&
      f[5] === meta[m + 5]
    ) {
      return cached;
    }
    for (let k = 0; k < 6; k++) f[k] = meta[m + k] as number;
    const remote: RtpRemote = {
      address: this.#addon.ntop(f[0] as number, f[2] as number, f[3] as number, f[4] as number, f[5] as number),
      port: f[1] as number,
    };
    socket.fromRemote = remote;
    return remote;
  }
}
