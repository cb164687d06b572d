/**
 * POST /calls with a SIP medium dials out through a trunk and runs the agent on the answered call: baresip
 * (answering automatically, recording what it hears) is the callee; the agent's greeting reaches it; DELETE
 * /calls/{id} ends the call with a BYE, and the call record says so.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWav } from '../../../src/media/wav.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { useOfflineSpeech } from '../../support/offline-speech.ts';
import { recognise } from '../../support/recognise.ts';
import { runBaresip } from '../../support/sip-peers/baresip.ts';
import { allocatePortBlock } from '../../support/sip-peers/free-ports.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { writeSilenceWav } from '../../support/sip-peers/test-signal.ts';

const offline = useOfflineSpeech();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-dialout-'));
});

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  await rm(dir, { recursive: true, force: true });
});

describe('dial-out through the REST API', () => {
  it('reaches the callee, runs the agent, and DELETE /calls/{id} hangs up with BYE', async () => {
    const silence = join(dir, 'silence.wav');
    await writeSilenceWav(silence, 40, 16000);
    const alice = await runBaresip({ user: '1000', codecs: ['G722'], audioSource: silence, recordDir: join(dir, 'rec') });
    const httpPort = await allocatePortBlock(1);
    const gw = await startGatewayProcess({
      transports: ['udp'],
      sip: { echo: false, trunks: [{ name: 'loopback', cidrs: ['127.0.0.0/8'] }, { name: 'pbx', outbound: { host: '127.0.0.1', port: alice.sipPort } }] },
      config: { http: { enabled: true, host: '127.0.0.1', port: httpPort }, vad: { engine: 'silero' } },
    });
    await gw.waitForLog('http listening');
    const api = `http://127.0.0.1:${httpPort}`;
    const created = await fetch(`${api}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        agent: { name: 'outbound', greeting: 'Hello, this is Callroom calling about your order.', llm: { provider: 'demo' } },
        medium: { type: 'sip', to: '1000', from: '+15550100', trunk: 'pbx' },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { callId } = (await created.json()) as { callId: string };
    await alice.ctrl.waitForEvent('CALL_ESTABLISHED', { timeoutMs: 15_000 });
    // Let the greeting play, then hang up through the API.
    await new Promise((r) => setTimeout(r, 5500));
    const live = (await (await fetch(`${api}/calls/${callId}`)).json()) as { state: string };
    expect(live.state).toBe('active');
    const del = await fetch(`${api}/calls/${callId}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    await alice.ctrl.waitForEvent('CALL_CLOSED', { timeoutMs: 10_000 });
    const file = await alice.waitForRecording('dec');
    await alice.stop();
    // The record: answered, ended by the API, with the greeting in its transcript.
    let record: { state: string; endReason: string | null; transcript: Array<{ role: string; text: string }> } | undefined;
    for (let i = 0; i < 50 && record?.state !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      record = (await (await fetch(`${api}/calls/${callId}`)).json()) as typeof record;
    }
    expect(record).toMatchObject({ state: 'ended', endReason: 'api-hangup' });
    expect(record?.transcript[0]).toMatchObject({ role: 'assistant', text: 'Hello, this is Callroom calling about your order.' });
    await gw.stop();
    const words = await recognise(readWav(await readFile(file)).samples, 16000, offline.speech.stt);
    expect(words).toMatch(/hello this is/);
    expect(words).toMatch(/order/);
  });
});
