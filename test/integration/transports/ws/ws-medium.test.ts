/**
 * The WebSocket medium over real sockets on 127.0.0.1, with a plain `ws` client following the protocol's
 * message list: audio both ways at each rate, tokens, malformed input, limits, endings, barge-in, pacing.
 */
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CallRejectedError } from '../../../../src/call/call-errors.ts';
import type { CallLeg, LegEnd } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { signJoinToken } from '../../../../src/core/join-token.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { startWsHarness, type WsHarness, type WsHarnessOptions } from '../../../support/ws-harness.ts';
import { RefusedError, sleep, tone, toneShare, WsTestClient } from '../../../support/ws-test-client.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function harness(options: WsHarnessOptions): Promise<WsHarness> {
  const h = await startWsHarness(options);
  cleanup.push(() => h.close());
  return h;
}

async function connect(url: string, options?: WebSocket.ClientOptions): Promise<WsTestClient> {
  const c = await WsTestClient.connect(url, options);
  cleanup.push(() => c.close());
  return c;
}

/** A call layer that runs echo on every leg and keeps the legs for the test. */
function echoCalls() {
  const legs = new Map<string, CallLeg>();
  const joinCall = async (callId: string, leg: CallLeg): Promise<void> => {
    legs.set(callId, leg);
    await runEcho(leg, silentLogger());
  };
  return { legs, joinCall };
}

/** A call layer that answers and hands the leg to the test. */
function manualCalls() {
  const waiting: Array<(leg: CallLeg) => void> = [];
  const joined: CallLeg[] = [];
  const joinCall = async (_callId: string, leg: CallLeg): Promise<void> => {
    await leg.answer();
    joined.push(leg);
    waiting.shift()?.(leg);
  };
  const nextLeg = (): Promise<CallLeg> => {
    const ready = joined.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => waiting.push((leg) => resolve(joined.splice(joined.indexOf(leg), 1)[0] as CallLeg)));
  };
  return { joinCall, nextLeg };
}

async function refusal(url: string): Promise<RefusedError> {
  try {
    const c = await WsTestClient.connect(url);
    await c.close();
  } catch (err) {
    if (err instanceof RefusedError) return err;
    throw err;
  }
  throw new Error('the upgrade was accepted');
}

const frames = (samples: Int16Array, rate: number): Int16Array[] => {
  const n = rate / 50;
  const out: Int16Array[] = [];
  for (let i = 0; i < samples.length; i += n) out.push(samples.subarray(i, i + n));
  return out;
};

describe('WebSocket medium: audio', () => {
  it('carries audio both ways at 8, 16, 24 and 48 kHz (echo: the same samples come back)', async () => {
    const echo = echoCalls();
    const h = await harness({
      joinCall: echo.joinCall,
      callFormat: (callId) => {
        const rate = Number(callId.split('-')[1]) as 8000 | 16000 | 24000 | 48000;
        return { inputSampleRate: rate, outputSampleRate: rate };
      },
    });
    for (const rate of [8000, 16000, 24000, 48000]) {
      const client = await connect(h.joinUrl(`call-${rate}`));
      const started = await client.next('call_started');
      expect(started).toMatchObject({ callId: `call-${rate}`, inputSampleRate: rate, outputSampleRate: rate });
      const sent = tone(rate, 400, 440);
      for (const f of frames(sent, rate)) client.sendPcm(f);
      await client.audio(sent.byteLength);
      expect(Array.from(client.receivedSamples())).toEqual(Array.from(sent));
      const stats = echo.legs.get(`call-${rate}`)?.mediaStats();
      expect(stats).toMatchObject({ framesIn: 20, framesOut: 20 });
      await client.close();
    }
  });

  it('converts between different input and output rates (8 kHz in, 48 kHz out), the format from the joinUrl', async () => {
    const echo = echoCalls();
    const h = await harness({ joinCall: echo.joinCall });
    const client = await connect(h.joinUrl('x', { inputSampleRate: 8000, outputSampleRate: 48000 }));
    expect(await client.next('call_started')).toMatchObject({ inputSampleRate: 8000, outputSampleRate: 48000 });
    // Odd-sized messages: the medium re-frames them into 20 ms.
    const sent = tone(8000, 600, 440);
    const bytes = Buffer.from(sent.buffer);
    for (let at = 0; at < bytes.length; at += 333) client.ws.send(bytes.subarray(at, at + 333), { binary: true });
    await client.audio(sent.length * 6 * 2 - 2000, 5000);
    const got = client.receivedSamples();
    expect(toneShare(got.subarray(2000), 48000, 440)).toBeGreaterThan(0.9);
    expect(echo.legs.get('x')?.inputFormat).toEqual({ sampleRate: 8000, encoding: 'pcm_s16le' });
    expect(await refusal(h.joinUrl('y', { inputSampleRate: 11025 }))).toMatchObject({ status: 400 });
  });

  it('paces outbound audio in real time: never more than the lead ahead, never dumped', async () => {
    const calls = manualCalls();
    const h = await harness({ joinCall: calls.joinCall, settings: { outboundLeadMs: 60, outboundBufferMs: 500 } });
    const client = await connect(h.joinUrl('pace'));
    const leg = await calls.nextLeg();
    const t0 = performance.now();
    // A producer far faster than real time: 3 s in 100 ms pieces, each write waiting for room.
    for (let i = 0; i < 30; i++) await leg.write({ samples: tone(16000, 100, 300, 6000, i * 1600), sampleRate: 16000, timestamp: 0 });
    const writeDone = performance.now() - t0;
    await client.audio(3 * 16000 * 2, 6000);
    const first = client.frames[0]?.at ?? 0;
    let cumulative = 0;
    let maxAhead = -Infinity;
    const gaps: number[] = [];
    client.frames.forEach((f, i) => {
      cumulative += f.bytes.byteLength / 32;
      maxAhead = Math.max(maxAhead, cumulative - (f.at - first));
      if (i > 0) gaps.push(f.at - (client.frames[i - 1]?.at ?? 0));
    });
    const span = (client.frames.at(-1)?.at ?? 0) - first;
    gaps.sort((a, b) => a - b);
    const p50 = gaps[Math.floor(gaps.length / 2)] ?? 0;
    // Lead of 60 ms plus one frame of timer granularity at most.
    expect(maxAhead).toBeLessThanOrEqual(60 + 20);
    expect(span).toBeGreaterThan(3000 - 60 - 40);
    expect(p50).toBeGreaterThan(15);
    expect(p50).toBeLessThan(25);
    // write() waited for room: it cannot finish before all but the buffer and the lead were sent.
    expect(writeDone).toBeGreaterThan(3000 - 500 - 60 - 100);
    await leg.drained();
    const pos = leg.outputPosition();
    expect(pos.writtenMs).toBe(3000);
    expect(pos.playedMs).toBe(3000);
  });
});

describe('WebSocket medium: tokens', () => {
  it('refuses a reused, expired, forged, missing or wrong-family token before any audio flows', async () => {
    let wallMs = Date.now();
    let joins = 0;
    const h = await harness({
      joinCall: async (_id, leg) => {
        joins++;
        await leg.answer();
      },
      control: { attachControl: () => undefined, hangupCall: async () => false },
      now: () => wallMs,
    });
    const url = h.joinUrl('c1');
    const ok = await connect(url);
    await ok.next('call_started');
    expect(joins).toBe(1);
    expect(await refusal(url)).toMatchObject({ status: 401, body: expect.stringContaining('CR_JOIN_TOKEN_REUSED') });

    const late = h.joinUrl('c2');
    wallMs += 61_000;
    expect(await refusal(late)).toMatchObject({ status: 401, body: expect.stringContaining('CR_JOIN_TOKEN_EXPIRED') });
    wallMs = Date.now();

    const forged = new URL(h.joinUrl('c3'));
    const [payload, sig] = (forged.searchParams.get('token') ?? '').split('.') as [string, string];
    forged.searchParams.set('token', `${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    expect(await refusal(forged.toString())).toMatchObject({ status: 401, body: expect.stringContaining('CR_JOIN_TOKEN_FORGED') });
    const otherKey = signJoinToken('x'.repeat(32), { callId: 'c3', exp: Math.floor(Date.now() / 1000) + 60, jti: 'j1' });
    expect(await refusal(`ws://127.0.0.1:${h.port}/ws/join?token=${otherKey}`)).toMatchObject({ status: 401, body: expect.stringContaining('FORGED') });
    expect(await refusal(`ws://127.0.0.1:${h.port}/ws/join`)).toMatchObject({ status: 401, body: expect.stringContaining('CR_JOIN_TOKEN_MISSING') });
    expect(await refusal(`ws://127.0.0.1:${h.port}/ws/join?token=..`)).toMatchObject({ status: 401, body: expect.stringContaining('MALFORMED') });
    // A control token does not open the audio endpoint, nor a join token the control socket.
    const control = h.controlTokens.issue('c4').token;
    expect(await refusal(`ws://127.0.0.1:${h.port}/ws/join?token=${control}`)).toMatchObject({ status: 401, body: expect.stringContaining('FORGED') });
    const join = h.joinTokens.issue('c4').token;
    expect(await refusal(`ws://127.0.0.1:${h.port}/ws/control?token=${join}`)).toMatchObject({ status: 401, body: expect.stringContaining('FORGED') });
    expect(await refusal(`${h.controlUrl('c5').replace('callId=c5', 'callId=c6')}`)).toMatchObject({ status: 403 });
    expect(await refusal(`ws://127.0.0.1:${h.port}/elsewhere`)).toMatchObject({ status: 404 });
    // A broken handshake is refused before its token is looked at: the token still works afterwards.
    const kept = h.joinUrl('c7');
    const bad = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(kept.replace('ws://', 'http://'), { headers: { upgrade: 'websocket', connection: 'Upgrade' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('CR_WS_BAD_HANDSHAKE');
    const late7 = await connect(kept);
    await late7.next('call_started');
    expect(joins).toBe(2);
  });

  it('a call the call layer refuses gets call_rejected and call_ended, and closes', async () => {
    const h = await harness({
      joinCall: async () => {
        throw new CallRejectedError('CR_CALL_NOT_FOUND', 404, 'no call is waiting for this client');
      },
    });
    const client = await connect(h.joinUrl('gone'));
    expect(await client.next('error')).toMatchObject({ code: 'call_rejected', detail: 'CR_CALL_NOT_FOUND' });
    expect(await client.next('call_ended')).toMatchObject({ reason: 'rejected' });
    expect((await client.closed).code).toBe(1008);
  });
});

describe('WebSocket medium: messages and endings', () => {
  it('forwards session events, answers ping, and ends on hang_up', async () => {
    const calls = manualCalls();
    const h = await harness({ joinCall: calls.joinCall });
    const client = await connect(h.joinUrl('ev'));
    const leg = await calls.nextLeg();
    leg.onSessionEvent?.({ type: 'state', state: 'listening' });
    leg.onSessionEvent?.({ type: 'transcript', role: 'user', text: 'hel', final: false, atMs: 10 });
    leg.onSessionEvent?.({ type: 'transcript', role: 'assistant', text: 'Hello there', final: true, atMs: 20, interrupted: true });
    leg.onSessionEvent?.({ type: 'tool_started', toolCallId: 't', name: 'x', atMs: 1 });
    expect(await client.next('state')).toMatchObject({ state: 'listening' });
    await client.next('transcript', 2000, (m) => m['final'] === true);
    expect(client.all('transcript').map(({ at: _at, ...m }) => m)).toEqual([
      { type: 'transcript', role: 'user', text: 'hel', final: false, atMs: 10 },
      { type: 'transcript', role: 'assistant', text: 'Hello there', final: true, atMs: 20, interrupted: true },
    ]);
    client.sendJson({ type: 'ping', timestamp: 1234.5 });
    expect(await client.next('pong')).toMatchObject({ timestamp: 1234.5 });
    expect(client.all('tool_started')).toEqual([]);
    client.sendJson({ type: 'hang_up' });
    expect(await client.next('call_ended')).toMatchObject({ reason: 'remote-hangup' });
    expect(await leg.ended).toEqual({ reason: 'remote-hangup', detail: 'client sent hang_up' });
    expect((await client.closed).code).toBe(1000);
  });

  it('answers malformed messages with an error and the call goes on', async () => {
    const echo = echoCalls();
    const h = await harness({ joinCall: echo.joinCall });
    const client = await connect(h.joinUrl('bad'));
    await client.next('call_started');
    client.sendText('{"type":');
    client.sendText('[1,2,3]');
    client.sendJson({ type: 'dance' });
    client.sendJson({ type: 'client_tool_result' });
    client.sendJson({ type: 'client_tool_result', invocationId: 'never-sent', result: 'x' });
    client.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    await client.next('error', 2000, () => client.all('error').length >= 6);
    expect(client.all('error').map((m) => m['code'])).toEqual([
      'malformed_message',
      'malformed_message',
      'unknown_message_type',
      'invalid_message',
      'unknown_invocation',
      'malformed_message',
    ]);
    const sent = tone(16000, 100, 500);
    for (const f of frames(sent, 16000)) client.sendPcm(f);
    await client.audio(sent.byteLength);
    expect(echo.legs.get('bad')?.mediaStats()).toMatchObject({ malformed: 5 });
  });

  it('audio before call_started is dropped, said once', async () => {
    let leg: CallLeg | undefined;
    const h = await harness({
      joinCall: async (_id, l) => {
        leg = l;
        await sleep(300);
        await runEcho(l, silentLogger());
      },
    });
    const client = await connect(h.joinUrl('early'));
    for (let i = 0; i < 5; i++) client.sendPcm(tone(16000, 20, 440));
    expect(await client.next('error')).toMatchObject({ code: 'unexpected_audio' });
    await client.next('call_started');
    const sent = tone(16000, 100, 440);
    client.sendPcm(sent);
    await client.audio(sent.byteLength);
    expect(client.all('error')).toHaveLength(1);
    expect(client.receivedBytes).toBe(sent.byteLength);
    expect(leg?.mediaStats()).toMatchObject({ droppedBeforeAnswer: 5, framesIn: 5 });
  });

  it('caps message rate (dropped and reported once) and message size (1009, the call ends with a detail)', async () => {
    const echo = echoCalls();
    const h = await harness({ joinCall: echo.joinCall, settings: { maxMessagesPerSecond: 20, maxMessageBytes: 4096 } });
    const client = await connect(h.joinUrl('flood'));
    await client.next('call_started');
    for (let i = 0; i < 60; i++) client.sendPcm(new Int16Array(16));
    expect(await client.next('error')).toMatchObject({ code: 'rate_limited' });
    await sleep(300);
    expect(client.all('error')).toHaveLength(1);
    const stats = echo.legs.get('flood')?.mediaStats();
    expect(stats?.['rateLimited']).toBeGreaterThanOrEqual(35);

    client.ws.send(Buffer.alloc(5000), { binary: true });
    expect((await client.closed).code).toBe(1009);
    const end = (await echo.legs.get('flood')?.ended) as LegEnd;
    expect(end.reason).toBe('error');
    expect(end.detail).toMatch(/maxMessageBytes/);
  });

  it('a client that vanishes, closes, or stops answering pings ends the call cleanly with a reason and detail', async () => {
    const calls = manualCalls();
    const h = await harness({ joinCall: calls.joinCall, settings: { pingIntervalMs: 1000 } });

    const vanishing = await connect(h.joinUrl('v1'));
    const leg1 = await calls.nextLeg();
    await vanishing.next('call_started');
    // Audio queued for it when it goes: the write resolves, nothing is left waiting.
    const writing = leg1.write({ samples: new Int16Array(16000 * 3), sampleRate: 16000, timestamp: 0 });
    vanishing.ws.terminate();
    const end1 = await leg1.ended;
    expect(end1.reason).toBe('error');
    expect(end1.detail).toMatch(/connection lost/);
    await writing;
    expect(leg1.clientTools?.connected).toBe(false);

    const closing = await connect(h.joinUrl('v2'));
    const leg2 = await calls.nextLeg();
    await closing.next('call_started');
    closing.ws.close(1000);
    expect(await leg2.ended).toEqual({ reason: 'remote-hangup', detail: 'client closed the connection (code 1000)' });

    const silent = await connect(h.joinUrl('v3'), { autoPong: false });
    const leg3 = await calls.nextLeg();
    const t0 = performance.now();
    const end3 = await leg3.ended;
    expect(end3).toEqual({ reason: 'error', detail: 'client stopped answering pings' });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect((await silent.closed).code).toBe(1006);
    expect(h.endpoints.connections).toBe(0);
  });

  it('barge-in: clearOutput drops queued audio and the client gets playback_clear_buffer once', async () => {
    const calls = manualCalls();
    const h = await harness({ joinCall: calls.joinCall, settings: { outboundLeadMs: 60 } });
    const client = await connect(h.joinUrl('barge'));
    const leg = await calls.nextLeg();
    const speech = new AbortController();
    const speaking = (async () => {
      for (let i = 0; i < 30 && !speech.signal.aborted; i++) {
        await leg.write({ samples: tone(16000, 100, 300, 6000, i * 1600), sampleRate: 16000, timestamp: 0 }, speech.signal);
      }
    })();
    await client.audio(16000 * 2 * 0.4);
    speech.abort();
    const { droppedMs } = leg.clearOutput();
    await speaking;
    const clear = await client.next('playback_clear_buffer');
    const pos = leg.outputPosition();
    expect(pos.writtenMs).toBeCloseTo(pos.playedMs, 6);
    expect(droppedMs).toBeGreaterThan(300);
    // The lead the client holds counts as dropped: played is what its real-time slots covered.
    const receivedMs = client.receivedBytes / 32;
    expect(pos.playedMs).toBeLessThanOrEqual(receivedMs);
    expect(receivedMs - pos.playedMs).toBeLessThanOrEqual(60 + 20);
    await sleep(200);
    expect(client.frames.filter((f) => f.at > clear.at)).toHaveLength(0);
    // The session's barge_in event after its own clearOutput sends nothing more; alone it clears.
    leg.onSessionEvent?.({ type: 'barge_in', atMs: 0, droppedMs });
    await sleep(100);
    expect(client.all('playback_clear_buffer')).toHaveLength(1);
    await leg.write({ samples: tone(16000, 200, 300), sampleRate: 16000, timestamp: 0 });
    await client.audio(client.receivedBytes + 1000);
    leg.onSessionEvent?.({ type: 'barge_in', atMs: 0, droppedMs: 0 });
    await client.next('playback_clear_buffer', 2000, () => client.all('playback_clear_buffer').length === 2);
    expect(leg.mediaStats()['playbackClears']).toBe(2);
  });

  it('hangup from the session sends call_ended and closes; the gateway shutting down ends calls with 1001', async () => {
    const calls = manualCalls();
    const h = await harness({ joinCall: calls.joinCall });
    const a = await connect(h.joinUrl('a'));
    const legA = await calls.nextLeg();
    await legA.hangup();
    expect(await a.next('call_ended')).toMatchObject({ reason: 'local-hangup' });
    expect((await a.closed).code).toBe(1000);
    const b = await connect(h.joinUrl('b'));
    const legB = await calls.nextLeg();
    // A client that completes the handshake and then never answers anything (not even the close frame).
    const url = new URL(h.joinUrl('c'));
    const raw = tcpConnect(h.port, '127.0.0.1');
    cleanup.push(() => void raw.destroy());
    raw.resume();
    raw.write(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const legC = await calls.nextLeg();
    const rawClosed = new Promise((resolve) => raw.once('close', resolve));
    const t0 = performance.now();
    await h.endpoints.close();
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(await legB.ended).toMatchObject({ reason: 'local-hangup', detail: 'gateway shutting down' });
    expect(await legC.ended).toMatchObject({ reason: 'local-hangup', detail: 'gateway shutting down' });
    expect((await b.closed).code).toBe(1001);
    await rawClosed;
    expect(h.endpoints.connections).toBe(0);
  });
});
