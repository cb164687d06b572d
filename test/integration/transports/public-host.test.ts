import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { startGateway, type Gateway } from '../../../src/main.ts';
import { Pacer } from '../../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../../src/media/rtp/port-allocator.ts';
import { createSipUserAgent, type SipUserAgent } from '../../../src/sip/user-agent/index.ts';
import { RtpMediaFactory } from '../../../src/transports/sip/rtp-media-factory.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('sip.publicHost', () => {
  it('is the address the gateway puts in its SDP, not the RTP bind address', async () => {
    const base = 47000 + Math.floor(Math.random() * 50) * 20;
    const gateway: Gateway = await startGateway(
      validateConfig({
        http: { enabled: false },
        vad: { engine: 'energy' },
        sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], publicHost: '127.0.0.2', echo: true, trunks: [{ name: 'lo', cidrs: ['127.0.0.0/8'] }] },
        rtp: { host: '127.0.0.1', portMin: base, portMax: base + 9 },
      }),
      silentLogger(),
    );
    cleanup.push(() => gateway.close());
    const pacer = new Pacer();
    const media = new RtpMediaFactory({ pacer, ports: new PortAllocator({ min: base + 10, max: base + 19 }), bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1', jitterMs: 40 });
    const caller: SipUserAgent = await createSipUserAgent({
      config: validateConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] } }).sip,
      media,
      logger: silentLogger(),
      closeTimeoutMs: 200,
    });
    cleanup.push(() => pacer.close(), () => caller.close());
    const port = gateway.sip.endpoints()[0]?.bound.port;
    const call = await caller.dial({ target: `sip:echo@127.0.0.1:${port}` });
    expect(call.audio?.remoteAddress).toBe('127.0.0.2');
  });
});
