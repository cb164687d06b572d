/**
 * The `realtime` section of an agent and the runtime the builder makes of it: the vendor adapter from the
 * agent's or the providers' credentials, a clear refusal without them, Gemini without semantic VAD, and no
 * demo tools on a speech-to-speech agent.
 */
import { describe, expect, it } from 'vitest';
import { agentSchema } from '../../../../src/config/agent-schema.ts';
import { validateConfig } from '../../../../src/config/load-config.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { AgentBuilder } from '../../../../src/wiring/agent-builder.ts';

const builder = (providers: Record<string, unknown>) =>
  new AgentBuilder({ config: validateConfig({ providers }), speech: { stt: new Map(), tts: new Map(), close: async () => undefined }, logger: silentLogger() });

describe('agent realtime config', () => {
  it('defaults: server VAD, reconnect on drop; absent means the cascade', () => {
    expect(agentSchema.parse({ name: 'a', realtime: { provider: 'openai' } }).realtime).toEqual({ provider: 'openai', turnDetection: 'server_vad', onDrop: 'reconnect' });
    expect(agentSchema.parse({ name: 'a' }).realtime).toBeUndefined();
  });

  it('refuses semantic_vad for Gemini and unknown keys', () => {
    expect(agentSchema.safeParse({ name: 'a', realtime: { provider: 'gemini', turnDetection: 'semantic_vad' } }).success).toBe(false);
    expect(agentSchema.safeParse({ name: 'a', realtime: { provider: 'openai', temperature: 1 } }).success).toBe(false);
    expect(agentSchema.safeParse({ name: 'a', realtime: { provider: 'azure' } }).success).toBe(false);
  });

  it('builds the OpenAI and Gemini adapters from the providers section, without the demo tools', async () => {
    const b = builder({ openaiRealtime: { apiKey: 'sk-1' }, geminiLive: { apiKey: 'g-1' } });
    const oa = await b.build(agentSchema.parse({ name: 'o', realtime: { provider: 'openai', voice: 'marin' } }));
    expect(oa.realtime?.name).toBe('openai-realtime');
    expect(oa.realtime?.capabilities.inputFormats).toContainEqual({ encoding: 'mulaw', sampleRate: 8000 });
    expect(oa.tools).toEqual([]);
    const gm = await b.build(agentSchema.parse({ name: 'g', realtime: { provider: 'gemini' } }));
    expect(gm.realtime?.name).toBe('gemini-live');
    const cascade = await b.build(agentSchema.parse({ name: 'c' }));
    expect(cascade.realtime).toBeUndefined();
    expect(cascade.tools.map((t) => t.definition.name)).toContain('check_order_status');
  });

  it('an agent key works without a providers section; no key at all is a clear error', async () => {
    const b = builder({});
    expect((await b.build(agentSchema.parse({ name: 'o', realtime: { provider: 'openai', apiKey: 'sk-own' } }))).realtime?.name).toBe('openai-realtime');
    await expect(b.build(agentSchema.parse({ name: 'g', realtime: { provider: 'gemini' } }))).rejects.toMatchObject({
      code: 'CR_CALL_AGENT_INVALID',
      message: 'agent g: realtime.provider gemini needs providers.geminiLive.apiKey or realtime.apiKey',
    });
  });
});
