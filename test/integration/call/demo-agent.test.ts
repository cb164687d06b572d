/**
 * The default agent end to end over real SIP and RTP between two Callroom user agents: the phone asks
 * (flite fixture speech, G.722), Silero + pocketsphinx hear it, the demo agent calls its order tool, flite
 * answers, and pocketsphinx recognises the reply as recorded at the phone.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentSchema } from '../../../src/config/agent-schema.ts';
import type { AgentRuntime } from '../../../src/call/agent-runtime.ts';
import { demoTools } from '../../../src/call/demo-tools.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { DemoLlm } from '../../../src/providers/demo/demo-llm.ts';
import { FliteTts } from '../../../src/providers/flite/flite-tts.ts';
import { PocketsphinxStt } from '../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';
import { SileroVad } from '../../../src/vad/silero-vad.ts';
import { loadSpeech, startCallHarness, type CallHarness } from '../../support/call-harness.ts';
import { recognise } from '../../support/recognise.ts';

let vad: SileroVad;
let stt: PocketsphinxStt;
let tts: FliteTts;
let harness: CallHarness | undefined;

beforeAll(async () => {
  vad = await SileroVad.load({ version: 'v5' });
  stt = new PocketsphinxStt({ logger: silentLogger(), maxQueueMs: 600_000 });
  tts = new FliteTts({ voice: 'kal16' });
  return async () => {
    await vad.close();
    await stt.close();
    await tts.close();
  };
});

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function demoAgent(greeting?: string): AgentRuntime {
  const spec = agentSchema.parse({ name: 'demo', ...(greeting === undefined ? {} : { greeting }) });
  return { spec, llm: new DemoLlm(), stt: [stt], tts: [tts], tools: demoTools(), policy: ToolPolicy.permitAll() };
}

describe('the demo agent over SIP (G.722, offline pipeline)', () => {
  it('hears an order-status question, calls its tool and answers', async () => {
    harness = await startCallHarness({ agent: demoAgent('Hello.'), vad });
    const phone = await harness.dial('demo');
    await phone.leg.answer();
    expect(phone.rate).toBe(16000);
    await phone.waitForReply({ quietMs: 600 });
    const asked = performance.now();
    await phone.play(loadSpeech('order-status-kal16.wav', 16000), 16000);
    await phone.waitForReply({ after: asked + 4000, timeoutMs: 20_000 });
    const words = await recognise(phone.recording(), 16000, stt);
    // flite says "Order 4 5 6 7 is ..."; pocketsphinx often hears "four" as its homophone "for".
    expect(words).toMatch(/order/);
    expect(words).toMatch(/(four|for) five six seven/);
    const said = harness.events.find((e) => e.event.type === 'transcript' && e.event.role === 'user' && e.event.final)?.event;
    expect(said).toMatchObject({ text: expect.stringMatching(/order number (four|for) five six seven/) });
    const tools = harness.events.filter((e) => e.event.type === 'tool_finished').map((e) => e.event);
    expect(tools).toMatchObject([{ name: 'check_order_status', outcome: 'ok' }]);
    await phone.leg.hangup();
  });

  it('on a narrowband call it says it cannot hear speech and works by keypad', async () => {
    harness = await startCallHarness({ agent: demoAgent('Hello.'), vad, gatewayCodecs: ['PCMU'] });
    const phone = await harness.dial('demo');
    await phone.leg.answer();
    expect(phone.rate).toBe(8000);
    await phone.waitForReply({ quietMs: 800 });
    const stt = harness.events.map((e) => e.event).filter((e) => e.type === 'stt');
    expect(stt).toMatchObject([
      { status: { type: 'skipped', provider: 'pocketsphinx', code: 'CR_STT_NARROWBAND_UNSUPPORTED' } },
      { status: { type: 'unavailable', sampleRate: 8000 } },
    ]);
    const said = (): string[] => (harness?.events ?? []).map((e) => e.event).flatMap((e) => (e.type === 'transcript' && e.final && e.role === 'assistant' ? [e.text] : []));
    expect(said()).toContain('I cannot understand speech on this line, but I can help with the keypad.');
    let at = performance.now();
    await phone.leg.sendDtmf('1');
    await phone.waitForReply({ after: at, quietMs: 800 });
    expect(said().at(-1)).toMatch(/order number/);
    at = performance.now();
    await phone.leg.sendDtmf('4567#');
    await phone.waitForReply({ after: at, quietMs: 800 });
    expect(said().at(-1)).toMatch(/Order 4 5 6 7 is /);
    const tools = harness.events.filter((e) => e.event.type === 'tool_finished').map((e) => e.event);
    expect(tools).toMatchObject([{ name: 'check_order_status', outcome: 'ok' }]);
    await phone.leg.hangup();
  });
});
