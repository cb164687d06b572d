/**
 * The user agent behind Kamailio 5.6 (dispatcher, record-routing): SIPp calls the proxy, the proxy
 * picks the user agent; the 2xx must carry the Record-Route so that in-dialog requests — the ACK,
 * re-INVITEs, and the BYE from either side — go through the proxy. The proxy's OPTIONS probes are
 * answered 200, so it keeps the user agent active.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runKamailio, type KamailioPeer } from '../../../support/sip-peers/kamailio.ts';
import { liveProcesses, stopAllProcesses } from '../../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../../support/sip-peers/scenarios.ts';
import { runSipp, sippPassed } from '../../../support/sip-peers/sipp.ts';
import { describeSippResult, startUa, type LiveUa } from './support.ts';

let live: LiveUa | undefined;
let proxy: KamailioPeer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
  await proxy?.stop();
  proxy = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe('behind Kamailio (dispatcher with record_route)', () => {
  it('a call through the proxy: hold/resume re-INVITEs and the caller BYE follow the route set', async () => {
    const events: string[] = [];
    live = await startUa({}, {
      onCall: (call) => {
        call.onHold(() => events.push('hold'));
        call.onResume(() => events.push('resume'));
        void call.answer();
      },
    });
    proxy = await runKamailio({ backends: [`sip:127.0.0.1:${live.port('u1')}`], probing: false });
    const r = await runSipp({ scenario: scenarioFile('uac-hold-resume'), transport: 'u1', target: `127.0.0.1:${proxy.port}`, service: 'agent', timeoutMs: 20_000, traceMessages: true });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    const call = live.calls[0]!;
    expect(await call.ended).toEqual({ reason: 'remote-bye' });
    expect(events).toEqual(['hold', 'resume']);
    // The proxy record-routed the INVITE, and our 2xx carried it back to SIPp.
    const rr = call.invite.get('record-route') ?? '';
    expect(rr).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${proxy.port};lr`));
    expect(r.messages).toContain(`Record-Route: ${rr}`);
  });

  it('our BYE goes to the proxy with a Route header and reaches the caller', async () => {
    live = await startUa({}, {
      onCall: (call) => {
        void call.answer().then(() => setTimeout(() => void call.hangup(), 300));
      },
    });
    proxy = await runKamailio({ backends: [`sip:127.0.0.1:${live.port('u1')}`], probingIntervalS: 1 });
    const r = await runSipp({ scenario: scenarioFile('uac-bye-from-gateway'), transport: 'u1', target: `127.0.0.1:${proxy.port}`, service: 'agent', timeoutMs: 20_000, traceMessages: true });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(await live.calls[0]!.ended).toEqual({ reason: 'local-bye' });
    // The BYE reached SIPp through the proxy: its top Via is Kamailio's, ours below it.
    const bye = /BYE sip:sipp@127\.0\.0\.1[\s\S]*?\n\n/.exec(r.messages ?? '')?.[0] ?? '';
    const vias = [...bye.matchAll(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:(\d+)/gm)].map((m) => Number(m[1]));
    expect(vias).toEqual([proxy.port, live.port('u1')]);
  });
});
