/**
 * Timer values of RFC 3261 §17 (Table 4, §A) and RFC 6026 (L, M), from T1, T2, T4. Values are in
 * milliseconds; those that RFC 3261 sets to zero for reliable transports are looked up through
 * `forTransport`.
 */
export interface TransactionTimerOptions {
  /** RTT estimate (default 500 ms). */
  readonly t1?: number;
  /** Maximum retransmission interval for non-INVITE requests and INVITE responses (default 4 s). */
  readonly t2?: number;
  /** Maximum time a message stays in the network (default 5 s). */
  readonly t4?: number;
  /** Timer D on unreliable transports: "> 32 s" (default 32 s, or 64*T1 if larger). */
  readonly timerD?: number;
  /** How long the TU has before an INVITE server transaction sends 100 Trying itself (§17.2.1: 200 ms). */
  readonly trying100?: number;
}

export interface TransactionTimerValues {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  /** INVITE request retransmit: starts at T1 on UDP, doubles each time (§17.1.1.2). */
  readonly A: number;
  /** INVITE transaction timeout: 64*T1. */
  readonly B: number;
  /** Wait for response retransmits: UDP >= 32 s, TCP 0. */
  readonly D: number;
  /** Non-INVITE request retransmit: starts at T1, doubles up to T2. */
  readonly E: number;
  /** Non-INVITE transaction timeout: 64*T1. */
  readonly F: number;
  /** INVITE final response retransmit: starts at T1, doubles up to T2. */
  readonly G: number;
  /** Wait for ACK receipt: 64*T1. */
  readonly H: number;
  /** Wait for ACK retransmits: UDP T4, TCP 0. */
  readonly I: number;
  /** Wait for non-INVITE request retransmits: UDP 64*T1, TCP 0. */
  readonly J: number;
  /** Wait for non-INVITE response retransmits: UDP T4, TCP 0. */
  readonly K: number;
  /** RFC 6026: INVITE server Accepted state, wait for 2xx retransmissions and ACKs: 64*T1. */
  readonly L: number;
  /** RFC 6026: INVITE client Accepted state, wait for 2xx retransmissions: 64*T1. */
  readonly M: number;
  readonly trying100: number;
}

/** The timer values on one transport: D, I, J and K are 0 when it is reliable. */
export function timersFor(options: TransactionTimerOptions, reliable: boolean): TransactionTimerValues {
  const t1 = options.t1 ?? 500;
  const t2 = options.t2 ?? 4_000;
  const t4 = options.t4 ?? 5_000;
  const d = options.timerD ?? Math.max(32_000, 64 * t1);
  return {
    t1,
    t2,
    t4,
    A: t1,
    B: 64 * t1,
    D: reliable ? 0 : d,
    E: t1,
    F: 64 * t1,
    G: t1,
    H: 64 * t1,
    I: reliable ? 0 : t4,
    J: reliable ? 0 : 64 * t1,
    K: reliable ? 0 : t4,
    L: 64 * t1,
    M: 64 * t1,
    trying100: options.trying100 ?? 200,
  };
}
