/**
 * SIP transactions (RFC 3261 §17 with RFC 6026): the four state machines, matching, CANCEL, the
 * 2xx retransmission of the UAS core, and the TransactionUser the user agent implements.
 */
export { TransactionLayer, type TransactionLayerOptions, type TransactionLayerStats } from './transaction-layer.ts';
export type { Admission, ClientTransaction, ClientTransactionUser, ServerTransaction, Transaction, TransactionUser } from './transaction-user.ts';
export { InviteClientTransaction, type InviteClientState } from './invite-client-transaction.ts';
export { NonInviteClientTransaction, type NonInviteClientState } from './non-invite-client-transaction.ts';
export { InviteServerTransaction, type InviteServerState } from './invite-server-transaction.ts';
export { NonInviteServerTransaction, type NonInviteServerState } from './non-invite-server-transaction.ts';
export { AnswerRetransmitter, type AnswerRetransmitterOptions } from './answer-retransmitter.ts';
export { buildNon2xxAck } from './build-ack.ts';
export { buildCancel } from './build-cancel.ts';
export { timersFor, type TransactionTimerOptions, type TransactionTimerValues } from './transaction-timers.ts';
export { clientKey, serverKey } from './transaction-key.ts';
