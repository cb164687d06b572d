import { afterEach, describe, expect, it } from 'vitest';
import { createFrame } from '../../../src/core/audio-frame.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { SttLink, type SttStatus } from '../../../src/call/stt-link.ts';
import type { SttEvent, SttProvider, SttSession } from '../../../src/providers/types.ts';

/** A recogniser whose sessions can be made to fail at open or drop mid-call, and that records what it heard. */
class ScriptedStt implements SttProvider {
  readonly encodings = ['pcm_s16le'] as const;
  readonly heard: number[] = [];
  opens = 0;
  failOpens = 0;
  readonly sessions: Array<{ drop: (error?: string) => void; say: (text: string) => void }> = [];

  readonly name: string;
  readonly minRate: number;

  constructor(name: string, minRate = 8000) {
    this.name = name;
    this.minRate = minRate;
  }

  supportsSampleRate(rate: number): boolean {
    return rate >= this.minRate;
  }

  async open(): Promise<SttSession> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new Error(`${this.name} is down`);
    }
    const queue: SttEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const push = (ev: SttEvent): void => {
      queue.push(ev);
      wake?.();
    };
    this.sessions.push({
      drop: (error) => push(error === undefined ? { type: 'closed' } : { type: 'error', error: new Error(error), retryable: false }),
      say: (text) => push({ type: 'transcript', text, isFinal: true, speechFinal: true }),
    });
    const heard = this.heard;
    return {
      write: (frame) => heard.push(frame.samples.length),
      writeEncoded: () => undefined,
      keepAlive: () => undefined,
      finalize: () => undefined,
      async *events() {
        while (!ended) {
          const ev = queue.shift();
          if (ev === undefined) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          yield ev;
          if (ev.type === 'closed' || ev.type === 'error') return;
        }
      },
      close: async () => {
        ended = true;
        wake?.();
      },
    };
  }
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

const links: SttLink[] = [];
afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
});

function link(providers: SttProvider[], extra: { retryDelaysMs?: number[]; healthyAfterMs?: number } = {}) {
  const statuses: SttStatus[] = [];
  const texts: string[] = [];
  const l = new SttLink({
    providers,
    logger: silentLogger(),
    retryDelaysMs: extra.retryDelaysMs ?? [20],
    ...(extra.healthyAfterMs === undefined ? {} : { healthyAfterMs: extra.healthyAfterMs }),
    onStatus: (s) => statuses.push(s),
    onEvent: (e) => {
      if (e.type === 'transcript') texts.push(e.text);
    },
  });
  links.push(l);
  return { l, statuses, texts };
}

const pcm8k = { sampleRate: 8000, encoding: 'pcm_s16le' } as const;

describe('SttLink', () => {
  it('skips a recogniser that cannot open and serves from the next', async () => {
    const a = new ScriptedStt('cloud');
    const b = new ScriptedStt('offline');
    a.failOpens = 1;
    const { l, statuses } = link([a, b]);
    l.start(pcm8k);
    await until(() => statuses.some((s) => s.type === 'serving'), 'serving');
    expect(l.provider).toBe('offline');
    expect(statuses.map((s) => s.type)).toEqual(['failed', 'serving']);
  });

  it('reopens a dropped session once, then hands the call to the next recogniser', async () => {
    const a = new ScriptedStt('cloud');
    const b = new ScriptedStt('offline');
    const { l, statuses, texts } = link([a, b]);
    l.start(pcm8k);
    await until(() => a.sessions.length === 1, 'first session');
    a.sessions[0]!.drop('socket reset');
    await until(() => a.sessions.length === 2, 'reopened session');
    a.sessions[1]!.drop('socket reset');
    await until(() => b.sessions.length === 1 && l.provider === 'offline', 'fallback session');
    b.sessions[0]!.say('still heard');
    await until(() => texts.length === 1, 'transcript');
    expect(texts).toEqual(['still heard']);
    const failed = statuses.filter((s) => s.type === 'failed');
    expect(failed.map((s) => s.type === 'failed' && s.willRetry)).toEqual([true, false]);
  });

  it('never leaves the call deaf: when every recogniser is down it tries them all again after a back-off', async () => {
    const a = new ScriptedStt('cloud');
    a.failOpens = 3;
    const { l, statuses } = link([a], { retryDelaysMs: [20, 40] });
    l.start(pcm8k);
    await until(() => statuses.some((s) => s.type === 'unavailable'), 'unavailable');
    expect(l.available).toBe(false);
    // Audio while deaf is not hoarded.
    l.write(createFrame(new Int16Array(160), 8000));
    await until(() => l.available, 'recovered', 3000);
    expect(a.opens).toBe(4);
    expect(l.provider).toBe('cloud');
    expect(statuses.filter((s) => s.type === 'unavailable')).toHaveLength(3);
    l.write(createFrame(new Int16Array(160), 8000));
    expect(a.heard).toEqual([160]);
  });

  it('does not retry when no recogniser can ever hear this audio format (narrowband to a wideband-only engine)', async () => {
    const wideband = new ScriptedStt('pocketsphinx', 16000);
    const { l, statuses } = link([wideband]);
    l.start(pcm8k);
    await until(() => statuses.some((s) => s.type === 'unavailable'), 'unavailable');
    await tick(80);
    expect(wideband.opens).toBe(0);
    expect(statuses.map((s) => (s.type === 'skipped' ? s.code : s.type))).toEqual(['CR_STT_NARROWBAND_UNSUPPORTED', 'unavailable']);
  });

  it('stops retrying when the call ends', async () => {
    const a = new ScriptedStt('cloud');
    a.failOpens = 100;
    const { l, statuses } = link([a], { retryDelaysMs: [30] });
    l.start(pcm8k);
    await until(() => statuses.some((s) => s.type === 'unavailable'), 'unavailable');
    await l.close();
    const opens = a.opens;
    await tick(100);
    expect(a.opens).toBe(opens);
  });

  it('a session that served a while before dropping starts its failure count afresh', async () => {
    const a = new ScriptedStt('cloud');
    const b = new ScriptedStt('offline');
    const { l } = link([a, b], { healthyAfterMs: 0 });
    l.start(pcm8k);
    for (let i = 0; i < 4; i++) {
      await until(() => a.sessions.length === i + 1, `session ${i + 1}`);
      a.sessions[i]!.drop();
    }
    await until(() => a.sessions.length === 5, 'fifth session');
    expect(l.provider).toBe('cloud');
    expect(b.opens).toBe(0);
  });
});
