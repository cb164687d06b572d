import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDispatcher } from '../../../../src/api/webhooks/dispatcher.ts';
import type { DeliverySettings } from '../../../../src/api/webhooks/endpoint-queue.ts';
import { signWebhook, verifyWebhookSignature } from '../../../../src/api/webhooks/signature.ts';
import { FakeClock } from '../../../../src/core/clock.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import type { CallWebhookEvent } from '../../../../src/storage/call-record.ts';

const SECRET = 'whsec-0123456789abcdef';
const settings: DeliverySettings = { maxAttempts: 4, initialBackoffMs: 1000, maxBackoffMs: 5000, timeoutMs: 2000, queueSize: 100, concurrency: 4 };

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: { id: string; type: string; callId: string; seq: number; data: { text?: string } };
  raw: string;
  respond(status: number, headers?: Record<string, string>): void;
  fail(err: Error): void;
}

/** A fetch whose requests wait until the test answers them. */
function controlledFetch() {
  const sent: Sent[] = [];
  const fn = ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const raw = init.body as string;
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      sent.push({
        url,
        headers: init.headers as Record<string, string>,
        body: JSON.parse(raw),
        raw,
        respond: (status, headers = {}) => resolve(new Response(status === 204 ? null : 'x', { status, headers })),
        fail: (err) => reject(err),
      });
    })) as typeof fetch;
  return { sent, fn };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
async function settle(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

function transcript(callId: string, text: string): CallWebhookEvent {
  return { type: 'call.transcript', callId, data: { role: 'user', text, atMs: 1 } };
}

let dispatcher: WebhookDispatcher | undefined;
afterEach(async () => {
  await dispatcher?.close();
  dispatcher = undefined;
});

function make(over: Partial<DeliverySettings> = {}, clock = new FakeClock()) {
  const f = controlledFetch();
  const metrics = new Registry();
  dispatcher = new WebhookDispatcher({
    endpoints: [{ url: 'https://hooks.example/a', secret: SECRET }],
    settings: { ...settings, ...over },
    metrics,
    logger: silentLogger(),
    clock,
    now: () => 1_700_000_000_000,
    fetch: f.fn,
    random: () => 0.5,
  });
  return { d: dispatcher, f, clock, metrics };
}

describe('WebhookDispatcher', () => {
  it('posts the event JSON with a verifiable signature, per-call seq, the same delivery id on every attempt', async () => {
    const { d, f, clock } = make();
    d.publish({ type: 'call.started', callId: 'c1', at: '2026-01-01T00:00:00.000Z', data: { agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, metadata: {} } });
    await settle();
    const first = f.sent[0] as Sent;
    expect(first.body).toMatchObject({ type: 'call.started', callId: 'c1', seq: 1, at: '2026-01-01T00:00:00.000Z', data: { agentName: 'a' } });
    expect(first.headers['x-callroom-signature']).toBe(signWebhook(SECRET, first.raw, 1_700_000_000));
    expect(verifyWebhookSignature(SECRET, first.headers['x-callroom-signature'], first.raw, { nowSeconds: 1_700_000_010 })).toBe(true);
    expect(verifyWebhookSignature('wrong-secret-0000', first.headers['x-callroom-signature'], first.raw, { nowSeconds: 1_700_000_010 })).toBe(false);
    expect(verifyWebhookSignature(SECRET, first.headers['x-callroom-signature'], `${first.raw} `, { nowSeconds: 1_700_000_010 })).toBe(false);
    expect(verifyWebhookSignature(SECRET, first.headers['x-callroom-signature'], first.raw, { nowSeconds: 1_700_001_000 })).toBe(false);
    first.respond(500);
    await settle();
    clock.advance(5000);
    await settle();
    const second = f.sent[1] as Sent;
    expect(second.headers['x-callroom-delivery']).toBe(first.headers['x-callroom-delivery']);
    expect(second.headers['x-callroom-attempt']).toBe('2');
    second.respond(204);
    await settle();
    expect(d.endpoint('config-1')?.stats).toMatchObject({ delivered: 1, retries: 1, failed: 0, queued: 0, inFlight: 0, lastStatus: 204 });
  });

  it('keeps order per call: a retried event holds back its call, not the others', async () => {
    const { d, f, clock } = make();
    d.publish(transcript('A', 'a1'));
    d.publish(transcript('A', 'a2'));
    d.publish(transcript('B', 'b1'));
    d.publish(transcript('B', 'b2'));
    await settle();
    expect(f.sent.map((s) => s.body.data.text)).toEqual(['a1', 'b1']);
    f.sent[0]?.respond(503);
    f.sent[1]?.respond(200);
    await settle();
    expect(f.sent.map((s) => s.body.data.text)).toEqual(['a1', 'b1', 'b2']);
    f.sent[2]?.respond(200);
    clock.advance(5000);
    await settle();
    expect(f.sent.map((s) => s.body.data.text)).toEqual(['a1', 'b1', 'b2', 'a1']);
    f.sent[3]?.respond(200);
    await settle();
    expect(f.sent.map((s) => `${s.body.data.text}:${s.body.seq}`)).toEqual(['a1:1', 'b1:1', 'b2:2', 'a1:1', 'a2:2']);
  });

  it('stops at maxAttempts with exponential backoff, counts the failure, and leaves no timer behind', async () => {
    const { d, f, clock, metrics } = make({ maxAttempts: 4, initialBackoffMs: 1000, maxBackoffMs: 3000 });
    d.publish(transcript('A', 'x'));
    await settle();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(f.sent).toHaveLength(attempt);
      f.sent[attempt - 1]?.respond(500);
      await settle();
      if (attempt === 4) break;
      // Find when the retry fires: advance 1 ms at a time up to the cap.
      let waited = 0;
      while (f.sent.length === attempt && waited <= 3000) {
        clock.advance(1);
        waited++;
        await tick();
      }
      delays.push(waited);
    }
    await settle();
    // random() = 0.5: base/2 + base/4 = 0.75 x base, base = 1000, 2000, then capped at 3000.
    expect(delays).toEqual([750, 1500, 2250]);
    expect(d.endpoint('config-1')?.stats).toMatchObject({ failed: 1, delivered: 0, retries: 3, lastStatus: 500, lastError: 'HTTP 500' });
    expect(clock.pending).toBe(0);
    const text = await metrics.metrics();
    expect(text).toContain('callroom_webhook_events_total{endpoint="config-1",outcome="failed"} 1');
    expect(text).toContain('callroom_webhook_attempts_total{endpoint="config-1",result="http_error"} 4');
  });

  it('does not retry a response retrying cannot fix (400, 3xx); honours Retry-After up to the cap', async () => {
    const { d, f, clock } = make();
    d.publish(transcript('A', 'x'));
    await settle();
    f.sent[0]?.respond(400);
    await settle();
    clock.advance(60_000);
    await settle();
    expect(f.sent).toHaveLength(1);
    d.publish(transcript('B', 'y'));
    await settle();
    f.sent[1]?.respond(429, { 'retry-after': '4' });
    await settle();
    clock.advance(3999);
    await settle();
    expect(f.sent).toHaveLength(2);
    clock.advance(1);
    await settle();
    expect(f.sent).toHaveLength(3);
    f.sent[2]?.respond(302);
    await settle();
    expect(d.endpoint('config-1')?.stats).toMatchObject({ failed: 2, delivered: 0 });
  });

  it('retries network errors and timeouts', async () => {
    const { d, f, clock } = make({ timeoutMs: 2000 });
    d.publish(transcript('A', 'x'));
    await settle();
    f.sent[0]?.fail(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    await settle();
    expect(d.endpoint('config-1')?.stats.lastError).toBe('ECONNREFUSED');
    clock.advance(5000);
    await settle();
    expect(f.sent).toHaveLength(2);
    clock.advance(2000);
    await settle();
    expect(d.endpoint('config-1')?.stats.lastError).toBe('timed out after 2000 ms');
    clock.advance(5000);
    await settle();
    f.sent[2]?.respond(200);
    await settle();
    expect(d.endpoint('config-1')?.stats).toMatchObject({ delivered: 1, retries: 2 });
  });

  it('a full queue drops the oldest waiting event, counted; call.ended is never the one dropped', async () => {
    const { d, f } = make({ queueSize: 3, concurrency: 1 });
    for (const t of ['e1', 'e2', 'e3', 'e4', 'e5']) d.publish(transcript('A', t));
    d.publish({ type: 'call.ended', callId: 'A', data: {} as never });
    await settle();
    // e1 went out at once; e2..e4 waited; e5 dropped e2, ended dropped e3.
    expect(d.endpoint('config-1')?.stats).toMatchObject({ dropped: 2, queued: 3, inFlight: 1 });
    for (let i = 0; i < 4; i++) {
      f.sent[i]?.respond(200);
      await settle();
    }
    expect(f.sent.map((s) => s.body.type === 'call.ended' ? 'ended' : s.body.data.text)).toEqual(['e1', 'e4', 'e5', 'ended']);
    expect(f.sent.map((s) => s.body.seq)).toEqual([1, 4, 5, 6]);
  });

  it('delivers at most `concurrency` calls at once', async () => {
    const { d, f } = make({ concurrency: 2 });
    for (const c of ['A', 'B', 'C', 'D']) d.publish(transcript(c, c));
    await settle();
    expect(f.sent).toHaveLength(2);
    f.sent[0]?.respond(200);
    await settle();
    expect(f.sent).toHaveLength(3);
  });

  it('publish is synchronous and never throws: malformed and unserializable events are counted and dropped', async () => {
    const { d, f, metrics } = make();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const bad: unknown[] = [null, undefined, 42, {}, { type: 'call.nope', callId: 'c', data: {} }, { type: 'call.transcript', callId: '', data: {} }, { type: 'call.transcript', callId: 'c', data: circular }, { type: 'call.tool', callId: 'c', data: { big: 10n } }];
    for (const e of bad) expect(() => d.publish(e as CallWebhookEvent)).not.toThrow();
    await settle();
    expect(f.sent).toHaveLength(0);
    expect(await metrics.metrics()).toContain(`callroom_webhook_publish_errors_total ${bad.length}`);
  });

  it('filters by event type; endpoints can be added, retargeted and removed', async () => {
    const { d, f } = make();
    d.upsertEndpoint({ id: 'api-1', url: 'https://other.example/h', secret: SECRET, events: ['call.ended'] }, 'api');
    d.publish(transcript('A', 'x'));
    await settle();
    expect(f.sent.map((s) => s.url)).toEqual(['https://hooks.example/a']);
    d.publish({ type: 'call.ended', callId: 'B', data: {} as never });
    await settle();
    expect(f.sent.map((s) => s.url)).toContain('https://other.example/h');
    d.upsertEndpoint({ id: 'api-1', url: 'https://moved.example/h', secret: SECRET, events: null }, 'api');
    d.publish(transcript('C', 'y'));
    await settle();
    expect(f.sent.map((s) => s.url)).toContain('https://moved.example/h');
    expect(d.removeEndpoint('api-1')).toBe(true);
    expect(d.removeEndpoint('api-1')).toBe(false);
    expect(d.endpoints().map((e) => e.target.id)).toEqual(['config-1']);
  });

  it('close aborts what is in flight, clears every timer and ignores later events', async () => {
    const clock = new FakeClock();
    const { d, f } = make({}, clock);
    d.publish(transcript('A', 'x'));
    d.publish(transcript('B', 'y'));
    await settle();
    f.sent[0]?.respond(500);
    await settle();
    await d.close();
    await settle();
    expect(clock.pending).toBe(0);
    d.publish(transcript('C', 'z'));
    await settle();
    expect(f.sent).toHaveLength(2);
    await d.flush();
  });
});
