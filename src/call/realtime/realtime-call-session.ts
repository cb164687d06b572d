/**
 * One speech-to-speech call: the caller talks to a realtime model (OpenAI Realtime, Gemini Live) instead of
 * STT -> LLM -> TTS. The sibling of the cascade's `CallSession`, chosen once by the call manager, with the
 * same surface (`run`, `hangup`, `attachControl`, `onEvent`, `state`), so the manager holds either. The
 * session owns the call's events, state and end; the conversation itself is wired by `converse`, which
 * gets narrow ports. A model that cannot be reached, or drops for good, ends the call as an `error` whose
 * detail says why; nothing here rejects or throws into the manager.
 */
import { AbortedError, errorMessage } from '../../core/errors.ts';
import type { TimerHandle } from '../../core/clock.ts';
import type { CallEvent } from '../call-events.ts';
import type { LegEnd } from '../call-leg.ts';
import { SessionBase } from '../session-base.ts';
import type { SessionState } from '../session-events.ts';
import type { AgentHangup } from './agent-hangup.ts';
import { converse } from './conversation.ts';

export class RealtimeCallSession extends SessionBase {
  /** Why the model side ended the call (it could not be reached, or dropped for good). */
  #lost: string | undefined;

  /** Answer, open the model, and run the conversation until the call ends. Never rejects. */
  async run(): Promise<LegEnd> {
    const provider = this.agent.realtime;
    if (provider === undefined) {
      this.#lose('the agent has no realtime model');
      return this.#finish(await this.leg.ended, undefined);
    }
    const closers: Array<() => void | Promise<void>> = [];
    let hangup: AgentHangup | undefined;
    let maxTimer: TimerHandle | undefined;
    closers.push(() => {
      if (maxTimer !== undefined) this.clock.clearTimeout(maxTimer);
    });
    try {
      hangup = await converse(
        {
          callId: this.id,
          leg: this.leg,
          origin: this.options.origin,
          agent: this.agent,
          provider,
          vad: this.options.vad,
          clock: this.clock,
          logger: this.log,
          clientTools: this.shell.clientTools,
          closeClientTools: () => this.shell.clientTools.close(),
          emit: (e) => this.#emit(e),
          setState: (s) => this.#setState(s),
          sinceAnswer: () => this.sinceAnswer(),
          answered: () => {
            this.shell.markAnswered(this.agent.spec.name);
            this.#setState('listening');
            const maxCallMs = this.options.maxCallMs ?? 0;
            if (maxCallMs > 0) maxTimer = this.clock.setTimeout(() => void this.hangup('max-duration').catch(() => undefined), maxCallMs);
          },
          agentHangup: (reason) => {
            this.log.info({ reason }, 'agent ends the call');
            this.shell.cause('agent-hangup', reason);
            void this.leg.hangup().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'hang-up failed'));
          },
          lose: (reason) => this.#lose(reason),
        },
        closers,
      );
      this.ended = await this.leg.ended;
    } catch (err) {
      if (!(err instanceof AbortedError)) this.log.warn({ err: errorMessage(err) }, 'call failed');
      await this.leg.hangup().catch(() => undefined);
      this.ended = await this.leg.ended;
    } finally {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'call piece failed to close');
        }
      }
      this.shell.clientTools.close();
    }
    return this.#finish(this.ended ?? { reason: 'error', detail: 'ended without a reason' }, hangup?.reason);
  }

  /** The call's end as reported: a model that failed the call makes it an `error` with the reason. */
  #finish(legEnd: LegEnd, agentReason: string | undefined): LegEnd {
    const end: LegEnd =
      this.#lost !== undefined ? { ...legEnd, reason: 'error', detail: this.#lost } : agentReason === undefined ? legEnd : { ...legEnd, detail: agentReason };
    this.ended = end;
    this.#setState('idle');
    this.#emit({ type: 'ended', end, atMs: this.sinceAnswer() });
    return end;
  }

  /** The model is gone for good: end the call, saying why. */
  #lose(reason: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    this.log.error({ reason }, 'realtime: ending the call: its model is unavailable');
    void this.leg.hangup().catch(() => undefined);
  }

  #setState(state: SessionState): void {
    this.shell.setState(state);
  }

  #emit(event: CallEvent): void {
    this.shell.emit(event);
  }
}
