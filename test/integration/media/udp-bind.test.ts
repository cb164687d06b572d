/**
 * Media sockets: the kernel buffer sizes asked for are applied (capped by net.core.rmem_max, doubled by Linux),
 * and destinations are IP literals resolved on the spot, never through DNS (a name is an error, not a lookup).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bindUdp, closeUdp } from '../../../src/media/rtp/udp-bind.ts';

const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
const wmemMax = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8').trim());

describe('media UDP sockets', () => {
  it('apply the receive and send buffer sizes asked for', async () => {
    const want = 1024 * 1024;
    const { socket } = await bindUdp('127.0.0.1', undefined, 0, { recvBufferSize: want, sendBufferSize: want });
    try {
      expect(socket.getRecvBufferSize()).toBe(2 * Math.min(want, rmemMax));
      expect(socket.getSendBufferSize()).toBe(2 * Math.min(want, wmemMax));
    } finally {
      await closeUdp(socket);
    }
    const plain = await bindUdp('127.0.0.1', undefined, 0);
    try {
      expect(plain.socket.getRecvBufferSize()).toBeLessThan(2 * want); // the system default when not asked
    } finally {
      await closeUdp(plain.socket);
    }
  });

  it('send to IP literals without a DNS lookup: a host name is refused at once', async () => {
    const { socket } = await bindUdp('127.0.0.1', undefined, 0);
    const peer = await bindUdp('127.0.0.1', undefined, 0);
    try {
      const got = new Promise<Buffer>((resolve) => peer.socket.once('message', resolve));
      socket.send(Buffer.from('x'), peer.port, '127.0.0.1');
      expect((await got).toString()).toBe('x');
      const err = await new Promise<Error | null>((resolve) => socket.send(Buffer.from('y'), peer.port, 'localhost', resolve));
      expect(err).toMatchObject({ code: 'CR_RTP_REMOTE_INVALID' });
    } finally {
      await closeUdp(socket);
      await closeUdp(peer.socket);
    }
  });
});
