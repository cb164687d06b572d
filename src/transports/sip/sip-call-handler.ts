import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { SipCall } from '../../sip/user-agent/index.ts';
import { runEchoCall } from './echo-call.ts';
import type { RtpMediaFactory } from './rtp-media-factory.ts';
import { SipCallLeg } from './sip-call-leg.ts';

export interface SipCallHandlerOptions {
  readonly media: RtpMediaFactory;
  /** Echo mode: answer and play received audio back. */
  readonly echo: boolean;
  readonly logger: Logger;
}

/**
 * What happens to each inbound SIP call: in echo mode it is answered and its audio looped back; otherwise
 * it is refused with 480 until a call handler (the agent call session) is configured, so a caller hears a
 * clean failure instead of dead air.
 */
export function createSipCallHandler(options: SipCallHandlerOptions): (call: SipCall) => void {
  return (call) => {
    const log = options.logger.child({ callId: call.id });
    log.info({ from: call.from, to: call.to, trunk: call.trunk, peer: call.peer }, 'incoming call');
    const leg = options.media.legOf(call.media);
    if (!options.echo || leg === undefined) {
      log.warn('no call handler configured: rejecting');
      call.reject(480, 'No Agent Available');
      return;
    }
    runEchoCall(new SipCallLeg(call, leg), log).catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'echo call failed');
      void call.hangup().catch(() => {});
    });
  };
}
