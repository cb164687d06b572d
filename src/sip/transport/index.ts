/**
 * SIP transport (RFC 3261 §18, RFC 3581): UDP and TCP listeners over IPv4 and IPv6, response
 * routing, TCP connection reuse. Imports only src/core and src/sip/message. Never resolves DNS.
 */
export { createSipTransport, DEFAULT_UDP_BUFFERS, SipTransport, type ListenSpec, type SipTransportOptions } from './sip-transport.ts';
export type { UdpBufferSizes } from './udp-listener.ts';
export {
  isReliable, type AddressFamily, type Destination, type IncomingMessage, type LocalEndpoint, type MessageReceiver,
  type MessageSource, type SendResult, type SocketAddress, type Transport, type TransportProtocol,
} from './transport.ts';
export { SipTransportError, type SipTransportErrorCode } from './transport-error.ts';
export { COUNTED_METHODS, type CountedMethod, type TransportStats } from './transport-stats.ts';
export { routeRequest, routeUri } from './route-request.ts';
export { routeResponse, protocolOf, DEFAULT_SIP_PORT, type RouteOutcome } from './route-response.ts';
export { canonicalIp, ipFamily, sameIp } from './ip-address.ts';
