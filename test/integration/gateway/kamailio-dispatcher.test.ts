/**
 * Two gateway processes behind Kamailio's dispatcher (round robin, record_route, OPTIONS probing):
 * SIPp places several calls at the proxy. The calls must be spread over both gateways, every call must
 * complete — the ACK and SIPp's BYE follow the Record-Route back through the proxy — and each gateway
 * must log its calls as ended by the remote BYE, with Kamailio as the signalling peer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { runKamailio, type KamailioPeer } from '../../support/sip-peers/kamailio.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed } from '../../support/sip-peers/sipp.ts';

let proxy: KamailioPeer | undefined;

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe('two gateways behind Kamailio', () => {
  it('spreads calls over both backends; all complete with BYE through the proxy', async () => {
    const CALLS = 8;
    const gateways = await Promise.all([0, 1].map(() => startGatewayProcess({ transports: ['udp'] })));
    proxy = await runKamailio({ backends: gateways.map((g) => `sip:127.0.0.1:${g.sipPort}`), probingIntervalS: 1 });
    const r = await runSipp({
      scenario: scenarioFile('uac-load'),
      target: `127.0.0.1:${proxy.port}`,
      calls: CALLS,
      rate: 10,
      maxConcurrent: CALLS,
      pauseMs: 500,
      traceMessages: true,
      timeoutMs: 30_000,
    });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    // SIPp's in-dialog requests carried the proxy's Record-Route as a Route header.
    const byes = [...(r.messages ?? '').matchAll(/^BYE [\s\S]*?\r?\n\r?\n/gm)].map((m) => m[0]);
    expect(byes).toHaveLength(CALLS);
    expect(byes.every((b) => new RegExp(`\\nRoute: <sip:127\\.0\\.0\\.1:${proxy!.port};lr`).test(b))).toBe(true);
    const sippCallIds = new Set([...(r.messages ?? '').matchAll(/^Call-ID: (\S+)/gm)].map((m) => m[1]));
    expect(sippCallIds.size).toBe(CALLS);

    // SIPp is done once its last BYE is answered; the gateways' last log lines may still be in the pipe.
    const deadline = Date.now() + 5000;
    while (gateways.reduce((n, g) => n + g.logsWith('echo call ended').length, 0) < CALLS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const perGateway: string[][] = [];
    for (const gw of gateways) {
      const ended = gw.logsWith('echo call ended');
      // Every call this gateway answered ended with the caller's BYE relayed by the proxy.
      expect(ended.every((l) => l.reason === 'remote-hangup'), JSON.stringify(ended)).toBe(true);
      expect(gw.logsWith('sip call ended').map((l) => l.callId).sort()).toEqual(ended.map((l) => l.callId).sort());
      // The INVITE came from Kamailio, not from SIPp.
      const incoming = gw.logsWith('incoming call');
      expect(incoming.map((l) => (l.peer as { port: number }).port)).toEqual(incoming.map(() => proxy!.port));
      perGateway.push(ended.map((l) => l.callId as string));
    }
    // Round robin spreads them (4 and 4 when no probe marks a backend down); together exactly SIPp's
    // calls, none twice.
    for (const ids of perGateway) expect(ids.length).toBeGreaterThanOrEqual(CALLS / 4);
    expect(new Set(perGateway.flat())).toEqual(sippCallIds);

    await proxy.stop();
    proxy = undefined;
    for (const gw of gateways) expect((await gw.stop()).exitCode).toBe(0);
  });
});
