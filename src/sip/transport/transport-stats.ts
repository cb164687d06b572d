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
  };
}
