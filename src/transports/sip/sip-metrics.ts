import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { Unsubscribe } from '../../core/listeners.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { TransactionLayerStats } from '../../sip/transaction/transaction-layer.ts';
import { COUNTED_METHODS, type TransportStats } from '../../sip/transport/index.ts';
import type { CallEnd, CallEndReason, SipCall, SipCallState } from '../../sip/user-agent/call-types.ts';
import type { SipUserAgentStats } from '../../sip/user-agent/request-router.ts';
import { RtpAudioLeg, type RtpLegCounters } from './rtp-audio-leg.ts';

/**
 * What the metrics read from the user agent. `SipUserAgent` is one; its transport and transaction counters are
 * read when it exposes them (`transportStats`, `transactionStats`).
 */
export interface SipMetricsUserAgent {
  readonly calls: readonly SipCall[];
  readonly transactionCount: number;
  readonly dialogCount: number;
  readonly stats: SipUserAgentStats;
  onCall(handler: (call: SipCall) => void): Unsubscribe;
  readonly transportStats?: TransportStats | undefined;
  readonly transactionStats?: TransactionLayerStats | undefined;
}

export interface SipMetricsSources {
  readonly ua: SipMetricsUserAgent;
  /** The pacer every call's RTP runs on (its streams, slots, stalls and wake-up lateness). */
  readonly pacer?: Pacer;
}

/** Registered metrics; `close()` stops following new calls (the metrics stay registered). */
export interface SipMetrics {
  close(): void;
}

const STATES: readonly SipCallState[] = ['ringing', 'calling', 'answering', 'active'];
const REASONS: readonly CallEndReason[] = ['local-bye', 'remote-bye', 'cancel', 'rejected', 'timeout', 'error'];

type Totals = { -readonly [K in keyof RtpLegCounters]: number };

function zeroTotals(): Totals {
  return { packetsIn: 0, packetsOut: 0, lost: 0, late: 0, duplicate: 0, dropped: 0, concealed: 0, resets: 0, resyncs: 0, ignored: 0, skippedSlots: 0, sendErrors: 0, drained: 0 };
}

function addTotals(into: Totals, c: RtpLegCounters): void {
  for (const k of Object.keys(into) as Array<keyof Totals>) into[k] += c[k];
}

/**
 * SIP and RTP counters in the gateway's Prometheus registry. Nothing is done per packet or per message: the
 * counters are the ones the user agent, transport, transaction layer, RTP legs and pacer keep anyway, read when
 * the registry is scraped. Only a call's end is counted as it happens (its reason, and its RTP figures folded
 * into the totals). Labels are bounded sets (call state, end reason, method, status code): never a call id,
 * a number or an address.
 */
export function registerSipMetrics(registry: Registry, sources: SipMetricsSources): SipMetrics {
  const { ua, pacer } = sources;
  const retired = zeroTotals();
  /** Calls followed until they end, with their RTP leg. */
  const followed = new Map<SipCall, RtpAudioLeg | undefined>();
  const registers = [registry];

  const ended = new Counter({
    name: 'callroom_sip_calls_ended_total',
    help: 'SIP calls ended, by reason (remote-bye: the caller hung up; timeout: no ACK for the 2xx, or no answer).',
    labelNames: ['reason'],
    registers,
  });
  for (const r of REASONS) ended.inc({ reason: r }, 0);

  const follow = (call: SipCall): void => {
    if (followed.has(call)) return;
    const leg = call.media instanceof RtpAudioLeg ? call.media : undefined;
    followed.set(call, leg);
    void call.ended.then(
      (end: CallEnd) => {
        ended.inc({ reason: end.reason });
        if (leg !== undefined) addTotals(retired, leg.mediaCounters());
        followed.delete(call);
      },
      () => followed.delete(call),
    );
  };
  const offCall = ua.onCall(follow);

  /** RTP totals: calls that ended, plus the live ones (outbound calls are picked up on the first scrape). */
  const rtpTotals = (): Totals => {
    for (const call of ua.calls) follow(call);
    const t = { ...retired };
    for (const leg of followed.values()) if (leg !== undefined) addTotals(t, leg.mediaCounters());
    return t;
  };
  // One RTP read per scrape, shared by the RTP metrics collected in it.
  let cached: { at: number; totals: Totals } | undefined;
  const rtp = (): Totals => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) cached = { at: now, totals: rtpTotals() };
    return cached.totals;
  };

  new Gauge({
    name: 'callroom_sip_calls',
    help: 'SIP calls in progress, by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<SipCallState, number>(STATES.map((s) => [s, 0]));
      for (const c of ua.calls) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
      for (const s of STATES) this.set({ state: s }, counts.get(s) ?? 0);
    },
  });
  collectedCounter(registry, 'callroom_sip_calls_started_total', 'SIP calls started, by direction.', ['direction'], () => [
    [{ direction: 'inbound' }, ua.stats.inboundCalls],
    [{ direction: 'outbound' }, ua.stats.outboundCalls],
  ]);
  collectedCounter(registry, 'callroom_sip_calls_refused_total', 'New calls refused before any dialog, by reason.', ['reason'], () => [
    [{ reason: 'unknown_source' }, ua.stats.rejectedSources],
    [{ reason: 'unknown_source_dropped' }, ua.stats.droppedSources],
    [{ reason: 'digest_challenge' }, ua.stats.challenges],
    [{ reason: 'over_capacity' }, ua.stats.overCapacity],
    [{ reason: 'media_unavailable' }, ua.stats.mediaFailures],
  ]);
  collectedGauge(registry, 'callroom_sip_dialogs', 'SIP dialogs (early and confirmed).', () => ua.dialogCount);
  collectedGauge(registry, 'callroom_sip_transactions', 'Live SIP transactions (client and server, lingering ones included).', () => ua.transactionCount);

  // Transport and transaction layer: only when the user agent exposes their counters.
  const tp = (): TransportStats | undefined => ua.transportStats;
  const tl = (): TransactionLayerStats | undefined => ua.transactionStats;
  collectedCounter(registry, 'callroom_sip_messages_total', 'SIP messages received (parsed and handed on) and sent.', ['direction'], () => {
    const s = tp();
    return s === undefined ? [] : [[{ direction: 'in' }, s.received], [{ direction: 'out' }, s.sent]];
  });
  collectedCounter(registry, 'callroom_sip_requests_received_total', 'SIP requests received, by method.', ['method'], () => {
    const s = tp();
    return s === undefined ? [] : COUNTED_METHODS.map((m) => [{ method: m }, s.requestsReceived[m]]);
  });
  collectedCounter(registry, 'callroom_sip_responses_sent_total', 'SIP responses sent, by status code (retransmissions included).', ['code'], () => {
    const s = tp();
    const out: Array<[Record<string, string>, number]> = [];
    if (s !== undefined) s.responsesSent.forEach((n, code) => n > 0 && out.push([{ code: String(code) }, n]));
    return out;
  });
  collectedCounter(registry, 'callroom_sip_retransmissions_sent_total', 'SIP messages sent again (transaction timers, the 2xx until its ACK).', [], () => {
    const s = tp();
    return s === undefined ? [] : [[{}, s.retransmitted]];
  });
  collectedCounter(registry, 'callroom_sip_retransmissions_received_total', 'SIP requests received again for a live transaction.', [], () => {
    const s = tl();
    return s === undefined ? [] : [[{}, s.retransmissionsReceived]];
  });
  collectedCounter(registry, 'callroom_sip_discarded_total', 'SIP messages not processed, by reason.', ['reason'], () => {
    const s = tp();
    const l = tl();
    return [
      ...(s === undefined
        ? []
        : ([
            [{ reason: 'unparseable' }, s.dropped],
            [{ reason: 'answered_stateless' }, s.rejected],
            [{ reason: 'foreign_response' }, s.foreignResponses],
            [{ reason: 'send_error' }, s.sendErrors],
            [{ reason: 'handler_error' }, s.handlerErrors],
          ] as Array<[Record<string, string>, number]>)),
      ...(l === undefined
        ? []
        : ([
            [{ reason: 'over_transaction_cap' }, l.overCap],
            [{ reason: 'stray_response' }, l.strayResponses],
            [{ reason: 'bad_request' }, l.badRequests],
            [{ reason: 'screened' }, l.screened],
            [{ reason: 'unmatched_cancel' }, l.unmatchedCancels],
          ] as Array<[Record<string, string>, number]>)),
    ];
  });

  const rtpCounter = (name: string, help: string, pick: (t: Totals) => number): void => {
    collectedCounter(registry, name, help, [], () => [[{}, pick(rtp())]]);
  };
  rtpCounter('callroom_rtp_packets_received_total', 'RTP packets received on call legs (audio and telephone-events).', (t) => t.packetsIn);
  rtpCounter('callroom_rtp_packets_sent_total', 'RTP packets sent on call legs.', (t) => t.packetsOut);
  rtpCounter('callroom_rtp_packets_lost_total', 'RTP packets never received (RFC 3550: expected minus received).', (t) => t.lost);
  rtpCounter('callroom_rtp_packets_late_total', 'RTP packets that arrived after their playout time.', (t) => t.late);
  rtpCounter('callroom_rtp_packets_duplicate_total', 'RTP packets received twice.', (t) => t.duplicate);
  rtpCounter('callroom_rtp_packets_dropped_total', 'RTP packets dropped by the jitter buffer (depth bound, unconfirmed strays).', (t) => t.dropped);
  rtpCounter('callroom_rtp_packets_concealed_total', 'Frames played without a packet (loss concealment).', (t) => t.concealed);
  rtpCounter('callroom_rtp_datagrams_ignored_total', 'Datagrams ignored on RTP ports (STUN, RTCP, DTLS, invalid, RTP from a source not latched).', (t) => t.ignored);
  rtpCounter('callroom_rtp_jitter_buffer_resets_total', 'Jitter buffer resets (everything buffered discarded).', (t) => t.resets);
  rtpCounter('callroom_rtp_stream_resyncs_total', 'Stream discontinuities followed: a new SSRC, a sequence restart or jump.', (t) => t.resyncs);
  rtpCounter('callroom_rtp_send_errors_total', 'RTP packets the socket refused.', (t) => t.sendErrors);
  rtpCounter('callroom_rtp_frames_drained_total', 'Quiet received frames skipped to shrink a jitter-buffer backlog a stall left (latency recovered).', (t) => t.drained);

  if (pacer !== undefined) {
    collectedGauge(registry, 'callroom_rtp_pacer_streams', 'Media streams on the shared pacer.', () => pacer.size);
    collectedCounter(registry, 'callroom_rtp_pacer_slots_total', 'Packet slots the pacer served.', [], () => [[{}, pacer.stats().slots]]);
    collectedCounter(
      registry,
      'callroom_rtp_pacer_skipped_slots_total',
      'Packet slots skipped because the process stalled longer than the pacer catches up.',
      [],
      () => [[{}, pacer.stats().skipped]],
    );
    registry.registerMetric(new CollectedHistogram('callroom_rtp_pacer_lateness_seconds', 'How late the pacer woke up behind the slots it served.', () => {
      const l = pacer.stats().lateness;
      return { bounds: l.bucketsMs.map((ms) => ms / 1000), counts: l.counts, sum: l.sumMs / 1000 };
    }) as unknown as Metric);
  }

  return {
    close() {
      offCall();
    },
  };
}

/** A counter whose values are read from counters kept elsewhere, when the registry is scraped. */
function collectedCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => ReadonlyArray<readonly [Record<string, string>, number]>,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function collectedGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * A histogram whose buckets are counted elsewhere (the pacer keeps its own, allocation-free per wake-up) and
 * read on a scrape. prom-client's Histogram only counts its own observations, so this speaks the registry's
 * metric interface (name, help, type, get) directly.
 */
class CollectedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #read: () => { bounds: readonly number[]; counts: readonly number[]; sum: number };

  constructor(name: string, help: string, read: () => { bounds: readonly number[]; counts: readonly number[]; sum: number }) {
    this.name = name;
    this.help = help;
    this.#read = read;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> }> {
    const { bounds, counts, sum } = this.#read();
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += counts[i] ?? 0;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    cumulative += counts[bounds.length] ?? 0;
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: cumulative });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    // the pacer's counts are cumulative by design
  }
}
