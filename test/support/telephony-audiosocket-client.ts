/**
 * A scripted Asterisk AudioSocket peer over TCP: frames written byte by byte from the wire notes
 * (the team's telephony wire notes, A2): `kind:u8 | length:u16 BE | payload`, the UUID first,
 * audio as slin little-endian (kind 0x10 at 8 kHz, or a higher-rate kind), DTMF as one ASCII byte, hang-up
 * `00 00 00`. Asterisk plays what it gets at once: there are no marks and no flush.
 */
import { connect, type Socket } from 'node:net';
import { rmsOf, type HeardFrame, type PlatformClient } from './telephony-client.ts';

export interface AudioSocketFrame {
  readonly at: number;
  readonly kind: number;
  readonly payload: Buffer;
}

export class AudioSocketClient implements PlatformClient {
  readonly dialect = 'audiosocket';
  readonly rate: number;
  readonly kind: number;
  readonly heard: HeardFrame[] = [];
  readonly flushes: number[] = [];
  readonly acked: string[] = [];
  /** Every frame received from the bridge. */
  readonly frames: AudioSocketFrame[] = [];
  readonly uuid: Buffer;
  readonly closed: Promise<unknown>;
  socket: Socket | undefined;
  readonly #port: number;
  #buf = Buffer.alloc(0);
  #closedResolve!: (v: unknown) => void;
  ended = false;

  /** `kind` 0x10 (slin 8 kHz) by default; e.g. 0x12 and 16000 for slin16 in current Asterisk. */
  constructor(port: number, o: { kind?: number; rate?: number; uuid?: Buffer } = {}) {
    this.#port = port;
    this.kind = o.kind ?? 0x10;
    this.rate = o.rate ?? 8000;
    this.uuid = o.uuid ?? Buffer.from('40325ec25efd4bd3805f53576e581d13', 'hex');
    this.closed = new Promise((r) => (this.#closedResolve = r));
  }

  async start(): Promise<void> {
    const socket = connect(this.#port, '127.0.0.1');
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.ended = true;
      this.#closedResolve(undefined);
    });
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.write(Buffer.concat([Buffer.from([0x01, 0x00, 0x10]), this.uuid]));
  }

  write(bytes: Uint8Array): void {
    if (this.socket !== undefined && !this.socket.destroyed) this.socket.write(bytes);
  }

  sendFrame(pcm: Int16Array): void {
    const out = Buffer.alloc(3 + pcm.length * 2);
    out[0] = this.kind;
    out.writeUInt16BE(pcm.length * 2, 1);
    for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i] as number, 3 + 2 * i);
    this.write(out);
  }

  sendDtmf(digit: string): void {
    this.write(Buffer.from([0x03, 0x00, 0x01, digit.charCodeAt(0)]));
  }

  async hangup(): Promise<void> {
    this.write(Buffer.from([0x00, 0x00, 0x00]));
    this.socket?.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000))]);
    this.socket?.destroy();
  }

  vanish(): void {
    this.socket?.resetAndDestroy();
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await this.closed;
  }

  #data(chunk: Buffer): void {
    const at = performance.now();
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 3) {
      const kind = this.#buf[0] as number;
      const len = this.#buf.readUInt16BE(1);
      if (this.#buf.length < 3 + len) break;
      const payload = this.#buf.subarray(3, 3 + len);
      this.#buf = this.#buf.subarray(3 + len);
      this.frames.push({ at, kind, payload: Buffer.from(payload) });
      if (kind >= 0x10 && kind <= 0x18) {
        const pcm = new Int16Array(len >> 1);
        for (let i = 0; i < pcm.length; i++) pcm[i] = payload.readInt16LE(2 * i);
        this.heard.push({ at, rms: rmsOf(pcm), ms: (pcm.length * 1000) / this.rate });
      }
    }
  }
}
