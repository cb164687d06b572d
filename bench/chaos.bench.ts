/**
 * Provider chaos, the long version of test/integration/ops/provider-chaos.test.ts: 50 concurrent agent calls on a
 * gateway process whose recogniser (Deepgram), voice (ElevenLabs, flite behind it) and model (OpenAI) sit behind
 * TCP chaos proxies in front of their wire fakes; for a minute the proxies cut and stall connections at random,
 * then the calls go on for a while. Reported: what became of every call (still answering after the chaos, its
 * recogniser given up, ended by the gateway and why), the turns answered during and after, what the proxies did,
 * error-level log lines by message, and whether the process survived (exit code on SIGTERM).
 *
 *   npx node bench/chaos.bench.ts [calls=50] [chaos=60] [after=30] [seed=1]
 */
import { runChaos } from '../test/integration/ops/support/chaos-run.ts';
import { printResults, type BenchResult } from './types.ts';

export async function run(): Promise<BenchResult[]> {
  const opt = { calls: 50, chaos: 60, after: 30, seed: 1 };
  for (const a of process.argv.slice(2)) {
    const [k, v] = a.split('=');
    if (k !== undefined && k in opt && v !== undefined) (opt as Record<string, number>)[k] = Number(v);
  }
  const chaosAtS = 15;
  const r = await runChaos({ calls: opt.calls, callSeconds: chaosAtS + opt.chaos + opt.after, chaosAtS, chaosForS: opt.chaos, seed: opt.seed, log: (l) => console.error(l) });
  const p = (name: string, s: { connections: number; cut: number; stalled: number; refused: number }): BenchResult => ({
    name: `${name} proxy`,
    value: s.cut + s.stalled + s.refused,
    unit: 'faults',
    note: `${s.connections} connections: ${s.cut} cut, ${s.stalled} stalled, ${s.refused} refused`,
  });
  return [
    { name: 'calls', value: r.calls, unit: 'calls', note: `chaos ${opt.chaos} s from ${chaosAtS} s, calls go on ${opt.after} s after it, seed ${opt.seed}` },
    { name: 'records', value: r.records.length, unit: 'records', note: `end reasons ${JSON.stringify(r.endReasons)}` },
    { name: 'answering after the chaos', value: r.talkedAfter.size, unit: 'calls', note: `${r.turnsAfter} turns answered after it, ${r.turns} in all` },
    { name: 'recogniser given up during the chaos (then retried)', value: r.sttGivenUp.size, unit: 'calls' },
    { name: 'stuck (none of the above)', value: r.stuck.length, unit: 'calls' },
    { name: 'SIPp failed', value: r.sippFailed, unit: 'calls', note: `${r.sippSuccessful} completed` },
    { name: 'gateway exit on SIGTERM', value: r.exitCode ?? -1, unit: 'code', note: r.signal === null ? 'no signal' : `signal ${r.signal}` },
    { name: 'error-level log lines', value: Object.values(r.errors).reduce((a, b) => a + b, 0), unit: 'lines', note: JSON.stringify(r.errors) },
    p('STT', r.proxies.stt),
    p('TTS', r.proxies.tts),
    p('LLM', r.proxies.llm),
  ];
}

if (import.meta.main) {
  const started = performance.now();
  const results = await run();
  printResults(`chaos.bench.ts (${((performance.now() - started) / 1000).toFixed(1)} s)`, results);
  process.exit(0);
}
