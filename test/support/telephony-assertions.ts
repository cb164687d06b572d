/**
 * What every bridged agent call must show, whatever the platform: the complete event stream, a paced
 * reply, the flush (or the audio stopping) on barge-in, the model's history cut to what was heard, the
 * DTMF key, and a clean remote hang-up.
 */
import { expect } from 'vitest';
import type { CallEventEnvelope } from '../../src/call/call-manager.ts';
import type { ScriptedLlm } from '../../src/providers/mock/scripted-llm.ts';
import type { PlatformClient } from './telephony-client.ts';
import { LONG_REPLY, percentile, type ScenarioResult } from './telephony-scenario.ts';

export interface Expectations {
  readonly medium: string;
  /** The playout lead configured (ms): audio never arrives further ahead than this plus one message. */
  readonly leadMs: number;
  /** Length of one outbound message, ms (20; Exotel 100-200, Genesys 200). */
  readonly frameMs?: number;
  /** The platform acknowledges marks (all but AudioSocket and Genesys). */
  readonly marks: boolean;
}

export function expectCompleteCall(events: readonly CallEventEnvelope[], r: ScenarioResult, client: PlatformClient, llm: ScriptedLlm, x: Expectations): void {
  const types = events.map((e) => e.event.type);
  for (const t of ['answered', 'transcript', 'barge_in', 'dtmf', 'turn', 'ended']) expect(types).toContain(t);
  expect(new Set(events.map((e) => e.medium))).toEqual(new Set([x.medium]));
  expect(events.find((e) => e.event.type === 'dtmf')?.event).toMatchObject({ digit: '5' });
  expect(events.find((e) => e.event.type === 'ended')?.event).toMatchObject({ end: { reason: 'remote-hangup' } });
  expect(events.find((e) => e.event.type === 'transcript' && e.event.role === 'user' && e.event.final)?.event).toMatchObject({ text: 'when will my package arrive' });

  // Paced: one message per its length of real time in the steady part, never more than the lead ahead.
  const frameMs = x.frameMs ?? 20;
  expect(percentile(r.gapsMs, 50)).toBeGreaterThan(frameMs === 20 ? 15 : 10);
  expect(percentile(r.gapsMs, 50)).toBeLessThan(frameMs === 20 ? 25 : 30);
  expect(r.maxLeadMs).toBeLessThanOrEqual(x.leadMs + frameMs + 15);

  // Barge-in: the flush (or the end of the audio) within a second of the caller's onset.
  if (r.flushAt !== undefined) {
    expect(r.flushAt - r.onset).toBeGreaterThan(0);
    expect(r.flushAt - r.onset).toBeLessThan(1200);
  }
  expect(r.lastReplyAudioAt - r.onset).toBeLessThan(1200);

  // The history holds what the caller heard: a proper prefix of the reply.
  const next = llm.requests[1]?.messages ?? [];
  const cut = next.find((m) => m.role === 'assistant');
  const heard = cut?.role === 'assistant' ? cut.content : '';
  expect(heard.length).toBeGreaterThan(5);
  expect(LONG_REPLY.startsWith(heard)).toBe(true);
  expect(heard.length).toBeLessThan(LONG_REPLY.length - 40);
  if (x.marks) expect(client.acked.length).toBeGreaterThan(3);
}
