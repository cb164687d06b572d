import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import { isReliable, type Destination, type MessageSource } from '../transport/transport.ts';
import { TimerTable } from './timer-table.ts';
import type { TransactionContext } from './transaction-context.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';
import type { ClientTransactionUser } from './transaction-user.ts';

/** RFC 3261 §17.1.2.2 (Figure 6). */
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

type TimerName = 'E' | 'F' | 'K';

/** The timers alive in each state; entering a state clears all others. */
/** States in which the transaction only absorbs retransmissions (counted apart from the admission cap). */
const SETTLED: ReadonlySet<string> = new Set(['completed']);

const LIVE: Readonly<Record<NonInviteClientState, readonly TimerName[]>> = {
  trying: ['E', 'F'],
  // §17.1.2.2: Timer E keeps running (reset to T2) and Timer F still bounds the transaction.
  proceeding: ['E', 'F'],
  completed: ['K'],
  terminated: [],
};

/**
 * Non-INVITE client transaction (BYE, OPTIONS, REGISTER, CANCEL, REFER, NOTIFY, INFO, UPDATE...).
 * Retransmits on UDP (Timer E: T1 doubling to T2, then T2 once a provisional arrived), times out
 * after 64*T1 (Timer F), absorbs response retransmissions for T4 (Timer K).
 */
export class NonInviteClientTransaction {
  readonly kind = 'non-invite-client' as const;
  /** Matching key: branch and method (§17.1.3). */
  readonly id: string;
  readonly request: SipMessage;
  /** Requests put on the wire, the first one included. */
  transmissions = 0;
  readonly #ctx: TransactionContext;
  readonly #user: ClientTransactionUser;
  readonly #timers: TimerTable<TimerName>;
  readonly #t: TransactionTimerValues;
  readonly #reliable: boolean;
  #destination: Destination;
  #state: NonInviteClientState = 'trying';

  constructor(id: string, request: SipMessage, destination: Destination, ctx: TransactionContext, user: ClientTransactionUser) {
    this.id = id;
    this.request = request;
    this.#destination = destination;
    this.#ctx = ctx;
    this.#user = user;
    this.#reliable = isReliable(destination.transport);
    this.#t = ctx.timers(this.#reliable);
    this.#timers = new TimerTable(ctx.clock);
  }

  get state(): NonInviteClientState {
    return this.#state;
  }

  get destination(): Destination {
    return this.#destination;
  }

  get timerCount(): number {
    return this.#timers.size;
  }

  /** @internal */
  start(): void {
    // §17.1.2.2: "The 'Trying' state is entered when the TU initiates a new client transaction
    // with a request. When entering this state, the client transaction SHOULD set timer F to fire
    // in 64*T1 seconds. The request MUST be passed to the transport layer for transmission. If an
    // unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
    this.#send();
    this.#timers.start('F', this.#t.F, () => this.#onTimerF());
    if (!this.#reliable) this.#armE(this.#t.E);
  }

  #armE(interval: number): void {
    this.#timers.start('E', interval, () => {
      // §17.1.2.2: "If timer E fires while still in this state, the timer is reset, but this time
      // with a value of MIN(2*T1, T2) ... If Timer E fires while in the 'Proceeding' state, the
      // request MUST be passed to the transport layer for retransmission, and Timer E MUST be
      // reset with a value of T2 seconds."
      this.#send();
      this.#armE(this.#state === 'proceeding' ? this.#t.t2 : Math.min(interval * 2, this.#t.t2));
    });
  }

  #onTimerF(): void {
    // §17.1.2.2: "If Timer F fires while the client transaction is still in the 'Trying' state,
    // the client transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the
    // 'Terminated' state. ... If timer F fires while in the 'Proceeding' state, the TU MUST be
    // informed of a timeout, and the client transaction MUST transition to the terminated state."
    if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#user.onTimeout(this));
  }

  /** @internal */
  receiveResponse(response: SipMessage, source: MessageSource): void {
    if (this.#state !== 'trying' && this.#state !== 'proceeding') {
      // §17.1.2.2: "The client transaction MUST ... buffer any response retransmissions that
      // can be received" in 'Completed': absorbed.
      return;
    }
    if (response.status < 200) {
      // §17.1.2.2: "If a provisional response is received while in the 'Trying' state, the
      // response MUST be passed to the TU, and then the client transaction SHOULD move to the
      // 'Proceeding' state."
      this.#pass(response, source);
      if (this.#state === 'trying') this.#enter('proceeding');
      return;
    }
    // §17.1.2.2: "If a final response (status codes 200-699) is received while in the 'Trying'
    // [or 'Proceeding'] state, the response MUST be passed to the TU, and the client transaction
    // MUST transition to the 'Completed' state ... timer K ... T4 seconds for unreliable transports,
    // and zero seconds for reliable transports."
    this.#enter('completed');
    this.#pass(response, source);
    if (this.state !== 'completed') return; // the TU may have closed the layer
    if (this.#t.K === 0) this.#enter('terminated');
    else this.#timers.start('K', this.#t.K, () => this.#enter('terminated'));
  }

  /** Stops at once without telling the TU (the layer is closing). */
  terminate(): void {
    this.#enter('terminated');
  }

  #pass(response: SipMessage, source: MessageSource): void {
    this.#ctx.notify(() => this.#user.onResponse(response, this, source));
  }

  #enter(state: NonInviteClientState): void {
    if (this.#state === 'terminated') return;
    this.#state = state;
    this.#timers.keepOnly(LIVE[state]);
    if (state === 'terminated') this.#ctx.terminated(this);
    else if (SETTLED.has(state)) this.#ctx.settled(this);
  }

  #send(): void {
    this.transmissions++;
    void this.#ctx.transport.send(this.request, this.#destination).then((result) => {
      if (result.ok) {
        if (result.connectionId !== undefined && this.#destination.connectionId === undefined) {
          this.#destination = { ...this.#destination, connectionId: result.connectionId };
        }
      } else this.#onTransportError(result.error);
    });
  }

  #onTransportError(error: SipTransportError): void {
    // §17.1.4: inform the TU and go straight to 'Terminated'.
    if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#user.onTransportError(this, error));
  }
}
