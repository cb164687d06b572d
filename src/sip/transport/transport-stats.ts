/**
 * Counters of one transport, for metrics and tests. Everything the transport drops is counted
 * here, never logged per message (a flood must not become a log flood).
 */
export interface TransportStats {
  /** Messages parsed and handed to the receiver. */
  received: number;
  /** Messages written to a socket. */
  sent: number;
  /** Datagrams or framed messages that could not be parsed and could not be answered. */
  dropped: number;
  /** Requests answered 400/505/513 by the transport itself, without any state. */
  rejected: number;
  /** Responses whose top Via is not ours (RFC 3261 §18.1.2), discarded. */
  foreignResponses: number;
  /** CRLF keep-alives received (RFC 5626 §4.4.1); double-CRLF pings are answered with CRLF. */
  keepalives: number;
  /** Sends that failed (their callers got the error as a value). */
  sendErrors: number;
  /** Exceptions caught in a receive path (receiver bugs): never thrown out of a socket handler. */
  handlerErrors: number;
  /** TCP connections refused at the connection cap. */
  connectionsRefused: number;
  /**
   * Messages sent again: the same message a transaction (or the 2xx retransmission of RFC 3261 §13.3.1.4)
   * already sent, because no response or ACK came in time.
   */
  retransmitted: number;
  /** Responses sent, counted by status code (index 100..699; the array is allocated once). */
  readonly responsesSent: Uint32Array;
  /** Requests received and handed on, by method (methods outside `COUNTED_METHODS` under `other`). */
  readonly requestsReceived: Record<CountedMethod, number>;
}

/** Methods counted by name in `requestsReceived` (a fixed set: metrics labels stay bounded). */
export const COUNTED_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE', 'MESSAGE', 'PRACK', 'other'] as const;
export type CountedMethod = (typeof COUNTED_METHODS)[number];

/** The counting key of a request method. */
export function countedMethod(method: string): CountedMethod {
  return (COUNTED_METHODS as readonly string[]).includes(method) ? (method as CountedMethod) : 'other';
}

export function emptyTransportStats(): TransportStats {
  return {
    received: 0,
    sent: 0,
    dropped: 0,
    rejected: 0,
    foreignResponses: 0,
    keepalives: 0,
    sendErrors: 0,
    handlerErrors: 0,
    connectionsRefused: 0,
    retransmitted: 0,
    responsesSent: new Uint32Array(700),
    requestsReceived: Object.fromEntries(COUNTED_METHODS.map((m) => [m, 0])) as Record<CountedMethod, number>,
  };
}
