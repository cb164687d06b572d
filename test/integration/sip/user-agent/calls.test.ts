/**
 * The user agent on real UDP and TCP sockets, driven by SIPp (sip-tester 3.6.1) with the scenarios of
 * test/sip-scenarios: basic call with audio and RFC 4733 pcaps, BYE from either side, CANCEL, re-INVITE
 * hold/resume, OPTIONS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeBasicCallMedia } from '../../../support/sip-peers/call-media.ts';
import { liveProcesses, stopAllProcesses } from '../../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../../support/sip-peers/scenarios.ts';
import { sippPassed } from '../../../support/sip-peers/sipp.ts';
import { describeSippResult, sippAgainst, startUa, type LiveUa } from './support.ts';

let live: LiveUa | undefined;
let dir: string | undefined;

afterEach(async () => {
  await live?.close();
  live = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe.each(['u1', 't1'] as const)('SIPp calls the user agent over %s', (transport) => {
  it('basic call: PCMU answered, RTP reaches the advertised port, SIPp hangs up', async () => {
    dir = await mkdtemp(join(tmpdir(), 'callroom-ua-'));
    const media = await writeBasicCallMedia(dir, { seconds: 1 });
    live = await startUa({}, { onCall: (call) => void call.answer() });
    const r = await sippAgainst(live, transport, scenarioFile('uac-basic-pcmu'), { keys: media.keys });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    const call = live.calls[0]!;
    expect(await call.ended).toEqual({ reason: 'remote-bye' });
    expect(call.peer.transport).toBe(transport === 'u1' ? 'udp' : 'tcp');
    const endpoint = live.media.endpoints[0]!;
    expect(endpoint.configured[0]).toMatchObject({ codec: 'PCMU', dtmfPayloadType: 101, remoteAddress: '127.0.0.1' });
    // SIPp sent its pcaps to the port in our answer.
    expect(endpoint.received).toBeGreaterThan(40);
    expect(endpoint.closed).toBe(true);
    expect(live.ua.dialogCount).toBe(0);
  });

  it('the user agent hangs up: BYE routed by the dialog, answered 200', async () => {
    live = await startUa({}, {
      onCall: (call) => {
        void call.answer().then(() => setTimeout(() => void call.hangup(), 300));
      },
    });
    const r = await sippAgainst(live, transport, scenarioFile('uac-bye-from-gateway'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(await live.calls[0]!.ended).toEqual({ reason: 'local-bye' });
  });

  it('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE', async () => {
    live = await startUa();
    const r = await sippAgainst(live, transport, scenarioFile('uac-cancel'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(await live.calls[0]!.ended).toEqual({ reason: 'cancel', status: 487 });
    expect(live.media.open).toBe(0);
  });

  it('re-INVITE hold and resume: recvonly answer, then sendrecv; onHold/onResume fire', async () => {
    const events: string[] = [];
    live = await startUa({}, {
      onCall: (call) => {
        call.onHold(() => events.push('hold'));
        call.onResume(() => events.push('resume'));
        void call.answer();
      },
    });
    const r = await sippAgainst(live, transport, scenarioFile('uac-hold-resume'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    await live.calls[0]!.ended;
    expect(events).toEqual(['hold', 'resume']);
    expect(live.media.endpoints[0]!.configured.map((a) => a.direction)).toEqual(['sendrecv', 'recvonly', 'sendrecv']);
  });

  it('OPTIONS outside a dialog: 200 with Allow', async () => {
    live = await startUa();
    const r = await sippAgainst(live, transport, scenarioFile('uac-options'));
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.logs).toContain('INVITE, ACK, CANCEL, BYE, OPTIONS');
    expect(live.ua.calls).toHaveLength(0);
  });
});
