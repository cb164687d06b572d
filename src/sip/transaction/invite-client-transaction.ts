import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import { isReliable, type Destination, type MessageSource } from '../transport/transport.ts';
import { buildNon2xxAck } from './build-ack.ts';
import { TimerTable } from './timer-table.ts';
import type { TransactionContext } from './transaction-context.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';
import type { ClientTransactionUser } from './transaction-user.ts';

/** RFC 3261 §17.1.1.2 (Figure 5) with RFC 6026 §7.2 (Accepted state). */
export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

type TimerName = 'A' | 'B' | 'D' | 'M';

/** The timers alive in each state; entering a state clears all others. */
/** States in which the transaction only absorbs retransmissions (counted apart from the admission cap). */
const SETTLED: ReadonlySet<string> = new Set(['completed', 'accepted']);

const LIVE: Readonly<Record<InviteClientState, readonly TimerName[]>> = {
  calling: ['A', 'B'],
  proceeding: [],
  completed: ['D'],
  accepted: ['M'],
  terminated: [],
};

/**
 * INVITE client transaction. Retransmits the INVITE on UDP (Timer A, doubling), times out after
 * 64*T1 in Calling (Timer B), ACKs non-2xx finals itself with the INVITE's branch and Route
 * (§17.1.1.3) and absorbs their retransmissions (Timer D), passes every 2xx to the TU for 64*T1
 * (Timer M, RFC 6026) — the TU ACKs a 2xx itself.
 */
export class InviteClientTransaction {
  readonly kind = 'invite-client' as const;
  /** Matching key: branch and method (§17.1.3). */
  readonly id: string;
  readonly request: SipMessage;
  /** Requests put on the wire, the first one included (tests and metrics). */
  transmissions = 0;
  readonly #ctx: TransactionContext;
  readonly #user: ClientTransactionUser;
  readonly #timers: TimerTable<TimerName>;
  readonly #t: TransactionTimerValues;
  readonly #reliable: boolean;
  #destination: Destination;
  #state: InviteClientState = 'calling';
  #ack: SipMessage | undefined;

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

  get state(): InviteClientState {
    return this.#state;
  }

  /** Where the INVITE goes; after the first TCP send it names the connection used. */
  get destination(): Destination {
    return this.#destination;
  }

  /** The ACK sent for a non-2xx final response, once there is one. */
  get ack(): SipMessage | undefined {
    return this.#ack;
  }

  /** Running timers (tests check that a terminated transaction holds none). */
  get timerCount(): number {
    return this.#timers.size;
  }

  /** @internal Started by the layer right after registering it. */
  start(): void {
    // §17.1.1.2: "The 'Calling' state MUST be entered when the TU initiates a new client
    // transaction with an INVITE request. The client transaction MUST pass the request to the
    // transport layer for transmission. If an unreliable transport is being used, the client
    // transaction MUST start timer A with a value of T1 ... For any transport, the client
    // transaction MUST start timer B with a value of 64*T1 seconds."
    this.#send(this.request);
    if (!this.#reliable) this.#armA(this.#t.A);
    this.#timers.start('B', this.#t.B, () => this.#onTimerB());
  }

  #armA(interval: number): void {
    this.#timers.start('A', interval, () => {
      // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request ...
      // and MUST reset the timer with a value of 2*T1 ... intervals that double after each
      // transmission." (No T2 cap for INVITE, unlike Timer E and G.)
      this.#send(this.request);
      this.#armA(interval * 2);
    });
  }

  #onTimerB(): void {
    // §17.1.1.2: "If the client transaction is still in the 'Calling' state when timer B fires,
    // the client transaction SHOULD inform the TU that a timeout has occurred."
    if (this.#state !== 'calling') return;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#user.onTimeout(this));
  }

  /** @internal A response matched this transaction (§17.1.3). */
  receiveResponse(response: SipMessage, source: MessageSource): void {
    const status = response.status;
    switch (this.#state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          // §17.1.1.2: "If the client transaction receives a provisional response while in the
          // 'Calling' state, it transitions to the 'Proceeding' state ... Furthermore, the
          // provisional response MUST be passed to the TU."
          if (this.#state === 'calling') this.#enter('proceeding');
          this.#pass(response, source);
        } else if (status < 300) {
          // RFC 6026 §7.2: "If a 2xx response is received while the client INVITE state machine is
          // in the 'Calling' or 'Proceeding' states, it MUST transition to the 'Accepted' state,
          // pass the 2xx response to the TU, and set Timer M to 64*T1."
          this.#enter('accepted');
          this.#timers.start('M', this.#t.M, () => this.#enter('terminated'));
          this.#pass(response, source);
        } else {
          // §17.1.1.2: "When in either the 'Calling' or 'Proceeding' states, reception of a
          // response with status code from 300-699 MUST cause the client transaction to transition
          // to 'Completed'. The client transaction MUST pass the received response up to the TU,
          // and the client transaction MUST generate an ACK request ... timer D ... at least 32
          // seconds for unreliable transports, and ... zero seconds for reliable transports."
          this.#enter('completed');
          this.#ack = buildNon2xxAck(this.request, response);
          this.#send(this.#ack, false);
          this.#pass(response, source);
          if (this.state !== 'completed') return; // the TU may have closed the layer
          if (this.#t.D === 0) this.#enter('terminated');
          else this.#timers.start('D', this.#t.D, () => this.#enter('terminated'));
        }
        return;
      case 'completed':
        // §17.1.1.2: "Any retransmissions of the final response that are received while in the
        // 'Completed' state MUST cause the ACK to be re-passed to the transport layer for
        // retransmission, but the newly received response MUST NOT be passed up to the TU."
        if (status >= 300 && this.#ack !== undefined) this.#send(this.#ack, false);
        return;
      case 'accepted':
        // RFC 6026 §7.2: "any 2xx response that matches the transaction ... while in the
        // 'Accepted' state MUST be passed up to the TU".
        if (status >= 200 && status < 300) this.#pass(response, source);
        return;
      case 'terminated':
        return;
    }
  }

  /** Stops at once without telling the TU (the layer is closing). */
  terminate(): void {
    this.#enter('terminated');
  }

  #pass(response: SipMessage, source: MessageSource): void {
    this.#ctx.notify(() => this.#user.onResponse(response, this, source));
  }

  #enter(state: InviteClientState): void {
    if (this.#state === 'terminated') return;
    this.#state = state;
    this.#timers.keepOnly(LIVE[state]);
    if (state === 'terminated') this.#ctx.terminated(this);
    else if (SETTLED.has(state)) this.#ctx.settled(this);
  }

  #send(message: SipMessage, isRequest = true): void {
    if (isRequest) this.transmissions++;
    void this.#ctx.transport.send(message, this.#destination).then((result) => {
      if (result.ok) {
        // §17.1.1.3: the ACK goes "to the same address, port, and transport": pin the connection.
        if (result.connectionId !== undefined && this.#destination.connectionId === undefined) {
          this.#destination = { ...this.#destination, connectionId: result.connectionId };
        }
      } else this.#onTransportError(result.error);
    });
  }

  #onTransportError(error: SipTransportError): void {
    // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has occurred,
    // and the client transaction SHOULD transition directly to the 'Terminated' state." Once a
    // final response arrived the TU has its outcome: a failed ACK only ends the transaction.
    if (this.#state === 'terminated') return;
    const inform = this.#state === 'calling' || this.#state === 'proceeding';
    this.#enter('terminated');
    if (inform) this.#ctx.notify(() => this.#user.onTransportError(this, error));
  }
}
