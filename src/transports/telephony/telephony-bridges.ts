import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartCall } from '../../call/call-leg.ts';
import type { Logger } from '../../core/logger.ts';
import { Pacer } from '../../media/rtp/pacer.ts';
import { listenAudioSocket, type AudioSocketListener } from './audiosocket/audiosocket-listener.ts';
import { BridgeCalls } from './bridge-calls.ts';
import { WS_DIALECTS } from './dialects.ts';
import { attachWsBridges, type TelephonySettings, type WsBridges } from './ws-bridge-listener.ts';

export type { TelephonySettings } from './ws-bridge-listener.ts';

export interface TelephonyBridgesOptions {
  /** Config `telephony`. */
  readonly settings: TelephonySettings;
  /**
   * The HTTP server the WebSocket endpoints attach to (fastify's `app.server`, from `onServer`). The upgrade
   * listener is attached synchronously, before this function first awaits. Absent: no WebSocket endpoints
   * (a warning when some are configured).
   */
  readonly server?: Server | undefined;
  /** The call layer (`CallManager.startCall`; `runEcho` for media checks). */
  readonly startCall: StartCall;
  /** The process-wide pacer; a private one is made (and closed with the bridges) when absent. */
  readonly pacer?: Pacer;
  readonly logger: Logger;
}

export interface TelephonyBridges {
  /** Bridged calls in progress. */
  readonly calls: number;
  /** Where each AudioSocket listener is bound (in config order; port 0 resolved). */
  readonly audioSocketAddresses: readonly AddressInfo[];
  /** Stop accepting, end every bridged call (the platforms are told where they can be), close the listeners. */
  close(): Promise<void>;
}

/**
 * Telephony platforms' media protocols as call media: the WebSocket dialects on the HTTP server's paths
 * (`telephony.endpoints`) and Asterisk AudioSocket on its own TCP listeners (`telephony.audiosocket`).
 * Every bridged call goes to `startCall` as a `CallLeg`.
 */
export async function startTelephonyBridges(o: TelephonyBridgesOptions): Promise<TelephonyBridges> {
  const logger = o.logger.child({ component: 'telephony' });
  const s = o.settings;
  const ownPacer = o.pacer === undefined ? new Pacer({ logger }) : undefined;
  const pacer = o.pacer ?? (ownPacer as Pacer);
  const calls = new BridgeCalls(o.startCall, logger);
  let ws: WsBridges | undefined;
  if (s.endpoints.length > 0) {
    if (o.server === undefined) logger.warn({ endpoints: s.endpoints.map((e) => e.path) }, 'telephony WebSocket endpoints need the HTTP server: not served');
    else ws = attachWsBridges({ server: o.server, settings: s, calls, dialects: WS_DIALECTS, pacer, logger });
  }
  const listeners: AudioSocketListener[] = [];
  try {
    for (const l of s.audiosocket) {
      listeners.push(
        await listenAudioSocket({
          host: l.host,
          port: l.port,
          agent: l.agent,
          allowFrom: l.allowFrom,
          kind11: s.audiosocketKind11,
          startTimeoutMs: s.startTimeoutMs,
          idleTimeoutMs: s.idleTimeoutMs,
          maxFrameBytes: Math.min(65_535, s.maxMessageBytes),
          calls,
          pacer,
          playout: s.playout,
          logger,
        }),
      );
    }
  } catch (err) {
    await ws?.close();
    for (const l of listeners) await l.close();
    ownPacer?.close();
    throw err;
  }
  if (ws !== undefined) logger.info({ endpoints: s.endpoints.map((e) => ({ path: e.path, dialect: e.dialect })) }, 'telephony endpoints ready');
  let closed = false;
  return {
    get calls() {
      return calls.size;
    },
    audioSocketAddresses: listeners.map((l) => l.address),
    async close() {
      if (closed) return;
      closed = true;
      await ws?.close();
      const stopping = Promise.all(listeners.map((l) => l.close()));
      await calls.close();
      await ws?.settle(1000);
      await stopping;
      ownPacer?.close();
    },
  };
}
