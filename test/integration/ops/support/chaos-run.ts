/**
 * One provider-chaos run: SIPp places `calls` concurrent agent calls on a gateway process whose recogniser, voice
 * and model sit behind chaos proxies; after `chaosAtS` the three proxies cut and stall connections at random for
 * `chaosForS`, then behave again while the calls go on. Afterwards, what happened to every call: its record (end
 * reason), whether the agent still answered after the chaos (a turn whose first audio came after it), whether its
 * recogniser was given up (the gateway logged so), and whether the process survived.
 */
import { startSipp } from '../../../support/sip-peers/sipp.ts';
import { allCallRecords, startCloudGateway, type CallRecordView } from './cloud-gateway.ts';
import type { ChaosStats } from './chaos-proxy.ts';

export interface ChaosRunOptions {
  readonly calls: number;
  readonly callSeconds: number;
  readonly chaosAtS: number;
  readonly chaosForS: number;
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly calls: number;
  readonly records: readonly CallRecordView[];
  /** End reason -> calls. */
  readonly endReasons: Readonly<Record<string, number>>;
  /** Calls whose agent spoke a reply that started after the chaos. */
  readonly talkedAfter: ReadonlySet<string>;
  /** Calls whose recogniser the gateway gave up on (they stay up, deaf). */
  readonly sttGivenUp: ReadonlySet<string>;
  /** Calls that neither talked after the chaos, nor lost their recogniser, nor ended with a reason of the gateway's. */
  readonly stuck: readonly string[];
  readonly sippSuccessful: number;
  readonly sippFailed: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Log lines at error level or worse, by message. */
  readonly errors: Readonly<Record<string, number>>;
  readonly proxies: { readonly stt: ChaosStats; readonly tts: ChaosStats; readonly llm: ChaosStats };
  readonly turns: number;
  readonly turnsAfter: number;
  /** What the gateway logged about each stuck call (message, and the error or provider where there is one). */
  readonly stuckLogs: Readonly<Record<string, readonly string[]>>;
  readonly chaosEnd: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosRunOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const cloud = await startCloudGateway({ calls: o.calls, chaos: true, seed: o.seed ?? 1 });
  try {
    const proxies = cloud.proxies;
    if (proxies === undefined) throw new Error('no proxies');
    const rate = Math.min(25, o.calls);
    const sipp = await startSipp({
      scenario: { file: cloud.scenario },
      target: cloud.gw.target,
      calls: o.calls,
      rate,
      ratePeriodMs: 1000,
      maxConcurrent: o.calls,
      keys: { audio_ms: o.callSeconds * 1000 },
      traceStat: { periodS: 5 },
      timeoutMs: (o.calls / rate + o.callSeconds + 60) * 1000,
    });
    await sleep(o.chaosAtS * 1000);
    log(`chaos on (${o.chaosForS} s)`);
    for (const p of [proxies.stt, proxies.tts, proxies.llm]) p.start();
    await sleep(o.chaosForS * 1000);
    for (const p of [proxies.stt, proxies.tts, proxies.llm]) p.stop();
    const chaosEnd = Date.now();
    log('chaos off');
    const result = await sipp.done;
    // The last records and webhooks are written just after the callers' BYEs.
    const deadline = Date.now() + 10_000;
    while (cloud.gw.logsWith('call ended').length < o.calls && Date.now() < deadline && cloud.gw.process.running) await sleep(100);
    const records = cloud.gw.process.running ? await allCallRecords(cloud.httpPort) : [];
    const exit = cloud.gw.process.running ? await cloud.gw.process.stop(30_000) : await cloud.gw.process.exited;

    const endReasons: Record<string, number> = {};
    for (const r of records) endReasons[r.endReason ?? 'none'] = (endReasons[r.endReason ?? 'none'] ?? 0) + 1;
    const talkedAfter = new Set<string>();
    let turns = 0;
    let turnsAfter = 0;
    for (const r of records) {
      const created = Date.parse(r.createdAt);
      for (const t of r.turns) {
        turns++;
        const first = t.marks.find((m) => m.name === 'firstAudio');
        if (first !== undefined && created + first.atMs > chaosEnd) {
          turnsAfter++;
          talkedAfter.add(r.id);
        }
      }
    }
    const sttGivenUp = new Set<string>();
    for (const l of cloud.gw.logs()) {
      if (typeof l.callId !== 'string') continue;
      if ((l.msg === 'stt session lost' && l['willRetry'] === false) || l.msg === 'stt open failed') sttGivenUp.add(l.callId);
    }
    const stuck = records.filter((r) => !talkedAfter.has(r.id) && !sttGivenUp.has(r.id) && r.endReason === 'caller-hangup').map((r) => r.id);
    const stuckLogs: Record<string, string[]> = {};
    for (const id of stuck) stuckLogs[id] = [];
    for (const l of cloud.gw.logs()) {
      const list = typeof l.callId === 'string' ? stuckLogs[l.callId] : undefined;
      if (list !== undefined && l.msg !== 'transcript') list.push(`${new Date(l.time).toISOString().slice(17, 23)} ${l.msg}${l['err'] === undefined ? '' : ` (${String(l['err']).slice(0, 80)})`}${l['provider'] === undefined ? '' : ` [${String(l['provider'])}]`}`);
    }
    const errors: Record<string, number> = {};
    for (const l of cloud.gw.logs()) if (l.level >= 50) errors[l.msg] = (errors[l.msg] ?? 0) + 1;
    return {
      calls: o.calls,
      records,
      endReasons,
      talkedAfter,
      sttGivenUp,
      stuck,
      sippSuccessful: result.stats?.successfulCalls ?? 0,
      sippFailed: result.stats?.failedCalls ?? 0,
      exitCode: exit.exitCode,
      signal: exit.signal,
      errors,
      proxies: { stt: { ...proxies.stt.stats }, tts: { ...proxies.tts.stats }, llm: { ...proxies.llm.stats } },
      turns,
      turnsAfter,
      stuckLogs,
      chaosEnd,
    };
  } finally {
    await cloud.close();
  }
}
