import { CallRejectedError } from '../../call/call-errors.ts';
import type { CallOrigin, StartCall } from '../../call/call-leg.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { isSipUri } from '../../sip/message/uri.ts';
import type { SipCall } from '../../sip/user-agent/index.ts';
import { RtpAudioLeg } from './rtp-audio-leg.ts';
import { SipCallLeg } from './sip-call-leg.ts';

export interface SipCallHandlerOptions {
  /** The call layer (an agent session, or echo). */
  readonly startCall: StartCall;
  readonly logger: Logger;
}

/**
 * What happens to each inbound SIP call: it becomes a `SipCallLeg` and goes to the call layer with the
 * dialled user part (which picks the agent). A refusal from the call layer (no such agent, call limit,
 * draining) is answered with its SIP status before anything is answered.
 */
export function createSipCallHandler(options: SipCallHandlerOptions): (call: SipCall) => void {
  return (call) => {
    const log = options.logger.child({ callId: call.id });
    log.info({ from: call.from, to: call.to, trunk: call.trunk, peer: call.peer }, 'incoming call');
    if (!(call.media instanceof RtpAudioLeg)) {
      log.error('call media is not an RTP audio leg: rejecting');
      call.reject(500, 'Server Internal Error');
      return;
    }
    const leg = new SipCallLeg(call, call.media, log);
    const origin: CallOrigin = {
      direction: 'inbound',
      from: call.from,
      to: call.to,
      dialled: dialledUser(call),
      ...(call.trunk === undefined ? {} : { trunk: call.trunk }),
    };
    options.startCall(leg, origin).catch((err: unknown) => {
      if (err instanceof CallRejectedError && call.state === 'ringing') {
        log.info({ code: err.code, status: err.status }, 'call refused');
        call.reject(err.status);
        return;
      }
      log.warn({ err: errorMessage(err) }, 'call failed');
      void call.hangup().catch(() => {});
    });
  };
}

/** The user part of the Request-URI (what the caller dialled), '' when it has none. */
function dialledUser(call: SipCall): string {
  const uri = call.invite.uri;
  return uri !== undefined && isSipUri(uri) ? (uri.user ?? '') : '';
}
