import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import type { MessageSource } from '../transport/transport.ts';
import type { InviteClientTransaction } from './invite-client-transaction.ts';
import type { InviteServerTransaction } from './invite-server-transaction.ts';
import type { NonInviteClientTransaction } from './non-invite-client-transaction.ts';
import type { NonInviteServerTransaction } from './non-invite-server-transaction.ts';

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type Transaction = ClientTransaction | ServerTransaction;

/**
 * What `TransactionUser.admit` decides for a new request before any state exists: create the
 * transaction, drop the request silently, or answer it statelessly with a final status.
 */
export type Admission = 'accept' | 'drop' | { readonly status: number; readonly reason?: string };

/**
 * Who hears about one client transaction (RFC 3261 §17.1). The layer's TransactionUser by default;
 * `TransactionLayer.sendRequest` takes another (a dialog, a registration) per request.
 */
export interface ClientTransactionUser {
  /**
   * A response for the transaction: every provisional, the final one, and for INVITE every 2xx
   * (retransmissions and forks, RFC 6026 Accepted state: the TU ACKs each 2xx itself, §13.2.2.4).
   * Retransmitted non-2xx finals are absorbed (their ACK is sent by the transaction).
   */
  onResponse(response: SipMessage, tx: ClientTransaction, source: MessageSource): void;
  /** Timer B or F fired: treat as a 408 (§8.1.3.1). */
  onTimeout(tx: ClientTransaction): void;
  /** The request could not be sent: treat as a 503 (§8.1.3.1, §17.1.4). */
  onTransportError(tx: ClientTransaction, error: SipTransportError): void;
}

/**
 * The transaction user (RFC 3261 §17: the UA core; here the user agent / dialog layer). Owned by
 * the transaction layer, implemented above it. Callbacks must not throw (the layer catches and
 * logs, the transaction carries on). Every new request arrives with its server transaction, the
 * TU answers through `tx.respond()`.
 */
export interface TransactionUser extends ClientTransactionUser {
  /**
   * A new request other than ACK and CANCEL. For INVITE, answer within 200 ms or the transaction
   * sends 100 Trying (§17.2.1); a 2xx moves it to Accepted (RFC 6026) and the TU retransmits the
   * 2xx until the ACK arrives (`AnswerRetransmitter`).
   */
  onRequest(tx: ServerTransaction, request: SipMessage): void;
  /**
   * An ACK that is not absorbed by a transaction: the ACK for a 2xx (its own transaction per
   * §17.1.1.3, so `tx` is usually undefined; it is the INVITE's transaction when an RFC 2543 peer's
   * ACK matches one in Accepted state). Stop retransmitting the 2xx; in-dialog, confirm the dialog.
   */
  onAck(ack: SipMessage, source: MessageSource, tx: InviteServerTransaction | undefined): void;
  /**
   * A CANCEL matched `tx` (§9.2) while it had not sent a final response; the layer already
   * answered the CANCEL 200. The TU answers the INVITE 487 Request Terminated.
   */
  onCancel(cancel: SipMessage, tx: InviteServerTransaction): void;
  /** Timer B/F for a client transaction (via `ClientTransactionUser`), Timer H for an INVITE server one (no ACK for a non-2xx). */
  onTimeout(tx: Transaction): void;
  onTransportError(tx: Transaction, error: SipTransportError): void;
  /**
   * Screens a new request (not a retransmission, not an ACK) before a transaction is created:
   * an INVITE flood from an unknown source can be dropped or answered 403 statelessly, costing
   * no state at all. Absent: every request is accepted (up to `maxTransactions`).
   */
  admit?(request: SipMessage, source: MessageSource): Admission;
  /** A response that matches no transaction: typically a 2xx retransmission after Timer M (ACK it again). */
  onStrayResponse?(response: SipMessage, source: MessageSource): void;
  /** A transaction ended (any reason); for bookkeeping. */
  onTerminated?(tx: Transaction): void;
}
