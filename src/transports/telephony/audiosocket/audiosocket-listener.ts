import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../../core/logger.ts';
import type { Pacer } from '../../../media/rtp/pacer.ts';
import type { BridgeCalls } from '../bridge-calls.ts';
import type { PlayoutSettings } from '../bridge-leg.ts';
import { SourceFilter } from '../source-filter.ts';
import { AudioSocketSession } from './audiosocket-session.ts';
import type { Kind11 } from './audiosocket-codec.ts';

export interface AudioSocketListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly agent: string | undefined;
  readonly allowFrom: readonly string[];
  readonly kind11: Kind11;
  readonly startTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly calls: BridgeCalls;
  readonly pacer: Pacer;
  readonly playout: PlayoutSettings;
  readonly logger: Logger;
}

export interface AudioSocketListener {
  readonly address: AddressInfo;
  /** Stop listening and drop connections that have not started a call (calls are ended by `BridgeCalls`). */
  close(): Promise<void>;
}

/**
 * A TCP listener for Asterisk AudioSocket (`AudioSocket(uuid,host:port)`, `Dial(AudioSocket/host:port/uuid)`,
 * ARI external media with `audiosocket` encapsulation). The protocol carries no credentials: a connection
 * from an address outside `allowFrom` is destroyed before a byte is read.
 */
export async function listenAudioSocket(o: AudioSocketListenerOptions): Promise<AudioSocketListener> {
  const sources = new SourceFilter(o.allowFrom, 'telephony.audiosocket.allowFrom');
  const sessions = new Set<AudioSocketSession>();
  const sockets = new Set<Socket>();
  const logger = o.logger.child({ component: 'audiosocket' });
  let lastRefusalLog = -Infinity;
  const server: Server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined);
    if (!sources.allows(socket.remoteAddress)) {
      const now = performance.now();
      if (now - lastRefusalLog > 1000) {
        lastRefusalLog = now;
        logger.warn({ remote: socket.remoteAddress }, 'audiosocket connection refused: source address not allowed');
      }
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const session: AudioSocketSession = new AudioSocketSession({
      socket,
      calls: o.calls,
      agent: o.agent,
      kind11: o.kind11,
      startTimeoutMs: o.startTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxFrameBytes: o.maxFrameBytes,
      pacer: o.pacer,
      playout: o.playout,
      logger: logger.child({ remote: socket.remoteAddress }),
      onDone: () => sessions.delete(session),
    });
    sessions.add(session);
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.warn({ err }, 'audiosocket listener error'));
  const address = server.address() as AddressInfo;
  logger.info({ address: address.address, port: address.port }, 'audiosocket listening');
  return {
    address,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...sessions]) s.abandon();
      // Calls end through BridgeCalls; whatever is still open after it is dropped.
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2500).unref();
      await closed;
    },
  };
}
