/**
 * What every kind of call session (the cascade `CallSession`, the speech-to-speech `RealtimeCallSession`)
 * keeps the same way: its events (to listeners and to the medium's client), its state, when it was answered,
 * the first cause of our hang-up, and the call's client-tool connection with control sockets attached to it.
 * A part the sessions compose, not a base class: each session decides what happens; this only records and
 * tells.
 */
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { Listeners, type Unsubscribe } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import type { CallEvent, HangupCause } from './call-events.ts';
import { isSessionEvent } from './call-events.ts';
import type { CallLeg } from './call-leg.ts';
import { ClientToolPort } from './client-tool-port.ts';
import type { ControlClient, SessionState } from './session-events.ts';

export class SessionShell {
  readonly clientTools: ClientToolPort;
  readonly #leg: CallLeg;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #events: Listeners<CallEvent>;
  #state: SessionState = 'idle';
  #answeredAt: number | undefined;
  #cause: HangupCause | undefined;

  constructor(leg: CallLeg, clock: Clock, logger: Logger) {
    this.#leg = leg;
    this.#clock = clock;
    this.#log = logger;
    this.#events = new Listeners((err) => logger.warn({ err: errorMessage(err) }, 'call event listener failed'));
    this.clientTools = new ClientToolPort(leg.clientTools);
  }

  get state(): SessionState {
    return this.#state;
  }

  get answered(): boolean {
    return this.#answeredAt !== undefined;
  }

  /** The first cause of our own hang-up, if we hung up. */
  get hangupCause(): HangupCause | undefined {
    return this.#cause;
  }

  /** Ms since the call was answered (0 before). */
  sinceAnswer(): number {
    return this.#answeredAt === undefined ? 0 : Math.round(this.#clock.now() - this.#answeredAt);
  }

  /** The call is answered: `answered` goes out and the clock of the call's events starts. */
  markAnswered(agent: string): void {
    this.#answeredAt = this.#clock.now();
    this.emit({ type: 'answered', atMs: 0, agent, medium: this.#leg.medium });
  }

  onEvent(fn: (event: CallEvent) => void): Unsubscribe {
    return this.#events.add(fn);
  }

  /** An application takes the call's client tools and events (a SIP call's control socket). */
  attachControl(client: ControlClient): () => void {
    const offEvents = this.#events.add((e) => {
      if (isSessionEvent(e)) client.onSessionEvent(e);
    });
    const detach = this.clientTools.attach(client);
    client.onSessionEvent({ type: 'state', state: this.#state });
    return () => {
      offEvents();
      detach();
    };
  }

  /** Record why we are hanging up; the first cause wins. */
  cause(cause: HangupCause, detail?: string): void {
    if (this.#cause !== undefined) return;
    this.#cause = cause;
    this.emit({ type: 'hangup_cause', cause, ...(detail === undefined ? {} : { detail }) });
  }

  /** A new state (only `idle` before the call is answered). */
  setState(state: SessionState): void {
    if (state === this.#state || (this.#answeredAt === undefined && state !== 'idle')) return;
    this.#state = state;
    this.emit({ type: 'state', state });
  }

  /** To the medium's client (session events) and to every listener (all events). */
  emit(event: CallEvent): void {
    if (isSessionEvent(event)) {
      try {
        this.#leg.onSessionEvent?.(event);
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'medium failed to take a session event');
      }
    }
    this.#events.emit(event);
  }
}
