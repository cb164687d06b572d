/**
 * Every scenario under test/sip-scenarios, run against a SIPp counterpart playing the other side
 * (mock-gateway/gw-*.xml stand in for the gateway until src/sip lands), over UDP and TCP. A pass here
 * means the XML is valid for SIPp 3.6.1, the message flow closes, and each check in it can pass; the
 * negative cases show the checks can also fail. uac-basic-pcmu (with its media) is covered by
 * harness.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { SCENARIO_KEYS, keysUsedBy, scenarioFile, scenarioPath, type ScenarioName } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed, startSipp, type SippOptions, type SippResult, type SippTransport } from '../../support/sip-peers/sipp.ts';

afterEach(async () => {
  await stopAllProcesses();
});

interface PairOptions {
  readonly server: SippOptions['scenario'];
  readonly client: SippOptions['scenario'];
  readonly transport: SippTransport;
  readonly serverExtra?: Partial<SippOptions>;
  readonly clientExtra?: Partial<SippOptions>;
}

/** Start the server side, run the client against it, and collect both results. */
async function pair(o: PairOptions): Promise<{ server: SippResult; client: SippResult }> {
  const server = await startSipp({ scenario: o.server, transport: o.transport, timeoutMs: 20_000, ...o.serverExtra });
  const client = await runSipp({
    scenario: o.client,
    transport: o.transport,
    target: `127.0.0.1:${server.localPort}`,
    timeoutMs: 20_000,
    ...o.clientExtra,
  });
  // A server whose client failed may wait forever for the rest of its call.
  const serverResult = await Promise.race([
    server.done,
    new Promise<SippResult>((resolve) => setTimeout(() => resolve(server.stop()), client.exitCode === 0 ? 5000 : 1000)),
  ]);
  return { server: serverResult, client };
}

/** Both ended by themselves with exit code 0 (a SIPp killed by the helper also exits 0). */
function expectOk(r: { server: SippResult; client: SippResult }): void {
  expect(sippPassed(r.client), describeSippResult(r.client)).toBe(true);
  expect(sippPassed(r.server), describeSippResult(r.server)).toBe(true);
}

/** Top Via branch of each request line `METHOD` in a -trace_msg log, in order. */
function sentBranches(messages: string, method: string): string[] {
  const out: string[] = [];
  for (const block of messages.split(/-{10,}[^\n]*\n/)) {
    if (!/message sent/.test(block)) continue;
    const body = block.slice(block.indexOf('\n\n') + 2);
    if (!body.startsWith(`${method} `)) continue;
    const m = /^Via:[^\n]*;branch=([^;\s]+)/m.exec(body);
    if (m !== null) out.push(m[1] as string);
  }
  return out;
}

describe('scenario files', () => {
  it('declare exactly the -key values they use', () => {
    for (const name of Object.keys(SCENARIO_KEYS) as ScenarioName[]) {
      const used = keysUsedBy(readFileSync(scenarioPath(name), 'utf8'));
      expect({ name, keys: used }).toEqual({ name, keys: [...SCENARIO_KEYS[name]].sort() });
    }
  });
});

describe.each(['u1', 't1'] as const)('SIPp scenarios against SIPp stand-ins over %s', (transport) => {
  it('uac-bye-from-gateway: the gateway hangs up and SIPp answers its BYE', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('mock-gateway/gw-bye'),
      client: scenarioFile('uac-bye-from-gateway'),
      serverExtra: { keys: { hold_ms: 300 } },
    });
    expectOk(r);
  });

  it('uac-cancel: CANCEL after 180 gets 200 then 487, ACKed in the INVITE transaction', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('mock-gateway/gw-cancel'),
      client: scenarioFile('uac-cancel'),
      clientExtra: { traceMessages: true },
    });
    expectOk(r);
    const messages = r.client.messages ?? '';
    const [invite] = sentBranches(messages, 'INVITE');
    expect(invite).toMatch(/^z9hG4bK/);
    // RFC 3261 9.1 / 17.1.1.3: CANCEL and the ACK of a non-2xx reuse the INVITE's branch.
    expect(sentBranches(messages, 'CANCEL')).toEqual([invite]);
    expect(sentBranches(messages, 'ACK')).toEqual([invite]);
  });

  it('uac-hold-resume: sendonly re-INVITE answered recvonly, then sendrecv', async () => {
    const r = await pair({ transport, server: scenarioFile('mock-gateway/gw-hold'), client: scenarioFile('uac-hold-resume') });
    expectOk(r);
    expect(r.client.logs).toContain('hold answer: a=recvonly');
  });

  it('uac-options: 200 with an Allow header listing the core methods', async () => {
    const r = await pair({ transport, server: scenarioFile('mock-gateway/gw-options'), client: scenarioFile('uac-options') });
    expectOk(r);
    expect(r.client.logs).toMatch(/Allow: INVITE, ACK, BYE, CANCEL, OPTIONS/);
  });

  it('uac-refer-from-gateway: REFER from the gateway, 202, NOTIFY 100 and 200, BYE from the gateway', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('mock-gateway/gw-refer-out'),
      client: scenarioFile('uac-refer-from-gateway'),
      serverExtra: { keys: { refer_to: 'sip:agent@127.0.0.1:5999' } },
    });
    expectOk(r);
    expect(r.client.logs).toContain('REFER to sip:agent@127.0.0.1:5999');
    expect(r.server.logs).toMatch(/transfer result SIP\/2\.0 200, subscription terminated, event refer/);
  });

  it('uac-refer-to-gateway: REFER to the gateway, 202, NOTIFYs until terminated, then BYE', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('mock-gateway/gw-refer-in'),
      client: scenarioFile('uac-refer-to-gateway'),
      clientExtra: { keys: { refer_to: 'sip:target@127.0.0.1:5999' } },
    });
    expectOk(r);
    expect(r.server.logs).toContain('asked to transfer to sip:target@127.0.0.1:5999');
    expect(r.client.logs).toMatch(/transfer outcome SIP\/2\.0 200/);
  });

  it('uac-load: a burst of short calls, with statistics and response times', async () => {
    const calls = 20;
    // The built-in uas ends each call with a 4 s pause; over TCP the client's exit closes the
    // connection under the last call's pause and SIPp counts it failed, so TCP uses gw-answer.
    const r = await pair({
      transport,
      server: transport === 'u1' ? { builtin: 'uas' } : scenarioFile('mock-gateway/gw-answer'),
      client: scenarioFile('uac-load'),
      serverExtra: { calls, keys: transport === 'u1' ? {} : { rtp_port: 9 } },
      clientExtra: { calls, rate: 50, pauseMs: 50, traceStat: true, traceRtt: true },
    });
    expectOk(r);
    expect(r.client.stats?.successfulCalls).toBe(calls);
    expect(r.client.stats?.failedCalls).toBe(0);
    expect(r.client.rtt?.filter((x) => x.rtd === 1)).toHaveLength(calls);
  });

  it('uas-auth: challenges the INVITE, accepts the right MD5 credentials', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('uas-auth'),
      client: scenarioFile('mock-gateway/gw-dial-auth'),
      serverExtra: { keys: { user: 'callroom', pass: 's3cret' } },
      clientExtra: { auth: { username: 'callroom', password: 's3cret' } },
    });
    expectOk(r);
    expect(r.server.logs).toMatch(/INVITE credentials Digest username="callroom".* valid=true/);
  });

  it('uas-auth: a wrong password gets 403 and fails the call', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('uas-auth'),
      client: scenarioFile('mock-gateway/gw-dial-auth'),
      serverExtra: { keys: { user: 'callroom', pass: 's3cret' }, traceStat: true },
      clientExtra: { auth: { username: 'callroom', password: 'wrong' } },
    });
    expect(r.server.logs).toContain('valid=false');
    expect(r.server.exitCode, describeSippResult(r.server)).toBe(1);
    expect(r.server.killed).toBe(false);
    expect(r.server.stats?.failedCalls).toBe(1);
    expect(r.client.exitCode).not.toBe(0);
  });

  it('uas-registrar: challenge, 200 with expires, refresh with cached credentials', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('uas-registrar'),
      client: scenarioFile('mock-gateway/gw-register'),
      serverExtra: { keys: { user: 'callroom', pass: 's3cret', expires: 2 } },
      clientExtra: { keys: { refresh_ms: 1000 }, auth: { username: 'callroom', password: 's3cret' }, service: 'callroom' },
    });
    expectOk(r);
    expect(r.server.logs).toContain('refresh credentials valid=true');
    expect(r.client.logs).toMatch(/registered: expires=2, Expires 2/);
  });

  it('uas-registrar: a refresh without credentials is challenged again', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('uas-registrar'),
      client: scenarioFile('mock-gateway/gw-register-rechallenge'),
      serverExtra: { keys: { user: 'callroom', pass: 's3cret', expires: 2 } },
      clientExtra: { keys: { refresh_ms: 500 }, auth: { username: 'callroom', password: 's3cret' }, service: 'callroom' },
    });
    expectOk(r);
    expect(r.server.logs).toContain('refresh credentials valid=false');
    expect(r.server.logs).toContain('refresh after a new challenge valid=true');
  });

  it('uas-registrar: bad credentials get 403 and fail', async () => {
    const r = await pair({
      transport,
      server: scenarioFile('uas-registrar'),
      client: scenarioFile('mock-gateway/gw-register'),
      serverExtra: { keys: { user: 'callroom', pass: 's3cret', expires: 2 } },
      clientExtra: { keys: { refresh_ms: 500 }, auth: { username: 'callroom', password: 'nope' }, service: 'callroom' },
    });
    expect(r.server.exitCode, describeSippResult(r.server)).toBe(1);
    expect(r.client.exitCode).not.toBe(0);
  });
});
