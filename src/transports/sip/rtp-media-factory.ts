import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { PortAllocator } from '../../media/rtp/port-allocator.ts';
import type { SipMediaEndpoint, SipMediaFactory } from '../../sip/user-agent/media-endpoint.ts';
import { RtpAudioLeg } from './rtp-audio-leg.ts';

export interface RtpMediaFactoryOptions {
  readonly pacer: Pacer;
  readonly ports: PortAllocator;
  readonly bindAddress: string;
  readonly advertiseAddress: string;
  readonly jitterMs: number;
  readonly logger?: Logger;
}

/**
 * The SIP user agent's media factory: one RTP audio leg per call, from the configured port range.
 * Keeps the leg of each endpoint it handed out so the call layer can reach the audio of a SIP call.
 */
export class RtpMediaFactory implements SipMediaFactory {
  readonly #options: RtpMediaFactoryOptions;
  readonly #legs = new Map<SipMediaEndpoint, RtpAudioLeg>();

  constructor(options: RtpMediaFactoryOptions) {
    this.#options = options;
  }

  async allocate(callId: string): Promise<SipMediaEndpoint> {
    const leg = await RtpAudioLeg.open({
      ...this.#options,
      ...(this.#options.logger !== undefined ? { logger: this.#options.logger.child({ callId }) } : {}),
    });
    const endpoint: SipMediaEndpoint = {
      address: leg.address,
      port: leg.port,
      configure: (audio) => leg.configure(audio),
      close: () => {
        this.#legs.delete(endpoint);
        void leg.close();
      },
    };
    this.#legs.set(endpoint, leg);
    return endpoint;
  }

  /** The audio leg behind an endpoint this factory allocated (undefined once closed). */
  legOf(endpoint: SipMediaEndpoint): RtpAudioLeg | undefined {
    return this.#legs.get(endpoint);
  }

  /** Legs still open (calls not yet ended). */
  get open(): number {
    return this.#legs.size;
  }
}
