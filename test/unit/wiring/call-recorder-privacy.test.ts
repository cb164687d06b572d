import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookDispatcher } from '../../../src/api/webhooks/dispatcher.ts';
import type { CallEvent } from '../../../src/call/call-events.ts';
import type { CallEventEnvelope } from '../../../src/call/call-manager.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { openStorage } from '../../../src/storage/open-storage.ts';
import type { CallWebhookEvent } from '../../../src/storage/call-record.ts';
import type { Storage } from '../../../src/storage/types.ts';
import { CallRecorder } from '../../../src/wiring/call-recorder.ts';

let dir: string | undefined;
let storage: Storage | undefined;
afterEach(async () => {
  await storage?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  storage = undefined;
  dir = undefined;
});

async function record(storeContent: boolean): Promise<{ published: CallWebhookEvent[]; get: () => ReturnType<Storage['calls']['get']> }> {
  dir = await mkdtemp(join(tmpdir(), 'callroom-recorder-'));
  storage = await openStorage({ driver: 'sqlite', dataDir: dir });
  const published: CallWebhookEvent[] = [];
  const webhooks = { publish: (e: CallWebhookEvent) => published.push(e) } as unknown as WebhookDispatcher;
  const recorder = new CallRecorder({ storage, webhooks, logger: silentLogger(), storeContent });
  const base = { callId: 'c1', agent: 'a', medium: 'sip', origin: { direction: 'inbound', from: 'sip:+15550001@x', to: 'sip:a@y', dialled: 'a' } } as const;
  const emit = (event: CallEvent, extra: Partial<CallEventEnvelope> = {}): void => recorder.onCallEvent({ ...base, event, ...extra });
  emit({ type: 'started', atMs: 0 });
  emit({ type: 'answered', atMs: 0, agent: 'a', medium: 'sip' });
  emit({ type: 'transcript', role: 'user', text: 'my card is 4111 1111', final: true, atMs: 1000 });
  emit({ type: 'transcript', role: 'assistant', text: 'Thank you.', final: true, atMs: 2000 });
  emit({ type: 'tool_finished', toolCallId: 't', name: 'charge', atMs: 1800, durationMs: 300, outcome: 'ok' });
  emit({ type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 900, decidedMs: 1000, llmFirstTokenMs: 1300, firstAudioMs: 1500, endedMs: 2500 } }, { playout: { firstPacketOutMs: 1520 } });
  emit({ type: 'ended', end: { reason: 'remote-hangup' }, atMs: 3000 });
  await recorder.flush();
  const s = storage;
  return { published, get: () => s.calls.get('c1') };
}

describe('CallRecorder and privacy.storeContent', () => {
  it('stores and sends transcripts by default, with the turn waterfall including the first packet out', async () => {
    const { published, get } = await record(true);
    const rec = await get();
    expect(rec?.transcript.map((t) => t.text)).toEqual(['my card is 4111 1111', 'Thank you.']);
    expect(published.filter((e) => e.type === 'call.transcript')).toHaveLength(2);
    const marks = rec?.turns[0]?.marks.map((m) => m.name);
    expect(marks).toEqual(['speechEnd', 'turnDecided', 'llmFirstToken', 'firstAudio', 'firstPacket', 'ended']);
    const at = (n: string): number => rec?.turns[0]?.marks.find((m) => m.name === n)?.atMs ?? -1;
    expect(at('firstPacket') - at('firstAudio')).toBe(20);
  });

  it('with storeContent false: no transcript in the record, no call.transcript webhook, nothing said in call.ended', async () => {
    const { published, get } = await record(false);
    const rec = await get();
    expect(rec?.transcript).toEqual([]);
    expect(published.filter((e) => e.type === 'call.transcript')).toHaveLength(0);
    // The words, not digits alone: the events carry times, which can hold any digits.
    expect(JSON.stringify(published)).not.toContain('my card is');
    // The rest of the record is kept: tools, turns, the end.
    expect(rec?.toolCalls.map((t) => t.name)).toEqual(['charge']);
    expect(rec?.turns).toHaveLength(1);
    expect(rec?.endReason).toBe('caller-hangup');
    expect(published.map((e) => e.type)).toEqual(['call.started', 'call.tool', 'call.ended']);
  });
});
