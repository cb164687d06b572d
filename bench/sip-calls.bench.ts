/**
 * SIP call benchmarks against the real gateway process (`callroom serve`, echo mode) with SIPp on loopback.
 *
 * 1. Call set-up rate: SIPp short calls with SDP (test/sip-scenarios/uac-load.xml: INVITE, 200, ACK,
 *    1 s, BYE) at 100, 200 and 500 calls/s, plus 1,000 to see where it breaks, 10 s each, a fresh
 *    gateway per rate. Reported: failed calls per rate, the highest rate with zero failures,
 *    INVITE-to-200 response time p50/p99 (SIPp -trace_rtt, 1 ms resolution), the gateway's CPU and
 *    peak RSS. Then 500 calls/s for 40 s, longer than finished transactions stay in the table.
 * 2. Concurrent calls with audio both ways: 200, 500 and 1,000 calls at once, each sending 20 s of
 *    20 ms PCMU that the gateway echoes back. SIPp's RTP streamer (uac-rtpstream-audio.xml) sends the
 *    audio; 200 calls are repeated with one pcap playback per call (uac-pcap-audio.xml) as a check of
 *    the generator, which cannot go higher on 2 cores. Once all calls are up, the gateway's CPU
 *    (utime+stime from /proc/PID/stat, with SIPp's and the whole machine's for context) and RSS are read
 *    over a window in which every call is live. Loss and pacing: each call's own figures from the
 *    gateway's 'echo call ended' log lines (received, lost, sent), and tshark's RTP statistics for the
 *    streams the gateway sends on its first 20 calls (loss, RFC 3550 jitter, largest gap).
 *
 * Needs root (SIPp's play_pcap_audio and dumpcap use raw sockets), sipp and tshark. The machine is
 * shared: the "whole machine" figure shows how much else was running.
 * Run alone: `npx node bench/sip-calls.bench.ts` (about 3.5 minutes).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulawEncode } from '../src/media/g711.ts';
import { processCpuTimeMs, startGatewayProcess, type GatewayLogLine, type GatewayProcess } from '../test/support/gateway-process.ts';
import { writeRtpPcap, pcmuPayloadsFromWav } from '../test/support/sip-peers/rtp-pcap.ts';
import { SCENARIO_DIR, scenarioFile } from '../test/support/sip-peers/scenarios.ts';
import { runSipp, sippPassed, startSipp, describeSippResult } from '../test/support/sip-peers/sipp.ts';
import { speechLikeSignal } from '../test/support/sip-peers/test-signal.ts';
import { rtpStreams, startCapture } from '../test/support/sip-peers/tshark.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

/** The issue's rates, then one beyond them to find where set-up breaks. */
const SETUP_RATES = [100, 200, 500, 1000] as const;
const SETUP_SECONDS = 10;
/**
 * One longer run: finished INVITE server transactions stay 64*T1 = 32 s (RFC 6026 Timer L) and BYE ones
 * as long (Timer J over UDP), all counted against sip.limits.maxTransactions (20,000): a 10 s run never
 * reaches that table size, a sustained one above ~310 calls/s does.
 */
const SUSTAINED_RATE = 500;
const SUSTAINED_SECONDS = 40;
const SETUP_CALL_MS = 1000;
const CONCURRENCY = [200, 500, 1000] as const;
/** Concurrency of the play_pcap_audio cross-check (SIPp's pcap threads saturate 2 cores near 700 calls). */
const PCAP_CROSS_CHECK = 200;
const AUDIO_SECONDS = 20;
/** Calls set up per second while ramping to a concurrency level. */
const RAMP_RATE = 200;
/** Gateway RTP streams captured per concurrency level (the first calls: ports are handed out in order). */
const SAMPLE_STREAMS = 20;
/** 2 ports per call; round-robin allocation needs room beyond the busiest level. */
const RTP_RANGE = { portMin: 20_000, portMax: 29_999 } as const;

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function startGateway(): Promise<GatewayProcess> {
  return startGatewayProcess({ transports: ['udp'], rtp: RTP_RANGE, timeoutMs: 600_000 });
}

/** Wait until the gateway has logged `msg` `count` times or `timeoutMs` passed; returns the count. */
async function waitForCount(gw: GatewayProcess, msg: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = gw.logsWith(msg).length;
  while (n < count && Date.now() < deadline) {
    await sleep(100);
    n = gw.logsWith(msg).length;
  }
  return n;
}

async function setupRate(rate: number, seconds = SETUP_SECONDS): Promise<{ results: BenchResult[]; failed: number }> {
  const gw = await startGateway();
  const calls = rate * seconds;
  const cpu0 = gw.cpuTimeMs();
  const machine0 = machineTicks();
  const t0 = performance.now();
  const r = await runSipp({
    scenario: scenarioFile('uac-load'),
    target: gw.target,
    calls,
    rate,
    ratePeriodMs: 1000,
    maxConcurrent: rate * 5,
    pauseMs: SETUP_CALL_MS,
    traceStat: { periodS: 1 },
    traceRtt: { freq: 100 },
    timeoutMs: (seconds + 30) * 1000,
  });
  const wallMs = performance.now() - t0;
  const cpuPct = ((gw.cpuTimeMs() - cpu0) / wallMs) * 100;
  const machine1 = machineTicks();
  const machinePct = (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total);
  const mem = gw.memory();
  await gw.stop();
  const ok = r.stats?.successfulCalls ?? 0;
  const failed = sippPassed(r) ? (r.stats?.failedCalls ?? 0) : Math.max(1, calls - ok);
  const label = seconds === SETUP_SECONDS ? `set-up ${rate}/s` : `set-up ${rate}/s for ${seconds} s`;
  if (!sippPassed(r)) console.error(`${label}: SIPp failed; first error:\n${(r.errors.split('\n').find((l) => /Aborting|Unexpected|error/i.test(l)) ?? describeSippResult(r)).slice(0, 2000)}`);
  const rtts = (r.rtt ?? []).filter((x) => x.rtd === 1).map((x) => x.responseTimeMs);
  // The first statistics period (1 s) in which a call failed: when a limit was reached.
  const rows = r.stats?.rows ?? [];
  const firstFailure = rows.findIndex((row) => Number(row['FailedCall(P)'] ?? 0) > 0);
  const note = `${ok}/${calls} ok, ${SETUP_CALL_MS} ms calls, ${r.stats?.retransmissions ?? 0} retransmissions${
    firstFailure < 0 ? '' : `, ${r.stats?.unexpectedMessages ?? 0} refused (e.g. 503), first failure after ${firstFailure} s`
  }`;
  return {
    failed,
    results: [
      { name: `${label} failed calls`, value: failed, unit: 'calls', note },
      { name: `${label} INVITE->200 p50`, value: round(percentile(rtts, 50), 3), unit: 'ms', note: `${rtts.length} samples, 1 ms resolution` },
      { name: `${label} INVITE->200 p99`, value: round(percentile(rtts, 99), 3), unit: 'ms' },
      { name: `${label} gateway CPU`, value: Math.round(cpuPct), unit: '% of one core', note: `whole machine ${Math.round(machinePct)}% of 2 cores busy` },
      { name: `${label} gateway peak RSS`, value: Math.round(mem.hwmKb / 1024), unit: 'MB' },
    ],
  };
}

interface AudioMedia {
  /** 20 ms PCMU pcap, for play_pcap_audio. */
  readonly pcap: string;
  /** uac-rtpstream-audio.xml with the raw mu-law file's path filled in. */
  readonly rtpStreamScenario: string;
  readonly packets: number;
  readonly audioMs: number;
}

async function writeAudio(dir: string): Promise<AudioMedia> {
  const samples = speechLikeSignal({ sampleRate: 8000, seconds: AUDIO_SECONDS, seed: 3 });
  const payloads = pcmuPayloadsFromWav({ sampleRate: 8000, channels: 1, samples });
  const pcap = join(dir, 'audio-pcmu.pcap');
  const info = await writeRtpPcap({ payloads, ssrc: 0x0bec4a11 }, pcap);
  const ulaw = join(dir, 'audio.ulaw');
  await writeFile(ulaw, mulawEncode(samples));
  // SIPp does not expand -key values in rtp_stream: the path goes into a copy of the scenario.
  const template = await readFile(`${SCENARIO_DIR}uac-rtpstream-audio.xml`, 'utf8');
  const rtpStreamScenario = join(dir, 'uac-rtpstream-audio.xml');
  await writeFile(rtpStreamScenario, template.replace('rtp_stream="@AUDIO_FILE@,', `rtp_stream="${ulaw},`));
  return { pcap, rtpStreamScenario, packets: info.packets, audioMs: Math.ceil(info.durationMs + 300) };
}

function sum(lines: readonly GatewayLogLine[], key: string): number {
  return lines.reduce((n, l) => n + (typeof l[key] === 'number' ? (l[key] as number) : 0), 0);
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell how loaded it was. */
function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** SIPp's RTP source: its RTP streamer (cheap, default) or one pcap playback thread per call. */
type AudioSource = 'rtp_stream' | 'pcap';

async function concurrentCalls(n: number, media: AudioMedia, source: AudioSource): Promise<BenchResult[]> {
  const gw = await startGateway();
  const sampleTop = RTP_RANGE.portMin + 2 * SAMPLE_STREAMS - 1;
  const capture = await startCapture({ filter: `udp src portrange ${RTP_RANGE.portMin}-${sampleTop}`, timeoutMs: 300_000 });
  const rampMs = (n / RAMP_RATE) * 1000;
  const sippStarted = performance.now();
  const sipp = await startSipp({
    scenario: { file: source === 'pcap' ? `${SCENARIO_DIR}uac-pcap-audio.xml` : media.rtpStreamScenario },
    target: gw.target,
    calls: n,
    rate: RAMP_RATE,
    ratePeriodMs: 1000,
    maxConcurrent: n,
    keys: source === 'pcap' ? { pcap_audio: media.pcap, audio_ms: media.audioMs } : { audio_ms: media.audioMs },
    traceStat: { periodS: 1 },
    timeoutMs: rampMs + media.audioMs + 60_000,
  });
  try {
    // All calls answered: the window in which every one of them carries audio starts now.
    const up = await waitForCount(gw, 'incoming call', n, rampMs + 15_000);
    if (!sipp.process.running) throw new Error(`SIPp exited during the ramp\n${describeSippResult(await sipp.done).slice(0, 3000)}`);
    const started = performance.now();
    const cpu0 = gw.cpuTimeMs();
    const sippCpu0 = processCpuTimeMs(sipp.process.pid);
    const machine0 = machineTicks();
    // Until shortly before the first calls (set up when SIPp started) end.
    const windowMs = Math.max(2000, media.audioMs - (started - sippStarted) - 2000);
    await sleep(windowMs);
    const wallMs = performance.now() - started;
    const cpuPct = ((gw.cpuTimeMs() - cpu0) / wallMs) * 100;
    const sippPct = ((processCpuTimeMs(sipp.process.pid) - sippCpu0) / wallMs) * 100;
    const machine1 = machineTicks();
    const machinePct = (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total);
    const mem = gw.memory();
    const r = await sipp.done;
    await waitForCount(gw, 'echo call ended', n, 10_000);
    const file = await capture.stop();
    const streams = (await rtpStreams(file)).filter((s) => s.srcPort >= RTP_RANGE.portMin && s.srcPort <= sampleTop);
    await gw.stop();

    const calls = gw.logsWith('echo call ended');
    const received = sum(calls, 'received');
    const lostIn = sum(calls, 'lost');
    const sent = sum(calls, 'sent');
    const expected = n * media.packets;
    const outLost = streams.reduce((a, s) => a + Math.max(0, s.lost), 0);
    const outPackets = streams.reduce((a, s) => a + s.packets, 0);
    const meanJitter = streams.length === 0 ? Number.NaN : streams.reduce((a, s) => a + s.meanJitterMs, 0) / streams.length;
    const maxJitter = streams.reduce((a, s) => Math.max(a, s.maxJitterMs), 0);
    const maxDelta = streams.reduce((a, s) => Math.max(a, s.maxDeltaMs), 0);
    const failed = r.stats?.failedCalls ?? n - (r.stats?.successfulCalls ?? 0);
    if (!sippPassed(r)) console.error(`${n} concurrent (${source}): SIPp did not pass\n${describeSippResult(r).slice(0, 3000)}`);
    const label = `${n} calls${source === 'pcap' ? ' (pcap)' : ''}`;
    return [
      { name: `${label} up at once`, value: up, unit: 'calls', note: `SIPp: ${r.stats?.successfulCalls ?? 0} ok, ${failed} failed; ${calls.length} ended in the gateway log` },
      {
        name: `${label} gateway CPU`,
        value: Math.round(cpuPct),
        unit: '% of one core',
        note: `${round(wallMs / 1000, 1)} s, all calls live; SIPp ${Math.round(sippPct)}%, whole machine ${Math.round(machinePct)}% of 2 cores busy`,
      },
      { name: `${label} gateway RSS`, value: Math.round(mem.rssKb / 1024), unit: 'MB', note: `peak ${Math.round(mem.hwmKb / 1024)} MB` },
      {
        name: `${label} inbound loss`,
        value: round((100 * lostIn) / Math.max(1, received + lostIn), 3),
        unit: '%',
        note: `gateway: ${received} received, ${lostIn} lost; SIPp sends ${expected}`,
      },
      {
        name: `${label} echoed/received`,
        value: round((100 * sent) / Math.max(1, received), 2),
        unit: '%',
        note: `${sent} packets sent back by the gateway (concealment adds a few)`,
      },
      {
        name: `${label} outbound loss (sample)`,
        value: round((100 * outLost) / Math.max(1, outPackets + outLost), 3),
        unit: '%',
        note: `tshark, ${streams.length} streams, ${outPackets} packets`,
      },
      { name: `${label} outbound jitter mean`, value: round(meanJitter, 3), unit: 'ms', note: 'RFC 3550, sample streams' },
      { name: `${label} outbound jitter max`, value: round(maxJitter, 3), unit: 'ms' },
      { name: `${label} outbound largest gap`, value: round(maxDelta, 1), unit: 'ms', note: 'between packets of one stream (20 ms nominal)' },
    ];
  } finally {
    await sipp.stop();
    await capture.dispose();
    if (gw.process.running) await gw.stop().catch(() => {});
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  let best = 0;
  for (const rate of SETUP_RATES) {
    const r = await setupRate(rate);
    results.push(...r.results);
    if (r.failed === 0 && rate > best) best = rate;
  }
  results.push({ name: 'set-up: highest rate with 0 failures', value: best, unit: 'calls/s', note: `of ${SETUP_RATES.join(', ')}, ${SETUP_SECONDS} s each` });
  // Longer than the 64*T1 (32 s) that every finished INVITE and BYE transaction stays in the table.
  results.push(...(await setupRate(SUSTAINED_RATE, SUSTAINED_SECONDS)).results);
  const dir = await mkdtemp(join(tmpdir(), 'callroom-bench-sip-'));
  try {
    const media = await writeAudio(dir);
    for (const n of CONCURRENCY) results.push(...(await concurrentCalls(n, media, 'rtp_stream')));
    // The same load from pcaps (one SIPp thread per call): a cross-check of the generator where it keeps up.
    results.push(...(await concurrentCalls(PCAP_CROSS_CHECK, media, 'pcap')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.main) {
  printResults('sip-calls', await run());
}
