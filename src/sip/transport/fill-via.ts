import type { SipMessage } from '../message/sip-message.ts';
import { canonicalIp } from './ip-address.ts';

/** §18.1.1: "the client transport MUST insert a value of the 'sent-by' field into the Via header field". */
export function fillVia(request: SipMessage, transport: 'UDP' | 'TCP', host: string, port: number): void {
  const top = request.topVia;
  if (top === undefined) return;
  if (top.transport === transport && top.port === port && (canonicalIp(top.host) ?? top.host) === (canonicalIp(host) ?? host)) return;
  const via = top.clone();
  via.transport = transport;
  via.host = host;
  via.port = port;
  request.replaceFirst('via', via.toString());
}
