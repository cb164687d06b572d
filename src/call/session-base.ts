/**
 * What every kind of call session shows the call manager — `id`, `leg`, `agent`, `state`, `end`, `onEvent`,
 * `attachControl`, `hangup`, `sinceAnswer` — over one `SessionShell`. The cascade (`CallSession`) and the
 * speech-to-speech session (`RealtimeCallSession`) differ only in `run()`: how the conversation is wired.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import type { Unsubscribe } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import type { AgentRuntime } from './agent-runtime.ts';
import type { CallEvent, HangupCause } from './call-events.ts';
import type { CallLeg, CallOrigin, LegEnd } from './call-leg.ts';
import { SessionShell } from './session-shell.ts';
import type { ControlClient, SessionState } from './session-events.ts';
import type { Vad } from '../vad/vad.ts';

export interface CallSessionOptions {
  readonly callId: string;
  readonly leg: CallLeg;
  readonly origin: CallOrigin;
  readonly agent: AgentRuntime;
  readonly vad: Vad;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** The call is ended (with a goodbye of its own making) after this long; 0 for no limit. */
  readonly maxCallMs?: number;
}

export abstract class SessionBase {
  readonly id: string;
  readonly leg: CallLeg;
  readonly agent: AgentRuntime;
  protected readonly options: CallSessionOptions;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly shell: SessionShell;
  /** How the call ended, once `run` knows. */
  protected ended: LegEnd | undefined;

  constructor(options: CallSessionOptions) {
    this.id = options.callId;
    this.leg = options.leg;
    this.agent = options.agent;
    this.options = options;
    this.clock = options.clock ?? systemClock();
    this.log = options.logger;
    this.shell = new SessionShell(options.leg, this.clock, options.logger);
  }

  /** Answer, and run the conversation until the call ends. Never rejects. */
  abstract run(): Promise<LegEnd>;

  get state(): SessionState {
    return this.shell.state;
  }

  /** How the call ended, once it has. */
  get end(): LegEnd | undefined {
    return this.ended;
  }

  /** Ms since the call was answered (0 before). */
  sinceAnswer(): number {
    return this.shell.sinceAnswer();
  }

  onEvent(fn: (event: CallEvent) => void): Unsubscribe {
    return this.shell.onEvent(fn);
  }

  /** An application takes the call's client tools and events (a SIP call's control socket). */
  attachControl(client: ControlClient): () => void {
    return this.shell.attachControl(client);
  }

  /** End the call from our side (API, time limit, shutdown). */
  async hangup(cause: HangupCause = 'api-hangup'): Promise<void> {
    this.shell.cause(cause);
    await this.leg.hangup();
  }
}
