import type { SipMessage } from '../message/sip-message.ts';
import { canonicalIp, sameIp } from './ip-address.ts';
import type { SocketAddress } from './transport.ts';

/**
 * Marks the top Via of a received request with where it really came from, so the response finds
 * its way back through NAT:
 * - RFC 3261 §18.2.1: add `received` with the source IP when the sent-by host differs from it
 *   (a host name always differs: we never resolve it).
 * - RFC 3581 §4: a bare `rport` gets the source port, and `received` is then added even when the
 *   sent-by host is the source IP.
 * Returns false when the request has no top Via to stamp (the caller drops it).
 */
export function stampVia(request: SipMessage, remote: SocketAddress): boolean {
  const top = request.topVia;
  if (top === undefined) return false;
  const via = top.clone();
  const wantsRport = via.rport !== undefined;
  if (wantsRport) via.rport = remote.port;
  const source = canonicalIp(remote.address) ?? remote.address;
  // A `received` the sender wrote itself would misroute our response: always overwrite it.
  if (wantsRport || via.received !== undefined || !sameIp(via.host, source)) via.received = source;
  return request.replaceFirst('via', via.toString());
}
