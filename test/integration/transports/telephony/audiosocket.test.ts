/**
 * Asterisk AudioSocket end to end over TCP: a scripted Asterisk (UUID, slin 8 kHz frames, DTMF, hang-up,
 * bytes written by hand) calls an agent; the reply is paced at real time (AudioSocket has no buffer) and
 * simply stops on barge-in. Then the higher-rate kinds in both numberings, bad frames, and sources.
 */
import { connect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { AudioSocketClient } from '../../../support/telephony-audiosocket-client.ts';
import { percentile } from '../../../support/telephony-scenario.ts';
import { waitFor } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, type TelephonyHarness } from '../../../support/telephony-harness.ts';
import { loadScenarioModels, runAgentScenario, scenarioAgent, type ScenarioModels } from '../../../support/telephony-scenario.ts';

let models: ScenarioModels;
beforeAll(async () => {
  models = await loadScenarioModels();
  return () => models.close();
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const listener = { host: '127.0.0.1', port: 0 };

/** A harness whose calls are given to `onLeg` (answered, kept until they end). */
async function legHarness(telephony: Record<string, unknown>, onLeg: (leg: CallLeg) => void): Promise<TelephonyHarness> {
  const h = await startTelephonyHarness({
    telephony,
    startCall: async (leg) => {
      onLeg(leg);
      await leg.answer();
      await leg.ended;
    },
  });
  cleanup.push(() => h.close());
  return h;
}

describe('Asterisk AudioSocket bridge', () => {
  it('carries an agent call: question, reply paced at real time, audio stops on barge-in, DTMF, hang-up', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { audiosocket: [listener] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new AudioSocketClient(h.audioSocketPort());
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, false);
    expectCompleteCall(h.events, r, client, llm, { medium: 'audiosocket', leadMs: h.settings.playout.realtimeLeadMs, marks: false });
    expect(h.events[0]).toMatchObject({ callId: 'audiosocket-40325ec2-5efd-4bd3-805f-53576e581d13' });
    // Real time: one 320-byte 0x10 frame per 20 ms, never more than a frame or so ahead.
    expect(r.maxLeadMs).toBeLessThanOrEqual(60);
    expect(percentile(r.gapsMs, 99)).toBeLessThan(80);
    expect(new Set(client.frames.filter((f) => f.kind === 0x10).map((f) => f.payload.length))).toEqual(new Set([320]));
  });

  it('takes both numberings of the higher-rate kinds and answers in the kind it was sent', async () => {
    const cases = [
      { kind: 0x12, bytes: 640, rate: 16000, kind11: 'auto' },
      { kind: 0x11, bytes: 640, rate: 16000, kind11: 'auto' },
      { kind: 0x11, bytes: 480, rate: 12000, kind11: 'auto' },
      { kind: 0x11, bytes: 640, rate: 12000, kind11: 'slin12' },
      { kind: 0x16, bytes: 1920, rate: 48000, kind11: 'auto' },
    ] as const;
    for (const c of cases) {
      let leg: CallLeg | undefined;
      const h = await legHarness({ audiosocket: [listener], audiosocketKind11: c.kind11 }, (l) => (leg = l));
      const client = new AudioSocketClient(h.audioSocketPort(), { kind: c.kind, rate: c.rate });
      cleanup.push(() => client.close());
      await client.start();
      client.sendFrame(new Int16Array(c.bytes / 2));
      await waitFor(() => leg !== undefined, 2000, 'the leg');
      expect(leg?.inputFormat, `kind 0x${c.kind.toString(16)} of ${c.bytes} bytes (${c.kind11})`).toEqual({ sampleRate: c.rate, encoding: 'pcm_s16le' });
      void leg?.write({ samples: new Int16Array(c.rate / 10).fill(1000), sampleRate: c.rate, timestamp: 0 });
      await waitFor(() => client.frames.some((f) => f.kind !== 0), 2000, 'audio back');
      expect(client.frames[0]?.kind).toBe(c.kind);
      await client.hangup();
      await h.close();
      cleanup.pop();
    }
  });

  it('ends the call cleanly on a hang-up frame, an error frame, an oversized frame, silence, and a reset', async () => {
    const ends: Array<{ what: string; reason: string; detail?: string | undefined }> = [];
    const run = async (what: string, telephony: Record<string, unknown>, act: (c: AudioSocketClient) => void | Promise<void>) => {
      let leg: CallLeg | undefined;
      const h = await legHarness({ audiosocket: [listener], ...telephony }, (l) => (leg = l));
      const c = new AudioSocketClient(h.audioSocketPort());
      cleanup.push(() => c.close());
      await c.start();
      c.sendFrame(new Int16Array(160));
      await waitFor(() => leg !== undefined, 2000, 'the leg');
      await act(c);
      const end = await (leg as CallLeg).ended;
      ends.push({ what, reason: end.reason, detail: end.detail });
    };
    await run('hang-up frame', {}, (c) => c.write(Buffer.from([0x00, 0x00, 0x00])));
    await run('error: caller hung up', {}, (c) => c.write(Buffer.from([0xff, 0x00, 0x01, 0x01])));
    await run('error: forwarding', {}, (c) => c.write(Buffer.from([0xff, 0x00, 0x01, 0x02])));
    await run('oversized frame', { maxMessageBytes: 4096 }, (c) => c.write(Buffer.from([0x10, 0x20, 0x00, 0x00])));
    await run('idle', { idleTimeoutMs: 1000 }, () => undefined);
    await run('reset', {}, (c) => c.vanish());
    await run('truncated then closed', {}, (c) => {
      c.write(Buffer.from([0x10, 0x01, 0x40, 0x00, 0x00]));
      c.socket?.end();
    });
    expect(ends).toEqual([
      { what: 'hang-up frame', reason: 'remote-hangup', detail: 'Asterisk sent hang-up' },
      { what: 'error: caller hung up', reason: 'remote-hangup', detail: 'the caller hung up (AudioSocket error 0x01)' },
      { what: 'error: forwarding', reason: 'error', detail: 'Asterisk reported AudioSocket error 0x02' },
      { what: 'oversized frame', reason: 'error', detail: 'frame of kind 0x10 announces 8192 bytes, over the limit of 4096' },
      { what: 'idle', reason: 'timeout', detail: 'no frame from Asterisk for 1000 ms' },
      { what: 'reset', reason: 'error', detail: expect.stringMatching(/connection (failed|closed)/) },
      { what: 'truncated then closed', reason: 'remote-hangup', detail: 'Asterisk closed the connection' },
    ]);
  });

  it('tells Asterisk 00 00 00 when the agent hangs up, counts unknown kinds and bad DTMF without ending', async () => {
    let leg: CallLeg | undefined;
    const h = await legHarness({ audiosocket: [listener] }, (l) => (leg = l));
    const c = new AudioSocketClient(h.audioSocketPort());
    cleanup.push(() => c.close());
    await c.start();
    c.sendFrame(new Int16Array(160));
    await waitFor(() => leg !== undefined, 2000, 'the leg');
    const l = leg as CallLeg;
    const digits: string[] = [];
    l.onDtmf((d) => digits.push(d.digit));
    c.write(Buffer.from([0x42, 0x00, 0x02, 0x01, 0x02]));
    c.write(Buffer.from([0x03, 0x00, 0x01, 0x5a]));
    c.sendDtmf('7');
    c.write(Buffer.from([0x10, 0x00, 0x03, 0x01, 0x02, 0x03]));
    await waitFor(() => digits.length === 1, 1000, 'dtmf');
    expect(digits).toEqual(['7']);
    expect(l.mediaStats()).toMatchObject({ unknownKind: 1, invalid: 1, oddLength: 1 });
    await l.hangup();
    await c.closed;
    expect(c.frames.at(-1)).toMatchObject({ kind: 0x00 });
    expect(c.frames.at(-1)?.payload.length).toBe(0);
  });

  it('closes connections from sources outside allowFrom before reading, and a connection without a UUID', async () => {
    let calls = 0;
    const h = await startTelephonyHarness({ telephony: { audiosocket: [{ ...listener, allowFrom: ['10.0.0.0/8'] }] }, startCall: (leg) => {
        calls++;
        return runEcho(leg, silentLogger());
      },
    });
    cleanup.push(() => h.close());
    const s = connect(h.audioSocketPort(), '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('close', () => r()));
    const h2 = await startTelephonyHarness({ telephony: { audiosocket: [listener], startTimeoutMs: 500 }, startCall: (leg) => {
        calls++;
        return runEcho(leg, silentLogger());
      },
    });
    cleanup.push(() => h2.close());
    const s2 = connect(h2.audioSocketPort(), '127.0.0.1');
    s2.on('error', () => undefined);
    const got: Buffer[] = [];
    s2.on('data', (b: Buffer) => got.push(b));
    s2.write(Buffer.from([0x10, 0x00, 0x02, 0x00, 0x00]));
    await new Promise<void>((r) => s2.once('close', () => r()));
    // Refused with a hang-up frame: the first frame was not the UUID.
    expect(Buffer.concat(got)).toEqual(Buffer.from([0x00, 0x00, 0x00]));
    expect(calls).toBe(0);
  });
});
