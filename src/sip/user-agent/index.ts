/**
 * The SIP user agent (RFC 3261 UAS and UAC cores over the dialog and transaction layers): inbound
 * calls with trunk security, outbound calls with digest auth, registrations, in-dialog features
 * (re-INVITE/UPDATE hold, INFO DTMF, REFER both ways). Media is behind `SipMediaFactory`.
 */
export { createSipUserAgent, SipUserAgent, type SipUserAgentOptions } from './sip-user-agent.ts';
export type { SipUserAgentStats } from './request-router.ts';
export type {
  CallEnd, CallEndReason, DtmfEvent, IncomingRefer, SipCall, SipCallState, SipPeer, TransferResult,
} from './call-types.ts';
export type { DialOptions } from './uac-invite.ts';
export type { SipMediaEndpoint, SipMediaFactory } from './media-endpoint.ts';
export type { SipRegistrationConfig, SipTrunkConfig, SipUserAgentConfig } from './user-agent-config.ts';
export type { RegistrationState, RegistrationStatus } from './registration.ts';
export { SipUserAgentError, type SipUserAgentErrorCode } from './errors.ts';
export type { Unsubscribe } from '../../core/listeners.ts';
