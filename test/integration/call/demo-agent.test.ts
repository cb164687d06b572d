/**
 * The default agent end to end over real SIP and RTP between two Callroom user agents: the phone asks
 * (flite fixture speech, G.722), Silero + pocketsphinx hear it, the demo agent calls its order tool, flite
 * answers, and pocketsphinx recognises the reply as recorded at the phone.
 */
import { describe, expect, it } from 'vitest';
import { agentSchema } from '../../../src/config/agent-schema.ts';
import type { AgentRuntime } from '../../../src/call/agent-runtime.ts';
import { demoTools } from '../../../src/call/demo-tools.ts';
import { DemoLlm } from '../../../src/providers/demo/demo-llm.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';
import { loadSpeech, startCallHarness } from '../../support/call-harness.ts';
import { useOfflineSpeech } from '../../support/offline-speech.ts';
import { recognise } from '../../support/recognise.ts';

const offline = useOfflineSpeech();

function demoAgent(greeting?: string): AgentRuntime {
  const spec = agentSchema.parse({ name: 'demo', ...(greeting === undefined ? {} : { greeting }) });
  return { spec, llm: new DemoLlm(), stt: [offline.speech.stt], tts: [offline.speech.tts], tools: demoTools(), policy: ToolPolicy.permitAll() };
}

describe('the demo agent over SIP (G.722, offline pipeline)', () => {
  it('hears an order-status question, calls its tool and answers', async () => {
    offline.harness = await startCallHarness({ agent: demoAgent('Hello.'), vad: offline.speech.vad });
    const phone = await offline.harness.dial('demo');
    await phone.leg.answer();
    expect(phone.rate).toBe(16000);
    await phone.waitForReply({ quietMs: 600 });
    const asked = performance.now();
    await phone.play(loadSpeech('order-status-kal16.wav', 16000), 16000);
    await phone.waitForReply({ after: asked + 4000, timeoutMs: 20_000 });
    const words = await recognise(phone.recording(), 16000, offline.speech.stt);
    // flite says "Order 4 5 6 7 is ..."; pocketsphinx often hears "four" as its homophone "for".
    expect(words).toMatch(/order/);
    expect(words).toMatch(/(four|for) five six seven/);
    const said = offline.harness.events.find((e) => e.event.type === 'transcript' && e.event.role === 'user' && e.event.final)?.event;
    expect(said).toMatchObject({ text: expect.stringMatching(/order number (four|for) five six seven/) });
    const tools = offline.harness.events.filter((e) => e.event.type === 'tool_finished').map((e) => e.event);
    expect(tools).toMatchObject([{ name: 'check_order_status', outcome: 'ok' }]);
    await phone.leg.hangup();
  });

  it('on a narrowband call it says it cannot hear speech and works by keypad', async () => {
    offline.harness = await startCallHarness({ agent: demoAgent('Hello.'), vad: offline.speech.vad, gatewayCodecs: ['PCMU'] });
    const phone = await offline.harness.dial('demo');
    await phone.leg.answer();
    expect(phone.rate).toBe(8000);
    await phone.waitForReply({ quietMs: 800 });
    const stt = offline.harness.events.map((e) => e.event).filter((e) => e.type === 'stt');
    expect(stt).toMatchObject([
      { status: { type: 'skipped', provider: 'pocketsphinx', code: 'CR_STT_NARROWBAND_UNSUPPORTED' } },
      { status: { type: 'unavailable', sampleRate: 8000 } },
    ]);
    const said = (): string[] => (offline.harness?.events ?? []).map((e) => e.event).flatMap((e) => (e.type === 'transcript' && e.final && e.role === 'assistant' ? [e.text] : []));
    expect(said()).toContain('I cannot understand speech on this line, but I can help with the keypad.');
    let at = performance.now();
    await phone.leg.sendDtmf('1');
    await phone.waitForReply({ after: at, quietMs: 800 });
    expect(said().at(-1)).toMatch(/order number/);
    at = performance.now();
    await phone.leg.sendDtmf('4567#');
    await phone.waitForReply({ after: at, quietMs: 800 });
    expect(said().at(-1)).toMatch(/Order 4 5 6 7 is /);
    const tools = offline.harness.events.filter((e) => e.event.type === 'tool_finished').map((e) => e.event);
    expect(tools).toMatchObject([{ name: 'check_order_status', outcome: 'ok' }]);
    await phone.leg.hangup();
  });
});
