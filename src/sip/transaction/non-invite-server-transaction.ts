import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import { isReliable, type MessageSource } from '../transport/transport.ts';
import { TimerTable } from './timer-table.ts';
import type { TransactionContext } from './transaction-context.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';

/** RFC 3261 §17.2.2 (Figure 8). */
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

type TimerName = 'J';

/** The timers alive in each state; entering a state clears all others. */
/** States in which the transaction only absorbs retransmissions (counted apart from the admission cap). */
const SETTLED: ReadonlySet<string> = new Set(['completed']);

const LIVE: Readonly<Record<NonInviteServerState, readonly TimerName[]>> = {
  trying: [],
  proceeding: [],
  completed: ['J'],
  terminated: [],
};

/**
 * Non-INVITE server transaction: absorbs request retransmissions (resending the last response
 * once there is one) and keeps the final response for 64*T1 on UDP (Timer J).
 */
export class NonInviteServerTransaction {
  readonly kind = 'non-invite-server' as const;
  readonly id: string;
  readonly request: SipMessage;
  readonly source: MessageSource;
  transmissions = 0;
  readonly #ctx: TransactionContext;
  readonly #timers: TimerTable<TimerName>;
  readonly #t: TransactionTimerValues;
  #state: NonInviteServerState = 'trying';
  #lastResponse: SipMessage | undefined;
  #failed = false;

  constructor(id: string, request: SipMessage, source: MessageSource, ctx: TransactionContext) {
    this.id = id;
    this.request = request;
    this.source = source;
    this.#ctx = ctx;
    this.#t = ctx.timers(isReliable(source.transport));
    this.#timers = new TimerTable(ctx.clock);
  }

  get state(): NonInviteServerState {
    return this.#state;
  }

  get lastResponse(): SipMessage | undefined {
    return this.#lastResponse;
  }

  get timerCount(): number {
    return this.#timers.size;
  }

  /** @internal Nothing to arm: §17.2.2 starts in 'Trying' without timers. */
  start(): void {}

  /** Sends a response from the TU; false (nothing sent) once a final response was sent. */
  respond(response: SipMessage): boolean {
    if (!response.isResponse || (this.#state !== 'trying' && this.#state !== 'proceeding')) return false;
    this.#lastResponse = response;
    if (response.status < 200) {
      // §17.2.2: "While in the 'Trying' state, if the TU passes a provisional response to the
      // server transaction, the server transaction MUST enter the 'Proceeding' state. The response
      // MUST be passed to the transport layer for transmission." (Further ones in 'Proceeding' too.)
      this.#enter('proceeding');
      this.#send(response);
      return true;
    }
    // §17.2.2: "If the TU passes a final response (status codes 200-699) to the server while in the
    // 'Proceeding' [or 'Trying'] state, the transaction MUST enter the 'Completed' state, and the
    // response MUST be passed to the transport layer for transmission. ... timer J is set to fire
    // in 64*T1 seconds for unreliable transports, and zero seconds for reliable transports."
    this.#enter('completed');
    this.#send(response);
    if (this.#t.J === 0) this.#enter('terminated');
    else this.#timers.start('J', this.#t.J, () => this.#enter('terminated'));
    return true;
  }

  /** @internal A retransmission of the request matched this transaction. */
  receiveRequest(): void {
    // §17.2.2: in 'Trying', "any further request retransmissions are discarded"; in 'Proceeding'
    // "the most recently sent provisional response MUST be passed to the transport layer for
    // retransmission"; in 'Completed', "whenever a retransmission of the request is received,
    // [the final response] MUST be passed to the transport layer for retransmission".
    if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#lastResponse !== undefined) {
      this.#send(this.#lastResponse);
    }
  }

  /** Stops at once without telling the TU (the layer is closing). */
  terminate(): void {
    this.#enter('terminated');
  }

  #enter(state: NonInviteServerState): void {
    if (this.#state === 'terminated') return;
    this.#state = state;
    this.#timers.keepOnly(LIVE[state]);
    if (state === 'terminated') this.#ctx.terminated(this);
    else if (SETTLED.has(state)) this.#ctx.settled(this);
  }

  #send(response: SipMessage): void {
    this.transmissions++;
    void this.#ctx.transport.sendResponse(response, this.source).then((result) => {
      if (!result.ok) this.#onTransportError(result.error);
    });
  }

  #onTransportError(error: SipTransportError): void {
    // §17.2.4: inform the TU and terminate. After the final response on TCP the transaction is
    // already gone; the TU still hears of it, since its response never arrived.
    if (this.#failed) return;
    this.#failed = true;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#ctx.user.onTransportError(this, error));
  }
}
