import { isIP } from 'node:net';
import { CallRejectedError } from '../../call/call-errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { SipTrunkConfig } from '../../sip/user-agent/user-agent-config.ts';
import type { SipUserAgent } from '../../sip/user-agent/index.ts';
import { RtpAudioLeg } from './rtp-audio-leg.ts';
import { SipCallLeg } from './sip-call-leg.ts';

/** A trunk with its outbound side, as the config gives it. */
export interface DialTrunk extends SipTrunkConfig {
  readonly outbound?: {
    readonly host: string;
    readonly port: number;
    readonly transport: 'udp' | 'tcp';
    readonly username?: string;
    readonly password?: string;
  };
}

export interface DialRequest {
  /** A SIP URI or a number (`+14155550123`, `1000`) sent to the trunk. */
  readonly to: string;
  readonly from: string;
  readonly trunk: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * Dial out through a configured trunk and hand back the answered call as a `CallLeg`. A number or user
 * goes to the trunk's outbound address; a full `sip:` URI is used as is when its host is an IP literal.
 */
export function createSipDialer(ua: SipUserAgent, trunks: readonly DialTrunk[], logger: Logger): (req: DialRequest) => Promise<SipCallLeg> {
  return async (req) => {
    const trunk = trunks.find((t) => t.name === req.trunk);
    if (trunk?.outbound === undefined) throw new CallRejectedError('CR_CALL_TRUNK_UNKNOWN', 404, `no trunk "${req.trunk}" with an outbound address`);
    const out = trunk.outbound;
    const target = /^sips?:/i.test(req.to)
      ? req.to
      : `sip:${encodeURIComponent(req.to).replace(/%2B/g, '+')}@${isIP(out.host) === 6 ? `[${out.host}]` : out.host}:${out.port};transport=${out.transport}`;
    const from = /^sips?:/i.test(req.from) || req.from.includes('<') ? req.from : `sip:${encodeURIComponent(req.from).replace(/%2B/g, '+')}@${isIP(out.host) === 6 ? `[${out.host}]` : out.host}`;
    const call = await ua.dial({
      target,
      from,
      transport: out.transport,
      ...(out.username !== undefined && out.password !== undefined ? { credentials: { username: out.username, password: out.password } } : {}),
      ...(req.signal === undefined ? {} : { signal: req.signal }),
      ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
    });
    if (!(call.media instanceof RtpAudioLeg)) {
      await call.hangup().catch(() => undefined);
      throw new Error('dialled call has no RTP audio leg');
    }
    return new SipCallLeg(call, call.media, logger.child({ callId: call.id }));
  };
}
