/**
 * A TCP proxy in front of a provider fake that misbehaves on demand, the way networks and clouds do: while
 * chaos is on, live connections are cut at random (both sides destroyed, no close handshake) or stalled for a
 * few seconds (neither direction moves; the bytes wait in the kernel), and new connections are refused or stalled
 * from the start. Off, it forwards faithfully. Randomness is seeded, so a run can be repeated.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { prng } from '../../../support/sip-peers/test-signal.ts';

export interface ChaosOptions {
  /** Chance per tick (250 ms) that a live connection is cut. */
  readonly cutPerTick?: number;
  /** Chance per tick that a live connection stalls. */
  readonly stallPerTick?: number;
  /** Chance that a new connection is refused (accepted and destroyed at once). */
  readonly refuseNew?: number;
  /** Chance that a new connection starts stalled. */
  readonly stallNew?: number;
  /** Stall length, ms: uniform in [min, max]. */
  readonly stallMs?: readonly [number, number];
}

export interface ChaosStats {
  connections: number;
  cut: number;
  stalled: number;
  refused: number;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  stalledUntil: number;
}

export class ChaosProxy {
  readonly stats: ChaosStats = { connections: 0, cut: 0, stalled: 0, refused: 0 };
  readonly #server: Server;
  readonly #target: number;
  readonly #pairs = new Set<Pair>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #rnd: () => number;
  #chaos: Required<ChaosOptions> | undefined;
  #tick: NodeJS.Timeout | undefined;
  #port = 0;

  private constructor(targetPort: number, seed: number) {
    this.#target = targetPort;
    this.#rnd = prng(seed);
    this.#server = createServer((client) => this.#accept(client));
  }

  /** A proxy on 127.0.0.1 (a free port) for `targetPort` on 127.0.0.1. */
  static async start(targetPort: number, seed = 1): Promise<ChaosProxy> {
    const p = new ChaosProxy(targetPort, seed);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    const addr = p.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    p.#port = addr.port;
    return p;
  }

  get port(): number {
    return this.#port;
  }

  /** Open connections now. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Start misbehaving (or change how). */
  start(options: ChaosOptions = {}): void {
    this.#chaos = {
      cutPerTick: options.cutPerTick ?? 0.02,
      stallPerTick: options.stallPerTick ?? 0.02,
      refuseNew: options.refuseNew ?? 0.15,
      stallNew: options.stallNew ?? 0.15,
      stallMs: options.stallMs ?? [1_000, 5_000],
    };
    this.#tick ??= setInterval(() => this.#onTick(), 250);
  }

  /** Forward faithfully again (stalls in progress run out). */
  stop(): void {
    this.#chaos = undefined;
    if (this.#tick !== undefined) clearInterval(this.#tick);
    this.#tick = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#pairs) this.#cut(p, false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    client.on('error', () => undefined);
    const c = this.#chaos;
    if (c !== undefined && this.#rnd() < c.refuseNew) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const upstream = connect(this.#target, '127.0.0.1');
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, stalledUntil: 0 };
    this.#pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const gone = (): void => {
      if (!this.#pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', gone);
    upstream.on('close', gone);
    if (c !== undefined && this.#rnd() < c.stallNew) this.#stall(pair, c);
  }

  #onTick(): void {
    const c = this.#chaos;
    if (c === undefined) return;
    const now = Date.now();
    for (const p of [...this.#pairs]) {
      const r = this.#rnd();
      if (r < c.cutPerTick) this.#cut(p, true);
      else if (r < c.cutPerTick + c.stallPerTick && p.stalledUntil < now) this.#stall(p, c);
    }
  }

  #cut(p: Pair, count: boolean): void {
    if (count) this.stats.cut++;
    this.#pairs.delete(p);
    p.client.destroy();
    p.upstream.destroy();
  }

  #stall(p: Pair, c: Required<ChaosOptions>): void {
    const [lo, hi] = c.stallMs;
    const ms = lo + this.#rnd() * (hi - lo);
    this.stats.stalled++;
    p.stalledUntil = Date.now() + ms;
    p.client.pause();
    p.upstream.pause();
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#pairs.has(p)) return;
      p.client.resume();
      p.upstream.resume();
    }, ms);
    this.#timers.add(t);
  }
}
