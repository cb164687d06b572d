import { collectDefaultMetrics, Registry } from 'prom-client';
import { startHttpServer, type HttpApp } from './api/http-server.ts';
import type { Config } from './config/schema.ts';
import { redactConfig } from './config/redact.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { validateSttModelDir, validateTtsModelDir } from './providers/sherpa/validate-model-dir.ts';
import { Pacer } from './media/rtp/pacer.ts';
import { openRtpIo } from './media/rtp/rtp-io.ts';
import { PortAllocator } from './media/rtp/port-allocator.ts';
import { createSipUserAgent, type SipUserAgent } from './sip/user-agent/index.ts';
import { RtpMediaFactory } from './transports/sip/rtp-media-factory.ts';
import { createSipCallHandler } from './transports/sip/sip-call-handler.ts';
import { registerSipMetrics } from './transports/sip/sip-metrics.ts';
import { createVad } from './vad/create-vad.ts';
import type { Vad } from './vad/vad.ts';
import { VERSION } from './version.ts';
import type { CallManager } from './call/call-manager.ts';
import type { StartCall } from './call/call-leg.ts';
import { CallRejectedError } from './call/call-errors.ts';
import { runEcho } from './call/echo.ts';
import type { CallsPort } from './api/calls-port.ts';
import { tokenSecret } from './api/token-secret.ts';
import { startWebhookDispatcher } from './api/webhooks/start-webhooks.ts';
import { JoinTokens } from './core/join-token.ts';
import { openStorage } from './storage/open-storage.ts';
import { createSipDialer } from './transports/sip/sip-dialer.ts';
import { startAgentCalls } from './wiring/agent-calls.ts';
import { startCluster } from './wiring/cluster.ts';
import { registerBrowserClient } from './transports/ws/browser-client.ts';
import { controlTokenSecret, controlUrl } from './transports/ws/control-tokens.ts';
import { attachWebSocketEndpoints, DEFAULT_CONTROL_PATH, DEFAULT_JOIN_PATH, type JoinCall, type WebSocketEndpoints } from './transports/ws/ws-endpoints.ts';
import { startTelephonyBridges, type TelephonyBridges } from './transports/telephony/telephony-bridges.ts';
import { refuseUnknownUpgrades } from './transports/upgrade-fallback.ts';
import { Readiness, writableDir } from './api/readiness.ts';
import { registerRecordingRoutes } from './api/routes/recordings.ts';
import { RecordingStore } from './call/recording/recording-store.ts';
import { registerCallMetrics, type CallMetrics } from './wiring/call-metrics.ts';
import { startTracing, type CallTracing } from './wiring/call-tracing.ts';

/** A running gateway: everything `serve` started, and how to stop it. */
export interface Gateway {
  readonly logger: Logger;
  readonly http: HttpApp | undefined;
  /** The shared VAD engine calls use (one model session for every call). */
  readonly vad: Vad;
  readonly sip: SipUserAgent;
  /** The live calls (undefined in echo mode). */
  readonly calls: CallManager | undefined;
  /**
   * Take no new calls (SIP and OPTIONS 503, REST 503, no WebSocket joins, /readyz false), let the live ones
   * finish for `drain.timeoutSeconds`, then end them with the goodbye. Resolves when no call is left.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Composition root: the only place that picks vendors and wires layers together.
 * Components are started in dependency order and closed in reverse.
 */
export async function startGateway(
  config: Config,
  // With privacy.storeContent off, what callers say stays out of the logs too.
  logger: Logger = createLogger({ ...config.log, redactContent: config.log.redactContent || !config.privacy.storeContent }),
): Promise<Gateway> {
  const closers: Array<() => Promise<void>> = [];
  /** What stops taking new calls when the gateway drains (besides the call manager). */
  const drainers: Array<() => void> = [];
  let draining = false;
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
    const rtpIo = openRtpIo(config.rtp.io);
    closers.push(async () => rtpIo.close());
    logger.info({ io: rtpIo.kind, asked: config.rtp.io, ...(rtpIo.reason === undefined ? {} : { reason: rtpIo.reason }) }, 'rtp io');
    const media = new RtpMediaFactory({
      pacer,
      ports: new PortAllocator({ min: config.rtp.portMin, max: config.rtp.portMax }),
      bindAddress: config.rtp.host,
      // SDP must carry the address peers reach: publicHost behind NAT, else the RTP bind address.
      advertiseAddress: config.sip.publicHost ?? config.rtp.host,
      jitterMs: config.rtp.jitterBufferMs,
      io: rtpIo.io,
      socketBuffers: {
        ...(config.rtp.recvBufferSize === undefined ? {} : { recvBufferSize: config.rtp.recvBufferSize }),
        ...(config.rtp.sendBufferSize === undefined ? {} : { sendBufferSize: config.rtp.sendBufferSize }),
      },
      logger: logger.child({ component: 'rtp' }),
    });
    sip = await createSipUserAgent({ config: config.sip, media, logger, challengeAlgorithms: config.sip.digestAlgorithms });
    const ua = sip;
    closers.push(() => ua.close());
    // Storage (agents, tools, call records) and webhooks outlive the calls: closed after them.
    const storage = await openStorage(config.storage, { nodeId: config.cluster.nodeId, onConnectionError: (err) => logger.warn({ err: err.message }, 'storage connection dropped') });
    closers.push(() => storage.close());
    const webhooks = await startWebhookDispatcher({ config, store: storage.webhooks, metrics, logger });
    closers.push(() => webhooks.close({ drainMs: 5_000 }));
    // This node among the others on the same database: registry, heartbeat, commands for calls another node holds.
    const cluster = await startCluster({ config, storage, logger, localAttach: (id, client) => calls?.attachControl(id, client), onBeat: () => webhooks.syncStored(storage.webhooks) });
    closers.push(() => cluster.close());
    // One secret signs both token families: joinUrl (WebSocket calls) and control sockets (any live call).
    const secret = tokenSecret(config.http, logger);
    const joinTokens = new JoinTokens({ secret, ttlSeconds: config.http.joinTokenTtlSeconds, store: storage.joinTokens });
    const controlTokens = new JoinTokens({ secret: controlTokenSecret(secret), ttlSeconds: config.http.joinTokenTtlSeconds, store: storage.joinTokens });
    const httpBase = (): string | undefined => {
      if (config.http.publicUrl !== undefined) return config.http.publicUrl;
      const addr = http?.server.address();
      return addr === null || addr === undefined || typeof addr === 'string' ? undefined : `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    };
    const controlUrlFor = (callId: string): string | undefined => {
      const base = httpBase();
      return base === undefined ? undefined : controlUrl(base, controlTokens.issue(callId).token, callId);
    };
    // Recordings and transcripts are personal data: privacy.storeContent off means no recording at all.
    const recordings = config.privacy.storeContent && !config.sip.echo ? await RecordingStore.open({ ...config.recording, logger: logger.child({ component: 'recording' }), onWriteError: () => callMetrics?.recordingWriteFailed() }) : undefined;
    if (recordings !== undefined) closers.push(() => recordings.close());
    let callMetrics: CallMetrics | undefined;
    // Traces are exported after the calls' last spans: closed after the calls (closers run in reverse).
    let tracing: CallTracing | undefined;
    closers.push(async () => tracing?.close());
    let startCall: StartCall;
    let callsPort: CallsPort;
    let joinCall: JoinCall;
    if (config.sip.echo) {
      startCall = (leg) => runEcho(leg, logger.child({ callId: leg.id }));
      joinCall = (_id, leg) => runEcho(leg, logger.child({ callId: leg.id }));
      callsPort = echoModeCalls;
    } else {
      const agents = startAgentCalls({
        config,
        vad: engine,
        storage,
        webhooks,
        dial: createSipDialer(ua, config.sip.trunks, logger),
        metrics,
        logger,
        controlUrl: controlUrlFor,
        wrapLeg: (leg, call) => (recordings !== undefined && (call.agent.spec.record ?? config.recording.enabled) ? recordings.record(call.callId, leg) : leg),
      });
      closers.push(() => agents.close());
      callMetrics = registerCallMetrics({ registry: metrics, calls: agents.manager, vad: config.vad.engine, sip: ua, ...(recordings === undefined ? {} : { recordings }) });
      if (config.tracing.enabled) tracing = startTracing(config.tracing, agents.manager, logger);
      calls = agents.manager;
      startCall = agents.manager.startCall;
      joinCall = agents.manager.join;
      callsPort = cluster.calls.calls(agents.apiCalls);
    }
    ua.onCall(createSipCallHandler({ startCall, logger }));
    registerSipMetrics(metrics, { ua, pacer });
    logger.info(
      { endpoints: ua.endpoints().map((e) => ({ transport: e.transport, address: e.bound.address, port: e.bound.port })), echo: config.sip.echo },
      'sip listening',
    );
    // /readyz: listeners bound, models loaded (start finished), storage answering and writable, not draining.
    const readiness = new Readiness({
      listeners: () => ua.endpoints().length > 0 && (http === undefined || http.server.listening),
      models: () => ready,
      storage: async () => (await storage.calls.get('readyz-probe'), true),
      ...(config.storage.driver === 'sqlite' ? { storageWritable: writableDir(config.storage.dataDir) } : {}),
      ...(recordings === undefined ? {} : { recordingsWritable: writableDir(recordings.dir) }),
      notDraining: () => !draining,
    });
    drainers.push(() => readiness.invalidate());
    if (config.http.enabled) {
      let ws: WebSocketEndpoints | undefined;
      let telephony: TelephonyBridges | undefined;
      http = await startHttpServer({
        host: config.http.host,
        port: config.http.port,
        logger,
        metrics,
        ready: () => readiness.report(),
        version: VERSION,
        api: {
          storage,
          calls: callsPort,
          webhooks,
          joinTokens,
          apiKeys: config.http.apiKeys,
          maxConcurrentCalls: config.limits.maxConcurrentCalls,
          maxCallSeconds: config.limits.maxCallSeconds,
          maxBodyBytes: config.http.maxBodyBytes,
          ...(config.http.publicUrl === undefined ? {} : { publicUrl: config.http.publicUrl }),
          controlTokens,
          reservedAgentNames: config.agents.map((a) => a.name),
          sipTrunks: config.sip.trunks.filter((t) => t.outbound !== undefined).map((t) => t.name),
          callNodeUrl: async (id) => (await cluster.calls.holderOf(id))?.publicUrl ?? undefined,
        },
        // The WebSocket medium (joinUrl), control sockets of live calls, and the browser client page.
        onServer: async (app) => {
          registerBrowserClient(app);
          ws = attachWebSocketEndpoints(app.server, {
            settings: config.websocket,
            joinTokens,
            joinCall,
            callFormat: async (id) => {
              const record = await storage.calls.get(id);
              return record?.medium.type === 'websocket' ? { inputSampleRate: record.medium.inputSampleRate, outputSampleRate: record.medium.outputSampleRate } : undefined;
            },
            control: {
              tokens: { verify: cluster.calls.verifyControl((token) => controlTokens.verify(token)) },
              attachControl: cluster.calls.attachControl,
              hangupCall: (id) => callsPort.hangup(id),
            },
            pacer,
            logger: logger.child({ component: 'websocket' }),
          });
          // Telephony platforms' own WebSocket dialects (Twilio, Telnyx, Vonage, jambonz, chan_websocket, ...).
          telephony = await startTelephonyBridges({ settings: config.telephony, server: app.server, startCall, pacer, logger });
          const served = new Set([DEFAULT_JOIN_PATH, DEFAULT_CONTROL_PATH, ...config.telephony.endpoints.map((e) => e.path)]);
          refuseUnknownUpgrades(app.server, (path) => served.has(path));
          await registerRecordingRoutes(app, { apiKeys: config.http.apiKeys, recordings, logger });
        },
      });
      drainers.push(() => ws?.drain());
      const app = http;
      closers.push(() => app.close());
      // Open WebSocket and bridged calls end before the HTTP server closes (closers run in reverse).
      closers.push(async () => ws?.close());
      closers.push(async () => telephony?.close());
      logger.info({ address: app.server.address() }, 'http listening');
    } else if (config.telephony.audiosocket.length > 0) {
      // AudioSocket is plain TCP: it runs without the HTTP server.
      const telephony = await startTelephonyBridges({ settings: config.telephony, startCall, pacer, logger });
      closers.push(() => telephony.close());
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
    async drain() {
      if (draining) return;
      draining = true;
      logger.info({ calls: calls?.activeCount ?? 0, timeoutSeconds: config.drain.timeoutSeconds }, 'draining: no new calls');
      sip.drain(config.drain.retryAfterSeconds);
      for (const d of drainers) d();
      await calls?.drainFor({ timeoutMs: config.drain.timeoutSeconds * 1000, goodbye: config.drain.goodbye, goodbyeMaxMs: config.drain.goodbyeMaxSeconds * 1000 });
      logger.info('drained');
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeAll(closers);
      logger.info('callroom stopped');
      // Log lines go out asynchronously: write what is buffered before the process exits.
      await new Promise<void>((resolve) => {
        try {
          logger.flush(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}

/** In echo mode there are no agent calls: the API still manages agents and tools, and refuses calls. */
const echoModeCalls: CallsPort = {
  activeCount: 0,
  start: () => Promise.reject(new CallRejectedError('CR_CALL_NO_AGENT', 503, 'the gateway runs in echo mode (sip.echo): no agent calls')),
  hangup: () => Promise.resolve(false),
};

async function closeAll(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // Shutdown continues past a component that fails to close.
    }
  }
}
