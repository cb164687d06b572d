import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from './transport-error.ts';
import type { TransportStats } from './transport-stats.ts';

/** The two transports this stack speaks. TCP is reliable, UDP is not (RFC 3261 §18). */
export type TransportProtocol = 'udp' | 'tcp';

export type AddressFamily = 'IPv4' | 'IPv6';

/** An IP literal (IPv6 without brackets) and port. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
  readonly family: AddressFamily;
}

/**
 * Where a received message came from and how: what the transaction layer needs to answer it
 * (RFC 3261 §18.2.2) and what the user agent needs to check the peer (trunk source addresses).
 */
export interface MessageSource {
  readonly transport: TransportProtocol;
  /** Source address and port of the datagram or connection. */
  readonly remote: SocketAddress;
  /** Our address and port it arrived on (the listener for UDP, the connection's end for TCP). */
  readonly local: SocketAddress;
  /** The TCP connection it arrived on; responses go back on it while it is open. */
  readonly connectionId?: number;
}

/** A received, parsed message with its source. Requests already carry `received`/`rport` (§18.2.1). */
export interface IncomingMessage {
  readonly message: SipMessage;
  readonly source: MessageSource;
}

/**
 * Where to send a message: always an IP literal (this stack never resolves DNS). For TCP, an open
 * connection to `address:port` is reused, else one is opened; `connectionId` pins a particular
 * connection while it stays open.
 */
export interface Destination {
  readonly transport: TransportProtocol;
  readonly address: string;
  readonly port: number;
  readonly connectionId?: number;
  /** UDP: send from the listener bound here (a response leaves from where its request arrived). */
  readonly local?: SocketAddress;
}

/** Outcome of a send: never a rejected promise. `connectionId` tells which TCP connection was used. */
export type SendResult =
  | { readonly ok: true; readonly destination: Destination; readonly connectionId?: number }
  | { readonly ok: false; readonly error: SipTransportError };

/** One open listener, as the user agent needs it for Via and Contact. */
export interface LocalEndpoint {
  readonly transport: TransportProtocol;
  /** Bound address and port (the real port when configured as 0). */
  readonly bound: SocketAddress;
  /** Host and port written into Via sent-by and offered for Contact. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

/** Receives every parsed message the transport accepts. Must not throw (errors are caught and counted). */
export type MessageReceiver = (incoming: IncomingMessage) => void;

/**
 * What the transaction layer consumes from the transport (RFC 3261 §18). Sending a request fills
 * the top Via's transport and sent-by (§18.1.1); sending a response follows §18.2.2.
 */
export interface Transport {
  /** Sends a request or response to an explicit destination. */
  send(message: SipMessage, destination: Destination): Promise<SendResult>;
  /** Sends a response to the request that arrived from `source`, routed per RFC 3261 §18.2.2 / RFC 3581. */
  sendResponse(response: SipMessage, source: MessageSource): Promise<SendResult>;
  /** Sets who gets incoming messages (one receiver: the transaction layer). */
  setReceiver(receiver: MessageReceiver): void;
  /** Whether a TCP connection is still open. */
  isConnectionOpen(connectionId: number): boolean;
  /** Open listeners. */
  endpoints(): readonly LocalEndpoint[];
  /** Its counters, when it keeps them (the socket transport does; metrics read them on a scrape). */
  readonly stats?: TransportStats;
  close(): Promise<void>;
}

/**
 * Where a stateless refusal goes: straight back to the request's source (its connection, or its address and
 * port from the listener it arrived on), whatever its Via says. A Via maddr or sent-by could otherwise aim our
 * 403s and 503s at a third party; only answers inside a transaction follow §18.2.2 in full.
 */
export function sourceDestination(source: MessageSource): Destination {
  return {
    transport: source.transport,
    address: source.remote.address,
    port: source.remote.port,
    ...(source.connectionId === undefined ? {} : { connectionId: source.connectionId }),
    ...(source.transport === 'udp' ? { local: source.local } : {}),
  };
}

/** Whether a transport retransmits for itself (RFC 3261 §17: timers collapse to 0 on TCP). */
export function isReliable(transport: TransportProtocol): boolean {
  return transport === 'tcp';
}
