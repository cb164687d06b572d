/**
 * Capture loopback traffic (dumpcap, from the tshark package) and read RTP stream statistics from it
 * with tshark 4.0. SIPp cannot record
 * what it receives, so this is how a test hears what the gateway sent: capture, then take the RTP
 * payloads with `readPcapRtp` (pcap-reader.ts) and decode them.
 *
 * Captures are written as classic pcap (`-F pcap`) so pcap-reader.ts can read them; capturing needs
 * root or CAP_NET_RAW (CI runs as root).
 */
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePorts, releasePorts } from './free-ports.ts';
import { runProcess, startProcess } from './managed-process.ts';

/** Per-stream figures from `tshark -z rtp,streams`. */
export interface RtpStreamStat {
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly ssrc: number;
  /** tshark's payload name(s), e.g. "g711U" or "g711U, telephone-event". */
  readonly payload: string;
  readonly packets: number;
  /** Expected minus received (negative when duplicated). */
  readonly lost: number;
  readonly maxDeltaMs: number;
  readonly meanJitterMs: number;
  readonly maxJitterMs: number;
  /** tshark flagged a problem (sequence error, wrong timestamp, ...). */
  readonly problem: boolean;
}

/** A capture in progress. */
export interface Capture {
  readonly file: string;
  /** dumpcap's process id (for its CPU use under load). */
  readonly pid: number;
  /** Packets dumpcap has reported so far (it updates the count about twice a second; probes included). */
  readonly packets: () => number;
  /** Wait until everything sent so far is in the file, stop dumpcap and return the file path. */
  stop(): Promise<string>;
  /** Stop (if still running) and remove the capture's temporary directory, if it made one. */
  dispose(): Promise<void>;
}

const PROBE = Buffer.from('callroom-capture-probe'); // first byte 0x63: never parsed as RTP v2

/**
 * Start capturing on `iface` (default `lo`) with a BPF `filter` (e.g. `udp portrange 12000-12010`).
 *
 * dumpcap says "Capturing on" before its filter is live, and packets sent right after that were seen
 * to be missing. So the filter is widened by one extra port of ours and probe datagrams are sent
 * there until dumpcap counts one: from then on nothing is missed. `stop` sends a last probe and waits
 * for the count to settle, so the tail of the traffic is in the file too. The probes are in the file
 * (payload "callroom-capture-probe", not RTP).
 * @throws Error when dumpcap does not start or never sees a probe.
 */
export async function startCapture(opts: {
  readonly filter: string;
  readonly iface?: string;
  readonly file?: string;
  readonly timeoutMs?: number;
  /** Keep only the first octets of each packet (dumpcap `-s`): headers for counting, less work under load. */
  readonly snapLength?: number;
}): Promise<Capture> {
  const dir = opts.file === undefined ? await mkdtemp(join(tmpdir(), 'callroom-capture-')) : undefined;
  const file = opts.file ?? join(dir as string, 'capture.pcap');
  const probePort = (await allocatePorts(1))[0] as number;
  const proc = await startProcess({
    command: 'dumpcap',
    // -P: classic pcap, which pcap-reader.ts reads. No -q: the packet count is how we know it is live.
    args: [
      '-i', opts.iface ?? 'lo',
      '-f', `(${opts.filter}) or (udp dst port ${probePort})`,
      '-w', file,
      '-P',
      ...(opts.snapLength === undefined ? [] : ['-s', String(opts.snapLength)]),
      // A larger kernel capture buffer (MiB) so a burst of media is not dropped before dumpcap reads it.
      ...(opts.snapLength === undefined ? [] : ['-B', '64']),
    ],
    name: 'dumpcap',
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  const prober = dgram.createSocket('udp4');
  const probe = (): Promise<void> => new Promise((resolve) => prober.send(PROBE, probePort, '127.0.0.1', () => resolve()));
  const packets = (): number => {
    const all = [...proc.stderr.matchAll(/Packets(?: captured)?: (\d+)/g)];
    return all.length === 0 ? 0 : Number(all[all.length - 1]?.[1]);
  };
  const finish = async (): Promise<void> => {
    await proc.stop(5000);
    await new Promise<void>((resolve) => prober.close(() => resolve()));
    releasePorts([probePort]);
  };
  try {
    const deadline = Date.now() + 15_000;
    while (packets() === 0) {
      if (!proc.running) throw new Error(`dumpcap exited: ${proc.tail()}`);
      if (Date.now() > deadline) throw new Error(`dumpcap never saw a probe: ${proc.tail()}`);
      await probe();
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await finish();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stopOnce = (): Promise<void> => {
    stopped ??= (async () => {
      if (proc.running) {
        await probe();
        // The count is refreshed about every 500 ms: stable over 1.2 s means it has caught up.
        let last = -1;
        let since = Date.now();
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const n = packets();
          if (n !== last) {
            last = n;
            since = Date.now();
          } else if (Date.now() - since > 1200) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await finish();
    })();
    return stopped;
  };
  return {
    file,
    pid: proc.pid,
    packets,
    async stop() {
      await stopOnce();
      return file;
    },
    async dispose() {
      await stopOnce();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

const STREAM_ROW =
  /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+(.+?)\s+(\d+)\s+(-?\d+)\s+\(-?[\d.]+%\)\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*(X)?\s*$/;

/** Parse the table `tshark -q -z rtp,streams` prints. */
export function parseRtpStreams(text: string): RtpStreamStat[] {
  const out: RtpStreamStat[] = [];
  for (const line of text.split('\n')) {
    const m = STREAM_ROW.exec(line);
    if (m === null) continue;
    out.push({
      srcIp: m[1] as string,
      srcPort: Number(m[2]),
      dstIp: m[3] as string,
      dstPort: Number(m[4]),
      ssrc: Number.parseInt(m[5] as string, 16),
      payload: m[6] as string,
      packets: Number(m[7]),
      lost: Number(m[8]),
      maxDeltaMs: Number(m[9]),
      meanJitterMs: Number(m[10]),
      maxJitterMs: Number(m[11]),
      problem: m[12] === 'X',
    });
  }
  return out;
}

/**
 * RTP streams in a capture file; UDP is tried as RTP heuristically, so no SDP is needed in the capture.
 * @throws Error when tshark fails to read the file.
 */
export async function rtpStreams(file: string): Promise<RtpStreamStat[]> {
  const r = await runProcess({
    command: 'tshark',
    args: ['-r', file, '-q', '-o', 'rtp.heuristic_rtp:TRUE', '-z', 'rtp,streams'],
    name: 'tshark -z rtp,streams',
    timeoutMs: 60_000,
  });
  if (r.exitCode !== 0) throw new Error(`tshark could not read ${file}: ${r.stderr.slice(-2000)}`);
  return parseRtpStreams(r.stdout);
}
