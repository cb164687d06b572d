/**
 * What the call does with each event of its realtime model, and with the caller's speech edges in manual
 * mode: audio to the playout (answers cut by barge-in are ignored from then on), transcripts and timings
 * to `RealtimeTurns`, tool calls to `RealtimeTools`, and the session state the medium shows. Barge-in
 * (the model's VAD heard the caller, Gemini's `interrupted`, or Callroom's VAD in manual mode) stops and
 * flushes playout, cancels the model's answer and tells it how much of each item the caller heard
 * (`truncate`, by the audio that actually left for the caller).
 */
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RealtimeCapabilities, RealtimeEvent, RealtimeSession } from '../../providers/types.ts';
import type { CallEvent } from '../call-events.ts';
import type { SessionState } from '../session-events.ts';
import type { Playout } from './playout.ts';
import type { RealtimeTools } from './realtime-tools.ts';
import type { RealtimeTurns } from './realtime-turns.ts';

export interface RealtimeBridgeOptions {
  /** The model's session now (it changes when a dropped one is reopened). */
  readonly session: () => RealtimeSession | undefined;
  readonly capabilities: RealtimeCapabilities;
  readonly playout: Playout;
  readonly turns: RealtimeTurns;
  readonly tools: RealtimeTools;
  readonly logger: Logger;
  readonly sinceAnswer: () => number;
  readonly emit: (event: CallEvent) => void;
  readonly setState: (state: SessionState) => void;
  /** Nothing plays, nothing is being generated or run: a pending hang-up may act. */
  readonly onSettled: () => void;
  /** The vendor reconnected without the conversation: tell the session what was said (history replay). */
  readonly onContextLost: () => void;
}

/** Responses remembered as cut (their late output is dropped). */
const MAX_IGNORED = 64;

export class RealtimeBridge {
  readonly #o: RealtimeBridgeOptions;
  /** Responses that have produced output and are not done. */
  readonly #open = new Set<string>();
  readonly #ignored = new Set<string>();
  /** The model owes an answer: the caller's turn ended, a greeting or a tool result went out. */
  #awaiting = false;
  /** A barge-in is being handled (playout going quiet then is not the answer having played out). */
  #cutting = false;
  /** Responses that asked for tools: when they complete, the model answers again once it has the results. */
  readonly #withTools = new Set<string>();

  constructor(options: RealtimeBridgeOptions) {
    this.#o = options;
  }

  onEvent(e: RealtimeEvent): void {
    switch (e.type) {
      case 'audio':
        if (this.#ignored.has(e.responseId)) return;
        this.#output(e.responseId);
        this.#o.playout.enqueue({ itemId: e.itemId, responseId: e.responseId, bytes: e.bytes, format: e.format });
        this.#refresh();
        return;
      case 'transcript':
        if (e.role === 'assistant') this.#o.turns.modelOutput();
        this.#o.turns.transcript(e);
        return;
      case 'speech_started':
        this.callerStarted('the caller spoke (model VAD)');
        return;
      case 'speech_stopped':
        this.callerEnded();
        return;
      case 'interrupted':
        this.#bargeIn('the model was interrupted');
        this.#refresh();
        return;
      case 'tool_call':
        if (e.responseId !== undefined) {
          this.#output(e.responseId);
          this.#withTools.add(e.responseId);
        }
        this.#o.tools.run(e);
        this.#refresh();
        return;
      case 'tool_call_cancelled':
        this.#o.logger.debug({ callIds: e.callIds }, 'realtime: tool calls withdrawn');
        this.#o.tools.cancel(e.callIds);
        return;
      case 'response_done':
        this.#open.delete(e.responseId);
        this.#o.playout.responseDone(e.responseId);
        this.#o.turns.responseDone(e.status);
        {
          // A completed response that asked for tools is followed by the answer with their results.
          const followUp = this.#withTools.delete(e.responseId) && e.status === 'completed';
          if (!this.#ignored.has(e.responseId) && !followUp) this.#awaiting = false;
        }
        this.#refresh();
        return;
      case 'error':
        if (e.fatal) this.#o.logger.error({ code: e.error.code, retryable: e.retryable, err: e.error.message }, 'realtime: model session failed');
        else this.#o.logger.warn({ code: e.error.code, err: e.error.message }, 'realtime: model reported an error; the call goes on');
        return;
      case 'reconnected':
        if (e.resumed) {
          this.#o.logger.info({ attempt: e.attempt, droppedAudioBytes: e.droppedAudioBytes }, 'realtime: model connection resumed');
        } else {
          this.#o.logger.warn({ attempt: e.attempt }, 'realtime: model connection replaced without its context');
          this.#o.emit({ type: 'llm_failed', error: 'the realtime model reconnected without the conversation so far (replayed to it as text)', atMs: this.#o.sinceAnswer() });
          this.#o.onContextLost();
        }
        return;
      case 'closed':
        return;
    }
  }

  /** The caller started speaking (the model's VAD, or Callroom's in manual mode): barge-in if the model is answering. */
  callerStarted(why: string): void {
    this.#bargeIn(why);
    this.#awaiting = false;
    this.#refresh();
  }

  /** The caller's turn ended; in manual mode the model is asked to answer it. */
  callerEnded(manual = false): void {
    if (manual) {
      const session = this.#o.session();
      session?.commit();
      session?.createResponse();
    }
    this.#o.turns.callerEnded(this.#o.sinceAnswer());
    this.#o.tools.newTurn();
    this.#awaiting = true;
    this.#refresh();
  }

  /**
   * The caller entered keys (`text` words them for the model): like speech, they cut an answer that is
   * playing, and the model is asked to answer them.
   */
  callerKeys(text: string): void {
    this.#bargeIn('the caller pressed a key');
    this.#o.turns.callerEnded(undefined, 'dtmf');
    this.#o.turns.transcript({ type: 'transcript', role: 'user', text, final: true });
    this.#o.tools.newTurn();
    this.#o.session()?.sendText(text);
    this.#awaiting = true;
    this.#refresh();
  }

  /** Ask the model to speak first (the greeting). */
  greet(): void {
    this.#awaiting = true;
    this.#o.session()?.createResponse();
    this.#refresh();
  }

  /** A tool result went to the model: it goes on with an answer. */
  toolAnswered(): void {
    this.#awaiting = true;
    this.#refresh();
  }

  /** A tool call finished (answered or not). */
  toolFinished(): void {
    this.#refresh();
  }

  /** Playout started or went quiet. */
  playoutActive(active: boolean): void {
    if (!active && !this.#cutting) this.#o.turns.flushFinals();
    this.#refresh();
  }

  /** The model's session was replaced: whatever it was generating is gone with it. */
  sessionReplaced(): void {
    for (const id of this.#open) this.#ignore(id);
    this.#open.clear();
    this.#awaiting = false;
    this.#o.playout.endResponses();
    this.#o.tools.newSession();
    this.#refresh();
  }

  #output(responseId: string): void {
    this.#awaiting = false;
    if (this.#open.has(responseId)) return;
    this.#open.add(responseId);
    this.#o.turns.modelOutput();
  }

  #bargeIn(why: string): void {
    const playing = this.#o.playout.active;
    if (!playing && this.#open.size === 0) return;
    const session = this.#o.session();
    this.#cutting = true;
    let cut: ReturnType<Playout['interrupt']>;
    try {
      cut = this.#o.playout.interrupt();
    } finally {
      this.#cutting = false;
    }
    const { cuts, droppedMs } = cut;
    try {
      session?.cancelResponse();
      if (this.#o.capabilities.truncate) for (const cut of cuts) session?.truncate(cut.itemId, Math.floor(cut.playedMs));
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'realtime: cancel or truncate failed');
    }
    this.#o.turns.interrupted(cuts, (id) => this.#open.has(id));
    for (const id of this.#open) this.#ignore(id);
    for (const cut of cuts) this.#ignore(cut.responseId);
    this.#open.clear();
    this.#o.logger.debug({ why, cuts, droppedMs }, 'realtime: barge-in');
    if (playing) this.#o.emit({ type: 'barge_in', atMs: this.#o.sinceAnswer(), droppedMs: Math.round(droppedMs) });
  }

  #ignore(responseId: string): void {
    this.#ignored.add(responseId);
    if (this.#ignored.size > MAX_IGNORED) this.#ignored.delete(this.#ignored.values().next().value as string);
  }

  #refresh(): void {
    const busy = this.#awaiting || this.#open.size > 0 || this.#o.tools.running > 0;
    const state: SessionState = this.#o.playout.active ? 'speaking' : busy ? 'thinking' : 'listening';
    this.#o.setState(state);
    if (state === 'listening') {
      this.#o.turns.settle();
      this.#o.onSettled();
    }
  }
}
