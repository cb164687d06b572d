/**
 * baresip calls the running gateway (`callroom serve`, echo mode), plays a speech-like WAV of 5 s and
 * records what comes back. The recording must be the source (normalised cross-correlation >= 0.95
 * after alignment), once with PCMU at 8 kHz and once with G.722 at 16 kHz, which goes through the
 * gateway's G.722 decoder, jitter buffer, pacer and encoder. baresip hangs up when its file ends, so
 * the gateway must log the call as ended by the remote BYE.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWav } from '../../../src/media/wav.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { runBaresip, type BaresipCodec } from '../../support/sip-peers/baresip.ts';
import { normalisedCrossCorrelation } from '../../support/sip-peers/cross-correlation.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { speechLikeSignal, writeMonoWav } from '../../support/sip-peers/test-signal.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-gw-baresip-'));
});

afterEach(async () => {
  // A test that failed half-way leaves its gateway and phone running: stop them by PID.
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  await rm(dir, { recursive: true, force: true });
});

describe('baresip calls the gateway in echo mode', () => {
  it.each([
    ['PCMU', 8000],
    ['G722', 16000],
  ] as const)('%s: what baresip hears back is what it played (NCC >= 0.95)', async (codec: BaresipCodec, rate) => {
    const gw = await startGatewayProcess({ transports: ['udp'] });
    const source = speechLikeSignal({ sampleRate: rate, seconds: 5, seed: 21 });
    const wavFile = join(dir, `source-${rate}.wav`);
    await writeMonoWav(wavFile, source, rate);
    const phone = await runBaresip({ user: 'caller', codecs: [codec], audioSource: wavFile, recordDir: join(dir, 'rec') });

    await phone.ctrl.dial(`sip:echo@127.0.0.1:${gw.sipPort}`);
    await phone.ctrl.waitForEvent('CALL_ESTABLISHED');
    // aufile hangs up when the 5 s file ends.
    await phone.ctrl.waitForEvent('CALL_CLOSED', { timeoutMs: 20_000 });
    const [ended] = await gw.waitForLog('echo call ended');
    const file = await phone.waitForRecording('dec');
    await phone.stop();
    const exit = await gw.stop();
    expect(exit.exitCode).toBe(0);

    const wav = readWav(await readFile(file));
    expect(wav.sampleRate).toBe(rate);
    const c = normalisedCrossCorrelation(source, wav.samples);
    expect(c.score, JSON.stringify(c)).toBeGreaterThanOrEqual(0.95);
    // The echo covers nearly all of the 5 s (the last jitter-buffer's worth is cut by the hang-up).
    expect(c.overlap).toBeGreaterThan(0.85 * source.length);
    // And the score tells audio apart: other speech-like audio does not match the recording.
    expect(normalisedCrossCorrelation(speechLikeSignal({ sampleRate: rate, seconds: 5, seed: 22 }), wav.samples).score).toBeLessThan(0.5);

    // The gateway logs one call, ended by baresip's BYE, with its RTP figures: 5 s is 250 packets of 20 ms.
    expect(gw.logsWith('sip call ended')).toEqual([expect.objectContaining({ reason: 'remote-bye', callId: ended?.callId })]);
    expect(ended).toMatchObject({ reason: 'remote-hangup', lost: 0 });
    expect(ended?.received).toBeGreaterThanOrEqual(245);
    expect(ended?.sent).toBeGreaterThanOrEqual(240);
    // The gateway does not log the codec; baresip reports what was negotiated, both ways.
    const label = codec === 'G722' ? 'G722 16000Hz' : 'PCMU 8000Hz';
    expect(phone.process.stdout).toContain(`Set audio decoder: ${label}`);
    expect(phone.process.stdout).toContain(`Set audio encoder: ${label}`);
  });
});
