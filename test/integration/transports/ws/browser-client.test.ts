/**
 * The browser client in real headless Chromium: the page served by Callroom (/client/) joins a WebSocket
 * call with a fake microphone (a speech fixture), sends 16 kHz audio through its AudioWorklet, plays the
 * audio that comes back through its jitter buffer, shows the session's state and transcripts, and answers a
 * client tool from its form. A screenshot is saved to test-artifacts/browser-client.png.
 *
 * The session is one injected function (`session` below). Today it is echo plus scripted events and a
 * scripted model calling one client tool; when the call session lands, pass the full offline agent
 * pipeline's JoinCall instead and change the expectations on the transcript.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLeg, LegEnd } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ScriptedLlm } from '../../../../src/providers/mock/scripted-llm.ts';
import { clientTool } from '../../../../src/room/client-tool.ts';
import { runToolLoop } from '../../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../../src/room/tool-set.ts';
import type { JoinCall } from '../../../../src/transports/ws/ws-endpoints.ts';
import { CallManager } from '../../../../src/call/call-manager.ts';
import { FliteTts } from '../../../../src/providers/flite/flite-tts.ts';
import { PocketsphinxStt } from '../../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { SileroVad } from '../../../../src/vad/silero-vad.ts';
import { testAgent } from '../../../support/test-agent.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { FIXTURES_DIR, REPO_ROOT } from '../../../support/fixture-paths.ts';
import { startWsHarness } from '../../../support/ws-harness.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const MIC_WAV = join(FIXTURES_DIR, 'speech', 'order-status-kal16.wav');

interface SessionRecord {
  leg?: CallLeg;
  /** RMS of each 20 ms frame the session received from the browser. */
  readonly inboundRms: number[];
}

/**
 * Echo, plus the events a session sends: `listening`, the caller's transcript (scripted), `thinking`, a
 * client tool through a real tool loop on this connection, the agent's answer quoting the tool result.
 */
function scriptedEchoSession(record: SessionRecord): JoinCall {
  return async (_callId, leg) => {
    record.leg = leg;
    leg.onFrame((f) => {
      let sum = 0;
      for (const v of f.samples) sum += v * v;
      record.inboundRms.push(Math.sqrt(sum / f.samples.length));
    });
    const echo = runEcho(leg, silentLogger());
    leg.onSessionEvent?.({ type: 'state', state: 'listening' });
    while (record.inboundRms.length < 50) {
      if ((await Promise.race([leg.ended.then(() => 'ended'), new Promise((r) => setTimeout(r, 20))])) === 'ended') return;
    }
    leg.onSessionEvent?.({ type: 'transcript', role: 'user', text: 'I would like', final: false, atMs: 900 });
    leg.onSessionEvent?.({ type: 'transcript', role: 'user', text: 'I would like to check the status of my order.', final: true, atMs: 1000 });
    leg.onSessionEvent?.({ type: 'state', state: 'thinking' });
    const connection = leg.clientTools;
    if (connection === undefined) throw new Error('the WebSocket leg carries client tools');
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'show_order', arguments: { orderNumber: '4567' } } }],
        (request) => `The app says: ${request.messages.filter((m) => m.role === 'tool').at(-1)?.content ?? 'nothing'}`,
      ],
    });
    const result = await runToolLoop({
      provider: llm,
      messages: [{ role: 'user', content: 'I would like to check the status of my order.' }],
      tools: new ToolSet([
        clientTool({ name: 'show_order', description: 'Show an order in the app', dynamicParameters: [{ name: 'orderNumber', location: 'body', type: 'string' }] }, connection),
      ]),
    });
    leg.onSessionEvent?.({ type: 'state', state: 'speaking' });
    leg.onSessionEvent?.({ type: 'transcript', role: 'assistant', text: result.finalText, final: true, atMs: 2000 });
    leg.onSessionEvent?.({ type: 'state', state: 'listening' });
    await echo;
  };
}

interface PageState {
  stats: { framesSent: number; framesReceived: number; micPeak: number; contextRate: number; playback: { played: number; peak: number; underruns: number } | null };
  state: string;
  ended: { reason: string } | null;
  error: string | null;
}

/** The little of the page's globals the test reads. */
interface PageElement {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { contains(name: string): boolean };
}
interface PageGlobals {
  readonly callroom: PageState;
  readonly document: { querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> };
}

describe('browser client (headless Chromium)', () => {
  it('joins, streams the microphone at 16 kHz, plays the echo, shows state and transcript, answers a client tool', { timeout: 120_000 }, async () => {
    const record: SessionRecord = { inboundRms: [] };
    const session: JoinCall = scriptedEchoSession(record);
    const h = await startWsHarness({ joinCall: session });
    cleanup.push(() => h.close());
    const browser = await launchChromium({ fakeAudioWav: MIC_WAV });
    cleanup.push(() => browser.close());
    const page = await browser.context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.url()}`);
    });

    await page.goto(`${h.httpBase}/client/?joinUrl=${encodeURIComponent(h.joinUrl('browser-call'))}`);
    await page.click('#join');
    // Page-side functions see the page through `globalThis` (this project compiles without the DOM library);
    // they run through the DevTools protocol, so the page's CSP (no eval) stays on.
    const read = (): Promise<PageState> => page.evaluate(() => (globalThis as unknown as PageGlobals).callroom);

    // The client tool reaches the page as a card; answer it from the form.
    await page.waitForSelector('.card .send-result', { timeout: 30_000 });
    expect(await page.textContent('.card strong')).toBe('show_order');
    expect(JSON.parse((await page.textContent('.card pre')) ?? '{}')).toEqual({ orderNumber: '4567' });
    await page.fill('.card textarea', 'order 4567 shipped');
    await page.click('.card .send-result');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelector('#transcript')?.textContent?.includes('The app says: order 4567 shipped'), undefined, {
      timeout: 15_000,
    });

    // Audio both ways: the mic frames reached the session, the echo came back and played.
    await page.waitForFunction(
      () => {
        const s = (globalThis as unknown as PageGlobals).callroom.stats;
        return s.framesReceived >= 100 && (s.playback?.played ?? 0) >= 16000;
      },
      undefined,
      { timeout: 20_000 },
    );
    const st = await read();
    expect(st.error).toBeNull();
    expect(st.stats.contextRate).toBe(16000);
    expect(st.stats.framesSent).toBeGreaterThanOrEqual(100);
    expect(st.stats.micPeak).toBeGreaterThan(1000);
    expect(st.stats.playback?.peak).toBeGreaterThan(0.02);
    expect(st.state).toBe('listening');
    const leg = record.leg as CallLeg;
    expect(leg.inputFormat).toEqual({ sampleRate: 16000, encoding: 'pcm_s16le' });
    // The fixture is speech: a good share of the frames the session got carry it.
    const loud = record.inboundRms.filter((r) => r > 300).length;
    expect(loud / record.inboundRms.length).toBeGreaterThan(0.3);
    expect(await page.getAttribute('#state', 'data-state')).toBe('listening');
    const transcript = await page.evaluate(() =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#transcript li')].map((li) => ({
        role: li.dataset.role,
        text: li.textContent,
        partial: li.classList.contains('partial'),
      })),
    );
    expect(transcript).toEqual([
      { role: 'user', text: 'You: I would like to check the status of my order.', partial: false },
      { role: 'assistant', text: 'Agent: The app says: order 4567 shipped', partial: false },
    ]);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'browser-client.png'), fullPage: true });

    await page.click('#hangup');
    const end: LegEnd = await leg.ended;
    expect(end).toEqual({ reason: 'remote-hangup', detail: 'client sent hang_up' });
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).callroom.ended !== null, undefined, { timeout: 5_000 });
    expect((await read()).ended).toMatchObject({ reason: 'remote-hangup' });
    expect(consoleErrors).toEqual([]);
  });

  it('talks to an agent through the offline pipeline: the page shows the recognised question, the answer, and a client-tool round trip', { timeout: 120_000 }, async () => {
    const vad = await SileroVad.load({ version: 'v5' });
    const stt = new PocketsphinxStt({ logger: silentLogger() });
    const tts = new FliteTts({ voice: 'kal16' });
    cleanup.push(async () => {
      await vad.close();
      await stt.close();
      await tts.close();
    });
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'show_order', arguments: { orderNumber: '4567' } } }],
        (request) => `The app says ${request.messages.filter((m) => m.role === 'tool').at(-1)?.content ?? 'nothing'}.`,
      ],
    });
    const agent = testAgent({
      llm,
      stt: [stt],
      tts: [tts],
      spec: { tools: { client: [{ name: 'show_order', description: 'Show an order in the app', dynamicParameters: [{ name: 'orderNumber', type: 'string', required: true }] }] } },
    });
    const manager = new CallManager({ resolveAgent: async () => agent, vad, logger: silentLogger(), maxConcurrentCalls: 4, maxCallSeconds: 300 });
    cleanup.push(() => manager.hangupAll());
    const joinAgent: JoinCall = (callId, leg) => manager.runLeg(leg, { direction: 'inbound', from: 'browser', to: 'agent', dialled: 'agent' }, agent, callId);
    const h = await startWsHarness({ joinCall: joinAgent });
    cleanup.push(() => h.close());
    // The fake microphone says the question once (no loop), after the page joined.
    const browser = await launchChromium({ fakeAudioWav: `${MIC_WAV}%noloop` });
    cleanup.push(() => browser.close());
    const page = await browser.context.newPage();
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${h.httpBase}/client/?joinUrl=${encodeURIComponent(h.joinUrl('agent-call'))}`);
    await page.click('#join');
    // The caller's question, as pocketsphinx recognised it, shows in the transcript.
    await page.waitForFunction(
      () => [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#transcript li')].some((li) => li.dataset.role === 'user' && !li.classList.contains('partial') && (li.textContent ?? '').includes('order')),
      undefined,
      { timeout: 45_000 },
    );
    // The agent's client tool reaches the page; answer it there.
    await page.waitForSelector('.card .send-result', { timeout: 30_000 });
    expect(JSON.parse((await page.textContent('.card pre')) ?? '{}')).toEqual({ orderNumber: '4567' });
    await page.fill('.card textarea', 'order 4567 has shipped');
    await page.click('.card .send-result');
    await page.waitForFunction(
      () => [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#transcript li')].some((li) => li.dataset.role === 'assistant' && !li.classList.contains('partial') && (li.textContent ?? '').includes('order 4567 has shipped')),
      undefined,
      { timeout: 30_000 },
    );
    const transcript = await page.evaluate(() =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#transcript li')].filter((li) => !li.classList.contains('partial')).map((li) => li.textContent ?? ''),
    );
    expect(transcript[0]).toMatch(/^You: i would like to check the status of my order/);
    expect(transcript.at(-1)).toBe('Agent: The app says order 4567 has shipped.');
    // The answer was spoken into the page: its player played the agent's audio.
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).callroom.stats.playback?.played ?? 0) > 16000, undefined, { timeout: 20_000 });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'browser-agent-call.png'), fullPage: true });
    await page.click('#hangup');
    expect(consoleErrors).toEqual([]);
  });
});
