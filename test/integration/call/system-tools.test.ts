/**
 * The built-in tools on a real SIP call: hangUp ends the call with BYE only after the goodbye played,
 * transferCall sends REFER and reports the NOTIFY outcome to the model, playDtmf sends RFC 4733 keys,
 * and the caller's keys reach the model as text.
 */
import { describe, expect, it } from 'vitest';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import type { IncomingRefer } from '../../../src/sip/user-agent/index.ts';
import { startCallHarness, type Phone } from '../../support/call-harness.ts';
import { useOfflineSpeech } from '../../support/offline-speech.ts';
import { recognise } from '../../support/recognise.ts';
import { testAgent } from '../../support/test-agent.ts';

const offline = useOfflineSpeech();

async function call(llm: ScriptedLlm, options: { acceptRefer?: boolean } = {}): Promise<Phone> {
  offline.harness = await startCallHarness({ agent: testAgent({ llm, stt: [offline.speech.stt], tts: [offline.speech.tts] }), vad: offline.speech.vad, ...options });
  const phone = await offline.harness.dial();
  await phone.leg.answer();
  await phone.silence(200);
  return phone;
}

describe('system tools on a SIP call', () => {
  it('caller keys reach the model as text; hangUp ends the call with BYE only after the goodbye played', async () => {
    const llm = new ScriptedLlm({
      turns: [[{ text: 'Thank you for calling. Goodbye!' }, { toolCall: { name: 'hangUp', arguments: { reason: 'caller is done' } } }], 'bye'],
    });
    const phone = await call(llm);
    await phone.leg.sendDtmf('9');
    const end = await phone.leg.ended;
    const endedAt = performance.now();
    expect(end.reason).toBe('remote-hangup');
    // The model saw the key as text in the conversation.
    expect(llm.requests[0]?.messages.at(-1)).toEqual({ role: 'user', content: '[The caller pressed 9 on the keypad]' });
    // The BYE came after the last audio, and the whole goodbye was heard.
    const lastAudio = phone.lastLoudAt();
    expect(lastAudio).toBeGreaterThan(0);
    expect(endedAt).toBeGreaterThanOrEqual(lastAudio);
    expect(await recognise(phone.recording(), 16000, offline.speech.stt)).toMatch(/good ?bye/);
    const events = offline.harness?.events.map((e) => e.event) ?? [];
    expect(events).toContainEqual(expect.objectContaining({ type: 'dtmf', digit: '9' }));
    expect(events).toContainEqual({ type: 'hangup_cause', cause: 'agent-hangup', detail: 'caller is done' });
    expect(await offline.harness?.waitForEvent('ended')).toMatchObject({ end: { reason: 'local-hangup' } });
  });

  for (const outcome of [200, 486] as const) {
    it(`transferCall sends REFER and tells the model the outcome (NOTIFY ${outcome})`, async () => {
      const target = 'sip:billing@127.0.0.1:5999';
      const llm = new ScriptedLlm({
        turns: [
          [{ text: 'Transferring you now.' }, { toolCall: { name: 'transferCall', arguments: { target, reason: 'billing question' } } }],
          'The transfer did not go through, sorry.',
        ],
      });
      const phone = await call(llm, { acceptRefer: true });
      const refer = new Promise<IncomingRefer>((resolve) => phone.call.onRefer(resolve));
      await phone.leg.sendDtmf('0');
      const got = await refer;
      expect(got.target).toBe(target);
      // The REFER came after the agent's announcement had played.
      expect(phone.lastLoudAt()).toBeGreaterThan(0);
      await got.notify(100, 'Trying');
      await got.notify(outcome, outcome === 200 ? 'OK' : 'Busy Here');
      if (outcome === 200) {
        expect((await phone.leg.ended).reason).toBe('remote-hangup');
        expect(await offline.harness?.waitForEvent('ended')).toMatchObject({ end: { reason: 'transferred', transferredTo: target } });
      } else {
        await phone.waitForReply({ after: performance.now() - 100, quietMs: 800 });
        const result = llm.requests[1]?.messages.find((m) => m.role === 'tool');
        expect(result?.role === 'tool' ? JSON.parse(result.content) : undefined).toMatchObject({ status: 486 });
        expect(phone.leg.inputFormat).toBeDefined();
        await phone.leg.hangup();
      }
    });
  }

  it('playDtmf sends the keys to the caller (RFC 4733)', async () => {
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'playDtmf', arguments: { digits: '1#4' } } }], 'Done.'] });
    const phone = await call(llm);
    const keys: string[] = [];
    phone.leg.onDtmf((d) => keys.push(`${d.digit}/${d.source}`));
    await phone.leg.sendDtmf('5');
    const deadline = performance.now() + 8000;
    while (keys.length < 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(keys).toEqual(['1/rfc4733', '#/rfc4733', '4/rfc4733']);
    await phone.leg.hangup();
  });
});
