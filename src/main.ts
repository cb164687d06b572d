import { collectDefaultMetrics, Registry } from 'prom-client';
import { startHttpServer, type HttpApp } from './api/http-server.ts';
import type { Config } from './config/schema.ts';
import { redactConfig } from './config/redact.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { validateSttModelDir, validateTtsModelDir } from './providers/sherpa/validate-model-dir.ts';
import { Pacer } from './media/rtp/pacer.ts';
import { PortAllocator } from './media/rtp/port-allocator.ts';
import { createSipUserAgent, type SipUserAgent } from './sip/user-agent/index.ts';
import { RtpMediaFactory } from './transports/sip/rtp-media-factory.ts';
import { createSipCallHandler } from './transports/sip/sip-call-handler.ts';
import { createVad } from './vad/create-vad.ts';
import type { Vad } from './vad/vad.ts';
import { VERSION } from './version.ts';
import { CallManager } from './call/call-manager.ts';
import type { StartCall } from './call/call-leg.ts';
import { runEcho } from './call/echo.ts';
import { AgentBuilder } from './wiring/agent-builder.ts';
import { createAgentResolver } from './wiring/agent-resolver.ts';
import { createSpeechProviders } from './wiring/speech-providers.ts';

/** A running gateway: everything `serve` started, and how to stop it. */
export interface Gateway {
  readonly logger: Logger;
  readonly http: HttpApp | undefined;
  /** The shared VAD engine calls use (one model session for every call). */
  readonly vad: Vad;
  readonly sip: SipUserAgent;
  /** The live calls (undefined in echo mode). */
  readonly calls: CallManager | undefined;
  close(): Promise<void>;
}

/**
 * Composition root: the only place that picks vendors and wires layers together.
 * Components are started in dependency order and closed in reverse.
 */
export async function startGateway(config: Config, logger: Logger = createLogger(config.log)): Promise<Gateway> {
  const closers: Array<() => Promise<void>> = [];
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  logger.info({ config: redactConfig(config) }, 'starting callroom');

  // Model directories are checked before anything listens, so a broken air-gapped install fails fast and names the file.
  const sherpa = config.providers.sherpa;
  if (sherpa?.sttModelDir !== undefined) validateSttModelDir(sherpa.sttModelDir);
  if (sherpa?.ttsModelDir !== undefined) validateTtsModelDir(sherpa.ttsModelDir);

  let http: HttpApp | undefined;
  let vad: Vad;
  let sip: SipUserAgent;
  let calls: CallManager | undefined;
  let ready = false;
  try {
    vad = await createVad(config.vad);
    const engine = vad;
    closers.push(() => engine.close());
    logger.info({ engine: vad.name }, 'vad ready');

    // One pacer drives every call's RTP on an absolute 20 ms schedule; ports come from the configured range.
    const pacer = new Pacer({ logger });
    closers.push(async () => pacer.close());
    const media = new RtpMediaFactory({
      pacer,
      ports: new PortAllocator({ min: config.rtp.portMin, max: config.rtp.portMax }),
      bindAddress: config.rtp.host,
      // SDP must carry the address peers reach: publicHost behind NAT, else the RTP bind address.
      advertiseAddress: config.sip.publicHost ?? config.rtp.host,
      jitterMs: config.rtp.jitterBufferMs,
      logger: logger.child({ component: 'rtp' }),
    });
    sip = await createSipUserAgent({ config: config.sip, media, logger, challengeAlgorithms: config.sip.digestAlgorithms });
    const ua = sip;
    closers.push(() => ua.close());
    let startCall: StartCall;
    if (config.sip.echo) {
      startCall = (leg) => runEcho(leg, logger.child({ callId: leg.id }));
    } else {
      // Agents: shared speech providers, each agent's runtime built on first use, one session per call.
      const speech = createSpeechProviders(config, logger.child({ component: 'speech' }));
      closers.push(() => speech.close());
      const builder = new AgentBuilder({ config, speech, logger });
      closers.push(() => builder.close());
      const manager = new CallManager({
        resolveAgent: createAgentResolver({ agents: config.agents, defaultAgent: config.defaultAgent, builder }),
        vad: engine,
        logger,
        maxConcurrentCalls: config.limits.maxConcurrentCalls,
        maxCallSeconds: config.limits.maxCallSeconds,
      });
      calls = manager;
      closers.push(async () => {
        await manager.hangupAll();
      });
      startCall = manager.startCall;
      logger.info({ agents: config.agents.map((a) => ({ name: a.name, llm: a.llm.provider, stt: a.stt.providers, tts: a.tts.providers })) }, 'agents ready');
    }
    ua.onCall(createSipCallHandler({ startCall, logger }));
    logger.info(
      { endpoints: ua.endpoints().map((e) => ({ transport: e.transport, address: e.bound.address, port: e.bound.port })), echo: config.sip.echo },
      'sip listening',
    );
    if (config.http.enabled) {
      http = await startHttpServer({
        host: config.http.host,
        port: config.http.port,
        logger,
        metrics,
        ready: () => ready,
        version: VERSION,
      });
      const app = http;
      closers.push(() => app.close());
      logger.info({ address: app.server.address() }, 'http listening');
    }
  } catch (err) {
    await closeAll(closers);
    throw err;
  }

  ready = true;
  let closed = false;
  return {
    logger,
    http,
    vad,
    sip,
    calls,
    async close() {
      if (closed) return;
      closed = true;
      await closeAll(closers);
      logger.info('callroom stopped');
    },
  };
}

async function closeAll(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // Shutdown continues past a component that fails to close.
    }
  }
}
