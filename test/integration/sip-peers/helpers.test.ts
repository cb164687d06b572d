/**
 * The sip-peers helpers on their own: pcap writing and reading (checked by tshark as an independent
 * reader), cross-correlation (against a brute-force search), netstrings, SIPp statistics parsing,
 * tshark table parsing, ports and process handling. Kept next to the interop tests because the
 * helpers live in test/support.
 */
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeWav } from '../../../src/media/wav.ts';
import { baresipAccount, baresipConfig } from '../../support/sip-peers/baresip.ts';
import { NetstringDecoder, encodeNetstring } from '../../support/sip-peers/baresip-ctrl.ts';
import { normalisedCrossCorrelation } from '../../support/sip-peers/cross-correlation.ts';
import { allocatePortBlock, portIsFree, releasePorts } from '../../support/sip-peers/free-ports.ts';
import { dispatcherList, kamailioConfig } from '../../support/sip-peers/kamailio.ts';
import { liveProcesses, runProcess, startProcess, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { readPcapRtp, readPcapUdp } from '../../support/sip-peers/pcap-reader.ts';
import { buildRtpPcap, pcmuPayloadsFromWav } from '../../support/sip-peers/rtp-pcap.ts';
import { parseSippRtt, parseSippStats, percentile, sippDurationMs } from '../../support/sip-peers/sipp-stats.ts';
import { speechLikeSignal } from '../../support/sip-peers/test-signal.ts';
import { parseRtpStreams } from '../../support/sip-peers/tshark.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-helpers-'));
});
afterEach(async () => {
  await stopAllProcesses();
  await rm(dir, { recursive: true, force: true });
});

const frame = (v: number): Uint8Array => new Uint8Array(160).fill(v);

describe('rtp-pcap writer', () => {
  it('writes one RTP packet per payload, 20 ms apart, with running sequence numbers and timestamps', () => {
    const { bytes, info } = buildRtpPcap({ payloads: [frame(1), frame(2), frame(3)], ssrc: 42, initialSequence: 65535, initialTimestamp: 0xffffff00 });
    expect(info).toEqual({ packets: 3, audioPackets: 3, eventPackets: 0, durationMs: 60 });
    const pkts = readPcapRtp(bytes);
    expect(pkts.map((p) => p.sequenceNumber)).toEqual([65535, 0, 1]);
    expect(pkts.map((p) => p.timestamp)).toEqual([0xffffff00, 0xffffffa0, 0x40]);
    expect(pkts.map((p) => p.marker)).toEqual([true, false, false]);
    expect(pkts.map((p) => p.payload[0])).toEqual([1, 2, 3]);
    expect(pkts.map((p) => p.record.timeUs - (pkts[0]?.record.timeUs ?? 0))).toEqual([0, 20_000, 40_000]);
    expect(pkts.every((p) => p.ssrc === 42 && p.payloadType === 0 && p.payload.length === 160)).toBe(true);
  });

  it('lays RFC 4733 events over the audio slots, one timestamp per event, three end packets', () => {
    const payloads = Array.from({ length: 40 }, (_, i) => frame(i));
    const { bytes, info } = buildRtpPcap({ payloads, events: [{ digit: '*', startMs: 400, durationMs: 100, volume: 7 }] });
    const pkts = readPcapRtp(bytes);
    // 5 tone packets (the 5th is the first end packet) plus 2 repeats take slots 20..26.
    expect(info).toMatchObject({ audioPackets: 33, eventPackets: 7, packets: 40 });
    const events = pkts.filter((p) => p.payloadType === 101);
    expect(events.map((p) => pkts.indexOf(p))).toEqual([20, 21, 22, 23, 24, 25, 26]);
    expect(new Set(events.map((p) => p.timestamp))).toEqual(new Set([20 * 160]));
    expect(events.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(events.map((p) => p.payload[0])).toEqual(Array(7).fill(10));
    expect(events.map((p) => ((p.payload[1] as number) & 0x80) !== 0)).toEqual([false, false, false, false, true, true, true]);
    expect(events.map((p) => (p.payload[1] as number) & 0x3f)).toEqual(Array(7).fill(7));
    expect(events.map((p) => ((p.payload[2] as number) << 8) | (p.payload[3] as number))).toEqual([160, 320, 480, 640, 800, 800, 800]);
    // Audio resumes on its own timeline with a new talkspurt.
    const after = pkts[27];
    expect(after).toMatchObject({ payloadType: 0, timestamp: 27 * 160, marker: true });
    expect(after?.payload[0]).toBe(27);
    expect(pkts.map((p) => p.sequenceNumber)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('writes a DTMF-only stream, and refuses bad digits and overlapping events', () => {
    const { info } = buildRtpPcap({ events: [{ digit: 'd', startMs: 0, durationMs: 40 }, { digit: 3, startMs: 200, durationMs: 20 }] });
    expect(info).toMatchObject({ audioPackets: 0, eventPackets: 4 + 3 });
    expect(() => buildRtpPcap({ events: [{ digit: 'x', startMs: 0, durationMs: 40 }] })).toThrow(/not a DTMF digit/);
    expect(() =>
      buildRtpPcap({ events: [{ digit: '1', startMs: 0, durationMs: 100 }, { digit: '2', startMs: 60, durationMs: 100 }] }),
    ).toThrow(/overlaps/);
  });

  it('puts loss and jitter into the file: a dropped packet leaves a sequence gap, a late one a later capture time', () => {
    const { bytes, info } = buildRtpPcap({
      payloads: Array.from({ length: 10 }, (_, i) => frame(i)),
      drop: (i) => i === 4,
      jitterUs: (i) => (i === 6 ? 7000 : 0),
    });
    expect(info.packets).toBe(9);
    const pkts = readPcapRtp(bytes);
    expect(pkts.map((p) => p.sequenceNumber)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    const t0 = pkts[0]?.record.timeUs ?? 0;
    expect(pkts.map((p) => (p.record.timeUs - t0) / 1000)).toEqual([0, 20, 40, 60, 100, 127, 140, 160, 180]);
  });

  it('writes valid IPv4 and UDP checksums and RTP that tshark decodes as we wrote it', async () => {
    const file = join(dir, 'check.pcap');
    const { bytes } = buildRtpPcap({
      payloads: [frame(0x55), new Uint8Array(161).fill(1)],
      events: [{ digit: '9', startMs: 40, durationMs: 20 }],
      srcPort: 40000,
      dstPort: 40002,
    });
    await writeFile(file, bytes);
    const r = await runProcess({
      command: 'tshark',
      args: ['-r', file, '-d', 'udp.port==40002,rtp', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-o', 'rtpevent.event_payload_type_value:101', '-T', 'fields', '-E', 'separator=,',
        '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'rtp.seq', '-e', 'rtp.p_type', '-e', 'rtpevent.event_id', '-e', 'rtpevent.end_of_event'],
      timeoutMs: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    // status 1 = "Good" for both checksums; the odd-length payload exercises the UDP padding byte.
    expect(rows).toEqual(['1,1,1,0,,', '1,1,2,0,,', '1,1,3,101,9,1', '1,1,4,101,9,1', '1,1,5,101,9,1']);
  });

  it('makes PCMU payloads from 8 kHz WAV, mixing stereo down and padding the last packet with silence', () => {
    const stereo = new Int16Array(2 * 200);
    for (let i = 0; i < 200; i++) {
      stereo[2 * i] = 1000;
      stereo[2 * i + 1] = 3000;
    }
    const payloads = pcmuPayloadsFromWav(writeWav(stereo, 8000, 2));
    expect(payloads.map((p) => p.length)).toEqual([160, 160]);
    // mu-law of the mixed 2000 is the same code throughout; of 0 it is 0xff.
    expect(new Set(payloads[0])).toEqual(new Set([payloads[0]?.[0]]));
    expect(payloads[1]?.[39]).toBe(payloads[0]?.[0]);
    expect(payloads[1]?.[40]).toBe(0xff);
    expect(() => pcmuPayloadsFromWav(writeWav(new Int16Array(320), 16000))).toThrow(/8000 Hz/);
  });
});

describe('pcap reader', () => {
  it('keeps the whole records of a truncated file and refuses pcapng', () => {
    const { bytes } = buildRtpPcap({ payloads: [frame(1), frame(2), frame(3)] });
    expect(readPcapUdp(bytes.subarray(0, bytes.length - 10))).toHaveLength(2);
    const ng = new Uint8Array(32);
    new DataView(ng.buffer).setUint32(0, 0x0a0d0d0a, true);
    expect(() => readPcapUdp(ng)).toThrow(/pcapng/);
  });
});

describe('normalisedCrossCorrelation', () => {
  it('finds a delayed, scaled copy inside a longer recording, at the right lag', () => {
    const src = speechLikeSignal({ sampleRate: 8000, seconds: 1, seed: 3 });
    const rec = new Int16Array(20_000);
    for (let i = 0; i < src.length; i++) rec[i + 1234] = Math.round((src[i] as number) * 0.3);
    const c = normalisedCrossCorrelation(src, rec);
    expect(c.lag).toBe(1234);
    expect(c.score).toBeGreaterThan(0.999);
    expect(c.overlap).toBe(src.length);
    // b ahead of a: negative lag.
    const back = normalisedCrossCorrelation(rec, src);
    expect(back.lag).toBe(-1234);
  });

  it('scores unrelated signals low and respects the lag limits', () => {
    const a = speechLikeSignal({ sampleRate: 8000, seconds: 1, seed: 5 });
    const b = speechLikeSignal({ sampleRate: 8000, seconds: 1, seed: 6 });
    expect(normalisedCrossCorrelation(a, b).score).toBeLessThan(0.5);
    const shifted = new Int16Array(a.length + 500);
    shifted.set(a, 500);
    expect(normalisedCrossCorrelation(a, shifted, { minLag: 0, maxLag: 400 }).lag).not.toBe(500);
    expect(() => normalisedCrossCorrelation([], [1])).toThrow(/empty/);
  });

  it('equals a direct search over every lag (property)', () => {
    const direct = (a: number[], b: number[], minOverlap: number): number => {
      const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
      const ma = mean(a);
      const mb = mean(b);
      let best = 0;
      for (let lag = -(a.length - 1); lag < b.length; lag++) {
        let num = 0;
        let ea = 0;
        let eb = 0;
        let n = 0;
        for (let i = 0; i < a.length; i++) {
          const j = i + lag;
          if (j < 0 || j >= b.length) continue;
          const x = (a[i] as number) - ma;
          const y = (b[j] as number) - mb;
          num += x * y;
          ea += x * x;
          eb += y * y;
          n++;
        }
        if (n >= minOverlap && ea > 0 && eb > 0) best = Math.max(best, num / Math.sqrt(ea * eb));
      }
      return best;
    };
    const sig = fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 2, maxLength: 70 });
    fc.assert(
      fc.property(sig, sig, fc.integer({ min: 1, max: 10 }), (a, b, minOverlap) => {
        const got = normalisedCrossCorrelation(a, b, { minOverlap }).score;
        expect(got).toBeCloseTo(Math.min(1, direct(a, b, minOverlap)), 9);
      }),
      { numRuns: 200 },
    );
  });
});

describe('netstrings (baresip ctrl_tcp framing)', () => {
  const messages = ['{"event":true,"type":"CALL_INCOMING"}', '', '{"response":true,"ok":true,"data":"é,:","token":"1"}'];
  const wire = Buffer.concat(messages.map(encodeNetstring));

  it('decodes the same messages however the stream is split', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new NetstringDecoder();
      const got = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))].map((b) => b.toString('utf8'));
      expect(got).toEqual(messages);
    }
    const d = new NetstringDecoder();
    const byByte = [...wire].flatMap((b) => d.push(Buffer.from([b])));
    expect(byByte.map((b) => b.toString('utf8'))).toEqual(messages);
  });

  it('rejects malformed frames', () => {
    expect(() => new NetstringDecoder().push(Buffer.from('3:abc;'))).toThrow(/comma/);
    expect(() => new NetstringDecoder().push(Buffer.from('x:abc,'))).toThrow(/length/);
    expect(() => new NetstringDecoder().push(Buffer.from('12345678901'))).toThrow(/length/);
  });
});

describe('SIPp statistics files', () => {
  // Header and last row as SIPp 3.6.1 wrote them for 20 uac-load calls (columns trimmed at the end).
  const header =
    'StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedUnexpectedMessage(P);FailedUnexpectedMessage(C);FailedTimeoutOnRecv(P);FailedTimeoutOnRecv(C);OutOfCallMsgs(P);OutOfCallMsgs(C);DeadCallMsgs(P);DeadCallMsgs(C);Retransmissions(P);Retransmissions(C);Warnings(P);Warnings(C);FatalErrors(P);FatalErrors(C);ResponseTime1(P);ResponseTime1(C);CallLength(P);CallLength(C);';
  const row =
    '2026-11-22\t04:35:42.916673\t1795322142.916673;2026-11-22\t04:35:43.389308\t1795322143.389308;2026-11-22\t04:35:43.389341\t1795322143.389341;00:00:00;00:00:00;50;0;42.373;0;0;0;20;20;0;0;19;0;1;0;0;0;0;0;2;0;3;0;4;0;0;0;0;00:00:00:000000;00:00:00:001250;00:00:00:000000;00:00:00:052000;';

  it('reads the cumulative figures of the last row', () => {
    const s = parseSippStats(`${header}\n${row}\n`);
    expect(s).toMatchObject({
      totalCalls: 20,
      successfulCalls: 19,
      failedCalls: 1,
      outOfCallMessages: 2,
      deadCallMessages: 3,
      retransmissions: 4,
      meanResponseTimeMs: { 1: 1.25 },
      meanCallLengthMs: 52,
    });
    expect(s.rows).toHaveLength(1);
    expect(() => parseSippStats('a;b\n1;2\n')).toThrow(/not a SIPp/);
    expect(() => parseSippStats(`${header}\n`)).toThrow(/no data row/);
  });

  it('reads -trace_rtt rows and computes nearest-rank percentiles', () => {
    const rtt = parseSippRtt('Date_ms;response_time_ms;rtd_no\n24.001;0;1\n44.001;3;1\nbad\n64.001;1;2\n');
    expect(rtt).toEqual([
      { atMs: 24.001, responseTimeMs: 0, rtd: 1 },
      { atMs: 44.001, responseTimeMs: 3, rtd: 1 },
      { atMs: 64.001, responseTimeMs: 1, rtd: 2 },
    ]);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
    expect(sippDurationMs('01:02:03:004500')).toBe(3_723_004.5);
    expect(sippDurationMs('00:00:02')).toBe(2000);
    expect(sippDurationMs('n/a')).toBeNaN();
  });
});

describe('tshark rtp,streams table', () => {
  it('parses stream rows as tshark 4.0 prints them', () => {
    const text = [
      '========================= RTP Streams ========================',
      '   Start time      End time     Src IP addr  Port    Dest IP addr  Port       SSRC          Payload  Pkts         Lost   Min Delta(ms)  Mean Delta(ms)   Max Delta(ms)  Min Jitter(ms) Mean Jitter(ms)  Max Jitter(ms) Problems?',
      '     0.000000      2.024115       127.0.0.1 58260       127.0.0.1 15500 0x00001234            g711U   100     0 (0.0%)          18.434          20.446          22.010           0.098           0.430           0.626 ',
      '     0.000000      1.000000       127.0.0.1  6000       127.0.0.1  6002 0xABCDEF01 g711U, telephone-event    48    -2 (-4.2%)          0.000          20.000          60.000           0.000           1.500           9.250 X',
      '==============================================================',
    ].join('\n');
    expect(parseRtpStreams(text)).toEqual([
      { srcIp: '127.0.0.1', srcPort: 58260, dstIp: '127.0.0.1', dstPort: 15500, ssrc: 0x1234, payload: 'g711U', packets: 100, lost: 0, maxDeltaMs: 22.01, meanJitterMs: 0.43, maxJitterMs: 0.626, problem: false },
      { srcIp: '127.0.0.1', srcPort: 6000, dstIp: '127.0.0.1', dstPort: 6002, ssrc: 0xabcdef01, payload: 'g711U, telephone-event', packets: 48, lost: -2, maxDeltaMs: 60, meanJitterMs: 1.5, maxJitterMs: 9.25, problem: true },
    ]);
  });
});

describe('ports and processes', () => {
  it('hands out distinct blocks that are free for UDP and TCP', async () => {
    const a = await allocatePortBlock(4);
    const b = await allocatePortBlock(4);
    expect(a % 2).toBe(0);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(4);
    for (let p = a; p < a + 4; p++) expect(await portIsFree(p)).toBe(true);
    releasePorts([a, a + 1, a + 2, a + 3, b, b + 1, b + 2, b + 3]);
  });

  it('kills a process on timeout and keeps its output', async () => {
    const r = await runProcess({ command: 'sh', args: ['-c', 'echo started; exec sleep 30'], timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, killed: true, signal: 'SIGTERM', stdout: 'started\n' });
  });

  it('waits for output, reports a missing binary, and stops everything it started', async () => {
    const p = await startProcess({ command: 'sh', args: ['-c', 'sleep 0.1; echo ready >&2; exec sleep 30'] });
    await expect(p.waitForOutput(/ready/, 5000)).resolves.toBeTruthy();
    await expect(startProcess({ command: 'callroom-no-such-binary', args: [] })).rejects.toThrow(/cannot start/);
    expect(liveProcesses()).toContain(p);
    await stopAllProcesses();
    expect(liveProcesses()).toHaveLength(0);
    expect((await p.exited).killed).toBe(true);
  });
});

describe('generated peer configurations', () => {
  it('kamailio: one dispatcher set of SIP URIs, round robin, probing as asked', () => {
    expect(dispatcherList(['sip:127.0.0.1:5070', 'sip:127.0.0.1:5072;transport=tcp'])).toBe('1 sip:127.0.0.1:5070\n1 sip:127.0.0.1:5072;transport=tcp\n');
    expect(() => dispatcherList(['127.0.0.1:5070'])).toThrow(/not a SIP URI/);
    const cfg = kamailioConfig({ port: 5999, listFile: '/x/d.list', probingIntervalS: 3 });
    expect(cfg).toContain('ds_select_dst("1", "4")');
    expect(cfg).toContain('modparam("dispatcher", "ds_ping_interval", 3)');
    expect(cfg).toContain('listen=tcp:127.0.0.1:5999');
    expect(kamailioConfig({ port: 5999, listFile: '/x/d.list', probing: false })).toContain('"ds_probing_mode", 0');
  });

  it('baresip: loopback only, codecs with their rates, recording only when asked', () => {
    const cfg = baresipConfig({ sipPort: 5060, ctrlPort: 5070, rtpPortBase: 6000, audioSource: '/a.wav', recordDir: '/rec', extraModules: [], extraConfig: [] });
    expect(cfg).toContain('net_interface 127.0.0.1\n');
    expect(cfg).toContain('module sndfile.so\nsnd_path /rec\n');
    expect(cfg).toContain('rtp_ports 6000-6019\n');
    expect(baresipConfig({ sipPort: 5060, ctrlPort: 5070, rtpPortBase: 6000, audioSource: '/a.wav', recordDir: undefined, extraModules: [], extraConfig: [] })).not.toContain('sndfile');
    expect(baresipAccount({ user: 'bob', sipPort: 5060, codecs: ['G722', 'PCMU'], answerMode: 'auto', auth: { username: 'u', password: 'p' } })).toBe(
      '<sip:bob@127.0.0.1:5060>;regint=0;answermode=auto;audio_codecs=G722/16000/1,PCMU/8000/1;auth_user=u;auth_pass=p\n',
    );
  });
});
