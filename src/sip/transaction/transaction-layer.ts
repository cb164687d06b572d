import { systemClock, type Clock } from '../../core/clock.ts';
import { CallroomError, errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { createResponse } from '../message/create-response.ts';
import { newBranch, newTag } from '../message/ids.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { checkRequest } from '../message/validate.ts';
import { Via } from '../message/via.ts';
import { sourceDestination, type Destination, type IncomingMessage, type MessageSource, type SendResult, type Transport } from '../transport/transport.ts';
import { AnswerRetransmitter } from './answer-retransmitter.ts';
import { InviteClientTransaction } from './invite-client-transaction.ts';
import { InviteServerTransaction } from './invite-server-transaction.ts';
import { NonInviteClientTransaction } from './non-invite-client-transaction.ts';
import { NonInviteServerTransaction } from './non-invite-server-transaction.ts';
import type { TransactionContext } from './transaction-context.ts';
import { clientKey, isRfc2543, responseKey, serverKey } from './transaction-key.ts';
import { timersFor, type TransactionTimerOptions, type TransactionTimerValues } from './transaction-timers.ts';
import type { Admission, ClientTransaction, ClientTransactionUser, ServerTransaction, Transaction, TransactionUser } from './transaction-user.ts';

export interface TransactionLayerOptions {
  readonly transport: Transport;
  readonly user: TransactionUser;
  readonly clock?: Clock;
  /** T1, T2, T4 (config `sip.timers`) and the derived timers' overrides. */
  readonly timers?: TransactionTimerOptions;
  /** Most live transactions, client and server (config `sip.limits.maxTransactions`; default 20,000). */
  readonly maxTransactions?: number;
  /** Retry-After (seconds) of the 503 sent over the cap (default 5). */
  readonly retryAfterSeconds?: number;
  readonly logger?: Logger;
}

/** Counters for metrics and tests. */
export interface TransactionLayerStats {
  /** New requests answered 503 statelessly because the table was full. */
  overCap: number;
  /** Responses that matched no client transaction. */
  strayResponses: number;
  /** CANCELs answered 481 (no INVITE to cancel, §9.2). */
  unmatchedCancels: number;
  /** Requests without the top Via/CSeq that matching needs (the transport lets few through). */
  unmatchable: number;
  /** Requests answered 400 statelessly: a mandatory header missing or repeated (§8.2, `checkRequest`). */
  badRequests: number;
  /** New requests the TU's `admit` dropped or answered statelessly. */
  screened: number;
  /** Exceptions thrown by TransactionUser callbacks (caught). */
  userErrors: number;
  /** Requests (CANCEL included) that matched a live server transaction: the peer sent them again. */
  retransmissionsReceived: number;
}

/**
 * The transaction layer (RFC 3261 §17): matches what the transport delivers to client and server
 * transactions (§17.1.3, §17.2.3 with the RFC 2543 fallback), creates server transactions for new
 * requests (up to `maxTransactions`, then 503 statelessly; malformed ones get 400 statelessly), answers CANCEL (§9.2), and hands
 * the rest to the TransactionUser. It takes the transport's receiver on construction; `close()`
 * stops every timer (the transport belongs to whoever created it).
 */
/** Lingering (finished) transactions may number this many times the admission cap before new requests get 503. */
const LINGER_FACTOR = 4;

export class TransactionLayer {
  readonly stats: TransactionLayerStats = {
    overCap: 0,
    strayResponses: 0,
    unmatchedCancels: 0,
    unmatchable: 0,
    badRequests: 0,
    screened: 0,
    userErrors: 0,
    retransmissionsReceived: 0,
  };
  readonly #transport: Transport;
  readonly #user: TransactionUser;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #max: number;
  readonly #retryAfter: number;
  readonly #timerValues: { readonly udp: TransactionTimerValues; readonly tcp: TransactionTimerValues };
  readonly #ctx: TransactionContext;
  readonly #client = new Map<string, ClientTransaction>();
  readonly #server = new Map<string, ServerTransaction>();
  /** RFC 2543 INVITE transactions by their key without To tag: an ACK carries the response's tag. */
  readonly #ack2543 = new Map<string, InviteServerTransaction>();
  readonly #ack2543Keys = new WeakMap<InviteServerTransaction, string>();
  /** 2xx retransmissions waiting for their ACK, by Call-ID, CSeq number and To tag (§13.3.1.4). */
  readonly #answers = new Map<string, AnswerRetransmitter>();
  /** Transactions that have their final response and only linger (Timers D/I/J/K/L/M). */
  readonly #settled = new Set<Transaction>();
  #lastCapWarning = -Infinity;
  #closing = false;

  constructor(options: TransactionLayerOptions) {
    this.#transport = options.transport;
    this.#user = options.user;
    this.#clock = options.clock ?? systemClock();
    this.#log = options.logger ?? silentLogger();
    this.#max = options.maxTransactions ?? 20_000;
    this.#retryAfter = options.retryAfterSeconds ?? 5;
    const t = options.timers ?? {};
    this.#timerValues = { udp: timersFor(t, false), tcp: timersFor(t, true) };
    this.#ctx = {
      clock: this.#clock,
      transport: this.#transport,
      user: this.#user,
      timers: (reliable) => (reliable ? this.#timerValues.tcp : this.#timerValues.udp),
      notify: (fn) => this.#notify(fn),
      terminated: (tx) => this.#forget(tx),
      settled: (tx) => {
        if (this.#client.get(tx.id) === tx || this.#server.get(tx.id) === tx) this.#settled.add(tx);
      },
    };
    this.#transport.setReceiver((incoming) => this.receive(incoming));
  }

  /** Live transactions, client and server. */
  get size(): number {
    return this.#client.size + this.#server.size;
  }

  /**
   * Transactions still working towards a final response. The admission cap (`maxTransactions`) counts these:
   * finished ones linger up to 64*T1 only to absorb retransmissions, so counting them would refuse new calls at
   * any sustained rate above maxTransactions / 32 s. Lingering ones have their own bound (4 x the cap).
   */
  get activeSize(): number {
    return this.size - this.#settled.size;
  }

  /** Timer values in use on UDP (the unreliable ones). */
  get timers(): TransactionTimerValues {
    return this.#timerValues.udp;
  }

  /**
   * Starts a client transaction for `request` to `destination` (an IP literal: see
   * `routeRequest`). Adds a top Via (branch with the magic cookie, `rport`) when there is none, or
   * a branch when it has none; the transport fills sent-by. A CANCEL from `buildCancel` keeps the
   * INVITE's branch. Responses, timeouts and transport errors go to `user`, default the layer's
   * TransactionUser. Throws only for misuse (ACK, no CSeq, a branch already in use, closed).
   */
  sendRequest(request: SipMessage, destination: Destination, user: ClientTransactionUser = this.#user): ClientTransaction {
    if (this.#closing) throw new CallroomError('CR_SIP_TRANSACTION_CLOSED', 'transaction layer closed');
    if (!request.isRequest || request.method === 'ACK') {
      throw new CallroomError('CR_SIP_NOT_A_TRANSACTION', 'ACK and responses are not sent in a client transaction: use sendStateless');
    }
    const cseq = request.cseq;
    if (cseq === undefined || cseq.method !== request.method) throw new CallroomError('CR_SIP_BAD_CSEQ', 'request needs a CSeq with its method');
    const branch = this.#prepareVia(request, destination);
    const key = clientKey(branch, request.method);
    if (this.#client.has(key)) throw new CallroomError('CR_SIP_DUPLICATE_TRANSACTION', 'a client transaction with this branch and method is live');
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(key, request, destination, this.#ctx, user)
        : new NonInviteClientTransaction(key, request, destination, this.#ctx, user);
    this.#client.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Sends outside any transaction: the ACK for a 2xx (§13.2.2.4, its own branch, added when
   * missing) or a stateless response.
   */
  sendStateless(message: SipMessage, destination: Destination): Promise<SendResult> {
    if (message.isRequest) this.#prepareVia(message, destination);
    return this.#transport.send(message, destination);
  }

  /**
   * Answers an INVITE server transaction with a 2xx and retransmits it until the ACK arrives
   * (RFC 3261 §13.3.1.4; RFC 6026: the transaction only carries it to Accepted). `onNoAck` runs
   * after 64*T1 without an ACK: the dialog then sends BYE. The matching ACK still reaches
   * `TransactionUser.onAck`. Returns false when the transaction takes no 2xx now.
   */
  sendInvite2xx(tx: InviteServerTransaction, response: SipMessage, onNoAck: () => void): boolean {
    if (response.status < 200 || response.status >= 300 || !tx.respond(response)) return false;
    const key = answerKey(response);
    if (key === undefined) return true; // no Call-ID or CSeq: nothing an ACK could match
    this.#answers.get(key)?.stop();
    const r = new AnswerRetransmitter({
      transport: this.#transport,
      clock: this.#clock,
      timers: this.#timerValues.udp,
      response,
      source: tx.source,
      onNoAck: () => {
        if (this.#answers.get(key) === r) this.#answers.delete(key);
        this.#notify(onNoAck);
      },
    });
    this.#answers.set(key, r);
    r.start();
    return true;
  }

  /** 2xx answers still waiting for their ACK. */
  get pendingAnswers(): number {
    return this.#answers.size;
  }

  /**
   * Entry point of everything the transport delivers (set as its receiver). Public so a test or
   * a second transport can feed it; never throws.
   */
  receive(incoming: IncomingMessage): void {
    if (this.#closing) return;
    try {
      const { message, source } = incoming;
      if (message.isResponse) this.#receiveResponse(message, source);
      else if (message.method === 'ACK') this.#receiveAck(message, source);
      else if (message.method === 'CANCEL') this.#receiveCancel(message, source);
      else this.#receiveRequest(message, source);
    } catch (err) {
      this.stats.userErrors++;
      this.#log.error({ err: errorMessage(err) }, 'sip transaction layer receive failed');
    }
  }

  /** Terminates every transaction and 2xx retransmission without telling the TU. */
  close(): void {
    this.#closing = true;
    for (const r of this.#answers.values()) r.stop();
    this.#answers.clear();
    for (const tx of [...this.#client.values(), ...this.#server.values()]) tx.terminate();
    this.#client.clear();
    this.#server.clear();
    this.#ack2543.clear();
  }

  #receiveResponse(response: SipMessage, source: MessageSource): void {
    const key = responseKey(response);
    const tx = key === undefined ? undefined : this.#client.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(response, source);
      return;
    }
    // §17.1.3 finds no transaction: RFC 6026 §8.4 lets the core see it (a 2xx after Timer M).
    this.stats.strayResponses++;
    const stray = this.#user.onStrayResponse;
    if (stray !== undefined) this.#notify(() => stray.call(this.#user, response, source));
  }

  #receiveRequest(request: SipMessage, source: MessageSource): void {
    const key = serverKey(request);
    if (key === undefined) {
      this.stats.unmatchable++;
      return;
    }
    const existing = this.#server.get(key);
    if (existing !== undefined) {
      // §17.2.3: a retransmission: the transaction absorbs it.
      this.stats.retransmissionsReceived++;
      existing.receiveRequest();
      return;
    }
    if (this.#refuse(request, source)) return;
    const tx =
      request.method === 'INVITE'
        ? new InviteServerTransaction(key, request, source, this.#ctx)
        : new NonInviteServerTransaction(key, request, source, this.#ctx);
    this.#server.set(key, tx);
    if (tx.kind === 'invite-server' && isRfc2543(request)) {
      const ackKey = serverKey(request, { withToTag: false });
      if (ackKey !== undefined) {
        this.#ack2543.set(ackKey, tx);
        this.#ack2543Keys.set(tx, ackKey);
      }
    }
    tx.start();
    this.#notify(() => this.#user.onRequest(tx, request));
  }

  #receiveAck(ack: SipMessage, source: MessageSource): void {
    let tx: InviteServerTransaction | undefined;
    if (isRfc2543(ack)) {
      // §17.2.3: an RFC 2543 ACK matches when "the To tag of the ACK matches the To tag of the
      // response sent by the server transaction".
      const key = serverKey(ack, { withToTag: false });
      const candidate = key === undefined ? undefined : this.#ack2543.get(key);
      if (candidate !== undefined && candidate.lastResponse?.to?.tag === ack.to?.tag) tx = candidate;
    } else {
      const key = serverKey(ack);
      const candidate = key === undefined ? undefined : this.#server.get(key);
      if (candidate?.kind === 'invite-server') tx = candidate;
    }
    this.#stopAnswer(ack);
    if (tx !== undefined) {
      // Completed -> Confirmed, absorbed in Confirmed (§17.2.1), passed to the TU in Accepted.
      tx.receiveAck(ack, source);
      return;
    }
    // §17.2.3 / §13.2.2.4: the ACK for a 2xx is a transaction of its own: straight to the core.
    this.#notify(() => this.#user.onAck(ack, source, undefined));
  }

  #receiveCancel(cancel: SipMessage, source: MessageSource): void {
    const key = serverKey(cancel);
    if (key === undefined) {
      this.stats.unmatchable++;
      return;
    }
    const existing = this.#server.get(key);
    if (existing !== undefined) {
      this.stats.retransmissionsReceived++;
      existing.receiveRequest();
      return;
    }
    if (this.#refuse(cancel, source, false)) return;
    // §9.2: "the CANCEL request is matched against transactions using the procedures of 17.2.3"
    // with the method of the request being cancelled (a CANCEL only cancels an INVITE here: every
    // other request is answered at once).
    const tx = new NonInviteServerTransaction(key, cancel, source, this.#ctx);
    this.#server.set(key, tx);
    tx.start();
    const inviteKey = serverKey(cancel, { method: 'INVITE' });
    const target = inviteKey === undefined ? undefined : this.#server.get(inviteKey);
    if (target?.kind !== 'invite-server') {
      // §9.2: "If the UAS did not find a matching transaction for the CANCEL according to the
      // procedure above, it SHOULD respond to the CANCEL with a 481 (Call Leg/Transaction Does Not
      // Exist)."
      this.stats.unmatchedCancels++;
      tx.respond(createResponse(cancel, 481, undefined, { toTag: newTag() }));
      return;
    }
    // §9.2: "Regardless of the method of the original request, as long as the CANCEL matched an
    // existing transaction, the UAS answers the CANCEL request itself with a 200 (OK) response.
    // ... The To tag of the response to the CANCEL and the To tag in the response to the original
    // request SHOULD be the same."
    const tag = target.lastResponse?.to?.tag ?? newTag();
    tx.respond(createResponse(cancel, 200, undefined, { toTag: tag }));
    // §9.2: "If the transaction for the original request still exists, the behavior of the UAS on
    // receiving a CANCEL request depends on whether it has already sent a final response ... If
    // it hasn't, ... the UAS SHOULD then respond to the INVITE with a 487."  That is the TU's.
    if (target.state === 'proceeding') this.#notify(() => this.#user.onCancel(cancel, target));
  }

  /**
   * Answers statelessly, before any state exists, a new request that must not get a transaction:
   * a malformed one (§8.2: missing or repeated From/To/Call-ID/CSeq/Max-Forwards, conflicting
   * Content-Length; RFC 4475 insuf, multi01) with 400, one the TU's `admit` refuses as it says,
   * and any request over the cap with 503 and Retry-After. True when it was refused.
   */
  #refuse(request: SipMessage, source: MessageSource, screen = true): boolean {
    const problem = checkRequest(request);
    let response: SipMessage;
    const admission = problem === undefined && screen ? this.#admit(request, source) : 'accept';
    if (problem !== undefined) {
      this.stats.badRequests++;
      response = createResponse(request, problem.status, problem.reason, { toTag: newTag() });
    } else if (admission === 'drop') {
      this.stats.screened++;
      return true;
    } else if (admission !== 'accept') {
      this.stats.screened++;
      response = createResponse(request, admission.status, admission.reason, { toTag: newTag() });
    } else if (this.activeSize >= this.#max || this.size >= this.#max * LINGER_FACTOR) {
      this.stats.overCap++;
      const now = this.#clock.now();
      if (now - this.#lastCapWarning >= 10_000) {
        this.#lastCapWarning = now;
        this.#log.warn({ active: this.activeSize, total: this.size, max: this.#max }, 'transaction table full: answering 503');
      }
      response = createResponse(request, 503, undefined, { toTag: newTag() });
      response.append('Retry-After', String(this.#retryAfter));
    } else return false;
    void this.#transport.send(response, sourceDestination(source));
    return true;
  }

  #admit(request: SipMessage, source: MessageSource): Admission {
    const admit = this.#user.admit;
    if (admit === undefined) return 'accept';
    try {
      const a = admit.call(this.#user, request, source);
      // A final status only: a stateless 1xx or 2xx would leave the peer waiting for more.
      if (typeof a === 'object' && (!Number.isInteger(a.status) || a.status < 300 || a.status > 699)) return 'accept';
      return a;
    } catch (err) {
      // Fail closed: admit is where the TU enforces who may call.
      this.stats.userErrors++;
      this.#log.error({ err: errorMessage(err) }, 'sip transaction user admit threw');
      return { status: 500 };
    }
  }

  #stopAnswer(ack: SipMessage): void {
    if (this.#answers.size === 0) return;
    const key = answerKey(ack);
    const r = key === undefined ? undefined : this.#answers.get(key);
    if (r === undefined) return;
    r.stop();
    this.#answers.delete(key as string);
  }

  /** Makes sure the request has a top Via with an RFC 3261 branch; returns the branch. */
  #prepareVia(request: SipMessage, destination: Destination): string {
    const top = request.topVia;
    if (top === undefined) {
      const endpoint = this.#transport.endpoints().find((e) => e.transport === destination.transport);
      const via = new Via(destination.transport, endpoint?.advertisedHost ?? '0.0.0.0', endpoint?.advertisedPort);
      via.branch = newBranch();
      // RFC 3581 §3: ask for the response to come back to the port we sent from.
      via.rport = true;
      request.prepend('Via', via);
      return via.branch;
    }
    if (top.hasRfc3261Branch) return top.branch as string;
    const via = top.clone();
    via.branch = newBranch();
    request.replaceFirst('Via', via);
    return via.branch;
  }

  #forget(tx: Transaction): void {
    this.#settled.delete(tx);
    if (tx.kind === 'invite-client' || tx.kind === 'non-invite-client') {
      if (this.#client.get(tx.id) === tx) this.#client.delete(tx.id);
    } else {
      if (this.#server.get(tx.id) === tx) this.#server.delete(tx.id);
      const ackKey = tx.kind === 'invite-server' ? this.#ack2543Keys.get(tx) : undefined;
      if (ackKey !== undefined && this.#ack2543.get(ackKey) === tx) this.#ack2543.delete(ackKey);
    }
    const done = this.#user.onTerminated;
    if (!this.#closing && done !== undefined) this.#notify(() => done.call(this.#user, tx));
  }

  #notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stats.userErrors++;
      this.#log.error({ err: errorMessage(err) }, 'sip transaction user threw');
    }
  }
}

/** §13.3.1.4 matches the ACK to the 2xx by dialog and CSeq: Call-ID, CSeq number, To tag. */
function answerKey(message: SipMessage): string | undefined {
  const callId = message.callId;
  const cseq = message.cseq;
  return callId === undefined || cseq === undefined ? undefined : `${callId}|${cseq.seq}|${message.to?.tag ?? ''}`;
}
