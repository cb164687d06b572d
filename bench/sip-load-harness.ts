/**
 * What a caller experiences, measured outside the gateway: helpers for bench/sip-calls.bench.ts.
 *
 * - Numbered audio (test/support/sip-peers/frame-tags.ts): every 20 ms frame SIPp sends carries its number, so
 *   a capture of what the gateway sends back tells, per call, which of the caller's frames came back: concealment
 *   and repeated frames are not counted twice, whatever the gateway adds of its own.
 * - The capture takes only the first 64 octets of each packet (RTP header + the tag), so dumpcap keeps up with
 *   tens of thousands of packets a second on a shared machine.
 * - UDP counters of the kernel (/proc/net/snmp): RcvbufErrors counts datagrams dropped because a socket's
 *   receive buffer was full, machine-wide; read before and after each run.
 * - The gateway's /metrics (prom-client): event-loop lag percentiles and the RTP/SIP counters.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { frameTag, MAX_FRAME_TAG } from '../test/support/sip-peers/frame-tags.ts';
import { readPcapUdp } from '../test/support/sip-peers/pcap-reader.ts';

/** One RTP stream the gateway sent, as the caller saw it. */
export interface EchoedStream {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly packets: number;
  /** Distinct caller frames that came back. */
  readonly frames: number;
  /** Gaps between consecutive packets, ms. */
  readonly gapsMs: Float64Array;
}

/**
 * Streams from the gateway's RTP ports in a snap-length-limited capture, keyed by source and destination port.
 * The packets of one call all come from one gateway port.
 */
export function echoedStreams(pcap: Uint8Array, portMin: number, portMax: number, dstPort?: number): EchoedStream[] {
  interface Acc {
    srcPort: number;
    dstPort: number;
    packets: number;
    seen: Uint8Array;
    frames: number;
    last: number;
    gaps: number[];
  }
  const by = new Map<number, Acc>();
  for (const rec of readPcapUdp(pcap)) {
    if (rec.srcPort < portMin || rec.srcPort > portMax || (dstPort !== undefined && rec.dstPort !== dstPort)) continue;
    const b = rec.payload;
    if (b.length < 12 || (b[0] as number) >> 6 !== 2) continue;
    const key = rec.srcPort * 65536 + rec.dstPort;
    let a = by.get(key);
    if (a === undefined) {
      a = { srcPort: rec.srcPort, dstPort: rec.dstPort, packets: 0, seen: new Uint8Array(MAX_FRAME_TAG), frames: 0, last: -1, gaps: [] };
      by.set(key, a);
    }
    a.packets++;
    if (a.last >= 0) a.gaps.push((rec.timeUs - a.last) / 1000);
    a.last = rec.timeUs;
    const cc = ((b[0] as number) & 0x0f) * 4;
    const tag = frameTag(b.subarray(12 + cc));
    if (tag >= 0 && a.seen[tag] === 0) {
      a.seen[tag] = 1;
      a.frames++;
    }
  }
  return [...by.values()].map((a) => ({ srcPort: a.srcPort, dstPort: a.dstPort, packets: a.packets, frames: a.frames, gapsMs: Float64Array.from(a.gaps) }));
}

/** The kernel's UDP counters (/proc/net/snmp), machine-wide. */
export interface UdpCounters {
  readonly inDatagrams: number;
  readonly inErrors: number;
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
}

export function udpCounters(): UdpCounters {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  const get = (n: string): number => values[names.indexOf(n)] ?? Number.NaN;
  return { inDatagrams: get('InDatagrams'), inErrors: get('InErrors'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

export function udpDelta(a: UdpCounters, b: UdpCounters): UdpCounters {
  return {
    inDatagrams: b.inDatagrams - a.inDatagrams,
    inErrors: b.inErrors - a.inErrors,
    rcvbufErrors: b.rcvbufErrors - a.rcvbufErrors,
    sndbufErrors: b.sndbufErrors - a.sndbufErrors,
  };
}

/**
 * Datagrams the kernel dropped on one process's UDP sockets because their receive buffers were full (the
 * `drops` column of /proc/net/udp for the sockets among /proc/PID/fd). Unlike the machine-wide RcvbufErrors
 * this leaves out peers that never read (SIPp's RTP streamer does not read what the gateway echoes), but it
 * only sees sockets still open: read it while the calls are up.
 */
export function processUdpDrops(pid: number): { sockets: number; drops: number } {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1] as string);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return { sockets: 0, drops: 0 };
  }
  let sockets = 0;
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13 || !inodes.has(f[9] as string)) continue;
      sockets++;
      drops += Number(f[12]);
    }
  }
  return { sockets, drops };
}

/** Load average and the busiest processes right now, to say what else was running. */
export function machineSnapshot(): string {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  let top = '';
  try {
    const out = execFileSync('ps', ['-eo', 'pcpu,comm', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' });
    top = out
      .split('\n')
      .slice(0, 4)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(', ');
  } catch {
    top = 'ps unavailable';
  }
  return `load ${load}; busiest: ${top}`;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Samples of a Prometheus text exposition: `name{labels}` -> value. */
export type MetricSamples = ReadonlyMap<string, number>;

export async function scrapeMetrics(port: number): Promise<MetricSamples> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every sample of `name` (all label sets) or of those whose labels contain `labelPart`. */
export function metricSum(m: MetricSamples, name: string, labelPart = ''): number {
  let sum = 0;
  for (const [k, v] of m) {
    if ((k === name || k.startsWith(`${name}{`)) && k.includes(labelPart)) sum += v;
  }
  return sum;
}

/**
 * The `q` quantile (0..1) of a histogram between two scrapes, as the upper bound of the bucket it falls in
 * (Infinity beyond the last bound): `name_bucket{le="..."}` samples, cumulative.
 */
export function histogramQuantile(before: MetricSamples, after: MetricSamples, name: string, q: number): number {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [k, v] of after) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(k);
    if (m === null) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.push({ le, count: v - (before.get(k) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total <= 0) return Number.NaN;
  return buckets.find((b) => b.count >= q * total)?.le ?? Infinity;
}
