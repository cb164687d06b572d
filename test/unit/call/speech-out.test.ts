import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { SpeechOut, type ReplyResult } from '../../../src/call/speech-out.ts';
import type { TtsChunk, TtsProvider, TtsRequest } from '../../../src/providers/types.ts';
import { ClockedLeg } from './recording/clocked-leg.ts';

/** A voice that says every chunk as 100 ms of a constant sample, or fails while `broken`. */
class Voice implements TtsProvider {
  readonly encodings = ['pcm_s16le'] as const;
  readonly sampleRates = [8000];
  readonly name: string;
  readonly level: number;
  broken = false;
  requests = 0;

  constructor(name: string, level: number) {
    this.name = name;
    this.level = level;
  }

  async *synthesize(request: TtsRequest): AsyncIterable<TtsChunk> {
    this.requests++;
    for await (const _ of request.text) {
      // drain the text
    }
    if (this.broken) throw new Error(`${this.name} is down`);
    yield { type: 'audio', encoding: 'pcm_s16le', sampleRate: 8000, pcm: new Int16Array(800).fill(this.level) };
    yield { type: 'done' };
  }
}

async function speak(out: SpeechOut, leg: ClockedLeg, text: string): Promise<ReplyResult> {
  const reply = out.say(text, new AbortController().signal);
  let result: ReplyResult | undefined;
  void reply.done.then((r) => (result = r));
  for (let i = 0; i < 500 && result === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    leg.step();
  }
  if (result === undefined) throw new Error('the reply never finished');
  leg.step(10); // play what is still queued
  return result;
}

function setup() {
  const leg = new ClockedLeg();
  const cloud = new Voice('cloud', 1000);
  const offline = new Voice('offline', 2000);
  const failures: string[] = [];
  const out = new SpeechOut({
    leg,
    tts: [cloud, offline],
    echoGuard: undefined,
    clock: leg.clock,
    logger: silentLogger(),
    preferredAgainAfterMs: 30_000,
    onTtsFailure: (p, _e, next) => failures.push(`${p}->${next ?? 'none'}`),
  });
  const lastLevel = (): number | undefined => leg.played.findLast((s) => s !== 0);
  return { leg, cloud, offline, failures, out, lastLevel };
}

describe('SpeechOut voice failover', () => {
  it('hands a reply to the next voice, stays there for a while, then goes back to the preferred voice', async () => {
    const { leg, cloud, offline, failures, out, lastLevel } = setup();
    cloud.broken = true;
    const first = await speak(out, leg, 'Hello there.');
    expect(first.heard).toBe('Hello there.');
    expect(lastLevel()).toBe(2000);
    expect(failures).toEqual(['cloud->offline']);

    // Right after the failure the next reply does not wait on the broken voice again.
    cloud.broken = false;
    await speak(out, leg, 'Still me.');
    expect(cloud.requests).toBe(1);
    expect(lastLevel()).toBe(2000);

    // After the cool-down a reply tries the preferred voice again.
    leg.clock.advance(30_000);
    await speak(out, leg, 'Back to normal.');
    expect(cloud.requests).toBe(2);
    expect(lastLevel()).toBe(1000);
    expect(offline.requests).toBe(2);
  });

  it('a call whose voices all failed is not mute for good: the next reply tries them again at once', async () => {
    const { leg, cloud, offline, failures, out, lastLevel } = setup();
    cloud.broken = true;
    offline.broken = true;
    const silent = await speak(out, leg, 'Nobody can say this.');
    expect(silent.firstAudioAtMs).toBeUndefined();
    expect(failures).toEqual(['cloud->offline', 'offline->none']);

    cloud.broken = false;
    const back = await speak(out, leg, 'Now I can.');
    expect(back.firstAudioAtMs).toBeDefined();
    expect(lastLevel()).toBe(1000);
  });
});
