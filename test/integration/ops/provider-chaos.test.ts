/**
 * Provider chaos during 50 concurrent agent calls (a short window here; bench/chaos.bench.ts runs a minute): the
 * recogniser, voice and model are cut off and stalled at random, behind TCP proxies in front of their wire
 * fakes, while SIPp callers keep asking. Afterwards: the gateway process never crashed (exit 0 on SIGTERM, no
 * error-level log of a crash), no record was lost (one per call, each ended with a reason), and every call the
 * caller ended talked again after the chaos (the agent answered a question asked after it): recognisers that
 * were given up are retried, so no call stays deaf.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { runChaos } from './support/chaos-run.ts';

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

describe('provider chaos', () => {
  it('50 calls through STT/TTS/LLM drops and stalls: no crash, no lost record, every call talking or ended with a reason', { timeout: 150_000 }, async () => {
    const CALLS = 50;
    const r = await runChaos({ calls: CALLS, callSeconds: 34, chaosAtS: 8, chaosForS: 12, seed: 11 });
    const summary = JSON.stringify({ endReasons: r.endReasons, talkedAfter: r.talkedAfter.size, sttGivenUp: r.sttGivenUp.size, stuck: r.stuck.length, turns: r.turns, turnsAfter: r.turnsAfter, sipp: [r.sippSuccessful, r.sippFailed], errors: r.errors, proxies: r.proxies });
    console.log(`provider chaos: ${summary}`);
    if (r.stuck.length > 0) console.log(`chaos ended ${new Date(r.chaosEnd).toISOString()}; stuck calls:\n${JSON.stringify(r.stuckLogs, null, 1)}`);
    // The chaos happened, on all three.
    for (const p of [r.proxies.stt, r.proxies.tts, r.proxies.llm]) expect(p.cut + p.stalled + p.refused, summary).toBeGreaterThan(0);
    // The process survived and shut down cleanly.
    expect(r.exitCode, summary).toBe(0);
    expect(r.signal).toBeNull();
    expect(Object.keys(r.errors).filter((m) => /uncaught|unhandled|crash/i.test(m)), summary).toEqual([]);
    // No record lost: one per call, each ended with a reason.
    expect(r.records, summary).toHaveLength(CALLS);
    for (const rec of r.records) {
      expect(rec.state).toBe('ended');
      expect(rec.endReason).not.toBeNull();
    }
    // Every caller got through its call (the gateway ended none early), and every call talked again after the
    // chaos, its recogniser given up during it or not.
    expect(r.sippSuccessful + r.sippFailed, summary).toBe(CALLS);
    expect(r.stuck, summary).toEqual([]);
    const endedByCaller = r.records.filter((rec) => rec.endReason === 'caller-hangup').map((rec) => rec.id);
    expect(endedByCaller.filter((id) => !r.talkedAfter.has(id)), summary).toEqual([]);
  });
});
