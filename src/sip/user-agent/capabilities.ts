import type { SipMessage } from '../message/sip-message.ts';

/**
 * What this user agent implements, advertised in Allow/Accept/Supported (RFC 3261 §11.2, §20.5,
 * §20.1, §20.37) and enforced by `checkUasRequest`.
 */

/** Methods answered in every configuration (REFER is added when `acceptRefer` is on). */
const BASE_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'NOTIFY'] as const;

/**
 * Methods this user agent recognises but does not take (§8.2.1: 405 with Allow); any other method
 * is unknown (501).
 */
export const RECOGNISED_METHODS: ReadonlySet<string> = new Set(['REGISTER', 'SUBSCRIBE', 'PUBLISH', 'MESSAGE', 'PRACK', 'REFER']);

/** The Allow list for a configuration. */
export function allowedMethods(acceptRefer: boolean): readonly string[] {
  return acceptRefer ? [...BASE_METHODS, 'REFER'] : BASE_METHODS;
}

/** Body types accepted per request method (§8.2.3); methods not listed take any body and ignore it. */
export const ACCEPTED_BODIES: Readonly<Record<string, readonly string[]>> = {
  INVITE: ['application/sdp'],
  ACK: ['application/sdp'],
  UPDATE: ['application/sdp'],
  INFO: ['application/dtmf-relay', 'application/dtmf'],
  NOTIFY: ['message/sipfrag'],
};

/** Every body type this user agent reads, for Accept. */
export const ACCEPT_VALUE = 'application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag';

/** Option tags this user agent supports (none: no 100rel, no session timers, no Replaces). */
export const SUPPORTED_OPTIONS: readonly string[] = [];

/** Adds Allow, Accept and Supported (§11.2: "SHOULD be present in a 200 (OK) response to an OPTIONS request"). */
export function addCapabilities(message: SipMessage, allow: readonly string[]): SipMessage {
  message.set('Allow', allow.join(', '));
  message.set('Accept', ACCEPT_VALUE);
  message.set('Accept-Encoding', 'identity');
  message.set('Accept-Language', 'en');
  message.set('Supported', SUPPORTED_OPTIONS.join(', '));
  return message;
}
