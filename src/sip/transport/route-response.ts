import type { SipMessage } from '../message/sip-message.ts';
import { ipFamily, stripBrackets } from './ip-address.ts';
import { SipTransportError } from './transport-error.ts';
import type { Destination, MessageSource, TransportProtocol } from './transport.ts';

/** RFC 3261 §19.1.2: the default port of sip: over UDP and TCP. */
export const DEFAULT_SIP_PORT = 5060;

export type RouteOutcome = { readonly ok: true; readonly destination: Destination } | { readonly ok: false; readonly error: SipTransportError };

/** `UDP`/`TCP` of a Via or a URI `transport` parameter; undefined for anything else (TLS, SCTP, WS). */
export function protocolOf(token: string): TransportProtocol | undefined {
  const t = token.toLowerCase();
  return t === 'udp' ? 'udp' : t === 'tcp' ? 'tcp' : undefined;
}

/**
 * Where a response goes (RFC 3261 §18.2.2 with RFC 3581 §4), from its top Via and the source of
 * the request it answers. Never a DNS lookup: a target that is a host name is an error.
 * - Reliable: back on the request's connection while it is open (`connectionId`); otherwise
 *   `address:port` is where a new connection goes: `received` (or sent-by) and the `rport`
 *   value, else the sent-by port, else 5060.
 * - Unreliable: `maddr` (only when it is an IP literal) with the sent-by port; else `received`
 *   with `rport` when present, else the sent-by port; else the sent-by host when it is an IP literal.
 */
export function routeResponse(response: SipMessage, source?: MessageSource): RouteOutcome {
  const via = response.topVia;
  if (via === undefined) return fail('CR_SIP_TRANSPORT_NO_ROUTE', 'response without a usable top Via');
  const transport = source?.transport ?? protocolOf(via.transport);
  if (transport === undefined) return fail('CR_SIP_TRANSPORT_UNSUPPORTED', `unsupported Via transport ${via.transport}`);
  const sentByPort = via.port ?? DEFAULT_SIP_PORT;
  const rport = typeof via.rport === 'number' ? via.rport : undefined;
  const received = via.received === undefined ? undefined : stripBrackets(via.received);
  if (received !== undefined && ipFamily(received) === undefined) {
    return fail('CR_SIP_TRANSPORT_NEEDS_DNS', 'Via received is not an IP address');
  }

  if (transport === 'tcp') {
    // §18.2.2: "the response MUST be sent using the existing connection to the source of the
    // original request ... If that connection is no longer open, the server SHOULD open a
    // connection to the IP address in the received parameter, if present, using the port in the
    // sent-by value". RFC 3581 §4 makes rport the port when the client asked for it.
    const host = received ?? via.host;
    if (ipFamily(host) === undefined) {
      return source?.connectionId === undefined
        ? fail('CR_SIP_TRANSPORT_NEEDS_DNS', 'Via sent-by is a host name and there is no received parameter')
        : ok({ transport, address: source.remote.address, port: source.remote.port, connectionId: source.connectionId });
    }
    return ok({ transport, address: host, port: rport ?? sentByPort, ...(source?.connectionId === undefined ? {} : { connectionId: source.connectionId }) });
  }

  // §18.2.2: "if the sent-protocol is not a reliable transport protocol, and the top Via header
  // field value contains a maddr parameter, the response MUST be forwarded to the address listed
  // there, using the port indicated in sent-by". A maddr host name would need DNS: ignored.
  const maddr = via.maddr === undefined ? undefined : stripBrackets(via.maddr);
  if (maddr !== undefined && ipFamily(maddr) !== undefined) return ok({ transport, address: maddr, port: sentByPort });
  // §18.2.2: "Otherwise ... if the top Via header field value contains a received parameter, the
  // response MUST be sent to the address in the received parameter, using the port indicated in
  // the sent-by value"; RFC 3581 §4: "... and the port in the rport parameter".
  if (received !== undefined) return ok({ transport, address: received, port: rport ?? sentByPort });
  // §18.2.2: "Otherwise, if it is not receiver-tagged ... sent to the address indicated by the
  // sent-by value, using the procedures in Section 5 of [4]" (RFC 3263): only an IP literal here.
  if (ipFamily(via.host) === undefined) return fail('CR_SIP_TRANSPORT_NEEDS_DNS', 'Via sent-by is a host name');
  return ok({ transport, address: via.host, port: rport ?? sentByPort });
}

function ok(destination: Destination): RouteOutcome {
  return { ok: true, destination };
}

function fail(code: ConstructorParameters<typeof SipTransportError>[0], message: string): RouteOutcome {
  return { ok: false, error: new SipTransportError(code, message) };
}
