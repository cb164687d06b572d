/**
 * Smoke test of the interop harness with no gateway: each helper drives its real peer on loopback.
 * - SIPp UAC (uac-basic-pcmu) -> SIPp UAS stand-in, playing our PCMU pcap and RFC 4733 pcap, over UDP
 *   and TCP; the RTP is received by a socket of this test and compared with the pcap and the source.
 * - baresip -> baresip with PCMU and G.722: one plays a WAV, the other records; the recording matches
 *   the source (normalised cross-correlation >= 0.95). DTMF (sndcode) and REFER (transfer) too.
 * - Kamailio with the generated dispatcher config: answers OPTIONS, probes backends, and spreads calls
 *   (with BYE through the proxy) over two SIPp backends.
 * - runInNetns: only loopback exists inside.
 * - tshark: captures RTP on loopback and reports the stream.
 */
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mulawDecode } from '../../../src/media/g711.ts';
import { readWav, writeWav } from '../../../src/media/wav.ts';
import { runBaresip, type BaresipCodec } from '../../support/sip-peers/baresip.ts';
import { normalisedCrossCorrelation } from '../../support/sip-peers/cross-correlation.ts';
import { runKamailio } from '../../support/sip-peers/kamailio.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { netnsAvailable, runInNetns, runNodeInNetns } from '../../support/sip-peers/netns.ts';
import { readPcapRtp, rtpOf, type PcapRtpPacket } from '../../support/sip-peers/pcap-reader.ts';
import { writeBasicCallMedia } from '../../support/sip-peers/call-media.ts';
import { buildRtpPcap } from '../../support/sip-peers/rtp-pcap.ts';
import { scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed, startSipp } from '../../support/sip-peers/sipp.ts';
import { speechLikeSignal, writeMonoWav } from '../../support/sip-peers/test-signal.ts';
import { rtpStreams, startCapture } from '../../support/sip-peers/tshark.ts';

let dir: string;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-harness-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  await rm(dir, { recursive: true, force: true });
});

/** A UDP socket of this test that keeps every datagram it receives, with the sender's port. */
async function udpSink(): Promise<{ port: number; packets: Array<{ data: Buffer; fromPort: number }> }> {
  const socket = dgram.createSocket('udp4');
  const packets: Array<{ data: Buffer; fromPort: number }> = [];
  socket.on('message', (data, rinfo) => packets.push({ data, fromPort: rinfo.port }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, packets };
}

function asRtp(d: Buffer): PcapRtpPacket | null {
  return rtpOf({ timeUs: 0, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, payload: d });
}

describe('SIPp with our pcaps', () => {
  it.each(['u1', 't1'] as const)('uac-basic-pcmu plays a 20 ms PCMU pcap and RFC 4733 digits to the answering side (%s)', async (transport) => {
    const media = await writeBasicCallMedia(dir, { seconds: 2, seed: 7, digits: '1#' });
    const { audio, dtmf, payloads, source, ssrc } = media;
    expect(audio).toMatchObject({ packets: 100, audioPackets: 100, eventPackets: 0, durationMs: 2000 });
    expect(dtmf.eventPackets).toBe(14);

    const sink = await udpSink();
    const gateway = await startSipp({ scenario: scenarioFile('mock-gateway/gw-answer'), transport, keys: { rtp_port: sink.port } });
    const caller = await runSipp({
      scenario: scenarioFile('uac-basic-pcmu'),
      transport,
      target: `127.0.0.1:${gateway.localPort}`,
      keys: media.keys,
    });
    const answered = await gateway.done;
    expect(sippPassed(caller), describeSippResult(caller)).toBe(true);
    expect(sippPassed(answered), describeSippResult(answered)).toBe(true);
    expect(caller.logs).toContain('answer: PCMU m=audio');

    const rtp = sink.packets.map((p) => ({ pkt: asRtp(p.data), fromPort: p.fromPort }));
    // SIPp replays the records from its -mp port; our headers arrive untouched.
    const mediaPort = Number(caller.args[caller.args.indexOf('-mp') + 1]);
    expect(new Set(rtp.map((r) => r.fromPort))).toEqual(new Set([mediaPort]));
    const pkts = rtp.map((r) => r.pkt).filter((p): p is PcapRtpPacket => p !== null);
    expect(pkts).toHaveLength(audio.packets + dtmf.packets);
    expect(pkts.map((p) => p.sequenceNumber)).toEqual(Array.from({ length: pkts.length }, (_, i) => i + 1));
    expect(pkts.every((p) => p.ssrc === ssrc)).toBe(true);

    const audioPkts = pkts.filter((p) => p.payloadType === 0);
    expect(audioPkts.map((p) => Buffer.from(p.payload))).toEqual(payloads.map((p) => Buffer.from(p)));
    const heard = mulawDecode(Uint8Array.from(Buffer.concat(audioPkts.map((p) => p.payload))));
    expect(normalisedCrossCorrelation(source, heard).score).toBeGreaterThan(0.99);

    const events = pkts.filter((p) => p.payloadType === 101);
    const ends = events.filter((p) => ((p.payload[1] as number) & 0x80) !== 0);
    expect(ends.map((p) => p.payload[0])).toEqual([1, 1, 1, 11, 11, 11]);
    expect(events.filter((p) => p.marker).map((p) => p.payload[0])).toEqual([1, 11]);
  });

  it("reads SIPp's bundled RFC 4733 and PCMA pcaps", async () => {
    const one = readPcapRtp(await readFile('/usr/share/sip-tester/dtmf_2833_1.pcap'));
    expect(one.length).toBeGreaterThan(3);
    expect(new Set(one.map((p) => p.payload[0]))).toEqual(new Set([1]));
    expect(one.some((p) => ((p.payload[1] as number) & 0x80) !== 0)).toBe(true);
    const pcma = readPcapRtp(await readFile('/usr/share/sip-tester/g711a.pcap'));
    expect(new Set(pcma.map((p) => p.payloadType))).toEqual(new Set([8]));
    // 30 ms packets: 240 samples per packet.
    expect((pcma[1]?.timestamp ?? 0) - (pcma[0]?.timestamp ?? 0)).toBe(240);
  });

  it('kills a SIPp that runs past its timeout, by PID', async () => {
    const started = Date.now();
    const peer = await startSipp({ scenario: scenarioFile('mock-gateway/gw-options'), timeoutMs: 800 });
    const r = await peer.done;
    expect(r.timedOut).toBe(true);
    expect(r.killed).toBe(true);
    // SIPp exits 0 on SIGTERM: only `killed` tells this run from a passing one.
    expect(sippPassed(r)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    // The PID is gone (signal 0 only checks that it exists).
    expect(() => process.kill(peer.process.pid, 0)).toThrow();
  });
});

describe('baresip calls baresip', () => {
  async function callAndRecord(codec: BaresipCodec): Promise<{ source: Int16Array; recording: Int16Array }> {
    const rate = codec === 'G722' ? 16000 : 8000;
    const source = speechLikeSignal({ sampleRate: rate, seconds: 3, seed: 11 });
    const wavFile = join(dir, `source-${rate}.wav`);
    await writeMonoWav(wavFile, source, rate);
    const callee = await runBaresip({ user: 'callee', codecs: [codec], recordDir: join(dir, 'recordings') });
    const caller = await runBaresip({ user: 'caller', codecs: [codec], audioSource: wavFile });
    await caller.ctrl.dial(callee.aor);
    await callee.ctrl.waitForEvent('CALL_ESTABLISHED');
    // The caller's aufile hangs up when the WAV ends.
    await caller.ctrl.waitForEvent('CALL_CLOSED', { timeoutMs: 15_000 });
    await callee.ctrl.waitForEvent('CALL_CLOSED');
    const file = await callee.waitForRecording('dec');
    const wav = readWav(await readFile(file));
    expect(wav.sampleRate).toBe(rate);
    return { source, recording: wav.samples };
  }

  it('PCMU: the callee records what the caller plays (normalised cross-correlation >= 0.95)', async () => {
    const { source, recording } = await callAndRecord('PCMU');
    const c = normalisedCrossCorrelation(source, recording);
    expect(c.score).toBeGreaterThanOrEqual(0.95);
    // Most of the 3 s arrived (the first packets can precede the callee's recorder).
    expect(c.overlap).toBeGreaterThan(0.9 * source.length);
    // And the measure tells audio apart: other speech-like audio does not match the recording.
    const other = speechLikeSignal({ sampleRate: 8000, seconds: 3, seed: 12 });
    expect(normalisedCrossCorrelation(other, recording).score).toBeLessThan(0.5);
  });

  it('G.722: the same at 16 kHz', async () => {
    const { source, recording } = await callAndRecord('G722');
    const c = normalisedCrossCorrelation(source, recording);
    expect(c.score).toBeGreaterThanOrEqual(0.95);
    expect(c.overlap).toBeGreaterThan(0.9 * source.length);
  });

  it('sndcode sends RFC 4733 DTMF and transfer sends REFER that the peer follows', async () => {
    const a = await runBaresip({ user: 'alice' });
    const b = await runBaresip({ user: 'bob' });
    const c = await runBaresip({ user: 'carol' });
    await a.ctrl.dial(b.aor);
    await b.ctrl.waitForEvent('CALL_ESTABLISHED');
    await a.ctrl.waitForEvent('CALL_ESTABLISHED');
    await a.ctrl.sndcode('7');
    expect((await b.ctrl.waitForEvent('CALL_DTMF_START')).param).toBe('7');
    await a.ctrl.transfer(c.aor);
    expect((await b.ctrl.waitForEvent('TRANSFER')).param).toBe(c.aor);
    expect((await c.ctrl.waitForEvent('CALL_ESTABLISHED')).param).toBe(b.aor);
    // The transferor's call ends once the NOTIFY reports success.
    expect((await a.ctrl.waitForEvent('CALL_CLOSED')).param).toMatch(/transfer/i);
  });

  it('refuses a source WAV at the wrong rate for the codec', async () => {
    const wavFile = join(dir, 'wrong.wav');
    await writeFile(wavFile, writeWav(new Int16Array(800), 8000));
    await expect(runBaresip({ codecs: ['G722'], audioSource: wavFile })).rejects.toThrow(/16000 Hz WAV only/);
  });
});

describe('Kamailio dispatcher', () => {
  it('starts with the generated config and answers OPTIONS with Allow', async () => {
    const kamailio = await runKamailio({ backends: ['sip:127.0.0.1:9'], probing: false });
    cleanups.push(() => kamailio.stop());
    for (const transport of ['u1', 't1'] as const) {
      const r = await runSipp({ scenario: scenarioFile('uac-options'), transport, target: `127.0.0.1:${kamailio.port}` });
      expect(sippPassed(r), describeSippResult(r)).toBe(true);
      expect(r.logs).toMatch(/Allow: INVITE, ACK, BYE, CANCEL, OPTIONS/);
    }
  });

  it('probes its backends with OPTIONS', async () => {
    const backend = dgram.createSocket('udp4');
    const probes: string[] = [];
    backend.on('message', (msg, rinfo) => {
      const text = msg.toString('latin1');
      probes.push(text);
      // Answer like a live backend: 200 with the request's Via, From, To, Call-ID and CSeq.
      const head = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
      backend.send(`SIP/2.0 200 OK\r\n${head.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => backend.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => backend.close(() => resolve())));
    const kamailio = await runKamailio({ backends: [`sip:127.0.0.1:${backend.address().port}`], probingIntervalS: 1 });
    cleanups.push(() => kamailio.stop());
    const deadline = Date.now() + 8000;
    while (probes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes[0]).toMatch(/^OPTIONS sip:127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
    expect(probes[0]).toMatch(/\r\nFrom: <?sip:dispatcher@127\.0\.0\.1:/);
  });

  it('spreads calls round robin over two backends, BYE included, through the proxy', async () => {
    const backends = await Promise.all(
      [0, 1].map(() => startSipp({ scenario: scenarioFile('mock-gateway/gw-answer'), keys: { rtp_port: 9 }, traceMessages: true })),
    );
    const kamailio = await runKamailio({ backends: backends.map((b) => `sip:127.0.0.1:${b.localPort}`), probing: false });
    cleanups.push(() => kamailio.stop());
    const caller = await runSipp({
      scenario: scenarioFile('uac-load'),
      target: `127.0.0.1:${kamailio.port}`,
      calls: 2,
      rate: 10,
      pauseMs: 100,
      traceMessages: true,
    });
    expect(sippPassed(caller), describeSippResult(caller)).toBe(true);
    for (const b of backends) {
      const r = await b.done;
      // Each backend ran its one call to the end: round robin gave one to each.
      expect(sippPassed(r), describeSippResult(r)).toBe(true);
      // The proxy stayed in the path: it record-routed the INVITE and relayed the BYE.
      expect(r.messages).toMatch(new RegExp(`\\nRecord-Route: <sip:127\\.0\\.0\\.1:${kamailio.port};lr`));
      expect(r.messages).toMatch(/\nBYE sip:gw@127\.0\.0\.1:\d+;transport=UDP SIP\/2\.0\r?\n/);
    }
    expect(caller.messages).toMatch(new RegExp(`\\nRoute: <sip:127\\.0\\.0\\.1:${kamailio.port};lr`));
  });
});

describe('runInNetns', () => {
  it('runs a command that sees only an up loopback interface', async () => {
    expect(await netnsAvailable()).toBe(true);
    const r = await runInNetns({ command: 'ip', args: ['-o', 'link', 'show'] });
    expect(r.exitCode, r.stderr).toBe(0);
    const links = r.stdout.trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it('runs a node script for which loopback works and any other address is unreachable', async () => {
    const script = join(dir, 'probe.ts');
    await writeFile(
      script,
      `import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
const echoed = new Promise<string>((r) => s.once('message', (m) => r(String(m))));
s.send('ping', s.address().port, '127.0.0.1');
const loop = await echoed;
const away = await new Promise<string>((r) => s.send('x', 5060, '192.0.2.1', (err) => r(err ? String((err as NodeJS.ErrnoException).code) : 'sent')));
s.close();
console.log(JSON.stringify({ loop, away }));
`,
    );
    const r = await runNodeInNetns(script);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ loop: 'ping', away: 'ENETUNREACH' });
  });
});

describe('tshark capture', () => {
  it('captures RTP on loopback and reports the stream', async () => {
    const sink = await udpSink();
    const capture = await startCapture({ filter: `udp dst port ${sink.port}` });
    cleanups.push(() => capture.dispose());
    const payloads = Array.from({ length: 25 }, (_, i) => new Uint8Array(160).fill(i));
    const records = readPcapRtp(buildRtpPcap({ payloads, ssrc: 0xabcdef01 }).bytes);
    const sender = dgram.createSocket('udp4');
    for (const r of records) {
      await new Promise<void>((resolve) => sender.send(r.record.payload, sink.port, '127.0.0.1', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sender.close();
    const deadline = Date.now() + 2000;
    while (sink.packets.length < records.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const file = await capture.stop();
    const streams = await rtpStreams(file);
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ dstPort: sink.port, ssrc: 0xabcdef01, packets: 25, lost: 0, problem: false });
    const captured = readPcapRtp(await readFile(file), { dstPort: sink.port });
    expect(captured.map((p) => p.payload[0])).toEqual(payloads.map((p) => p[0]));
  });
});
