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
import { describeSippResult, runSipp, sippPassed, type SippResult } from '../../support/sip-peers/sipp.ts';

const FORBIDDEN = { file: `${SCENARIO_DIR}uac-invite-forbidden.xml` };

/**
 * The gateway's 403s that SIPp itself misfiled. About once in 60,000 flood calls on a loaded machine,
 * SIPp 3.6.1 aborts a call "on unexpected message ... while expecting '100' (index 1)" although the
 * message it prints is that call's own 403 (same Call-ID, the INVITE's branch, CSeq 1 INVITE), which
 * the scenario's next step expects. The gateway answered that INVITE correctly, so such an abort counts
 * as a 403 received; any other abort, or one whose message is not a 403 for that call, does not.
 */
function misfiled403s(r: SippResult): { count: number; other: string[] } {
  const events = r.errors.split(/(?=^\S+\t\S+\t\S+: )/m).filter((e) => e.includes('Aborting call'));
  const other: string[] = [];
  let count = 0;
  for (const e of events) {
    const callId = /for Call-Id '([^']+)'/.exec(e)?.[1];
    const ok =
      callId !== undefined &&
      e.includes("while expecting '100' (index 1), received 'SIP/2.0 403 Forbidden") &&
      e.includes(`Call-ID: ${callId}`) &&
      /CSeq: 1 INVITE/.test(e);
    if (ok) count += 1;
    else other.push(e);
  }
  return { count, other };
}

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
    const misfiled = misfiled403s(r);
    expect(misfiled.other, describeSippResult(r)).toEqual([]);
    expect(r.timedOut || r.killed, describeSippResult(r)).toBe(false);
    // SIPp counts a call as successful only when its INVITE got 403; a misfiled 403 is a 403 too.
    expect((r.stats?.successfulCalls ?? 0) + misfiled.count, describeSippResult(r)).toBe(FLOOD);
    expect(r.stats?.failedCalls, describeSippResult(r)).toBe(misfiled.count);
    expect(misfiled.count, describeSippResult(r)).toBeLessThanOrEqual(3);
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
