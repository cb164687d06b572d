/**
 * The live calls of this process, and the call layer's facade for media and the API: media hand it new
 * legs (`startCall`, or `join` for a call prepared through the API), the API prepares, lists and hangs up
 * calls and attaches control sockets. It picks each call's agent, enforces the concurrent-call limit and
 * the drain, runs one `CallSession` per call, and fans every call's events out to its observers (records,
 * webhooks, metrics). It never sees a concrete medium or vendor.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { Listeners, type Unsubscribe } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import type { Vad } from '../vad/vad.ts';
import type { AgentResolver, AgentRuntime } from './agent-runtime.ts';
import { CallRejectedError } from './call-errors.ts';
import type { CallEvent, HangupCause } from './call-events.ts';
import type { CallLeg, CallOrigin, LegEnd } from './call-leg.ts';
import { CallSession } from './call-session.ts';
import { RealtimeCallSession } from './realtime/realtime-call-session.ts';
import { ManagedLeg } from './recording/managed-leg.ts';
import { sayGoodbye } from './recording/say-goodbye.ts';
import type { ControlClient } from './session-events.ts';

/** A live call's session: the cascade, or speech-to-speech for an agent with a realtime model. */
export type LiveSession = CallSession | RealtimeCallSession;

/** A call's event, with whose it is. */
export interface CallEventEnvelope {
  readonly callId: string;
  readonly agent: string;
  readonly medium: string;
  readonly origin: CallOrigin;
  readonly event: CallEvent;
  /** On `turn` events: when the reply's first packet left for the caller (call clock), where it was measured. */
  readonly playout?: { readonly firstPacketOutMs: number };
}

/** What the manager knows of a call when it wraps its leg. */
export interface WrapLegContext {
  readonly callId: string;
  readonly agent: AgentRuntime;
  readonly origin: CallOrigin;
}

/** How a drain ends the calls still live when its time is up. */
export interface DrainOptions {
  /** Longest wait for live calls to end by themselves. */
  readonly timeoutMs: number;
  /** Said to each caller still on the line before the hang-up (empty: none). */
  readonly goodbye?: string;
  /** Longest time one goodbye may take. */
  readonly goodbyeMaxMs?: number;
}

/** A call prepared through the API and waiting for its medium to join (a WebSocket client). */
interface Prepared {
  readonly agent: AgentRuntime;
  readonly origin: CallOrigin;
  readonly timer: TimerHandle;
}

export interface CallManagerOptions {
  readonly resolveAgent: AgentResolver;
  readonly vad: Vad;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly maxConcurrentCalls: number;
  /** Longest call; 0 for no limit. */
  readonly maxCallSeconds: number;
  /** How long a prepared call waits for its medium to join. */
  readonly joinTimeoutMs?: number;
  /** Put something between a call's leg and its session (the recorder); a failure leaves the leg as it is. */
  readonly wrapLeg?: (leg: CallLeg, call: WrapLegContext) => CallLeg;
}

export class CallManager {
  readonly #o: CallManagerOptions;
  readonly #clock: Clock;
  readonly #live = new Map<string, LiveSession>();
  readonly #legs = new Map<string, ManagedLeg>();
  readonly #prepared = new Map<string, Prepared>();
  readonly #events: Listeners<CallEventEnvelope>;
  readonly #idle: Array<() => void> = [];
  #draining = false;
  #reserved = 0;

  constructor(options: CallManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock();
    this.#events = new Listeners((err) => options.logger.warn({ err: errorMessage(err) }, 'call observer failed'));
  }

  /** Calls in progress (answered or being answered) plus calls prepared and not yet joined. */
  get activeCount(): number {
    return this.#live.size + this.#prepared.size + this.#reserved;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Every event of every call. */
  onCallEvent(fn: (e: CallEventEnvelope) => void): Unsubscribe {
    return this.#events.add(fn);
  }

  /** A new call from a medium (an inbound SIP call): pick its agent by the dialled name and run it. */
  readonly startCall = async (leg: CallLeg, origin: CallOrigin): Promise<void> => {
    this.#admit();
    const agent = await this.#o.resolveAgent(origin.dialled);
    if (agent === undefined) throw new CallRejectedError('CR_CALL_NO_AGENT', 404, `no agent answers "${origin.dialled}"`);
    await this.#run(leg.id, leg, origin, agent);
  };

  /**
   * Prepare a call for a medium that joins later (POST /calls with a WebSocket medium): the call id the
   * joining leg must present. Refused when at the limit or draining.
   */
  prepare(agent: AgentRuntime, origin: CallOrigin, callId: string = randomUUID(), onExpired?: () => void): string {
    this.#admit();
    const timer = this.#clock.setTimeout(() => {
      if (this.#prepared.delete(callId)) {
        this.#o.logger.info({ callId }, 'prepared call expired unjoined');
        onExpired?.();
      }
      this.#checkIdle();
    }, this.#o.joinTimeoutMs ?? 120_000);
    this.#prepared.set(callId, { agent, origin, timer });
    return callId;
  }

  /** The medium of a prepared call joined: run its session on `leg` (whose id must be `callId`). */
  readonly join = async (callId: string, leg: CallLeg): Promise<void> => {
    const p = this.#prepared.get(callId);
    if (p === undefined) throw new CallRejectedError('CR_CALL_NOT_FOUND', 404, 'no such call waiting to be joined');
    this.#prepared.delete(callId);
    this.#clock.clearTimeout(p.timer);
    await this.#run(callId, leg, p.origin, p.agent);
  };

  /**
   * Run a call whose leg the caller already has (an outbound call that answered), under `callId` (the id
   * its record was created with; the leg's own id otherwise). Not refused by the limit: the call was
   * admitted when it was dialled (see `reserve`).
   */
  async runLeg(leg: CallLeg, origin: CallOrigin, agent: AgentRuntime, callId: string = leg.id): Promise<void> {
    await this.#run(callId, leg, origin, agent);
  }

  /** Count a call being set up elsewhere (dialling out) against the limit; returns the release. */
  reserve(): () => void {
    this.#admit();
    this.#reserved++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#reserved--;
    };
  }

  session(callId: string): LiveSession | undefined {
    return this.#live.get(callId);
  }

  sessions(): LiveSession[] {
    return [...this.#live.values()];
  }

  /** Attach an application to a live call (control socket). Undefined when there is no such call. */
  readonly attachControl = (callId: string, client: ControlClient): (() => void) | undefined => this.#live.get(callId)?.attachControl(client);

  /** Hang up a live call (or drop a prepared one). False when there is no such call. */
  readonly hangup = async (callId: string, cause: HangupCause = 'api-hangup'): Promise<boolean> => {
    const prepared = this.#prepared.get(callId);
    if (prepared !== undefined) {
      this.#prepared.delete(callId);
      this.#clock.clearTimeout(prepared.timer);
      this.#checkIdle();
      return true;
    }
    const session = this.#live.get(callId);
    if (session === undefined) return false;
    await session.hangup(cause);
    return true;
  };

  /** Stop taking calls; resolves when the live ones have ended. */
  async drain(): Promise<void> {
    this.#draining = true;
    for (const [id, p] of this.#prepared) {
      this.#clock.clearTimeout(p.timer);
      this.#prepared.delete(id);
    }
    if (this.#live.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stop taking calls and let the live ones finish, for at most `timeoutMs`; then take each remaining call's
   * leg from its session, say the goodbye and hang up (cause `shutdown`). Resolves when every call has ended
   * (or a few seconds after the hang-ups, whatever a medium does).
   */
  async drainFor(options: DrainOptions): Promise<void> {
    const idle = this.drain();
    if (this.#live.size === 0) return;
    const timedOut = await raceTimeout(idle, options.timeoutMs, this.#clock);
    if (!timedOut) return;
    this.#o.logger.info({ calls: this.#live.size }, 'drain time is up: ending the remaining calls');
    await Promise.all([...this.#live.entries()].map(([id, s]) => this.#endWithGoodbye(id, s, options)));
    await raceTimeout(idle, 5_000, this.#clock);
  }

  /** Hang up every live call now. */
  async hangupAll(cause: HangupCause = 'shutdown'): Promise<void> {
    await Promise.all([...this.#live.values()].map((s) => s.hangup(cause).catch(() => undefined)));
  }

  #admit(): void {
    if (this.#draining) throw new CallRejectedError('CR_CALL_DRAINING', 503, 'the gateway is draining');
    if (this.activeCount >= this.#o.maxConcurrentCalls) throw new CallRejectedError('CR_CALL_LIMIT', 503, 'too many concurrent calls');
  }

  async #run(callId: string, mediumLeg: CallLeg, origin: CallOrigin, agent: AgentRuntime): Promise<void> {
    const logger = this.#o.logger.child({ callId, agent: agent.spec.name });
    let wrapped = mediumLeg;
    try {
      wrapped = this.#o.wrapLeg?.(mediumLeg, { callId, agent, origin }) ?? mediumLeg;
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'call leg could not be wrapped (recording): the call goes on without');
    }
    const leg = new ManagedLeg(wrapped, this.#clock);
    const options = { callId, leg, origin, agent, vad: this.#o.vad, logger, clock: this.#clock, maxCallMs: this.#o.maxCallSeconds * 1000 };
    const session: LiveSession = agent.realtime === undefined ? new CallSession(options) : new RealtimeCallSession(options);
    this.#live.set(callId, session);
    this.#legs.set(callId, leg);
    const base = { callId, agent: agent.spec.name, medium: leg.medium, origin };
    const off = session.onEvent((event) => {
      // Final words of both sides under their own key (`log.redactContent` hides them).
      if (event.type === 'transcript' && event.final) logger.info({ role: event.role, transcript: event.text, interrupted: event.interrupted }, 'transcript');
      // Each turn's latency waterfall (ms since answer), one line per turn.
      else if (event.type === 'turn') logger.info({ timing: event.timing }, 'turn');
      if (event.type === 'turn' && event.timing.firstAudioMs !== undefined) {
        // The session counts from its answer; the leg watched on the manager's clock.
        const answeredAt = this.#clock.now() - session.sinceAnswer();
        const out = leg.firstPacketAfter(answeredAt + event.timing.firstAudioMs);
        if (out !== undefined) {
          this.#events.emit({ ...base, event, playout: { firstPacketOutMs: Math.max(event.timing.firstAudioMs, Math.round(out - answeredAt)) } });
          return;
        }
      }
      this.#events.emit({ ...base, event });
    });
    this.#events.emit({ ...base, event: { type: 'started', atMs: 0 } });
    logger.info({ medium: leg.medium, from: origin.from, to: origin.to, dialled: origin.dialled }, 'call started');
    let end: LegEnd | undefined;
    try {
      end = await session.run();
    } finally {
      off();
      this.#live.delete(callId);
      this.#legs.delete(callId);
      logger.info({ reason: end?.reason, status: end?.status, ...leg.mediaStats() }, 'call ended');
      this.#checkIdle();
    }
  }

  async #endWithGoodbye(callId: string, session: LiveSession, options: DrainOptions): Promise<void> {
    const leg = this.#legs.get(callId);
    const text = options.goodbye ?? '';
    if (leg !== undefined && text.trim() !== '' && session.state !== 'idle') {
      const ac = new AbortController();
      const timer = this.#clock.setTimeout(() => ac.abort(), options.goodbyeMaxMs ?? 8_000);
      void leg.ended.then(() => ac.abort());
      try {
        const voice = session.agent.spec.tts.voice;
        await sayGoodbye(leg.takeOver(), session.agent.tts, text, ac.signal, voice);
      } catch (err) {
        this.#o.logger.warn({ callId, err: errorMessage(err) }, 'goodbye failed');
      } finally {
        this.#clock.clearTimeout(timer);
      }
    }
    await session.hangup('shutdown').catch(() => undefined);
  }

  #checkIdle(): void {
    if (this.#live.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** True when `ms` passed before `work` settled. */
async function raceTimeout(work: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<true>((resolve) => (timer = clock.setTimeout(() => resolve(true), ms)));
  const r = await Promise.race([work.then(() => false as const), timeout]);
  if (timer !== undefined) clock.clearTimeout(timer);
  return r;
}
