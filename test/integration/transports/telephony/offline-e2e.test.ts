/**
 * The offline end to end over two bridges: a Twilio-dialect client and an AudioSocket client each ask
 * "I would like to check the status of my order number four five six seven" (flite's voice, from the
 * fixture, sent at 8 kHz), the agent (Silero VAD, the energy STT double since narrowband defeats
 * pocketsphinx, a scripted model, flite) runs an HTTP tool against a local server, answers with what the
 * tool returned, and the answer arrives paced at real time (measured at the client). On the Twilio call an
 * application attached through the control socket also answers a client tool, as for a SIP call.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LlmRequest } from '../../../../src/providers/types.ts';
import { ScriptedLlm, type ScriptStep } from '../../../../src/providers/mock/scripted-llm.ts';
import { httpTool } from '../../../../src/room/http-tool.ts';
import { loadSpeech } from '../../../support/call-harness.ts';
import { AudioSocketClient } from '../../../support/telephony-audiosocket-client.ts';
import { type PlatformClient } from '../../../support/telephony-client.ts';
import { EnergyStt } from '../../../support/telephony-fake-stt.ts';
import { startTelephonyHarness, TEST_KEY, type TelephonyHarness } from '../../../support/telephony-harness.ts';
import { TwilioClient } from '../../../support/telephony-json-clients.ts';
import { CallerLine, loadScenarioModels, percentile, type ScenarioModels } from '../../../support/telephony-scenario.ts';
import { testAgent } from '../../../support/test-agent.ts';
import { startWsHarness } from '../../../support/ws-harness.ts';
import { WsTestClient } from '../../../support/ws-test-client.ts';

let models: ScenarioModels;
beforeAll(async () => {
  models = await loadScenarioModels();
  return () => models.close();
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const API_KEY = 'upstream-secret-42';

/** The order service the HTTP tool calls, recording each request. */
async function orderService(): Promise<{ base: string; requests: Array<{ url: string; apiKey: string | undefined }> }> {
  const requests: Array<{ url: string; apiKey: string | undefined }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ url: req.url ?? '', apiKey: req.headers['x-api-key'] as string | undefined });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ orderId: '4567', status: 'out for delivery', eta: 'tomorrow' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function toolResult(req: LlmRequest, name: string): string {
  const m = req.messages.find((x) => x.role === 'tool' && x.name === name);
  return m?.role === 'tool' ? m.content : '';
}

/** The agent: check_order over HTTP, then (optionally) the client tool, then the answer from the tool's data. */
function orderAgent(base: string, withClientTool: boolean) {
  const turns: Array<(req: LlmRequest) => readonly ScriptStep[]> = [() => [{ toolCall: { name: 'check_order', arguments: { orderId: '4567' } } }]];
  if (withClientTool) turns.push((req) => [{ toolCall: { name: 'send_sms', arguments: { text: `Order 4567: ${String(JSON.parse(toolResult(req, 'check_order'))['status'])}` } } }]);
  turns.push((req) => [{ text: `Your order is ${String(JSON.parse(toolResult(req, 'check_order'))['status'])}, arriving tomorrow.` }]);
  const llm = new ScriptedLlm({ turns: turns.map((t) => (req: LlmRequest) => t(req)), fallback: 'Okay.' });
  const stt = new EnergyStt({ transcripts: ['i would like to check the status of my order number four five six seven'] });
  const checkOrder = httpTool({
    name: 'check_order',
    description: 'Look up an order',
    httpMethod: 'GET',
    baseUrlPattern: `${base}/orders/{orderId}`,
    dynamicParameters: [{ name: 'orderId', location: 'path', type: 'string', required: true }],
    automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: API_KEY }],
  });
  const agent = testAgent({
    llm,
    stt: [stt],
    tts: [models.tts],
    tools: [checkOrder],
    spec: {
      turn: { fillers: [] },
      tools: withClientTool ? { client: [{ name: 'send_sms', description: 'Text the caller', dynamicParameters: [{ name: 'text', type: 'string', required: true }] }] } : {},
    },
  });
  return { agent, llm };
}

/** Ask the question, wait for the whole answer, and measure how it arrived. */
async function ask(h: TelephonyHarness, client: PlatformClient): Promise<{ gaps: number[]; leadMs: number; replyMs: number }> {
  await client.start();
  await h.event((e) => e.event.type === 'answered');
  const line = new CallerLine(client);
  line.start();
  cleanup.push(() => line.stop());
  await new Promise((r) => setTimeout(r, 300));
  const asked = performance.now();
  await line.say(loadSpeech('order-status-kal16.wav', client.rate));
  const done = await h.event((e) => e.event.type === 'transcript' && e.event.role === 'assistant' && e.event.final, 15_000);
  // The session listens again once the answer has played out.
  const at = h.events.indexOf(done);
  await h.event((e) => e.event.type === 'state' && e.event.state === 'listening' && h.events.indexOf(e) > at, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  const reply = client.heard.filter((f) => f.at > asked + 4000);
  const gaps: number[] = [];
  let leadMs = 0;
  let got = 0;
  const first = reply[0]?.at ?? 0;
  reply.forEach((f, i) => {
    got += f.ms;
    leadMs = Math.max(leadMs, got - (f.at - first));
    if (i > 0) gaps.push(f.at - (reply[i - 1] as { at: number }).at);
  });
  line.stop();
  return { gaps, leadMs, replyMs: got };
}

describe('offline end to end over the telephony bridges', () => {
  it('Twilio: the question is heard, the HTTP tool and a control-socket client tool run, the answer is paced', async () => {
    const upstream = await orderService();
    const { agent, llm } = orderAgent(upstream.base, true);
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/twilio', dialect: 'twilio', apiKeys: [TEST_KEY] }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const manager = h.manager;
    if (manager === undefined) throw new Error('no manager');
    // The application's control socket, on the WebSocket medium's endpoint, attached to the bridged call by its id.
    const control = await startWsHarness({
      joinCall: async () => {
        throw new Error('no joins here');
      },
      control: { attachControl: manager.attachControl, hangupCall: manager.hangup },
    });
    cleanup.push(() => control.close());
    const client = new TwilioClient(h.wsUrl('/twilio'), { token: TEST_KEY });
    cleanup.push(() => client.close());
    const callId = `twilio-${client.callSid}`;
    const app = (async () => {
      await h.event((e) => e.event.type === 'answered');
      const ws = await WsTestClient.connect(control.controlUrl(callId));
      cleanup.push(() => ws.close());
      const inv = await ws.next('client_tool_invocation', 20_000);
      ws.sendJson({ type: 'client_tool_result', invocationId: inv['invocationId'], result: '{"sent":true}' });
      return inv;
    })();
    const r = await ask(h, client);
    expect(await app).toMatchObject({ toolName: 'send_sms', parameters: { text: 'Order 4567: out for delivery' } });
    expect(upstream.requests).toEqual([{ url: '/orders/4567', apiKey: API_KEY }]);
    const said = h.events.map((e) => e.event).find((e) => e.type === 'transcript' && e.role === 'assistant' && e.final);
    expect(said).toMatchObject({ text: 'Your order is out for delivery, arriving tomorrow.' });
    expect(h.events.filter((e) => e.event.type === 'tool_finished').map((e) => e.event)).toMatchObject([
      { name: 'check_order', outcome: 'ok' },
      { name: 'send_sms', outcome: 'ok' },
    ]);
    expect(JSON.stringify(llm.requests[2]?.messages)).toContain('{\\"sent\\":true}');
    // Paced: 20 ms messages, the lead at the start, then one per 20 ms; the whole answer arrived.
    expect(r.replyMs).toBeGreaterThan(1500);
    expect(percentile(r.gaps, 50)).toBeGreaterThan(15);
    expect(percentile(r.gaps, 50)).toBeLessThan(25);
    expect(r.leadMs).toBeLessThanOrEqual(h.settings.playout.leadMs + 35);
    await client.hangup();
    await h.event((e) => e.event.type === 'ended');
  });

  it('AudioSocket: the same question and tool, the answer paced at real time', async () => {
    const upstream = await orderService();
    const { agent } = orderAgent(upstream.base, false);
    const h = await startTelephonyHarness({ telephony: { audiosocket: [{ host: '127.0.0.1', port: 0 }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new AudioSocketClient(h.audioSocketPort());
    cleanup.push(() => client.close());
    const r = await ask(h, client);
    expect(upstream.requests).toEqual([{ url: '/orders/4567', apiKey: API_KEY }]);
    const said = h.events.map((e) => e.event).find((e) => e.type === 'transcript' && e.role === 'assistant' && e.final);
    expect(said).toMatchObject({ text: 'Your order is out for delivery, arriving tomorrow.' });
    expect(r.replyMs).toBeGreaterThan(1500);
    expect(percentile(r.gaps, 50)).toBeGreaterThan(15);
    expect(percentile(r.gaps, 50)).toBeLessThan(25);
    // Real time: never more than about a frame ahead.
    expect(r.leadMs).toBeLessThanOrEqual(h.settings.playout.realtimeLeadMs + 40);
    await client.hangup();
    await h.event((e) => e.event.type === 'ended');
  });
});
