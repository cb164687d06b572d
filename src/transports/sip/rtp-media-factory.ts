import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { PortAllocator } from '../../media/rtp/port-allocator.ts';
import type { SocketBufferSizes } from '../../media/rtp/udp-bind.ts';
import type { RtpIo } from '../../media/rtp/udp-io.ts';
import type { SipMediaFactory } from '../../sip/user-agent/media-endpoint.ts';
import { RtpAudioLeg } from './rtp-audio-leg.ts';

export interface RtpMediaFactoryOptions {
  readonly pacer: Pacer;
  readonly ports: PortAllocator;
  readonly bindAddress: string;
  readonly advertiseAddress: string;
  readonly jitterMs: number;
  /** UDP socket buffer sizes of each call's RTP socket (system defaults when absent). */
  readonly socketBuffers?: SocketBufferSizes;
  /** How every call's RTP socket reaches the network (config `rtp.io`): node:dgram when absent. */
  readonly io?: RtpIo;
  readonly logger?: Logger;
}

/**
 * The SIP user agent's media factory: one RTP audio leg per call, from the configured port range. The leg
 * is the SIP layer's media endpoint itself, so a call's `media` is its audio (no side table).
 */
export class RtpMediaFactory implements SipMediaFactory {
  readonly #options: RtpMediaFactoryOptions;
  #open = 0;

  constructor(options: RtpMediaFactoryOptions) {
    this.#options = options;
  }

  async allocate(callId: string): Promise<RtpAudioLeg> {
    const leg = await RtpAudioLeg.open({
      ...this.#options,
      ...(this.#options.logger !== undefined ? { logger: this.#options.logger.child({ callId }) } : {}),
      onClose: () => {
        this.#open--;
      },
    });
    this.#open++;
    return leg;
  }

  /** Legs still open (calls not yet ended). */
  get open(): number {
    return this.#open;
  }
}
