import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import type { LiveSocket, LiveSocketHandlers } from '../../../../src/providers/deepgram/deepgram-connect.ts';
import { DeepgramSession, type DeepgramSessionSettings } from '../../../../src/providers/deepgram/deepgram-session.ts';
import type { SttEvent } from '../../../../src/providers/types.ts';

class FakeSocket implements LiveSocket {
  readyState = 1;
  readonly sent: Array<string | number[]> = [];
  closed = 0;
  readonly handlers: LiveSocketHandlers;
  constructor(handlers: LiveSocketHandlers) {
    this.handlers = handlers;
  }
  sendMedia(data: ArrayBufferView): void {
    this.sent.push([...new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
  }
  sendKeepAlive(): void {
    this.sent.push('KeepAlive');
  }
  sendFinalize(): void {
    this.sent.push('Finalize');
  }
  sendCloseStream(): void {
    this.sent.push('CloseStream');
  }
  close(): void {
    this.closed++;
    this.readyState = 3;
  }
  /** The server dropping the socket. */
  drop(code: number): void {
    this.readyState = 3;
    this.handlers.onClose(code, '');
  }
}

/** A connector whose answers the test scripts: a socket, or an error. */
function harness(script: Array<'ok' | ProviderError> = []) {
  const sockets: FakeSocket[] = [];
  let calls = 0;
  const connect = async (handlers: LiveSocketHandlers): Promise<LiveSocket> => {
    const answer = script[calls++] ?? 'ok';
    if (answer !== 'ok') throw answer;
    const s = new FakeSocket(handlers);
    sockets.push(s);
    return s;
  };
  return { sockets, connect, calls: () => calls };
}

function settings(clock: FakeClock, over: Partial<DeepgramSessionSettings> = {}): DeepgramSessionSettings {
  return {
    encoding: 'mulaw',
    sampleRate: 8000,
    reconnect: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    backlogBytes: 800,
    autoKeepAliveMs: 5000,
    closeTimeoutMs: 3000,
    eventCapacity: 64,
    clock,
    logger: silentLogger(),
    random: () => 1,
    ...over,
  };
}

/** Let pending promise continuations run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

async function drain(session: DeepgramSession): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  for await (const e of session.events()) out.push(e);
  return out;
}

const retryable = new ProviderError('deepgram', 'CR_PROVIDER_UNAVAILABLE', 'down', { retryable: true, status: 503 });

describe('DeepgramSession', () => {
  it('sends KeepAlive after the idle interval, pushed back by audio', async () => {
    const clock = new FakeClock();
    const h = harness();
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    const sock = h.sockets[0]!;
    clock.advance(4000);
    s.writeEncoded(new Uint8Array([1]));
    clock.advance(4000);
    expect(sock.sent.filter((m) => m === 'KeepAlive')).toHaveLength(0);
    clock.advance(1000);
    expect(sock.sent.filter((m) => m === 'KeepAlive')).toHaveLength(1);
    clock.advance(5000);
    expect(sock.sent.filter((m) => m === 'KeepAlive')).toHaveLength(2);
    void s.close();
    sock.handlers.onClose(1000, '');
    await s.close();
    expect(clock.pending).toBe(0);
  });

  it('reconnects with exponential backoff and resends held audio first', async () => {
    const clock = new FakeClock();
    const h = harness(['ok', retryable, 'ok']);
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    h.sockets[0]!.drop(1006);
    s.writeEncoded(new Uint8Array([7, 7]));
    s.finalize();
    clock.advance(99);
    await settle();
    expect(h.calls()).toBe(1);
    clock.advance(1); // attempt 1 after 100 ms
    await settle();
    expect(h.calls()).toBe(2);
    clock.advance(199);
    await settle();
    expect(h.calls()).toBe(2);
    clock.advance(1); // attempt 2 after 200 ms more
    await settle();
    expect(h.calls()).toBe(3);
    expect(h.sockets[1]!.sent).toEqual([[7, 7], 'Finalize']);
    s.writeEncoded(new Uint8Array([8]));
    expect(h.sockets[1]!.sent.at(-1)).toEqual([8]);
  });

  it('gives up after the bounded attempts with a retryable error event, then closed', async () => {
    const clock = new FakeClock();
    const h = harness(['ok', retryable, retryable, retryable]);
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    const events = drain(s);
    h.sockets[0]!.drop(1011);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await settle();
    }
    const got = await events;
    expect(h.calls()).toBe(4);
    expect(got.map((e) => e.type)).toEqual(['error', 'closed']);
    const err = got[0];
    expect(err?.type === 'error' && err.retryable).toBe(true);
    expect(err?.type === 'error' && (err.error as ProviderError).code).toBe('CR_PROVIDER_UNAVAILABLE');
    expect(clock.pending).toBe(0);
  });

  it('stops at once when a reconnect is refused as unauthorized', async () => {
    const clock = new FakeClock();
    const auth = ProviderError.fromStatus('deepgram', 401, 'no');
    const h = harness(['ok', auth]);
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    const events = drain(s);
    h.sockets[0]!.drop(1006);
    clock.advance(100);
    await settle();
    const got = await events;
    expect(h.calls()).toBe(2);
    expect(got[0]?.type === 'error' && got[0].error).toBe(auth);
  });

  it('close() during a reconnect ends without another attempt', async () => {
    const clock = new FakeClock();
    const h = harness();
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    const events = drain(s);
    h.sockets[0]!.drop(1006);
    await s.close();
    clock.advance(5000);
    await settle();
    expect(h.calls()).toBe(1);
    expect((await events).map((e) => e.type)).toEqual(['closed']);
  });

  it('close() gives up waiting for the server after closeTimeoutMs', async () => {
    const clock = new FakeClock();
    const h = harness();
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    let done = false;
    const closing = s.close().then(() => (done = true));
    await settle();
    expect(h.sockets[0]!.sent).toEqual(['CloseStream']);
    clock.advance(2999);
    await settle();
    expect(done).toBe(false);
    clock.advance(1);
    await closing;
    expect(h.sockets[0]!.closed).toBe(1);
  });

  it('a normal 1000 close from the server ends the session; 1008 is a non-retryable error', async () => {
    const clock = new FakeClock();
    const h = harness();
    const a = new DeepgramSession(h.connect, settings(clock));
    await a.start();
    const ea = drain(a);
    h.sockets[0]!.drop(1000);
    expect((await ea).map((e) => e.type)).toEqual(['closed']);

    const b = new DeepgramSession(h.connect, settings(clock));
    await b.start();
    const eb = drain(b);
    h.sockets[1]!.drop(1008);
    const got = await eb;
    expect(got.map((e) => e.type)).toEqual(['error', 'closed']);
    expect(got[0]?.type === 'error' && got[0].retryable).toBe(false);
    expect(h.calls()).toBe(2);
  });

  it('drops linear frames written to an encoded session instead of sending them', async () => {
    const clock = new FakeClock();
    const h = harness();
    const s = new DeepgramSession(h.connect, settings(clock));
    await s.start();
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    expect(h.sockets[0]!.sent).toEqual([]);
    s.writeEncoded(new Uint8Array([1]));
    expect(h.sockets[0]!.sent).toEqual([[1]]);
  });

  it('aborting the signal tears down immediately', async () => {
    const clock = new FakeClock();
    const h = harness();
    const ac = new AbortController();
    const s = new DeepgramSession(h.connect, settings(clock), ac.signal);
    await s.start();
    const events = drain(s);
    ac.abort();
    expect((await events).map((e) => e.type)).toEqual(['closed']);
    expect(h.sockets[0]!.closed).toBe(1);
    expect(h.sockets[0]!.sent).toEqual([]);
    await s.close();
    expect(clock.pending).toBe(0);
  });
});
