/**
 * The configured limits on the real gateway process (demo agent): at `limits.maxConcurrentCalls` a new SIP call
 * gets 503 and POST /calls 429; a call longer than `limits.maxCallSeconds` is ended by the gateway (BYE, record
 * `max-duration`); a source outside the trunks that sends more than `sip.rateLimit` allows is dropped beyond its
 * burst while the trunk is untouched. (WebSocket message size and rate caps: test/integration/transports/ws/
 * ws-medium.test.ts, "caps message rate ... and message size".)
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { allocatePorts } from '../../support/sip-peers/free-ports.ts';
import { describeSippResult, sippPassed, startSipp } from '../../support/sip-peers/sipp.ts';
import { cleanedAfterEach, optionsBurst, sipInvite, sipOptions, writeByeWaitScenario, writeCallerAudio } from './support/ops-peers.ts';

const { dirs, ports } = cleanedAfterEach();

describe('limits from config', () => {
  it('concurrent calls (SIP 503, REST 429), call duration (BYE, max-duration), per-source SIP rate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-limits-'));
    dirs.push(dir);
    const [httpPort] = (await allocatePorts(1)) as [number];
    ports.push(httpPort);
    const gw = await startGatewayProcess({
      transports: ['udp'],
      sip: {
        echo: false,
        codecs: ['PCMU'],
        trunks: [{ name: 'lo', cidrs: ['127.0.0.1/32'] }],
        rateLimit: { requestsPerSecond: 5, burst: 10 },
      },
      config: {
        http: { enabled: true, host: '127.0.0.1', port: httpPort },
        vad: { engine: 'energy' },
        limits: { maxConcurrentCalls: 2, maxCallSeconds: 4 },
        agents: [{ name: 'demo', greeting: 'Hello.', noSpeechNotice: '', vad: { minSpeechMs: 10_000 } }],
      },
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const scenario = await writeByeWaitScenario(dir, await writeCallerAudio(dir, 3));
    const sipp = await startSipp({ scenario: { file: scenario }, target: gw.target, calls: 2, rate: 10, maxConcurrent: 2, traceStat: true, timeoutMs: 30_000 });
    await gw.waitForLog('call answered', { count: 2, timeoutMs: 15_000 });
    const t0 = Date.now();

    // At the limit: SIP 503, REST 429.
    expect((await sipInvite(gw.sipPort)).status).toBe(503);
    const post = await fetch(`${base}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: { name: 'extra' }, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } }),
    });
    expect(post.status).toBe(429);
    expect(post.headers.get('retry-after')).toBe('1');

    // A stranger's burst of 30 OPTIONS: its burst of 10 (and what a second refills) is answered, the rest dropped;
    // the trunk's own OPTIONS are still answered.
    const burst = await optionsBurst(gw.sipPort, '127.0.0.2', 30);
    expect(burst.answered).toBeGreaterThanOrEqual(10);
    expect(burst.answered).toBeLessThanOrEqual(12);
    expect((await sipOptions(gw.sipPort)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(Number(/^callroom_sip_rate_limited_total (\d+)/m.exec(metrics)?.[1])).toBe(30 - burst.answered);

    // Both calls are ended by the gateway at 4 s (SIPp waits for that BYE).
    const r = await sipp.done;
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.stats?.successfulCalls).toBe(2);
    await gw.waitForLog('call ended', { count: 2, timeoutMs: 5_000 });
    const list = (await (await fetch(`${base}/calls?limit=10`)).json()) as { items: Array<{ endReason: string | null; answeredAt: string; endedAt: string }> };
    const sipCalls = list.items.filter((c) => c.endReason !== null);
    expect(sipCalls.map((c) => c.endReason)).toEqual(['max-duration', 'max-duration']);
    for (const c of sipCalls) {
      const ms = Date.parse(c.endedAt) - Date.parse(c.answeredAt);
      expect(ms).toBeGreaterThanOrEqual(3_900);
      expect(ms).toBeLessThan(6_000);
    }
    expect(Date.now() - t0).toBeLessThan(15_000);
    // Below the limit again: a new call is taken.
    const again = await fetch(`${base}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: { name: 'extra' }, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } }),
    });
    expect(again.status).toBe(201);
    await gw.stop();
  });
});
