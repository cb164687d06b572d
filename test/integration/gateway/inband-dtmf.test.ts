/**
 * Keys pressed as tones on a SIP call whose peer did not offer telephone-event (SIPp streams raw PCMU with
 * no RFC 4733 in its offer): the gateway process (echo mode) hears them in the audio and logs each key once,
 * in order, as `inband`; a call that carries only human speech (an Asterisk prompt) logs no key.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import alawmulaw from 'alawmulaw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { keyTones } from '../../support/dtmf-keys.ts';
import { loadSpeech } from '../../support/call-harness.ts';
import { ALLISON_DIR } from '../../support/realtime-call-phone.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { SCENARIO_DIR } from '../../support/sip-peers/scenarios.ts';
import { describeSippResult, runSipp, sippPassed } from '../../support/sip-peers/sipp.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-inband-'));
});
afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  await rm(dir, { recursive: true, force: true });
});

/** uac-rtpstream-audio with the caller's audio `pcm` (8 kHz) and an offer of PCMU alone. */
async function scenarioWith(name: string, pcm: Int16Array): Promise<{ file: string; audioMs: number }> {
  const audio = join(dir, `${name}.ulaw`);
  await writeFile(audio, alawmulaw.mulaw.encode(pcm));
  const template = await readFile(`${SCENARIO_DIR}uac-rtpstream-audio.xml`, 'utf8');
  const noEvents = template
    .replace('RTP/AVP 0 101', 'RTP/AVP 0')
    .replace(/^\s*a=rtpmap:101 telephone-event\/8000\n/m, '')
    .replace(/^\s*a=fmtp:101 0-15\n/m, '')
    .replace('rtp_stream="@AUDIO_FILE@,1,', `rtp_stream="${audio},1,`);
  expect(noEvents).not.toMatch(/a=(rtpmap|fmtp):101/);
  expect(noEvents).toMatch(/m=audio \[rtpstream_audio_port\] RTP\/AVP 0\n/);
  const file = join(dir, `${name}.xml`);
  await writeFile(file, noEvents);
  return { file, audioMs: Math.ceil(pcm.length / 8) + 400 };
}

describe('in-band DTMF on a SIP call without telephone-event', () => {
  it('logs each key tone once, in order, and no key for a call of speech', async () => {
    const gw = await startGatewayProcess({ transports: ['udp'], sip: { codecs: ['PCMU'] } });
    const keys = await scenarioWith('keys', keyTones('72#9', 8000, { toneMs: 80, gapMs: 80, dbm0: -12 }));
    const r = await runSipp({ scenario: { file: keys.file }, target: gw.target, keys: { audio_ms: keys.audioMs }, timeoutMs: 20_000 });
    expect(sippPassed(r), describeSippResult(r)).toBe(true);
    const [ended] = await gw.waitForLog('echo call ended');
    const dtmf = gw.logsWith('dtmf');
    expect(dtmf.map((l) => l.digits).join('')).toBe('72#9');
    expect(dtmf.every((l) => l.source === 'inband' && l.callId === ended?.callId)).toBe(true);
    for (const l of dtmf) expect(Math.abs((l.durationMs as number) - 80)).toBeLessThanOrEqual(30);

    const speech = await scenarioWith('speech', loadSpeech(`${ALLISON_DIR}/tt-weasels.wav`, 8000));
    const s = await runSipp({ scenario: { file: speech.file }, target: gw.target, keys: { audio_ms: speech.audioMs }, timeoutMs: 20_000 });
    expect(sippPassed(s), describeSippResult(s)).toBe(true);
    await gw.waitForLog('echo call ended', { count: 2 });
    expect(gw.logsWith('dtmf')).toHaveLength(4);
    expect((await gw.stop()).exitCode).toBe(0);
  });
});
