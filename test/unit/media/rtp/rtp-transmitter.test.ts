import type dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { parseRtp } from '../../../../src/media/rtp/packet.ts';
import { DgramRtpSocket } from '../../../../src/media/rtp/dgram-udp-io.ts';
import { RtpTransmitter } from '../../../../src/media/rtp/rtp-transmitter.ts';

type SendCb = (err: Error | null) => void;

/** The slice of dgram.Socket the transmitter uses: records a copy of each datagram, completes on demand. */
interface Sent {
  readonly bytes: Uint8Array;
  /** The memory the transmitter handed over (what it must not rewrite before completion). */
  readonly memory: ArrayBufferLike;
  readonly port: number;
  readonly address: string;
}

function fakeSocket(): { socket: dgram.Socket; sent: Sent[]; done: SendCb[]; fail: { next: boolean } } {
  const sent: Sent[] = [];
  const done: SendCb[] = [];
  const fail = { next: false };
  const socket = {
    // The (msg, port, address, callback) form of dgram.Socket.send: the whole view is the datagram.
    send(buf: Uint8Array, port: number, address: string, cb: SendCb): void {
      if (fail.next) {
        fail.next = false;
        throw new Error('ERR_SOCKET_DGRAM_NOT_RUNNING');
      }
      sent.push({ bytes: buf.slice(), memory: buf.buffer, port, address });
      done.push(cb);
    },
  };
  return { socket: socket as unknown as dgram.Socket, sent, done, fail };
}

const to = { address: '127.0.0.1', port: 5004 };

describe('RtpTransmitter', () => {
  it('sends header fields as given, one wrapping sequence space, and counts packets and bytes', () => {
    const f = fakeSocket();
    const tx = new RtpTransmitter({ socket: new DgramRtpSocket(f.socket, 1), ssrc: 0xdeadbeef, initialSequence: 65535, port: 1 });
    expect(tx.send(to, 0, true, 160, new Uint8Array(160).fill(7))).toBe(true);
    expect(tx.send(to, 101, false, 320, Uint8Array.from([5, 10, 0, 160]))).toBe(true);
    const p = f.sent.map((s) => parseRtp(s.bytes));
    expect(p.map((x) => x?.sequenceNumber)).toEqual([65535, 0]);
    expect(p.map((x) => x?.payloadType)).toEqual([0, 101]);
    expect(p.map((x) => x?.marker)).toEqual([true, false]);
    expect(p.map((x) => x?.timestamp)).toEqual([160, 320]);
    expect(p.every((x) => x?.ssrc === 0xdeadbeef)).toBe(true);
    expect(p[0]?.payload.every((b) => b === 7)).toBe(true);
    expect(f.sent.every((s) => s.port === 5004 && s.address === '127.0.0.1')).toBe(true);
    expect(tx.sequence).toBe(1);
    expect({ packets: tx.packets, bytes: tx.bytes, errors: tx.errors }).toEqual({ packets: 2, bytes: 172 + 16, errors: 0 });
  });

  it('does not advance the sequence on a send that throws, and counts send errors from either path', () => {
    const f = fakeSocket();
    const tx = new RtpTransmitter({ socket: new DgramRtpSocket(f.socket, 1), ssrc: 1, initialSequence: 10, port: 1 });
    f.fail.next = true;
    expect(tx.send(to, 0, false, 0, new Uint8Array(160))).toBe(false);
    expect(tx.sequence).toBe(10);
    expect(tx.send(to, 0, false, 160, new Uint8Array(160))).toBe(true);
    expect(parseRtp(f.sent[0]!.bytes)?.sequenceNumber).toBe(10);
    f.done[0]!(new Error('EHOSTUNREACH'));
    expect({ packets: tx.packets, errors: tx.errors }).toEqual({ packets: 1, errors: 2 });
  });

  it('reuses its send buffers once sends complete, and never rewrites one still in flight', () => {
    const f = fakeSocket();
    const tx = new RtpTransmitter({ socket: new DgramRtpSocket(f.socket, 1), ssrc: 1, initialSequence: 0, port: 1 });
    for (let i = 0; i < 20; i++) {
      tx.send(to, 0, false, i * 160, new Uint8Array(160));
      f.done[i]!(null); // completes before the next send
    }
    expect(new Set(f.sent.map((s) => s.memory)).size).toBeLessThanOrEqual(8);
    for (let i = 0; i < 12; i++) tx.send(to, 0, false, i * 160, new Uint8Array(160)); // none completes
    expect(new Set(f.sent.slice(20).map((s) => s.memory)).size).toBe(12);
  });
});
