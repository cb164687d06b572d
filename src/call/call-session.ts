/**
 * One call with an agent, over any medium (`CallLeg`). Wiring only: it creates the call's room and the
 * pieces, gives each the narrow ports it needs, routes recognition's events through turn-taking and
 * turn-taking's actions to the pieces, and closes everything in reverse when the call ends.
 *
 *   leg audio -> Recognition (VAD, echo guard, STT) -> TurnDriver (turn-taking) -> AgentTurns (room + tools)
 *                                                                  -> SpeechOut (TTS) -> leg
 */
import { AbortedError, errorMessage } from '../core/errors.ts';
import type { TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { AgentRuntime } from './agent-runtime.ts';
import { AgentTurns } from './agent-turns.ts';
import type { CallEvent } from './call-events.ts';
import type { CallLeg, LegEnd } from './call-leg.ts';
import { SessionBase } from './session-base.ts';
import { createCallRoom } from './call-room.ts';
import { callRoomTools } from './room-tools.ts';
import { EchoGuard } from './echo-guard.ts';
import { Recognition } from './recognition.ts';
import type { SessionState } from './session-events.ts';
import { SpeechOut } from './speech-out.ts';
import { ToolFiller } from './tool-filler.ts';
import { TurnDriver } from './turn-driver.ts';
import { DTMF_COLLECT_MS, type TurnAction } from './turn-taking.ts';

export type { CallSessionOptions } from './session-base.ts';

export class CallSession extends SessionBase {
  #hangupReason: string | undefined;
  #hangupRequested = false;

  /** Answer, greet, and run the conversation until the call ends. Never rejects. */
  async run(): Promise<LegEnd> {
    const { leg, agent } = this;
    const spec = agent.spec;
    const clock = this.clock;
    const closers: Array<() => void | Promise<void>> = [];
    const echoGuard = spec.turn.echoGuard ? new EchoGuard() : undefined;
    const speech = new SpeechOut({
      leg,
      tts: agent.tts,
      ...(spec.tts.voice === undefined ? {} : { voice: spec.tts.voice }),
      echoGuard,
      clock,
      logger: this.log,
      onTtsFailure: (provider, error, next) => this.#emit({ type: 'tts_failed', provider, error, next, atMs: this.sinceAnswer() }),
    });
    const { kit, roomId } = createCallRoom({
      callId: this.id,
      agent,
      origin: this.options.origin,
      medium: leg.medium,
      clock,
      logger: this.log,
      roomTools: callRoomTools(agent, this.shell.clientTools, {
        requestHangup: (reason) => {
          this.#hangupRequested = true;
          this.#hangupReason = reason;
          if (turns.reply === undefined) this.#hangupNow();
        },
        playedOut: (signal) => turns.reply?.playedOut(signal) ?? Promise.resolve(),
        transfer: leg.transfer,
        sendDtmf: (digits, durationMs) => leg.sendDtmf(digits, durationMs),
      }),
    });
    closers.push(() => kit.close());

    const filler = new ToolFiller({
      fillers: spec.turn.fillers,
      afterMs: spec.turn.fillerAfterMs,
      clock,
      callerSpeaking: () => driver.state.userSpeech,
      say: (text) => turns.interject(text),
    });
    closers.push(() => filler.close());
    const turns: AgentTurns = new AgentTurns({
      kit,
      roomId,
      speech,
      filler,
      clock,
      sinceAnswer: () => this.sinceAnswer(),
      logger: this.log,
      apology: spec.apology,
      emit: (e) => this.#emit(e),
      playout: (e) => driver.input(e),
      onReplyDone: () => {
        if (this.#hangupRequested) this.#hangupNow();
      },
      ...(leg.talkSpurtStarts === undefined ? {} : { talkSpurts: () => leg.talkSpurtStarts?.() ?? [] }),
    });
    closers.push(() => turns.close());
    const driver: TurnDriver = new TurnDriver(
      {
        endpointingMs: spec.turn.endpointingMs,
        finalTimeoutMs: spec.turn.finalTimeoutMs,
        bargeInMinSpeechMs: spec.turn.bargeInMinSpeechMs,
        bargeInRequireWords: spec.turn.bargeInRequireWords,
        onsetConfirmMs: 600,
        dtmfCollectMs: DTMF_COLLECT_MS,
        idlePromptMs: spec.turn.idlePromptMs,
      },
      clock,
      this.log,
      (action) => this.#act(action, { turns, recognition, spec }),
    );
    closers.push(() => driver.close());
    /** No recogniser serves right now (the caller was told once; the link keeps retrying). */
    let deaf = false;
    const recognition: Recognition = new Recognition({
      leg,
      vad: this.options.vad,
      vadOptions: spec.vad,
      stt: agent.stt,
      language: spec.stt.language,
      keywords: spec.stt.keywords,
      echoGuard,
      clock,
      logger: this.log,
      onHearing: (e) => {
        if (e.type !== 'interim') this.log.debug({ hearing: e.type, phase: driver.state.phase }, 'hearing');
        if (e.type === 'final' && e.text.trim() !== '') turns.noteFinal();
        if (e.type === 'interim' || e.type === 'final') {
          if (e.text.trim() !== '' && driver.state.phase === 'user_speaking') {
            this.#emit({ type: 'transcript', role: 'user', text: e.text, final: false, atMs: this.sinceAnswer() });
          }
        }
        if (e.type === 'dtmf') this.#emit({ type: 'dtmf', digit: e.digit, atMs: this.sinceAnswer() });
        driver.input(e);
      },
      onSpeechEdge: (edge, atMs) => {
        if (edge === 'end' && this.shell.answered) turns.noteSpeechEnd(Math.max(0, this.sinceAnswer() - Math.round(clock.now() - atMs)));
      },
      onSttStatus: (status) => {
        this.#emit({ type: 'stt', status, atMs: this.sinceAnswer() });
        if (status.type === 'serving' && deaf) {
          deaf = false;
          kit.addMessage(roomId, 'system', { role: 'user', content: '[System: speech on this call is recognised again.]' });
        }
        if (status.type === 'unavailable' && !deaf) {
          // Nothing can hear this line (narrowband audio with a wideband-only recogniser, or every recogniser
          // down; the link keeps retrying): say so once, and work by keypad meanwhile.
          deaf = true;
          kit.addMessage(roomId, 'system', {
            role: 'user',
            content: '[System: speech on this call cannot be recognised; the caller can only use the keypad, which arrives as "[The caller pressed ...]".]',
          });
          turns.say(spec.noSpeechNotice, { commit: true });
        }
      },
    });
    closers.push(() => recognition.close());
    let maxTimer: TimerHandle | undefined;
    closers.push(() => {
      if (maxTimer !== undefined) clock.clearTimeout(maxTimer);
    });

    try {
      await raceEnd(leg.answer(), leg.ended);
      this.shell.markAnswered(spec.name);
      this.log.info({ format: leg.inputFormat }, 'call answered');
      this.#setState('listening');
      recognition.start();
      if (spec.greeting !== undefined) turns.say(spec.greeting, { commit: true });
      if ((this.options.maxCallMs ?? 0) > 0) maxTimer = clock.setTimeout(() => void this.hangup('max-duration').catch(() => undefined), this.options.maxCallMs ?? 0);
      this.ended = await leg.ended;
    } catch (err) {
      this.ended = await settleEnd(leg, err, this.log);
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
    const end = this.ended ?? { reason: 'error', detail: 'ended without a reason' };
    this.#setState('idle');
    this.#emit({ type: 'ended', end: this.#hangupReason === undefined ? end : { ...end, detail: this.#hangupReason }, atMs: this.sinceAnswer() });
    return end;
  }

  #act(action: TurnAction, p: { turns: AgentTurns; recognition: Recognition; spec: AgentRuntime['spec'] }): void {
    switch (action.type) {
      case 'state':
        this.#setState(action.state);
        return;
      case 'finalize':
        p.recognition.finalize();
        return;
      case 'start_turn':
        p.turns.startTurn(action.text, action.source);
        return;
      case 'pause_output':
        this.leg.pauseOutput(true);
        return;
      case 'resume_output':
        this.leg.pauseOutput(false);
        return;
      case 'barge_in': {
        // The caller talks over the agent's goodbye: the interrupted turn's hang-up is withdrawn (the next
        // turn decides again) rather than cutting off someone who is speaking.
        this.#hangupRequested = false;
        const droppedMs = p.turns.interrupt();
        this.leg.pauseOutput(false);
        this.#emit({ type: 'barge_in', atMs: this.sinceAnswer(), droppedMs });
        return;
      }
      case 'cancel_turn':
        this.#hangupRequested = false;
        p.turns.cancel();
        this.leg.pauseOutput(false);
        return;
      case 'idle_prompt':
        p.turns.say(p.spec.turn.idlePrompt, { commit: true });
        return;
      case 'false_barge_in':
        this.#emit({ type: 'false_barge_in', why: action.why, atMs: this.sinceAnswer() });
        return;
    }
  }

  #hangupNow(): void {
    this.log.info({ reason: this.#hangupReason }, 'agent ends the call');
    this.shell.cause('agent-hangup', this.#hangupReason);
    void this.leg.hangup().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'hang-up failed'));
  }

  #setState(state: SessionState): void {
    this.shell.setState(state);
  }

  #emit(event: CallEvent): void {
    this.shell.emit(event);
  }
}

/** Wait for `work` unless the leg ends first (a caller hanging up while we answer). */
async function raceEnd(work: Promise<void>, ended: Promise<LegEnd>): Promise<void> {
  const r = await Promise.race([work.then(() => undefined), ended.then((e) => e)]);
  if (r !== undefined) throw new AbortedError(`call ended before it was answered (${r.reason})`);
}

/** The leg's end after a failure of ours: hang up if the leg is still up, and report the leg's reason. */
async function settleEnd(leg: CallLeg, err: unknown, log: Logger): Promise<LegEnd> {
  if (!(err instanceof AbortedError)) log.warn({ err: errorMessage(err) }, 'call failed');
  await leg.hangup().catch(() => undefined);
  return leg.ended;
}
