/**
 * RTP benchmarks on loopback, one process:
 * 1. packets/s through serializeRtp + dgram send and a real RtpSession's receive path (classify, parse, stats,
 *    callback), sender and receiver sharing the process;
 * 2. outbound pacing accuracy with 100, 500 and 1,000 concurrent 20 ms streams (RtpSessions on one shared
 *    Pacer sending 160-octet PCMU-sized payloads to a sink socket): p50/p99/max of actual send time minus
 *    scheduled time, plus the CPU the process used.
 * Run alone: `npx node bench/rtp.bench.ts`.
 */

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Pacer } from '../src/media/rtp/pacer.ts';
import { serializeRtp } from '../src/media/rtp/packet.ts';
import { PortAllocator } from '../src/media/rtp/port-allocator.ts';
import { RtpSession } from '../src/media/rtp/rtp-session.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const LO = '127.0.0.1';
const PCMU = { payloadType: 0, clockRate: 8000, ptimeMs: 20 } as const;
const THROUGHPUT_MS = 3000;
const PACING_WARMUP_MS = 1000;
const PACING_MS = 5000;

async function throughput(): Promise<BenchResult[]> {
  const pacer = new Pacer();
  let received = 0;
  const rx = await RtpSession.open({
    pacer,
    bindAddress: LO,
    port: 0,
    codec: PCMU,
    onPacket: () => {
      received++;
    },
  });
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, LO, r));
  // Send in batches and yield with setImmediate between them, so the receive side gets its turn on the loop.
  // dgram completes sends via process.nextTick: chaining sends from callbacks would starve timers and I/O.
  const BATCH = 32;
  const bufs = Array.from({ length: BATCH }, () => new Uint8Array(172));
  const payload = new Uint8Array(160).fill(0xff);
  let seq = 0;
  let sent = 0;
  const onSent = (): void => {
    sent++;
  };
  const start = performance.now();
  await new Promise<void>((done) => {
    const batch = (): void => {
      if (performance.now() - start >= THROUGHPUT_MS) {
        done();
        return;
      }
      if (tx.getSendQueueCount() < BATCH) {
        for (let i = 0; i < BATCH; i++) {
          const buf = serializeRtp(
            { payloadType: 0, sequenceNumber: seq, timestamp: (seq * 160) >>> 0, ssrc: 7, payload },
            bufs[i],
          );
          seq = (seq + 1) & 0xffff;
          tx.send(buf, 0, buf.length, rx.port, LO, onSent);
        }
      }
      setImmediate(batch);
    };
    batch();
  });
  const elapsed = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 50));
  const st = rx.stats();
  await rx.close();
  await new Promise<void>((r) => tx.close(() => r()));
  pacer.close();
  return [
    { name: 'loopback send', value: Math.round(sent / elapsed), unit: 'packets/s', note: '172-octet RTP, batches of 32' },
    {
      name: 'loopback receive (RtpSession)',
      value: Math.round(received / elapsed),
      unit: 'packets/s',
      note: `${(((sent - received) / Math.max(1, sent)) * 100).toFixed(1)}% dropped by the kernel; lost=${st.received.lost}`,
    },
  ];
}

async function pacing(streams: number): Promise<BenchResult[]> {
  const pacer = new Pacer();
  const sink = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => sink.bind(0, LO, r));
  let sinkPackets = 0;
  sink.on('message', () => {
    sinkPackets++;
  });
  const ports = new PortAllocator({ min: 44000, max: 47998 });
  const samples = new Float64Array(Math.ceil(streams * (PACING_MS / 20) * 1.2));
  let n = 0;
  let measuring = false;
  const onSendTiming = (due: number, actual: number): void => {
    if (measuring && n < samples.length) samples[n++] = actual - due;
  };
  const idle = new Uint8Array(160).fill(0xff);
  const sessions: RtpSession[] = [];
  for (let i = 0; i < streams; i++) {
    sessions.push(
      await RtpSession.open({
        pacer,
        ports,
        bindAddress: LO,
        codec: PCMU,
        remote: { address: LO, port: sink.address().port },
        idlePayload: idle,
        onSendTiming,
      }),
    );
  }
  await new Promise((r) => setTimeout(r, PACING_WARMUP_MS));
  measuring = true;
  const sinkBefore = sinkPackets;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, PACING_MS));
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const got = sinkPackets - sinkBefore;
  const devs = Array.from(samples.subarray(0, n));
  const skipped = sessions.reduce((s, x) => s + x.stats().skippedSlots, 0);
  await Promise.all(sessions.map((s) => s.close()));
  await new Promise<void>((r) => sink.close(() => r()));
  pacer.close();
  const expected = (streams * wall) / 20;
  const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const note = `${n} packets (${((n / expected) * 100).toFixed(1)}% of schedule), sink got ${got}, skipped slots ${skipped}`;
  return [
    { name: `pacing ${streams} streams p50`, value: round3(percentile(devs, 50)), unit: 'ms late', note },
    { name: `pacing ${streams} streams p99`, value: round3(percentile(devs, 99)), unit: 'ms late' },
    { name: `pacing ${streams} streams max`, value: round3(devs.reduce((m, v) => (v > m ? v : m), -Infinity)), unit: 'ms late' },
    { name: `pacing ${streams} streams CPU`, value: Math.round(cpuPct), unit: '% of one core', note: 'send + sink receive' },
  ];
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export async function run(): Promise<BenchResult[]> {
  const results = await throughput();
  for (const n of [100, 500, 1000]) results.push(...(await pacing(n)));
  return results;
}

if (import.meta.main) {
  printResults('rtp', await run());
}
