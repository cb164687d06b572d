/**
 * SIPp's uac-basic-pcmu against the running gateway (echo mode), over UDP and over TCP: INVITE with
 * PCMU + telephone-event, 2 s of speech-like PCMU from a 20 ms pcap, then RFC 4733 digits from a pcap,
 * BYE. SIPp must pass; the gateway must log the digits (key `digits`) and the remote BYE; and the RTP
 * stream the gateway echoes back, captured on loopback, must have no loss, 20 ms pacing with sane
 * jitter, and carry the audio SIPp sent.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mulawDecode } from '../../../src/media/g711.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { writeBasicCallMedia } from '../../support/sip-peers/call-media.ts';
import { normalisedCrossCorrelation } from '../../support/sip-peers/cross-correlation.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { readPcapRtp } from '../../support/sip-peers/pcap-reader.ts';
import { scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed } from '../../support/sip-peers/sipp.ts';
import { rtpStreams, startCapture, type Capture } from '../../support/sip-peers/tshark.ts';

let dir: string;
let capture: Capture | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-gw-sipp-'));
});

afterEach(async () => {
  await capture?.dispose();
  capture = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  await rm(dir, { recursive: true, force: true });
});

describe('SIPp basic call against the gateway process', () => {
  it.each(['u1', 't1'] as const)('uac-basic-pcmu over %s: passes, digits logged, echoed RTP clean', async (transport) => {
    const gw = await startGatewayProcess({ transports: [transport === 'u1' ? 'udp' : 'tcp'] });
    const media = await writeBasicCallMedia(dir, { seconds: 2, seed: 5, digits: '1#' });
    capture = await startCapture({ filter: `udp portrange ${gw.rtp.portMin}-${gw.rtp.portMax}` });

    const r = await runSipp({ scenario: scenarioFile('uac-basic-pcmu'), transport, target: gw.target, keys: media.keys, timeoutMs: 20_000 });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toContain('answer: PCMU m=audio');

    const [ended] = await gw.waitForLog('echo call ended');
    const file = await capture.stop();
    await gw.stop();

    expect(gw.logsWith('sip call ended')).toEqual([expect.objectContaining({ reason: 'remote-bye', callId: ended?.callId })]);
    // The digits of the RFC 4733 pcap, in order, under the `digits` key of the call's log lines.
    const dtmf = gw.logsWith('dtmf');
    expect(dtmf.map((l) => l.digits)).toEqual(['1', '#']);
    expect(dtmf.every((l) => l.callId === ended?.callId && l.source === 'rfc4733')).toBe(true);
    // The gateway received every packet of both pcaps (its count includes the RFC 4733 ones).
    expect(ended).toMatchObject({ received: media.audio.packets + media.dtmf.packets, lost: 0 });

    // The echoed stream as it appeared on the wire: from the gateway's RTP port to SIPp's media port.
    const mediaPort = Number(r.args[r.args.indexOf('-mp') + 1]);
    const streams = await rtpStreams(file);
    const echoed = streams.filter((s) => s.dstPort === mediaPort && s.srcPort >= gw.rtp.portMin && s.srcPort <= gw.rtp.portMax);
    expect(echoed, JSON.stringify(streams)).toHaveLength(1);
    const s = echoed[0]!;
    expect(s.payload).toMatch(/g711U/);
    expect(s.lost).toBe(0);
    expect(s.problem).toBe(false);
    // Paced on the gateway's 20 ms schedule: RFC 3550 jitter (seen here: mean 0.3-1.6 ms, max 0.7-4.3 ms)
    // far below a packet interval, with room for a CI machine busy with other tests.
    expect(s.meanJitterMs).toBeLessThan(5);
    expect(s.maxJitterMs).toBeLessThan(20);
    expect(s.packets).toBeGreaterThanOrEqual(media.audio.packets - 5);
    expect(s.packets).toBe(ended?.sent);

    // And it is the audio SIPp played, after the jitter buffer's delay.
    const pkts = readPcapRtp(await readFile(file), { srcPort: s.srcPort, dstPort: mediaPort }).filter((p) => p.payloadType === 0);
    const heard = mulawDecode(Uint8Array.from(Buffer.concat(pkts.map((p) => p.payload))));
    expect(normalisedCrossCorrelation(media.source, heard).score).toBeGreaterThanOrEqual(0.95);
  });
});
