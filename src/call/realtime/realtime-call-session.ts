/**
 * One speech-to-speech call: the caller talks to a realtime model (OpenAI Realtime, Gemini Live) instead of
 * STT -> LLM -> TTS. The sibling of the cascade's `CallSession`, with the same surface (`run`, `hangup`,
 * `attachControl`, `onEvent`), so the call manager holds either. Wiring only: it creates the call's room and
 * tools (the agent's, the system tools and the client tools, as the cascade does), answers, picks the audio
 * formats for the codec the call got, opens the model, and closes everything in reverse.
 *
 *   leg audio -> CallerAudio -> RealtimeSession.appendAudio        (G.711 straight through where it can)
 *   RealtimeSession events -> RealtimeBridge -> Playout -> leg     (paced; barge-in cancels and truncates)
 *                                            -> RealtimeTools      (room tool execution, results back)
 *                                            -> RealtimeTurns      (transcripts, timings, room history)
 */
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import type { RealtimeProvider } from '../../providers/types.ts';
import { RoomKit } from '../../room/room-kit.ts';
import type { AgentRuntime } from '../agent-runtime.ts';
import type { CallEvent, HangupCause } from '../call-events.ts';
import { isSessionEvent } from '../call-events.ts';
import type { CallLeg, LegEnd } from '../call-leg.ts';
import type { CallSessionOptions } from '../call-session.ts';
import { ClientToolPort } from '../client-tool-port.ts';
import type { ControlClient, SessionState } from '../session-events.ts';
import { AgentHangup } from './agent-hangup.ts';
import { callTools } from './call-tools.ts';
import { CallerAudio } from './caller-audio.ts';
import { chooseFormats } from './formats.ts';
import { ModelLink } from './model-link.ts';
import { Playout } from './playout.ts';
import { RealtimeBridge } from './realtime-bridge.ts';
import { RealtimeTools } from './realtime-tools.ts';
import { RealtimeTurns } from './realtime-turns.ts';
import { sessionSettings } from './session-settings.ts';

/** After hangUp, the longest wait for the model to finish its last words before the call ends anyway. */
const HANGUP_GRACE_MS = 10_000;
/** From the last packet of those words leaving to the BYE: the caller's jitter buffer plays them out meanwhile. */
const HANGUP_TAIL_MS = 300;

export class RealtimeCallSession {
  readonly id: string;
  readonly leg: CallLeg;
  readonly agent: AgentRuntime;
  readonly #o: CallSessionOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #events: Listeners<CallEvent>;
  readonly #clientTools: ClientToolPort;
  #state: SessionState = 'idle';
  #answeredAt: number | undefined;
  #hangupCause: HangupCause | undefined;
  /** Why the model side ended the call (it could not be reached, or dropped for good). */
  #lost: string | undefined;
  #ended: LegEnd | undefined;

  constructor(options: CallSessionOptions) {
    this.id = options.callId;
    this.leg = options.leg;
    this.agent = options.agent;
    this.#o = options;
    this.#clock = options.clock ?? systemClock();
    this.#log = options.logger;
    this.#events = new Listeners((err) => this.#log.warn({ err: errorMessage(err) }, 'call event listener failed'));
    this.#clientTools = new ClientToolPort(options.leg.clientTools);
  }

  get state(): SessionState {
    return this.#state;
  }

  /** How the call ended, once it has. */
  get end(): LegEnd | undefined {
    return this.#ended;
  }

  /** Ms since the call was answered (0 before). */
  sinceAnswer(): number {
    return this.#answeredAt === undefined ? 0 : Math.round(this.#clock.now() - this.#answeredAt);
  }

  onEvent(fn: (event: CallEvent) => void): Unsubscribe {
    return this.#events.add(fn);
  }

  /** An application takes the call's client tools and events (a SIP call's control socket). */
  attachControl(client: ControlClient): () => void {
    const offEvents = this.#events.add((e) => {
      if (isSessionEvent(e)) client.onSessionEvent(e);
    });
    const detach = this.#clientTools.attach(client);
    client.onSessionEvent({ type: 'state', state: this.#state });
    return () => {
      offEvents();
      detach();
    };
  }

  /** End the call from our side (API, time limit, shutdown). */
  async hangup(cause: HangupCause = 'api-hangup'): Promise<void> {
    this.#cause(cause);
    await this.leg.hangup();
  }

  /** Answer, open the model, and run the conversation until the call ends. Never rejects. */
  async run(): Promise<LegEnd> {
    const provider = this.agent.realtime;
    if (provider === undefined) {
      this.#lose('the agent has no realtime model');
      return this.#finish(await this.leg.ended, undefined);
    }
    const closers: Array<() => void | Promise<void>> = [];
    let hangup: AgentHangup | undefined;
    try {
      hangup = await this.#converse(provider, closers);
    } catch (err) {
      if (!(err instanceof AbortedError)) this.#log.warn({ err: errorMessage(err) }, 'call failed');
      await this.leg.hangup().catch(() => undefined);
      this.#ended = await this.leg.ended;
    } finally {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (err) {
          this.#log.warn({ err: errorMessage(err) }, 'call piece failed to close');
        }
      }
      this.#clientTools.close();
    }
    return this.#finish(this.#ended ?? { reason: 'error', detail: 'ended without a reason' }, hangup?.reason);
  }

  async #converse(provider: RealtimeProvider, closers: Array<() => void | Promise<void>>): Promise<AgentHangup> {
    const { leg, agent } = this;
    const spec = agent.spec;
    const clock = this.#clock;
    const log = this.#log;
    const kit = new RoomKit({ logger: log, clock });
    closers.push(() => kit.close());
    const { origin } = this.#o;
    const room = kit.createRoom({
      id: this.id,
      metadata: { 'call.id': this.id, 'call.from': origin.from, 'call.to': origin.to, 'call.medium': leg.medium, 'agent.name': spec.name },
    });
    const sinceAnswer = (): number => this.sinceAnswer();
    const emit = (e: CallEvent): void => this.#emit(e);
    let link: ModelLink | undefined;
    const turns = new RealtimeTurns({ kit, roomId: room.id, sinceAnswer, emit, playing: () => playout.active });
    closers.push(() => turns.close());
    const playout: Playout = new Playout({ leg, logger: log, onFirstAudio: () => turns.firstAudio(), onActive: (active) => bridge.playoutActive(active) });
    closers.push(() => playout.close());
    const hangup = new AgentHangup({
      clock,
      graceMs: HANGUP_GRACE_MS,
      tailMs: HANGUP_TAIL_MS,
      playedOut: () => playout.playedOut(),
      hangup: (reason) => {
        log.info({ reason }, 'agent ends the call');
        this.#cause('agent-hangup', reason);
        void leg.hangup().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'hang-up failed'));
      },
    });
    closers.push(() => hangup.close());
    const tools = new RealtimeTools({
      tools: callTools(agent, this.#clientTools, {
        requestHangup: (reason) => hangup.request(reason),
        playedOut: (signal) => playout.playedOut(signal),
        transfer: leg.transfer,
        sendDtmf: (digits, durationMs) => leg.sendDtmf(digits, durationMs),
      }),
      policy: agent.policy,
      kit,
      roomId: room.id,
      roomMetadata: room.metadata,
      state: room.state,
      toolTimeoutMs: spec.tools.timeoutMs,
      loopTimeoutMs: spec.loop.toolLoopTimeoutSeconds === null ? null : spec.loop.toolLoopTimeoutSeconds * 1000,
      maxCallsPerTurn: spec.loop.maxToolRounds,
      clock,
      logger: log,
      sinceAnswer,
      emit: (e) => {
        emit(e);
        if (e.type === 'tool_finished') bridge.toolFinished();
      },
      send: (callId, name, output) => {
        link?.session?.sendToolResult(callId, name, output);
        bridge.toolAnswered();
      },
    });
    closers.push(() => tools.close());
    const bridge: RealtimeBridge = new RealtimeBridge({
      session: () => link?.session,
      capabilities: provider.capabilities,
      playout,
      turns,
      tools,
      logger: log,
      sinceAnswer,
      emit,
      setState: (s) => this.#setState(s),
      onSettled: () => hangup.settled(),
    });
    let maxTimer: TimerHandle | undefined;
    closers.push(() => {
      if (maxTimer !== undefined) clock.clearTimeout(maxTimer);
    });

    await raceEnd(leg.answer(), leg.ended);
    this.#answeredAt = clock.now();
    this.#emit({ type: 'answered', atMs: 0, agent: spec.name, medium: leg.medium });
    this.#setState('listening');
    closers.push(leg.onDtmf((d) => this.#emit({ type: 'dtmf', digit: d.digit, atMs: this.sinceAnswer() })));
    if ((this.#o.maxCallMs ?? 0) > 0) maxTimer = clock.setTimeout(() => void this.hangup('max-duration').catch(() => undefined), this.#o.maxCallMs ?? 0);

    // The leg's codec is known once answered (SIP): formats are chosen now; caller audio is held meanwhile.
    const settings = sessionSettings(spec, provider.capabilities, chooseFormats(leg, provider.capabilities), tools.definitions());
    const audio = new CallerAudio({
      leg,
      format: settings.inputFormat,
      manual: settings.turnDetection === 'manual' ? { vad: this.#o.vad, options: spec.vad } : undefined,
      onSpeech: (edge) => (edge === 'start' ? bridge.callerStarted('the caller spoke (VAD)') : bridge.callerEnded(true)),
      logger: log,
    });
    closers.push(() => audio.close());
    audio.start();
    const model = new ModelLink({
      provider,
      options: settings,
      onDrop: spec.realtime?.onDrop ?? 'reconnect',
      clock,
      logger: log,
      onEvent: (e) => bridge.onEvent(e),
      onSession: (session) => audio.setSink((bytes) => session.appendAudio(bytes)),
      onDropped: (why, reopening) => {
        audio.setSink(undefined);
        bridge.sessionReplaced();
        emit({ type: 'llm_failed', error: reopening ? `${why}; reopening a new session (the conversation so far is lost)` : why, atMs: this.sinceAnswer() });
      },
      onLost: (reason) => this.#lose(reason),
    });
    link = model;
    closers.push(() => model.close());
    try {
      await raceEnd(model.open(), leg.ended);
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      this.#lose(`realtime model unavailable (${errorMessage(err)})`);
      throw new AbortedError('no realtime model');
    }
    log.info({ format: leg.inputFormat, model: provider.name, input: settings.inputFormat, output: settings.outputFormat, turnDetection: settings.turnDetection }, 'speech-to-speech call connected');
    if (spec.greeting !== undefined) bridge.greet();
    this.#ended = await leg.ended;
    return hangup;
  }

  /** The call's end as reported: a model that failed the call makes it an `error` with the reason. */
  #finish(legEnd: LegEnd, agentReason: string | undefined): LegEnd {
    const end: LegEnd =
      this.#lost !== undefined ? { ...legEnd, reason: 'error', detail: this.#lost } : agentReason === undefined ? legEnd : { ...legEnd, detail: agentReason };
    this.#ended = end;
    this.#setState('idle');
    this.#emit({ type: 'ended', end, atMs: this.sinceAnswer() });
    return end;
  }

  /** The model is gone for good: end the call, saying why. */
  #lose(reason: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    this.#log.error({ reason }, 'realtime: ending the call: its model is unavailable');
    void this.leg.hangup().catch(() => undefined);
  }

  #cause(cause: HangupCause, detail?: string): void {
    if (this.#hangupCause !== undefined) return;
    this.#hangupCause = cause;
    this.#emit({ type: 'hangup_cause', cause, ...(detail === undefined ? {} : { detail }) });
  }

  #setState(state: SessionState): void {
    if (state === this.#state || (this.#answeredAt === undefined && state !== 'idle')) return;
    this.#state = state;
    this.#emit({ type: 'state', state });
  }

  #emit(event: CallEvent): void {
    if (isSessionEvent(event)) {
      try {
        this.leg.onSessionEvent?.(event);
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'medium failed to take a session event');
      }
    }
    this.#events.emit(event);
  }
}

/** Wait for `work` unless the leg ends first (a caller hanging up while we answer or connect). */
async function raceEnd(work: Promise<void>, ended: Promise<LegEnd>): Promise<void> {
  const r = await Promise.race([work.then(() => undefined), ended]);
  if (r !== undefined) throw new AbortedError(`the call ended first (${r.reason})`);
}
