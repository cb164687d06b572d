/**
 * A gateway that drains behind Kamailio's dispatcher: gateway A (agent calls) holds a live call when it gets
 * SIGTERM; from then on it answers the dispatcher's OPTIONS probes 503, so Kamailio marks it down, and new calls
 * placed at the proxy all complete on gateway B. A's live call is ended by A with a BYE once its drain time is
 * up, and A exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { runKamailio, type KamailioPeer } from '../../support/sip-peers/kamailio.ts';
import { allocatePorts, releasePorts } from '../../support/sip-peers/free-ports.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { scenarioFile } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed, startSipp } from '../../support/sip-peers/sipp.ts';
import { writeByeWaitScenario, writeCallerAudio } from '../ops/support/ops-peers.ts';

let proxy: KamailioPeer | undefined;
const dirs: string[] = [];
const ports: number[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  releasePorts(ports.splice(0));
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('draining gateway behind Kamailio', () => {
  it('answers probes 503 while its live call finishes, and new calls go to the other gateway', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-kamailio-drain-'));
    dirs.push(dir);
    const [httpPort] = (await allocatePorts(1)) as [number];
    ports.push(httpPort);
    const a = await startGatewayProcess({
      transports: ['udp'],
      sip: { echo: false, codecs: ['PCMU'] },
      config: {
        http: { enabled: true, host: '127.0.0.1', port: httpPort },
        vad: { engine: 'energy' },
        drain: { timeoutSeconds: 10, goodbye: 'Goodbye.' },
        agents: [{ name: 'demo', greeting: 'Hello.', noSpeechNotice: '', vad: { minSpeechMs: 10_000 } }],
      },
    });
    const b = await startGatewayProcess({ transports: ['udp'] });
    proxy = await runKamailio({ backends: [`sip:127.0.0.1:${a.sipPort}`, `sip:127.0.0.1:${b.sipPort}`], probingIntervalS: 1 });

    const audio = await writeCallerAudio(dir, 4);
    const live = await startSipp({ scenario: { file: await writeByeWaitScenario(dir, audio) }, target: a.target, calls: 1, timeoutMs: 60_000 });
    await a.waitForLog('call answered', { timeoutMs: 20_000 });
    a.process.kill('SIGTERM');
    await a.waitForLog('draining: no new calls', { timeoutMs: 5_000 });
    // Give the dispatcher a probe or two to see the 503.
    await new Promise((r) => setTimeout(r, 2_500));

    const CALLS = 6;
    const r = await runSipp({ scenario: scenarioFile('uac-load'), target: `127.0.0.1:${proxy.port}`, calls: CALLS, rate: 10, maxConcurrent: CALLS, pauseMs: 300, timeoutMs: 30_000 });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    const deadline = Date.now() + 5_000;
    while (b.logsWith('echo call ended').length < CALLS && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(b.logsWith('incoming call')).toHaveLength(CALLS);
    expect(b.logsWith('echo call ended')).toHaveLength(CALLS);
    // A took nothing new: its one call is the one it had.
    expect(a.logsWith('incoming call')).toHaveLength(1);
    // ... and it refused the dispatcher's probes while draining.
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const refused = Number(/^callroom_sip_drain_refused_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^callroom_draining 1$/m);

    // The live call is ended by A (BYE) after its drain time; A exits cleanly.
    const done = await live.done;
    expect(sippPassed(done), describeSippResult(done)).toBe(true);
    expect((await a.process.exited).exitCode).toBe(0);
    expect(a.logsWith('call ended')).toHaveLength(1);
    await a.stop();
    await proxy.stop();
    proxy = undefined;
    expect((await b.stop()).exitCode).toBe(0);
  });
});
