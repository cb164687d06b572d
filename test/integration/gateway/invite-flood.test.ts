/**
 * An INVITE flood from outside the trunks against the running gateway. The only trunk admits
 * 127.0.0.2/32; SIPp floods from 127.0.0.1 at a few thousand INVITEs per second. Every INVITE must get
 * 403 (SIPp counts a call as successful only on 403 and ACKs it), no call may be created, the
 * gateway's RSS must stay flat once warmed up (no per-INVITE state), and a legitimate call from the
 * trunk's address must still be answered and complete afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { SCENARIO_DIR, scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed } from '../../support/sip-peers/sipp.ts';

const FORBIDDEN = { file: `${SCENARIO_DIR}uac-invite-forbidden.xml` };

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe('INVITE flood from an unknown source', () => {
  it('gets 403 for every INVITE, keeps RSS bounded, and a trunk call still works', async () => {
    const gw = await startGatewayProcess({ transports: ['udp'], sip: { trunks: [{ name: 'carrier', cidrs: ['127.0.0.2/32'] }] } });
    const flood = (calls: number, rate: number) =>
      runSipp({ scenario: FORBIDDEN, target: gw.target, calls, rate, ratePeriodMs: 1000, maxConcurrent: 5000, traceStat: true, timeoutMs: 30_000 });

    // Warm-up: the first thousands of messages grow the heap and JIT code once; measure after that.
    const warm = await flood(2000, 2000);
    expect(sippPassed(warm), describeSippResult(warm)).toBe(true);
    const before = gw.memory();

    const FLOOD = 15_000;
    const r = await flood(FLOOD, 3000);
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    // SIPp only counts a call as successful when its INVITE got 403.
    expect(r.stats?.successfulCalls).toBe(FLOOD);
    expect(r.stats?.failedCalls).toBe(0);
    const after = gw.memory();
    // 15,000 INVITEs later the resident set has not grown by more than ~400 bytes per INVITE; a
    // flood that left a transaction, dialog or RTP socket behind per INVITE would blow through this.
    expect(after.rssKb - before.rssKb, JSON.stringify({ before, after })).toBeLessThan(6 * 1024);
    expect(after.hwmKb).toBeLessThan(before.rssKb + 16 * 1024);
    // Nothing reached the call layer.
    expect(gw.logsWith('sip inbound call')).toHaveLength(0);
    expect(gw.logsWith('incoming call')).toHaveLength(0);

    // The trunk's own address is still served.
    const call = await runSipp({ scenario: scenarioFile('uac-load'), target: gw.target, localIp: '127.0.0.2', pauseMs: 300, timeoutMs: 15_000 });
    expect(sippPassed(call), describeSippResult(call)).toBe(true);
    const [incoming] = await gw.waitForLog('incoming call');
    expect(incoming).toMatchObject({ trunk: 'carrier', peer: { address: '127.0.0.2' } });
    const [ended] = await gw.waitForLog('echo call ended');
    expect(ended).toMatchObject({ reason: 'remote-hangup', callId: incoming?.callId });

    expect((await gw.stop()).exitCode).toBe(0);
  });
});
