/**
 * What a lost model session means for the call: reopened (onDrop reconnect, a failure that may pass, a few
 * times), or the call ended with the reason; events reach the bridge in order, and a failing handler does
 * not stop them. The provider here is an in-memory one: the wire is covered by the integration tests.
 */
import { describe, expect, it } from 'vitest';
import { ModelLink } from '../../../../src/call/realtime/model-link.ts';
import { BoundedChannel } from '../../../../src/core/bounded-channel.ts';
import { FakeClock } from '../../../../src/core/clock.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import type { RealtimeEvent, RealtimeProvider, RealtimeSession, RealtimeSessionOptions } from '../../../../src/providers/types.ts';
import { OPENAI_REALTIME_CAPABILITIES } from '../../../../src/providers/openai-realtime/session-config.ts';

class MemorySession implements RealtimeSession {
  readonly inputFormat = { encoding: 'mulaw', sampleRate: 8000 } as const;
  readonly outputFormat = { encoding: 'mulaw', sampleRate: 8000 } as const;
  readonly stats = { sentAudioBytes: 0, bufferedAudioBytes: 0, droppedAudioBytes: 0 };
  readonly events$ = new BoundedChannel<RealtimeEvent>(100, 'drop-oldest');
  closed = false;
  appendAudio(): void {}
  commit(): void {}
  createResponse(): void {}
  sendToolResult(): void {}
  sendText(): void {}
  addHistory(): void {}
  cancelResponse(): void {}
  truncate(): void {}
  events(): AsyncIterable<RealtimeEvent> {
    return this.events$;
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events$.push({ type: 'closed', reason: 'client' });
    this.events$.close();
  }
  /** The server drops the socket. */
  drop(retryable: boolean): void {
    const error = new ProviderError('mem', retryable ? 'CR_PROVIDER_UNAVAILABLE' : 'CR_PROVIDER_REJECTED', 'socket closed mid-session (1006)', { retryable });
    this.events$.push({ type: 'error', error, retryable, fatal: true });
    this.events$.push({ type: 'closed', reason: 'error' });
    this.events$.close();
  }
}

function setup(onDrop: 'reconnect' | 'end', opens: Array<MemorySession | Error>) {
  const clock = new FakeClock();
  const log: string[] = [];
  const provider: RealtimeProvider = {
    name: 'mem',
    capabilities: OPENAI_REALTIME_CAPABILITIES,
    open: async () => {
      const next = opens.shift();
      if (next === undefined || next instanceof Error) throw next ?? new Error('no more sessions');
      return next;
    },
  };
  const link = new ModelLink({
    provider,
    options: {} as RealtimeSessionOptions,
    onDrop,
    clock,
    logger: silentLogger(),
    onEvent: (e) => {
      log.push(`event:${e.type}`);
      if (e.type === 'speech_stopped') throw new Error('handler bug');
    },
    onSession: (_s, reopened) => log.push(`session:${reopened}`),
    onDropped: (_why, reopening) => log.push(`dropped:${reopening}`),
    onLost: (reason) => log.push(`lost:${reason}`),
  });
  return { clock, log, link };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

describe('ModelLink', () => {
  it('passes events on in order (a failing handler does not stop them), and reopens a dropped session', async () => {
    const s1 = new MemorySession();
    const s2 = new MemorySession();
    const { clock, log, link } = setup('reconnect', [s1, s2]);
    await link.open();
    s1.events$.push({ type: 'speech_stopped' });
    s1.events$.push({ type: 'speech_started' });
    s1.drop(true);
    await settle();
    clock.advance(0);
    await settle();
    expect(link.session).toBe(s2);
    expect(log).toEqual(['session:false', 'event:speech_stopped', 'event:speech_started', 'event:error', 'dropped:true', 'session:true']);
    await link.close();
    expect(s2.closed).toBe(true);
  });

  it('onDrop end: the call is ended with the reason', async () => {
    const s1 = new MemorySession();
    const { log, link } = setup('end', [s1]);
    await link.open();
    s1.drop(true);
    await settle();
    expect(log.at(-1)).toBe('lost:realtime model connection lost (mem: socket closed mid-session (1006)); the agent ends calls whose model drops');
  });

  it('a failure that will not pass ends the call even when reconnecting', async () => {
    const s1 = new MemorySession();
    const { log, link } = setup('reconnect', [s1]);
    await link.open();
    s1.drop(false);
    await settle();
    expect(log.slice(-2)).toEqual(['dropped:false', 'lost:realtime model connection lost (mem: socket closed mid-session (1006)); not retryable']);
  });

  it('gives up after three reopens that fail', async () => {
    const s1 = new MemorySession();
    const busy = (): Error => new ProviderError('mem', 'CR_PROVIDER_UNAVAILABLE', 'HTTP 503', { retryable: true });
    const { clock, log, link } = setup('reconnect', [s1, busy(), busy(), busy()]);
    await link.open();
    s1.drop(true);
    for (let i = 0; i < 4; i++) {
      await settle();
      clock.advance(1000);
    }
    await settle();
    expect(log.filter((l) => l.startsWith('dropped'))).toEqual(['dropped:true', 'dropped:true', 'dropped:true', 'dropped:false']);
    expect(log.at(-1)).toMatch(/^lost:realtime model connection lost \(reopen failed: mem: HTTP 503\); gave up after 3 reopens$/);
  });

  it('a session closed by the call is not reopened', async () => {
    const s1 = new MemorySession();
    const { log, link } = setup('reconnect', [s1, new MemorySession()]);
    await link.open();
    await link.close();
    await settle();
    expect(log).toEqual(['session:false']);
  });
});
