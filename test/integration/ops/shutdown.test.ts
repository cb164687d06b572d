/**
 * SIGTERM with calls in flight, against the real gateway process (demo agent: energy VAD, pocketsphinx,
 * flite): the gateway stops taking calls at once (OPTIONS and INVITE 503 with Retry-After, /readyz 503,
 * POST /calls 503), lets the calls run for drain.timeoutSeconds, then says the goodbye and sends BYE (SIPp
 * waits for it), flushes, and exits 0. Afterwards every call has a complete record (ended, reason
 * `shutdown`) and a complete stereo recording: the caller's audio on the left, the goodbye on the right at
 * the end, and a header that counts every byte of the file.
 */
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWav } from '../../../src/media/wav.ts';
import { openStorage } from '../../../src/storage/open-storage.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { allocatePorts } from '../../support/sip-peers/free-ports.ts';
import { describeSippResult, sippPassed, startSipp } from '../../support/sip-peers/sipp.ts';
import { cleanedAfterEach, sipOptions, writeByeWaitScenario, writeCallerAudio } from './support/ops-peers.ts';

const { dirs, ports } = cleanedAfterEach();

const KEY = 'ops-test-key-0123456789';

function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

describe('SIGTERM with calls in flight', () => {
  it('refuses new work, ends live calls with a goodbye and BYE after the drain time, keeps records and recordings complete, exits 0', async () => {
    const CALLS = 3;
    const dir = await mkdtemp(join(tmpdir(), 'callroom-shutdown-'));
    dirs.push(dir);
    const [httpPort] = (await allocatePorts(1)) as [number];
    ports.push(httpPort);
    const recDir = join(dir, 'recordings');
    const gw = await startGatewayProcess({
      transports: ['udp'],
      sip: { echo: false, codecs: ['PCMU'] },
      config: {
        http: { enabled: true, host: '127.0.0.1', port: httpPort, apiKeys: [KEY] },
        storage: { dataDir: join(dir, 'data') },
        recording: { enabled: true, dir: recDir, sampleRate: 8000, flushMs: 250 },
        drain: { timeoutSeconds: 3, goodbye: 'This line is closing now. Goodbye.', retryAfterSeconds: 17 },
        vad: { engine: 'energy' },
        // A short greeting, and no turn from the caller's bursts (never 10 s of speech in one go): the agent is
        // quiet when the drain ends, so what its track has at the end is the goodbye.
        // (No recogniser hears 8 kHz here: no notice about that either.)
        agents: [{ name: 'demo', greeting: 'Hello.', noSpeechNotice: '', vad: { minSpeechMs: 10_000 } }],
      },
    });
    const audio = await writeCallerAudio(dir, 6);
    const scenario = await writeByeWaitScenario(dir, audio);
    const sipp = await startSipp({ scenario: { file: scenario }, target: gw.target, calls: CALLS, rate: 10, maxConcurrent: CALLS, traceStat: true, timeoutMs: 60_000 });
    await gw.waitForLog('call answered', { count: CALLS, timeoutMs: 20_000 });
    // Let the greeting play and some caller audio be recorded.
    await new Promise((r) => setTimeout(r, 1500));

    gw.process.kill('SIGTERM');
    await gw.waitForLog('draining: no new calls', { timeoutMs: 5_000 });
    const drainStarted = Date.now();
    // New work is refused while the live calls go on.
    const options = await sipOptions(gw.sipPort);
    expect(options.status).toBe(503);
    expect(options.text).toMatch(/^Retry-After: 17\r$/m);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { notDraining: false, storage: true } });
    const post = await fetch(`http://127.0.0.1:${httpPort}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ agent: { name: 'late' }, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } }),
    });
    expect(post.status).toBe(503);
    expect(post.headers.get('retry-after')).not.toBeNull();
    // A live call's recording so far, through the API (with the key): a valid stereo WAV, marked incomplete.
    const [first] = gw.logsWith('call answered');
    const recUrl = `http://127.0.0.1:${httpPort}/calls/${encodeURIComponent(first?.callId ?? '')}/recording`;
    expect((await fetch(recUrl)).status).toBe(401);
    const partial = await fetch(recUrl, { headers: { 'x-api-key': KEY } });
    expect(partial.status).toBe(200);
    expect(partial.headers.get('content-type')).toBe('audio/wav');
    expect(partial.headers.get('x-callroom-recording-complete')).toBe('false');
    expect(readWav(new Uint8Array(await partial.arrayBuffer()))).toMatchObject({ sampleRate: 8000, channels: 2 });
    expect((await fetch(`http://127.0.0.1:${httpPort}/calls/nope/recording`, { headers: { 'x-api-key': KEY } })).status).toBe(404);
    expect(gw.logsWith('call ended')).toHaveLength(0);

    // SIPp's calls each get the gateway's BYE, after the drain time.
    const r = await sipp.done;
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    expect(r.stats?.successfulCalls).toBe(CALLS);
    const exit = await gw.process.exited;
    expect(exit.exitCode).toBe(0);
    expect(Date.now() - drainStarted).toBeGreaterThanOrEqual(2_500);
    const ended = gw.logsWith('call ended');
    expect(ended).toHaveLength(CALLS);
    expect(ended.every((l) => l['reason'] === 'local-hangup')).toBe(true);
    expect(gw.logsWith('drain time is up: ending the remaining calls')).toHaveLength(1);

    // Records: every call, ended, because of the shutdown.
    const storage = await openStorage({ driver: 'sqlite', dataDir: join(dir, 'data') });
    try {
      const list = await storage.calls.list({ page: 1, limit: 50 });
      expect(list.total).toBe(CALLS);
      for (const c of list.items) {
        expect(c.state).toBe('ended');
        expect(c.endReason).toBe('shutdown');
        expect(c.answeredAt).not.toBeNull();
      }
    } finally {
      await storage.close();
    }

    // Recordings: one complete stereo WAV per call; the caller on the left, the goodbye at the end on the right.
    const files = (await readdir(recDir)).filter((f) => f.endsWith('.wav'));
    expect(files).toHaveLength(CALLS);
    for (const f of files) {
      const bytes = await readFile(join(recDir, f));
      expect(bytes.readUInt32LE(40)).toBe((await stat(join(recDir, f))).size - 44);
      const wav = readWav(bytes);
      expect(wav).toMatchObject({ sampleRate: 8000, channels: 2 });
      const frames = wav.samples.length / 2;
      expect(frames / 8000).toBeGreaterThan(4);
      const left = new Int16Array(frames);
      const right = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        left[i] = wav.samples[2 * i] as number;
        right[i] = wav.samples[2 * i + 1] as number;
      }
      expect(rms(left)).toBeGreaterThan(300);
      // After the greeting the agent is quiet; the goodbye (about 2 s of flite speech) ends its track.
      expect(rms(right.subarray(1.5 * 8000, 3 * 8000))).toBeLessThan(50);
      expect(rms(right.subarray(frames - 2 * 8000))).toBeGreaterThan(200);
    }
    await gw.stop();
  });

  it('exits at once on a second signal while draining', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-shutdown2-'));
    dirs.push(dir);
    const gw = await startGatewayProcess({
      transports: ['udp'],
      sip: { echo: false, codecs: ['PCMU'] },
      config: {
        storage: { dataDir: join(dir, 'data') },
        drain: { timeoutSeconds: 60 },
        vad: { engine: 'energy' },
        agents: [{ name: 'demo', greeting: 'Hello.', noSpeechNotice: '', vad: { minSpeechMs: 10_000 } }],
      },
    });
    const scenario = await writeByeWaitScenario(dir, await writeCallerAudio(dir, 3));
    await startSipp({ scenario: { file: scenario }, target: gw.target, calls: 1, timeoutMs: 60_000 });
    await gw.waitForLog('call answered', { timeoutMs: 20_000 });
    gw.process.kill('SIGTERM');
    await gw.waitForLog('draining: no new calls', { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 500));
    // The drain would wait 60 s for the call; the operator does not.
    expect(gw.process.running).toBe(true);
    const t = Date.now();
    gw.process.kill('SIGTERM');
    const exit = await gw.process.exited;
    expect(Date.now() - t).toBeLessThan(3_000);
    expect(exit.exitCode).toBe(1);
    expect(gw.logsWith('second signal: exiting now')).toHaveLength(1);
  });
});
