/**
 * Free loopback ports for the real SIP peers a test starts (SIPp, baresip, Kamailio).
 *
 * The peers need fixed port numbers on their command lines, so "bind to 0" is not available. A block is
 * picked at random inside a range that sits below the kernel's ephemeral range (32768+) and below the
 * gateway's default RTP range (20000-29999), each port is proven free for both UDP and TCP by binding it,
 * and the numbers handed out stay reserved for the life of this process so that two peers of one test
 * never collide. Between the probe and the peer's own bind another process could take a port; the random
 * start keeps that unlikely, and peers report a bind failure loudly rather than hanging.
 */
import dgram from 'node:dgram';
import net from 'node:net';

/** Where to look for ports. */
export interface PortRange {
  readonly min: number;
  /** Exclusive upper bound. */
  readonly max: number;
}

/** The default range: above 12000, below the gateway's RTP range and the ephemeral range. */
export const PEER_PORT_RANGE: PortRange = { min: 12000, max: 19990 };

const handedOut = new Set<number>();

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** True when `port` can be bound on `host` for both UDP and TCP right now. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await udpFree(port, host)) && (await tcpFree(port, host));
}

/**
 * Reserve `count` consecutive ports (UDP and TCP both free), starting at an even number so that an
 * RTP/RTCP pair inside the block keeps the usual parity.
 * @throws Error when no block is found after many random tries.
 */
export async function allocatePortBlock(count: number, range: PortRange = PEER_PORT_RANGE): Promise<number> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`port block size ${count}: a positive integer`);
  const span = range.max - range.min - count;
  if (span <= 0) throw new Error(`range ${range.min}-${range.max} too small for ${count} ports`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = range.min + (Math.floor(Math.random() * span) & ~1);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = !handedOut.has(p) && (await portIsFree(p));
    if (!ok) continue;
    for (let p = base; p < base + count; p++) handedOut.add(p);
    return base;
  }
  throw new Error(`no block of ${count} free ports in ${range.min}-${range.max}`);
}

/** Reserve `count` independent free ports (each UDP and TCP free). */
export async function allocatePorts(count: number, range: PortRange = PEER_PORT_RANGE): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await allocatePortBlock(1, range));
  return out;
}

/** Give ports back (for long test files that start many peers). */
export function releasePorts(ports: Iterable<number>): void {
  for (const p of ports) handedOut.delete(p);
}
