/**
 * Parsers for SIPp 3.6.1's statistics files: the `-trace_stat` CSV (one `;`-separated row per `-fd`
 * period plus a final one, columns named like `SuccessfulCall(C)` where (P) is the period and (C) the
 * cumulative value) and the `-trace_rtt` CSV (`Date_ms;response_time_ms;rtd_no`, one row per response
 * time, written every `-rtt_freq` calls).
 */

/** The cumulative figures of the last row of a `-trace_stat` file. */
export interface SippStats {
  /** Every row, column name to raw text, oldest first. */
  readonly rows: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly totalCalls: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly retransmissions: number;
  readonly unexpectedMessages: number;
  readonly timeoutOnRecv: number;
  readonly outOfCallMessages: number;
  readonly deadCallMessages: number;
  readonly fatalErrors: number;
  readonly warnings: number;
  /** Mean response time (ms) per `rtd` number, cumulative: `{ 1: 0.8 }` for ResponseTime1(C). */
  readonly meanResponseTimeMs: Readonly<Record<number, number>>;
  /** Mean call length in ms, cumulative. */
  readonly meanCallLengthMs: number;
}

/** One response time from `-trace_rtt`. */
export interface SippRtt {
  /** Milliseconds since SIPp started. */
  readonly atMs: number;
  readonly responseTimeMs: number;
  /** Which `rtd` timer (scenario `start_rtd`/`rtd` number). */
  readonly rtd: number;
}

/** SIPp durations are `HH:MM:SS:uuuuuu` (or `HH:MM:SS`); to milliseconds, NaN if not one. */
export function sippDurationMs(text: string): number {
  const m = /^(\d+):(\d{2}):(\d{2})(?::(\d{1,6}))?$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const [, h, mi, s, us] = m;
  return ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + (us === undefined ? 0 : Number(us.padEnd(6, '0')) / 1000);
}

/**
 * Parse a `-trace_stat` CSV.
 * @throws Error when there is no header or no data row.
 */
export function parseSippStats(csv: string): SippStats {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(';');
  if (header === undefined || !header.includes('SuccessfulCall(C)')) throw new Error('not a SIPp -trace_stat file (no header)');
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(';');
    const row: Record<string, string> = {};
    header.forEach((name, i) => {
      if (name !== '') row[name] = cells[i] ?? '';
    });
    return row;
  });
  const last = rows[rows.length - 1];
  if (last === undefined) throw new Error('SIPp -trace_stat file has no data row');
  const num = (col: string): number => {
    const v = last[col];
    return v === undefined || v === '' ? 0 : Number(v);
  };
  const meanResponseTimeMs: Record<number, number> = {};
  for (const name of header) {
    const m = /^ResponseTime(\d+)\(C\)$/.exec(name);
    if (m !== null) meanResponseTimeMs[Number(m[1])] = sippDurationMs(last[name] ?? '');
  }
  return {
    rows,
    totalCalls: num('TotalCallCreated'),
    successfulCalls: num('SuccessfulCall(C)'),
    failedCalls: num('FailedCall(C)'),
    retransmissions: num('Retransmissions(C)'),
    unexpectedMessages: num('FailedUnexpectedMessage(C)'),
    timeoutOnRecv: num('FailedTimeoutOnRecv(C)'),
    outOfCallMessages: num('OutOfCallMsgs(C)'),
    deadCallMessages: num('DeadCallMsgs(C)'),
    fatalErrors: num('FatalErrors(C)'),
    warnings: num('Warnings(C)'),
    meanResponseTimeMs,
    meanCallLengthMs: sippDurationMs(last['CallLength(C)'] ?? ''),
  };
}

/** Parse a `-trace_rtt` CSV; rows that do not parse are skipped. */
export function parseSippRtt(csv: string): SippRtt[] {
  const out: SippRtt[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const [at, rt, no] = line.split(';');
    if (at === undefined || rt === undefined || no === undefined) continue;
    const r = { atMs: Number(at), responseTimeMs: Number(rt), rtd: Number(no) };
    if (Number.isFinite(r.atMs) && Number.isFinite(r.responseTimeMs) && Number.isInteger(r.rtd)) out.push(r);
  }
  return out;
}

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}
