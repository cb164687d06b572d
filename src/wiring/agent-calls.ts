/**
 * Agent calls for a gateway: the shared speech providers, the agent builder, the call manager choosing an
 * agent per call (config agents first, then agents stored through the API, then the default), the call
 * recorder (records and webhooks), and the REST API's calls port (WebSocket calls and SIP dial-out).
 */
import type { Registry } from 'prom-client';
import type { WebhookDispatcher } from '../api/webhooks/dispatcher.ts';
import { withAssignedTools } from '../api/calls-port.ts';
import { CallManager, type CallManagerOptions } from '../call/call-manager.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { Storage } from '../storage/types.ts';
import type { Vad } from '../vad/vad.ts';
import { AgentBuilder } from './agent-builder.ts';
import { createAgentResolver } from './agent-resolver.ts';
import { ApiCalls, type Dialer } from './api-calls.ts';
import { CallRecorder } from './call-recorder.ts';
import { createSpeechProviders } from './speech-providers.ts';

export interface AgentCalls {
  readonly manager: CallManager;
  readonly apiCalls: ApiCalls;
  readonly recorder: CallRecorder;
  /** Hang up every call (shutdown), wait for them to end (bounded), flush their records, release providers. */
  close(): Promise<void>;
}

export function startAgentCalls(o: {
  config: Config;
  vad: Vad;
  storage: Storage;
  webhooks: WebhookDispatcher;
  dial: Dialer | undefined;
  metrics: Registry;
  logger: Logger;
  /** A control socket URL for a call, for its call.started webhook. */
  controlUrl?: (callId: string) => string | undefined;
  /** Between each call's leg and its session (the recorder). */
  wrapLeg?: CallManagerOptions['wrapLeg'];
}): AgentCalls {
  const { config, logger, storage } = o;
  const speech = createSpeechProviders(config, logger.child({ component: 'speech' }));
  const builder = new AgentBuilder({ config, speech, logger });
  const manager = new CallManager({
    resolveAgent: createAgentResolver({
      agents: config.agents,
      defaultAgent: config.defaultAgent,
      builder,
      lookup: async (name) => {
        const stored = await storage.agents.getByName(name);
        return stored === undefined ? undefined : withAssignedTools({ agent: stored.spec, tools: await storage.agents.listTools(stored.id) });
      },
    }),
    vad: o.vad,
    logger,
    maxConcurrentCalls: config.limits.maxConcurrentCalls,
    maxCallSeconds: config.limits.maxCallSeconds,
    ...(o.wrapLeg === undefined ? {} : { wrapLeg: o.wrapLeg }),
  });
  const recorder = new CallRecorder({
    storage,
    webhooks: o.webhooks,
    logger,
    metrics: o.metrics,
    storeContent: config.privacy.storeContent,
    ...(o.controlUrl === undefined ? {} : { controlUrl: o.controlUrl }),
  });
  manager.onCallEvent(recorder.onCallEvent);
  const apiCalls = new ApiCalls({ manager, builder, storage, recorder, dial: o.dial, logger });
  logger.info({ agents: config.agents.map((a) => ({ name: a.name, llm: a.llm.provider, stt: a.stt.providers, tts: a.tts.providers })) }, 'agents ready');
  return {
    manager,
    apiCalls,
    recorder,
    async close() {
      await manager.hangupAll('shutdown');
      await Promise.race([manager.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await recorder.flush();
      await builder.close();
      await speech.close();
    },
  };
}
