/**
 * A real Callroom HTTP server on 127.0.0.1 with the telephony bridges attached (WebSocket endpoints on its
 * upgrade event, AudioSocket on its own TCP port), for tests and the bench. The call layer is whatever the
 * test gives: a `CallManager` with a test agent (its call events recorded), or `runEcho`.
 */
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { startHttpServer, type HttpApp } from '../../src/api/http-server.ts';
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import type { StartCall } from '../../src/call/call-leg.ts';
import { CallManager, type CallEventEnvelope } from '../../src/call/call-manager.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { Pacer } from '../../src/media/rtp/pacer.ts';
import { startTelephonyBridges, type TelephonyBridges, type TelephonySettings } from '../../src/transports/telephony/telephony-bridges.ts';
import type { Vad } from '../../src/vad/vad.ts';

/** A key long enough for the schema (at least 16 characters). */
export const TEST_KEY = 'test-key-0123456789abcdef';

export interface TelephonyHarnessOptions {
  /** The `telephony` config section as YAML would give it (validated by the real schema). */
  readonly telephony: Record<string, unknown>;
  /** The call layer; or `agent` + `vad` for a CallManager. */
  readonly startCall?: StartCall;
  readonly agent?: AgentRuntime | ((dialled: string) => AgentRuntime | undefined);
  readonly vad?: Vad;
  readonly maxConcurrentCalls?: number;
  readonly pacer?: Pacer;
  readonly logger?: Logger;
}

export interface TelephonyHarness {
  readonly app: HttpApp;
  readonly port: number;
  readonly bridges: TelephonyBridges;
  readonly settings: TelephonySettings;
  readonly manager: CallManager | undefined;
  /** Every call event (with a CallManager), in order. */
  readonly events: CallEventEnvelope[];
  /** ws://127.0.0.1:port{path}[?query] */
  wsUrl(path: string, query?: Record<string, string>): string;
  /** The port of the i-th AudioSocket listener. */
  audioSocketPort(i?: number): number;
  /** Resolves with the first call event matching `match` (already seen or to come). */
  event(match: (e: CallEventEnvelope) => boolean, timeoutMs?: number): Promise<CallEventEnvelope>;
  close(): Promise<void>;
}

export async function startTelephonyHarness(o: TelephonyHarnessOptions): Promise<TelephonyHarness> {
  const logger = o.logger ?? silentLogger();
  const settings = validateConfig({ telephony: o.telephony }).telephony;
  const events: CallEventEnvelope[] = [];
  const waiters: Array<{ match: (e: CallEventEnvelope) => boolean; resolve: (e: CallEventEnvelope) => void }> = [];
  let manager: CallManager | undefined;
  let startCall = o.startCall;
  if (startCall === undefined) {
    const agent = o.agent;
    const vad = o.vad;
    if (agent === undefined || vad === undefined) throw new Error('give startCall, or agent and vad');
    manager = new CallManager({
      resolveAgent: async (dialled) => (typeof agent === 'function' ? agent(dialled) : agent),
      vad,
      logger,
      maxConcurrentCalls: o.maxConcurrentCalls ?? 50,
      maxCallSeconds: 600,
    });
    manager.onCallEvent((e) => {
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.match(e)) w.resolve(e);
        else waiters.push(w);
      }
    });
    startCall = manager.startCall;
  }
  let bridges: TelephonyBridges | undefined;
  const app = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    metrics: new Registry(),
    ready: () => true,
    version: 'test',
    onServer: async (a) => {
      bridges = await startTelephonyBridges({ settings, server: a.server, startCall: startCall as StartCall, ...(o.pacer === undefined ? {} : { pacer: o.pacer }), logger });
    },
  });
  const b = bridges as unknown as TelephonyBridges;
  const port = (app.server.address() as AddressInfo).port;
  return {
    app,
    port,
    bridges: b,
    settings,
    manager,
    events,
    wsUrl(path, query = {}) {
      const url = new URL(path, `ws://127.0.0.1:${port}`);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      return url.toString();
    },
    audioSocketPort(i = 0) {
      const a = b.audioSocketAddresses[i];
      if (a === undefined) throw new Error(`no AudioSocket listener ${i}`);
      return a.port;
    },
    event(match, timeoutMs = 10_000) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching call event within ${timeoutMs} ms; got ${events.map((e) => e.event.type).join(',')}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    async close() {
      await manager?.hangupAll();
      await b.close();
      await app.close();
    },
  };
}
