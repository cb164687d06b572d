import type { Clock } from '../../core/clock.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { isReliable, type MessageSource, type Transport } from '../transport/transport.ts';
import { TimerTable } from './timer-table.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';

export interface AnswerRetransmitterOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  /** T1, T2 (for the schedule) come from here. */
  readonly timers: TransactionTimerValues;
  /** The 2xx to the INVITE, already sent once. */
  readonly response: SipMessage;
  /** Where the INVITE came from (the response follows §18.2.2 from there). */
  readonly source: MessageSource;
  /** 64*T1 passed without an ACK: the caller ends the session with a BYE (§13.3.1.4). */
  readonly onNoAck: () => void;
}

/**
 * The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4): the transaction layer does not own it
 * (the INVITE server transaction is in RFC 6026 Accepted), so it runs beside it. Retransmits at T1,
 * 2*T1, ... capped at T2 on UDP (on TCP the transport is reliable and only the ACK wait runs), and
 * gives up after 64*T1. `TransactionLayer.sendInvite2xx` starts one and stops it when the ACK arrives.
 */
export class AnswerRetransmitter {
  /** Retransmissions sent (the first transmission not counted). */
  retransmissions = 0;
  readonly #o: AnswerRetransmitterOptions;
  readonly #timers: TimerTable<'retransmit' | 'giveUp'>;
  #running = false;

  constructor(options: AnswerRetransmitterOptions) {
    this.#o = options;
    this.#timers = new TimerTable(options.clock);
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const t = this.#o.timers;
    // §13.3.1.4: "The 2xx response is passed to the transport with an interval that starts at T1
    // seconds and doubles for each retransmission until it reaches T2 seconds".
    if (!isReliable(this.#o.source.transport)) this.#arm(t.t1);
    // §13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds without receiving
    // an ACK, the dialog is confirmed, but the session SHOULD be terminated. This is accomplished
    // with a BYE".
    this.#timers.start('giveUp', 64 * t.t1, () => {
      this.stop();
      this.#o.onNoAck();
    });
  }

  /** The ACK arrived (or the dialog ended): no more retransmissions. */
  stop(): void {
    this.#running = false;
    this.#timers.clearAll();
  }

  #arm(interval: number): void {
    this.#timers.start('retransmit', interval, () => {
      this.retransmissions++;
      void this.#o.transport.sendResponse(this.#o.response, this.#o.source);
      this.#arm(Math.min(interval * 2, this.#o.timers.t2));
    });
  }
}
