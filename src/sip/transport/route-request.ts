import type { SipMessage } from '../message/sip-message.ts';
import { isSipUri, type Uri } from '../message/uri.ts';
import { ipFamily, stripBrackets } from './ip-address.ts';
import { DEFAULT_SIP_PORT, protocolOf, type RouteOutcome } from './route-response.ts';
import { SipTransportError } from './transport-error.ts';
import type { TransportProtocol } from './transport.ts';

/**
 * Next hop of a request (RFC 3261 §8.1.2, RFC 3263 §4 without DNS): the first Route when it is a
 * loose router (`;lr`), else the Request-URI (which holds a strict router when there is one). The
 * URI's `maddr`, host, port and `transport` parameter give the destination; a host name is an error
 * (`CR_SIP_TRANSPORT_NEEDS_DNS`), never a lookup. `defaultTransport` applies when the URI names none.
 */
export function routeRequest(request: SipMessage, defaultTransport: TransportProtocol = 'udp'): RouteOutcome {
  const route = request.routes[0];
  const target = route !== undefined && isSipUri(route.uri) && route.uri.lr ? route.uri : request.uri;
  if (target === undefined) return fail('CR_SIP_TRANSPORT_NO_ROUTE', 'request without a usable Request-URI');
  return routeUri(target, defaultTransport);
}

/** Destination of one SIP URI, IP literals only (see `routeRequest`). */
export function routeUri(uri: Uri, defaultTransport: TransportProtocol = 'udp'): RouteOutcome {
  if (!isSipUri(uri)) return fail('CR_SIP_TRANSPORT_UNSUPPORTED', `cannot send to a ${uri.scheme}: URI`);
  if (uri.scheme === 'sips') return fail('CR_SIP_TRANSPORT_UNSUPPORTED', 'sips: needs TLS, which this stack does not offer');
  const named = uri.transport;
  const transport = named === undefined ? defaultTransport : protocolOf(named);
  if (transport === undefined) return fail('CR_SIP_TRANSPORT_UNSUPPORTED', `unsupported URI transport ${named ?? ''}`);
  const maddr = uri.maddr === undefined ? undefined : stripBrackets(uri.maddr);
  const host = maddr !== undefined && ipFamily(maddr) !== undefined ? maddr : uri.host;
  if (ipFamily(host) === undefined) return fail('CR_SIP_TRANSPORT_NEEDS_DNS', 'request target is a host name; configure an IP address');
  return { ok: true, destination: { transport, address: stripBrackets(host), port: uri.port ?? DEFAULT_SIP_PORT } };
}

function fail(code: ConstructorParameters<typeof SipTransportError>[0], message: string): RouteOutcome {
  return { ok: false, error: new SipTransportError(code, message) };
}
