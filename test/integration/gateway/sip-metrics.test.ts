/**
 * The gateway's /metrics after a real call: SIPp's uac-basic-pcmu (2 s of PCMU, two RFC 4733 digits, BYE) against
 * `callroom serve` in echo mode. The SIP and RTP counters must account for that call exactly as the gateway's
 * own per-call log line does, with bounded labels only (no call id, number or address in any label).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { writeBasicCallMedia } from '../../support/sip-peers/call-media.ts';
import { allocatePorts, releasePorts } from '../../support/sip-peers/free-ports.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed } from '../../support/sip-peers/sipp.ts';

let dir: string;
let ports: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-gw-metrics-'));
});

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  releasePorts(ports);
  ports = [];
  await rm(dir, { recursive: true, force: true });
});

/** `name{labels}` -> value, from a Prometheus text exposition. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('SIP and RTP metrics of the gateway process', () => {
  it('count a call with audio and DTMF exactly, with bounded labels', async () => {
    const [httpPort] = (ports = await allocatePorts(1)) as [number];
    const gw = await startGatewayProcess({ transports: ['udp'], config: { http: { enabled: true, host: '127.0.0.1', port: httpPort } } });
    await gw.waitForLog('http listening');
    const scrape = async (): Promise<{ text: string; m: Map<string, number> }> => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return { text, m: parseMetrics(text) };
    };

    const idle = await scrape();
    expect(idle.m.get('callroom_sip_calls_ended_total{reason="remote-bye"}')).toBe(0);
    expect(idle.m.get('callroom_rtp_packets_received_total')).toBe(0);

    const media = await writeBasicCallMedia(dir, { seconds: 2, seed: 11, digits: '5' });
    const r = await runSipp({ scenario: scenarioFile('uac-basic-pcmu'), target: gw.target, keys: media.keys, timeoutMs: 20_000 });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    const [ended] = await gw.waitForLog('echo call ended');
    const { text, m } = await scrape();
    await gw.stop();

    expect(m.get('callroom_sip_calls_started_total{direction="inbound"}')).toBe(1);
    expect(m.get('callroom_sip_calls_ended_total{reason="remote-bye"}')).toBe(1);
    expect(m.get('callroom_sip_calls_ended_total{reason="timeout"}')).toBe(0);
    expect(m.get('callroom_sip_calls{state="active"}')).toBe(0);
    // What the gateway logged for the call, and what SIPp sent (audio and telephone-event packets).
    expect(m.get('callroom_rtp_packets_received_total')).toBe(ended?.received);
    expect(m.get('callroom_rtp_packets_received_total')).toBe(media.audio.packets + media.dtmf.packets);
    expect(m.get('callroom_rtp_packets_sent_total')).toBe(ended?.sent);
    expect(m.get('callroom_rtp_packets_lost_total')).toBe(0);
    expect(m.get('callroom_rtp_stream_resyncs_total')).toBe(0);
    expect(m.get('callroom_rtp_jitter_buffer_resets_total')).toBe(0);
    // The pacer served every slot of the call's sending, and says how late its wake-ups were.
    expect(m.get('callroom_rtp_pacer_slots_total')).toBeGreaterThanOrEqual(ended?.sent as number);
    expect(m.get('callroom_rtp_pacer_lateness_seconds_count')).toBeGreaterThan(0);
    expect(m.get('callroom_rtp_pacer_lateness_seconds_bucket{le="+Inf"}')).toBe(m.get('callroom_rtp_pacer_lateness_seconds_count'));

    // Bounded labels: no Call-ID, tag, number or address anywhere in the exposition.
    const callId = String(ended?.callId);
    expect(text).not.toContain(callId);
    for (const line of text.split('\n').filter((l) => l.startsWith('callroom_'))) {
      expect(line, line).not.toMatch(/127\.0\.0\.1|sipp|@/);
    }
  });
});
