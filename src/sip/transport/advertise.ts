import { networkInterfaces } from 'node:os';
import type { LocalEndpoint, SocketAddress, TransportProtocol } from './transport.ts';

/** What a listener is told to advertise (config `sip.listen[]` plus `sip.publicHost`). */
export interface AdvertiseSpec {
  readonly publicHost?: string;
  readonly publicPort?: number;
}

/** The endpoint of a bound listener: its sent-by/Contact host and port. */
export function advertise(spec: AdvertiseSpec, transport: TransportProtocol, bound: SocketAddress): LocalEndpoint {
  return {
    transport,
    bound,
    advertisedHost: spec.publicHost ?? concreteAddress(bound),
    advertisedPort: spec.publicPort ?? bound.port,
  };
}

/** A wildcard bind advertises the first non-internal address of its family (loopback when none). */
function concreteAddress(bound: SocketAddress): string {
  if (bound.address !== '0.0.0.0' && bound.address !== '::') return bound.address;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!i.internal && i.family === bound.family) return i.address;
  }
  return bound.family === 'IPv6' ? '::1' : '127.0.0.1';
}
