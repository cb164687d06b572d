/**
 * In-dialog features and security of the user agent against SIPp over UDP and TCP: REFER both ways,
 * INFO DTMF, 403 for an unknown source (no state), digest challenge of an inbound trunk.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DtmfEvent, SipCall, TransferResult } from '../../../../src/sip/user-agent/call-types.ts';
import { liveProcesses, stopAllProcesses } from '../../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../../support/sip-peers/scenarios.ts';
import { sippPassed, startSipp } from '../../../support/sip-peers/sipp.ts';
import { describeSippResult, sippAgainst, startUa, waitFor, type LiveUa } from './support.ts';

const own = (name: string): { file: string } => ({ file: fileURLToPath(new URL(`./scenarios/${name}.xml`, import.meta.url)) });

let live: LiveUa | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe.each(['u1', 't1'] as const)('features over %s', (transport) => {
  it('transfer: REFER to the caller, NOTIFY 100 then 200, BYE', async () => {
    const results: Promise<TransferResult>[] = [];
    live = await startUa({}, {
      onCall: (call) => {
        void call.answer().then(() => results.push(call.transfer('sip:target@127.0.0.1:5099')));
      },
    });
    const r = await sippAgainst(live, transport, scenarioFile('uac-refer-from-gateway'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toContain('REFER to sip:target@127.0.0.1:5099');
    expect(await results[0]).toEqual({ ok: true, status: 200 });
    expect(await live.calls[0]!.ended).toEqual({ reason: 'local-bye', transferredTo: 'sip:target@127.0.0.1:5099' });
  });

  it('REFER from the caller: 202, the user agent dials the target and reports NOTIFY 100, 200', async () => {
    const target = await startSipp({ scenario: { builtin: 'uas' }, transport, timeoutMs: 20_000 });
    const dialled: SipCall[] = [];
    live = await startUa({ acceptRefer: true }, {
      onCall: (call) => {
        call.onRefer((refer) => {
          void live!.ua.dial({ target: refer.target }).then(
            (out) => {
              dialled.push(out);
              void refer.notify(200);
              setTimeout(() => void out.hangup(), 200);
            },
            (err: { status?: number }) => void refer.notify(err.status ?? 500),
          );
        });
        void call.answer();
      },
    });
    const targetUri = `sip:service@127.0.0.1:${target.localPort}${transport === 't1' ? ';transport=tcp' : ''}`;
    const r = await sippAgainst(live, transport, scenarioFile('uac-refer-to-gateway'), { keys: { refer_to: targetUri } });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toMatch(/transfer outcome SIP\/2\.0 200/);
    const t = await target.done;
    expect(sippPassed(t), describeSippResult(t)).toBe(true);
    expect(dialled).toHaveLength(1);
    expect(await dialled[0]!.ended).toEqual({ reason: 'local-bye' });
  });

  it('INFO DTMF (dtmf-relay and dtmf) becomes onDtmf events', async () => {
    const digits: DtmfEvent[] = [];
    live = await startUa({}, {
      onCall: (call) => {
        call.onDtmf((e) => digits.push(e));
        void call.answer();
      },
    });
    const r = await sippAgainst(live, transport, own('uac-info-dtmf'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(digits).toEqual([
      { digit: '5', durationMs: 160, source: 'info' },
      { digit: '#', durationMs: undefined, source: 'info' },
    ]);
  });

  it('an unknown source gets 403 and leaves no call, dialog, media or transaction', async () => {
    live = await startUa({ trunks: [{ name: 'elsewhere', cidrs: ['10.0.0.0/8'] }] });
    const r = await sippAgainst(live, transport, own('uac-expect-403'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(live.calls).toHaveLength(0);
    expect(live.media.endpoints).toHaveLength(0);
    expect(live.ua.dialogCount).toBe(0);
    expect(live.ua.transactionCount).toBe(0);
    expect(live.ua.stats.rejectedSources).toBe(1);
  });

  it('a trunk with digest auth: 401, then the authenticated INVITE is answered', async () => {
    // SIPp 3.6.1's [authentication] reads only the first challenge and does only MD5 ("authentication
    // must use MD5 or AKAv1-MD5"), so MD5 goes first here; SHA-256 is covered by the unit tests.
    live = await startUa(
      { trunks: [{ name: 'carrier', cidrs: [], auth: { username: 'carrier', password: 'p4ss', realm: 'callroom.test' } }] },
      { onCall: (call) => void call.answer(), challengeAlgorithms: ['MD5', 'SHA-256'] },
    );
    const r = await sippAgainst(live, transport, own('uac-digest'), { auth: { username: 'carrier', password: 'p4ss' } });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(live.calls.map((c) => c.trunk)).toEqual(['carrier']);
    expect(live.ua.stats.challenges).toBe(1);
    await live.calls[0]!.ended;
  });
});

describe.each(['u1', 't1'] as const)('the user agent as UAC over %s', (transport) => {
  it('dials out to a trunk that challenges with digest (401), then hangs up', async () => {
    const trunk = await startSipp({ scenario: scenarioFile('uas-auth'), transport, keys: { user: 'gw', pass: 'secret' }, timeoutMs: 20_000 });
    live = await startUa();
    const suffix = transport === 't1' ? ';transport=tcp' : '';
    const call = await live.ua.dial({ target: `sip:trunk@127.0.0.1:${trunk.localPort}${suffix}`, credentials: { username: 'gw', password: 'secret' } });
    expect(call.audio).toMatchObject({ codec: 'PCMU' });
    await call.hangup();
    const r = await trunk.done;
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toMatch(/valid=true/);
  });

  it('fails the dial with 403 for wrong credentials', async () => {
    const trunk = await startSipp({ scenario: scenarioFile('uas-auth'), transport, keys: { user: 'gw', pass: 'secret' }, timeoutMs: 20_000 });
    live = await startUa();
    const suffix = transport === 't1' ? ';transport=tcp' : '';
    await expect(live.ua.dial({ target: `sip:trunk@127.0.0.1:${trunk.localPort}${suffix}`, credentials: { username: 'gw', password: 'nope' } })).rejects.toMatchObject({
      code: 'CR_SIP_DIAL_FAILED',
      status: 403,
    });
    // uas-auth.xml's stop_call after its 403 does not end SIPp's call (it runs on until killed).
    await trunk.stop();
  });

  it('registers with digest auth and refreshes before the short expiry', async () => {
    const registrar = await startSipp({ scenario: scenarioFile('uas-registrar'), transport, keys: { user: '1000', pass: 'pw', expires: 4 }, timeoutMs: 20_000 });
    const suffix = transport === 't1' ? ';transport=tcp' : '';
    live = await startUa({
      registrations: [{ registrar: `sip:127.0.0.1:${registrar.localPort}${suffix}`, aor: 'sip:1000@callroom.test', username: '1000', password: 'pw', expires: 60 }],
    });
    const states: string[] = [];
    live.ua.onRegistration((s) => states.push(`${s.state}:${s.expires ?? ''}`));
    const r = await registrar.done;
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toMatch(/REGISTER credentials valid=true/);
    expect(r.logs).toMatch(/refresh credentials valid=true/);
    await waitFor(() => states.length >= 2, 3_000, 'two registrations');
    expect(states.slice(0, 2)).toEqual(['registered:4', 'registered:4']);
  });
});
