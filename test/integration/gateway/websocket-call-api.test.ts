/**
 * A WebSocket call through the gateway process, as an application would make it: POST /calls (the demo
 * agent, 16 kHz both ways) returns a joinUrl; a plain `ws` client joins, says the order question (flite
 * speech as PCM), receives the state, both transcripts and the agent's audio paced in real time, hangs up;
 * GET /calls/{id} then holds the complete record (transcript, the tool call, the turn's waterfall, end reason).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadSpeech } from '../../support/call-harness.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { allocatePortBlock } from '../../support/sip-peers/free-ports.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe('a WebSocket call through the REST API', () => {
  it('joins, talks to the demo agent, hangs up, and leaves a complete record', async () => {
    const httpPort = await allocatePortBlock(1);
    const gw = await startGatewayProcess({ transports: ['udp'], sip: { echo: false }, config: { http: { enabled: true, host: '127.0.0.1', port: httpPort }, vad: { engine: 'silero' } } });
    await gw.waitForLog('http listening');
    const api = `http://127.0.0.1:${httpPort}`;
    const created = await fetch(`${api}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: { name: 'web', llm: { provider: 'demo' } }, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { callId, joinUrl } = (await created.json()) as { callId: string; joinUrl: string };
    const ws = new WebSocket(joinUrl);
    const messages: Array<Record<string, unknown>> = [];
    const audioAt: number[] = [];
    let audioBytes = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        audioAt.push(performance.now());
        audioBytes += (data as Buffer).length;
      } else messages.push(JSON.parse(String(data)) as Record<string, unknown>);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const waitFor = async (pred: () => boolean, ms: number): Promise<void> => {
      const end = performance.now() + ms;
      while (!pred()) {
        if (performance.now() > end) throw new Error(`timed out; messages: ${JSON.stringify(messages.map((m) => m['type']))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(() => messages.some((m) => m['type'] === 'call_started'), 5000);
    // Say the question in real time (20 ms frames), then silence.
    const speech = loadSpeech('order-status-kal16.wav', 16000);
    const frame = 320;
    const sendAudio = async (pcm: Int16Array): Promise<void> => {
      for (let at = 0; at < pcm.length; at += frame) {
        ws.send(Buffer.from(pcm.slice(at, at + frame).buffer));
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await sendAudio(speech);
    const silenceDone = sendAudio(new Int16Array(16000 * 8));
    await waitFor(() => messages.some((m) => m['type'] === 'transcript' && m['role'] === 'assistant' && m['final'] === true), 20_000);
    await silenceDone;
    ws.send(JSON.stringify({ type: 'hang_up' }));
    await waitFor(() => messages.some((m) => m['type'] === 'call_ended'), 5000);
    ws.close();

    const types = messages.map((m) => m['type']);
    expect(types).toContain('state');
    const userFinal = messages.find((m) => m['type'] === 'transcript' && m['role'] === 'user' && m['final'] === true);
    expect(String(userFinal?.['text'])).toMatch(/order number (four|for) five six seven/);
    // The reply came as audio, paced: about 20 ms apart on average, never a burst of the whole reply.
    expect(audioBytes).toBeGreaterThan(16000 * 2);
    const spanMs = (audioAt.at(-1) ?? 0) - (audioAt[0] ?? 0);
    expect(spanMs).toBeGreaterThan((audioBytes / 32) * 0.8);

    let record: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && record?.['state'] !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      record = (await (await fetch(`${api}/calls/${callId}`)).json()) as Record<string, unknown>;
    }
    expect(record).toMatchObject({ state: 'ended', endReason: 'caller-hangup', medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } });
    const transcript = record?.['transcript'] as Array<{ role: string; text: string }>;
    expect(transcript.map((t) => t.role)).toEqual(['user', 'assistant']);
    expect(transcript[1]?.text).toMatch(/Order 4 5 6 7 is/);
    expect(record?.['toolCalls']).toMatchObject([{ name: 'check_order_status', outcome: 'ok' }]);
    const turns = record?.['turns'] as Array<{ marks: Array<{ name: string }> }>;
    expect(turns[0]?.marks.map((m) => m.name)).toEqual(expect.arrayContaining(['speechEnd', 'turnDecided', 'llmFirstToken', 'firstAudio', 'ended']));
    await gw.stop();
  });
});
