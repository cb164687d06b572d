import { createResponse } from '../message/create-response.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import { isReliable, type MessageSource } from '../transport/transport.ts';
import { TimerTable } from './timer-table.ts';
import type { TransactionContext } from './transaction-context.ts';
import type { TransactionTimerValues } from './transaction-timers.ts';

/** RFC 3261 §17.2.1 (Figure 7) with RFC 6026 §7.1 (Accepted state). */
export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** `Trying` is the 200 ms wait before the transaction sends 100 Trying itself. */
type TimerName = 'Trying' | 'G' | 'H' | 'I' | 'L';

/** The timers alive in each state; entering a state clears all others. */
/** States in which the transaction only absorbs retransmissions (counted apart from the admission cap). */
const SETTLED: ReadonlySet<string> = new Set(['completed', 'accepted', 'confirmed']);

const LIVE: Readonly<Record<InviteServerState, readonly TimerName[]>> = {
  proceeding: ['Trying'],
  completed: ['G', 'H'],
  confirmed: ['I'],
  accepted: ['L'],
  terminated: [],
};

/**
 * INVITE server transaction. Sends 100 Trying when the TU is slow, absorbs INVITE retransmissions
 * by resending the last response, retransmits a non-2xx final on UDP until the ACK (Timer G, H),
 * absorbs ACK retransmissions (Timer I); on a 2xx enters Accepted for 64*T1 (Timer L, RFC 6026),
 * where 2xx retransmissions from the TU go out and ACKs go up to the TU.
 */
export class InviteServerTransaction {
  readonly kind = 'invite-server' as const;
  /** Matching key (§17.2.3, or the RFC 2543 fallback). */
  readonly id: string;
  readonly request: SipMessage;
  readonly source: MessageSource;
  /** Responses put on the wire, retransmissions included. */
  transmissions = 0;
  readonly #ctx: TransactionContext;
  readonly #timers: TimerTable<TimerName>;
  readonly #t: TransactionTimerValues;
  readonly #reliable: boolean;
  #state: InviteServerState = 'proceeding';
  #lastProvisional: SipMessage | undefined;
  #final: SipMessage | undefined;

  constructor(id: string, request: SipMessage, source: MessageSource, ctx: TransactionContext) {
    this.id = id;
    this.request = request;
    this.source = source;
    this.#ctx = ctx;
    this.#reliable = isReliable(source.transport);
    this.#t = ctx.timers(this.#reliable);
    this.#timers = new TimerTable(ctx.clock);
  }

  get state(): InviteServerState {
    return this.#state;
  }

  /** The last response sent (final, else provisional): its To tag is the one a CANCEL's 200 and an ACK carry. */
  get lastResponse(): SipMessage | undefined {
    return this.#final ?? this.#lastProvisional;
  }

  get timerCount(): number {
    return this.#timers.size;
  }

  /** @internal Called by the layer before the TU sees the request. */
  start(): void {
    // §17.2.1: "If there is a chance that the TU will not generate a response within 200 ms, the
    // server transaction MUST generate a 100 (Trying) response" — so it does, when 200 ms pass
    // without any response from the TU.
    this.#timers.start('Trying', this.#t.trying100, () => {
      if (this.#state === 'proceeding' && this.#lastProvisional === undefined) this.#sendProvisional(createResponse(this.request, 100));
    });
  }

  /**
   * Sends a response from the TU. Returns false (and sends nothing) when this state takes no such
   * response: after a final response, only further 2xx in Accepted (the TU's retransmissions).
   */
  respond(response: SipMessage): boolean {
    if (!response.isResponse) return false;
    const status = response.status;
    switch (this.#state) {
      case 'proceeding':
        if (status < 200) {
          // §17.2.1: "The TU passes any number of provisional responses to the server transaction.
          // So long as the server transaction is in the 'Proceeding' state, each of these MUST be
          // passed to the transport layer for transmission."
          this.#sendProvisional(response);
        } else if (status < 300) {
          // RFC 6026 §7.1: "If, while in the 'Proceeding' state, the TU passes a 2xx response to
          // the server transaction, the server transaction MUST pass this response to the
          // transport layer for transmission ... and the server transaction MUST then transition
          // to the 'Accepted' state" and start Timer L with 64*T1.
          this.#final = response;
          this.#enter('accepted');
          this.#timers.start('L', this.#t.L, () => this.#enter('terminated'));
          this.#send(response);
        } else {
          // §17.2.1: "While in the 'Proceeding' state, if the TU passes a response with status code
          // from 300 to 699 to the server transaction, the response MUST be passed to the transport
          // layer for transmission, and the state machine MUST enter the 'Completed' state. For
          // unreliable transports, timer G is set to fire in T1 seconds ... timer H MUST be set to
          // fire in 64*T1 seconds for all transports."
          this.#final = response;
          this.#enter('completed');
          if (!this.#reliable) this.#armG(this.#t.G);
          this.#timers.start('H', this.#t.H, () => this.#onTimerH());
          this.#send(response);
        }
        return true;
      case 'accepted':
        // RFC 6026 §7.1: "While in the 'Accepted' state, any retransmissions of the 2xx response
        // passed from the TU to the server transaction MUST be passed to the transport layer."
        if (status < 200 || status >= 300) return false;
        this.#send(response);
        return true;
      default:
        return false;
    }
  }

  /** @internal A retransmission of the INVITE matched this transaction. */
  receiveRequest(): void {
    switch (this.#state) {
      case 'proceeding':
        // §17.2.1: "If a request retransmission is received while in the 'Proceeding' state, the
        // most recent provisional response that was received from the TU MUST be passed to the
        // transport layer for retransmission." None yet: 100 Trying now stops the retransmissions.
        if (this.#lastProvisional === undefined) this.#sendProvisional(createResponse(this.request, 100));
        else this.#send(this.#lastProvisional);
        return;
      case 'completed':
        // §17.2.1: "while in the 'Completed' state, if a request retransmission is received, the
        // server SHOULD pass the response to the transport for retransmission."
        if (this.#final !== undefined) this.#send(this.#final);
        return;
      default:
        // Confirmed (§17.2.1: absorbed) and Accepted (RFC 6026 §7.1: "absorbed by the server
        // transaction" — the TU retransmits the 2xx on its own schedule).
        return;
    }
  }

  /** @internal An ACK matched this transaction (§17.2.3); true when it was absorbed. */
  receiveAck(ack: SipMessage, source: MessageSource): boolean {
    switch (this.#state) {
      case 'completed':
        // §17.2.1: "If an ACK is received while the server transaction is in the 'Completed'
        // state, the server transaction MUST transition to the 'Confirmed' state. ... timer I is
        // set to fire in T4 seconds for unreliable transports, and zero seconds for reliable".
        this.#enter('confirmed');
        if (this.#t.I === 0) this.#enter('terminated');
        else this.#timers.start('I', this.#t.I, () => this.#enter('terminated'));
        return true;
      case 'accepted':
        // RFC 6026 §7.1: "the server transaction MUST ... pass [an ACK received in 'Accepted'] to
        // the TU" (it acknowledges the 2xx).
        this.#ctx.notify(() => this.#ctx.user.onAck(ack, source, this));
        return true;
      default:
        // Confirmed: §17.2.1 absorbs further ACKs. Proceeding: nothing to acknowledge yet.
        return true;
    }
  }

  /** Stops at once without telling the TU (the layer is closing). */
  terminate(): void {
    this.#enter('terminated');
  }

  #armG(interval: number): void {
    this.#timers.start('G', interval, () => {
      // §17.2.1: "If timer G fires, the response is passed to the transport layer once more for
      // retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds."
      if (this.#final !== undefined) this.#send(this.#final);
      this.#armG(Math.min(interval * 2, this.#t.t2));
    });
  }

  #onTimerH(): void {
    // §17.2.1: "If timer H fires while in the 'Completed' state, it implies that the ACK was never
    // received. In this case, the server transaction MUST transition to the 'Terminated' state,
    // and MUST indicate to the TU that a transaction failure has occurred."
    if (this.#state !== 'completed') return;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#ctx.user.onTimeout(this));
  }

  #sendProvisional(response: SipMessage): void {
    this.#timers.stop('Trying');
    this.#lastProvisional = response;
    this.#send(response);
  }

  #enter(state: InviteServerState): void {
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
    // §17.2.4: the transport already tried the §18.2.2 fallbacks; "If those should all fail ... the
    // server transaction SHOULD inform the TU that a failure has occurred, and SHOULD transition
    // to the terminated state."
    if (this.#state === 'terminated') return;
    this.#enter('terminated');
    this.#ctx.notify(() => this.#ctx.user.onTransportError(this, error));
  }
}
