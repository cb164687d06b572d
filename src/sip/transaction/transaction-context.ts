import type { Clock } from '../../core/clock.ts';
import type { Transport } from '../transport/transport.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';
import type { Transaction, TransactionUser } from './transaction-user.ts';

/**
 * What a transaction needs from the layer that owns it: no back-reference to the layer itself,
 * only these narrow services.
 */
export interface TransactionContext {
  readonly clock: Clock;
  readonly transport: Transport;
  readonly user: TransactionUser;
  /** Timer values on a reliable (TCP) or unreliable (UDP) transport. */
  timers(reliable: boolean): TransactionTimerValues;
  /** Runs a TU callback; what it throws is logged and swallowed (a TU bug must not break a state machine). */
  notify(fn: () => void): void;
  /** Called exactly once when a transaction enters Terminated: the layer forgets it. */
  terminated(tx: Transaction): void;
  /**
   * Called when a transaction has its final response and only lingers to absorb retransmissions (server
   * Completed/Accepted/Confirmed, client Completed/Accepted). May be called more than once per transaction.
   */
  settled(tx: Transaction): void;
}
