/**
 * Client tools on a SIP call through the control socket: two Callroom user agents on loopback make a real
 * SIP call; the callee side's session runs a tool loop (scripted model) whose client tool goes through the
 * call's `ControlSlot`; an application attached with a control token answers it over a real WebSocket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../../../src/call/session-events.ts';
import { validateConfig } from '../../../../src/config/load-config.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { Pacer } from '../../../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../../../src/media/rtp/port-allocator.ts';
import { ScriptedLlm } from '../../../../src/providers/mock/scripted-llm.ts';
import { clientTool } from '../../../../src/room/client-tool.ts';
import { runToolLoop, type ToolLoopResult } from '../../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../../src/room/tool-set.ts';
import { createSipUserAgent, type SipCall, type SipUserAgent } from '../../../../src/sip/user-agent/index.ts';
import type { RtpAudioLeg } from '../../../../src/transports/sip/rtp-audio-leg.ts';
import { RtpMediaFactory } from '../../../../src/transports/sip/rtp-media-factory.ts';
import { SipCallLeg } from '../../../../src/transports/sip/sip-call-leg.ts';
import { ControlSlot } from '../../../support/ws-control-slot.ts';
import { startWsHarness, type WsHarness } from '../../../support/ws-harness.ts';
import { WsTestClient } from '../../../support/ws-test-client.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function gateway(portBase: number): Promise<{ ua: SipUserAgent; port: number }> {
  const config = validateConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], codecs: ['PCMU'], trunks: [{ name: 'lo', cidrs: ['127.0.0.0/8'] }], ringing: false },
  });
  const pacer = new Pacer();
  const media = new RtpMediaFactory({
    pacer,
    ports: new PortAllocator({ min: portBase, max: portBase + 99 }),
    bindAddress: '127.0.0.1',
    advertiseAddress: '127.0.0.1',
    jitterMs: 40,
  });
  const ua = await createSipUserAgent({ config: config.sip, media, logger: silentLogger() });
  cleanup.push(() => pacer.close(), () => ua.close());
  return { ua, port: ua.endpoints()[0]?.bound.port ?? 0 };
}

interface LiveCall {
  readonly leg: SipCallLeg;
  readonly slot: ControlSlot;
}

/**
 * A SIP call answered by the callee gateway, with a live-call table standing in for the call manager
 * (attachControl, hangupCall), a control endpoint, and the caller's leg.
 */
async function sipCallWithControl(): Promise<{ h: WsHarness; live: LiveCall; callerEnded: Promise<unknown>; events: (e: SessionEvent) => void }> {
  const base = 47000 + Math.floor(Math.random() * 50) * 100;
  const callee = await gateway(base);
  const caller = await gateway(base + 5000);
  const calls = new Map<string, LiveCall>();
  const h = await startWsHarness({
    joinCall: async () => {
      throw new Error('no websocket calls here');
    },
    control: {
      attachControl: (callId, client) => calls.get(callId)?.slot.attach(client),
      hangupCall: async (callId) => {
        const call = calls.get(callId);
        if (call === undefined) return false;
        await call.leg.hangup();
        return true;
      },
    },
  });
  cleanup.push(() => h.close());
  const answered = new Promise<LiveCall>((resolve) => {
    callee.ua.onCall((call: SipCall) => {
      const leg = new SipCallLeg(call, call.media as RtpAudioLeg);
      const live = { leg, slot: new ControlSlot() };
      calls.set(leg.id, live);
      // The session's end reaches the application, as the lead's session emits it.
      void leg.ended.then((end) => {
        live.slot.sessionEvent({ type: 'ended', end, atMs: 0 });
        calls.delete(leg.id);
      });
      void leg.answer().then(() => resolve(live));
    });
  });
  const out = await caller.ua.dial({ target: `sip:agent@127.0.0.1:${callee.port}` });
  const live = await answered;
  cleanup.push(() => out.hangup().catch(() => undefined));
  return { h, live, callerEnded: out.ended, events: (e) => live.slot.sessionEvent(e) };
}

function lookupLoop(live: LiveCall, llm: ScriptedLlm): Promise<ToolLoopResult> {
  const tool = clientTool(
    { name: 'lookup_account', description: 'Look the caller up in the CRM', dynamicParameters: [{ name: 'phone', location: 'body', type: 'string' }] },
    live.slot,
  );
  return runToolLoop({ provider: llm, messages: [{ role: 'user', content: 'who am I' }], tools: new ToolSet([tool]) });
}

describe('SIP control socket', () => {
  it('an application attached to a live SIP call answers its client tool and receives its events', async () => {
    const { h, live, callerEnded, events } = await sipCallWithControl();
    const app = await WsTestClient.connect(h.controlUrl(live.leg.id));
    cleanup.push(() => app.close());
    expect(await app.next('call_started')).toMatchObject({ callId: live.leg.id });
    expect(live.slot.connected).toBe(true);

    events({ type: 'state', state: 'thinking' });
    events({ type: 'transcript', role: 'user', text: 'who am I', final: true, atMs: 5 });
    expect(await app.next('state')).toMatchObject({ state: 'thinking' });
    expect(await app.next('transcript')).toMatchObject({ role: 'user', text: 'who am I', final: true });

    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'lookup_account', arguments: { phone: '+4712345678' } } }], 'You are Kari.'] });
    const loop = lookupLoop(live, llm);
    const inv = await app.next('client_tool_invocation');
    expect(inv).toMatchObject({ toolName: 'lookup_account', parameters: { phone: '+4712345678' } });
    app.sendJson({ type: 'client_tool_result', invocationId: inv['invocationId'], result: '{"name":"Kari"}' });
    const r = await loop;
    expect(r.messages.find((m) => m.role === 'tool')?.content).toBe('{"name":"Kari"}');
    expect(r.finalText).toBe('You are Kari.');

    // hang_up from the application ends the SIP call: the caller sees the BYE, the application call_ended.
    app.sendJson({ type: 'hang_up' });
    expect(await callerEnded).toMatchObject({ reason: 'remote-bye' });
    expect(await live.leg.ended).toMatchObject({ reason: 'local-hangup' });
    expect(await app.next('call_ended')).toMatchObject({ reason: 'local-hangup' });
    expect((await app.closed).code).toBe(1000);
  });

  it('with no control socket attached, a client tool fails at once with a clear error', async () => {
    const { live } = await sipCallWithControl();
    expect(live.slot.connected).toBe(false);
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'lookup_account', arguments: {} } }], 'I could not look you up.'] });
    const t0 = performance.now();
    const r = await lookupLoop(live, llm);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(JSON.parse(r.messages.find((m) => m.role === 'tool')?.content ?? '{}')).toEqual({ error: 'the client is not connected', tool: 'lookup_account' });
  });

  it('a control socket that closes with an invocation pending gives the model an error; a gone call is refused', async () => {
    const { h, live } = await sipCallWithControl();
    const app = await WsTestClient.connect(h.controlUrl(live.leg.id));
    cleanup.push(() => app.close());
    await app.next('call_started');
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'lookup_account', arguments: {} } }], 'Sorry.'] });
    const loop = lookupLoop(live, llm);
    await app.next('client_tool_invocation');
    app.ws.terminate();
    const r = await loop;
    expect(JSON.parse(r.messages.find((m) => m.role === 'tool')?.content ?? '{}').error).toBe('the client disconnected before answering');
    expect(live.slot.connected).toBe(false);

    // Audio on the control socket is refused with an error; a call id with no live call closes the socket.
    const again = await WsTestClient.connect(h.controlUrl(live.leg.id));
    cleanup.push(() => again.close());
    await again.next('call_started');
    again.sendPcm(new Int16Array(160));
    expect(await again.next('error')).toMatchObject({ code: 'unexpected_audio' });
    const nobody = await WsTestClient.connect(h.controlUrl('no-such-call'));
    expect(await nobody.next('error')).toMatchObject({ code: 'call_not_found' });
    expect((await nobody.closed).code).toBe(1008);
  });
});
