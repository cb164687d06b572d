/**
 * The agent's side of the conversation: runs each caller turn through the call's room (the agent, its tools
 * under policy) and speaks the reply, and speaks the fixed lines (greeting, notices, apology, idle prompt).
 * It keeps each turn's latency waterfall, tells turn-taking when reply audio starts and when a reply is
 * over, cuts the room's history to what the caller heard, and answers a failed model with an apology.
 */
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AiTurn } from '../room/ai-turn.ts';
import type { EphemeralEvent } from '../room/events.ts';
import type { RoomKit } from '../room/room-kit.ts';
import type { CallEvent, TurnTiming } from './call-events.ts';
import type { Reply, ReplyResult, SpeechOut } from './speech-out.ts';
import type { ToolFiller } from './tool-filler.ts';
import type { PlayoutEvent } from './turn-taking.ts';

export interface AgentTurnsOptions {
  readonly kit: RoomKit;
  readonly roomId: string;
  readonly speech: SpeechOut;
  readonly filler: ToolFiller;
  readonly clock: Clock;
  /** Call-clock ms since answer. */
  readonly sinceAnswer: () => number;
  readonly logger: Logger;
  readonly apology: string;
  readonly emit: (event: CallEvent) => void;
  readonly playout: (event: PlayoutEvent) => void;
  /** A reply ended (played out or stopped): pending hang-ups act now. */
  readonly onReplyDone: () => void;
  /** The medium's talk-spurt starts on the call clock (for the time to the first packet), where it knows. */
  readonly talkSpurts?: () => readonly number[];
}

type Timing = { -readonly [K in keyof TurnTiming]: TurnTiming[K] };

export class AgentTurns {
  readonly #o: AgentTurnsOptions;
  readonly #subscription: string;
  #turn: AiTurn | undefined;
  #reply: Reply | undefined;
  #timing: Timing | undefined;
  #count = 0;
  /** Marks of the caller's latest speech, for the next turn's waterfall. */
  #speechEndMs: number | undefined;
  #sttFinalMs: number | undefined;
  #closed = false;

  constructor(options: AgentTurnsOptions) {
    this.#o = options;
    this.#subscription = options.kit.subscribeRoom(options.roomId, (e) => this.#onRoomEvent(e));
  }

  /** The reply playing now (a turn's, or a fixed line). */
  get reply(): Reply | undefined {
    return this.#reply;
  }

  noteSpeechEnd(atMs: number): void {
    this.#speechEndMs = atMs;
  }

  noteFinal(): void {
    this.#sttFinalMs = this.#o.sinceAnswer();
  }

  /** Run a caller turn and speak its reply. */
  startTurn(text: string, source: 'speech' | 'dtmf'): void {
    if (this.#closed) return;
    const turnNo = ++this.#count;
    const timing: Timing = {
      turn: turnNo,
      source,
      decidedMs: this.#o.sinceAnswer(),
      ...(this.#speechEndMs === undefined ? {} : { speechEndMs: this.#speechEndMs }),
      ...(this.#sttFinalMs === undefined ? {} : { sttFinalMs: this.#sttFinalMs }),
    };
    this.#speechEndMs = undefined;
    this.#sttFinalMs = undefined;
    this.#timing = timing;
    this.#o.filler.newTurn();
    this.#o.emit({ type: 'transcript', role: 'user', text, final: true, atMs: timing.decidedMs });
    let replyDone: Promise<ReplyResult> | undefined;
    const turn = this.#o.kit.userTurn(
      this.#o.roomId,
      { text, source: 'caller' },
      { heard: async () => (replyDone === undefined ? '' : (await replyDone).heard) },
    );
    this.#turn = turn;
    const reply = this.#o.speech.play(turn.text, turn.signal, () => {
      timing.firstAudioMs = this.#o.sinceAnswer();
      this.#o.playout({ type: 'reply_audio' });
    });
    this.#reply = reply;
    replyDone = reply.done;
    let failed = false;
    void turn.done.then((outcome) => {
      timing.outcome = outcome.reason;
      if (outcome.reason === 'error' || outcome.reason === 'timeout') {
        failed = true;
        this.#o.emit({ type: 'llm_failed', error: outcome.error === undefined ? outcome.reason : errorMessage(outcome.error), atMs: this.#o.sinceAnswer() });
      }
    });
    void reply.done.then(async (result) => {
      await turn.done;
      this.#finishTurn(timing, result);
      if (this.#turn === turn) this.#turn = undefined;
      if (this.#reply === reply) this.#reply = undefined;
      // A model that failed before saying anything gets an apology; the call goes on.
      if (failed && result.heard.trim() === '' && !result.interrupted && !this.#closed) {
        this.say(this.#o.apology, { commit: true });
        return;
      }
      this.#o.playout({ type: 'reply_done' });
      this.#o.onReplyDone();
    });
  }

  /** Speak a fixed line as the agent; `commit` puts what was heard of it into the room's history. */
  say(text: string, options: { commit: boolean }): Reply | undefined {
    if (this.#closed || text.trim() === '') return undefined;
    this.#o.playout({ type: 'reply_audio' });
    const ac = new AbortController();
    const reply = this.#o.speech.say(text, ac.signal);
    this.#reply = reply;
    void reply.done.then((result) => {
      if (this.#reply === reply) this.#reply = undefined;
      const heard = result.heard.trim();
      if (heard !== '') {
        this.#o.emit({ type: 'transcript', role: 'assistant', text: heard, final: true, atMs: this.#o.sinceAnswer(), ...(result.interrupted ? { interrupted: true } : {}) });
        if (options.commit && !this.#closed) this.#o.kit.addMessage(this.#o.roomId, 'agent', { role: 'assistant', content: heard });
      }
      this.#o.playout({ type: 'reply_done' });
      this.#o.onReplyDone();
    });
    return reply;
  }

  /** Barge-in: stop the reply (keeping what was heard) and abort the turn. Returns the audio dropped. */
  interrupt(): number {
    const result = this.#reply?.stop();
    this.#turn?.abort('barge-in');
    if (this.#timing !== undefined && this.#timing.bargeInMs === undefined && result !== undefined) this.#timing.bargeInMs = this.#o.sinceAnswer();
    return result?.droppedMs ?? 0;
  }

  /** The caller went on talking before any reply audio: drop the pending turn quietly. */
  cancel(): void {
    this.#reply?.stop();
    this.#turn?.abort('caller continued');
  }

  /** Say the filler into the current reply (it plays after what is queued). */
  interject(text: string): void {
    this.#reply?.interject(text);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#reply?.stop();
    this.#turn?.abort('call ended');
    this.#o.kit.unsubscribeRoom(this.#subscription);
    await this.#turn?.done.catch(() => undefined);
  }

  #finishTurn(timing: Timing, result: ReplyResult): void {
    timing.endedMs = this.#o.sinceAnswer();
    const spurts = this.#o.talkSpurts?.();
    if (result.firstAudioAtMs !== undefined && spurts !== undefined) {
      const first = spurts.find((t) => t >= (result.firstAudioAtMs as number) - 1);
      if (first !== undefined) timing.firstPacketMs = Math.max(timing.firstAudioMs ?? 0, this.#o.sinceAnswer() - Math.round(this.#o.clock.now() - first));
    }
    const heard = result.heard.trim();
    if (heard !== '' || result.interrupted) {
      this.#o.emit({ type: 'transcript', role: 'assistant', text: heard, final: true, atMs: timing.endedMs, ...(result.interrupted ? { interrupted: true } : {}) });
    }
    this.#o.emit({ type: 'turn', timing: { ...timing } });
  }

  #onRoomEvent(e: EphemeralEvent): void {
    const timing = this.#timing;
    switch (e.type) {
      case 'TEXT_DELTA':
        if (timing !== undefined && timing.llmFirstTokenMs === undefined) timing.llmFirstTokenMs = this.#o.sinceAnswer();
        this.#o.emit({ type: 'transcript', role: 'assistant', text: e.delta, final: false, atMs: this.#o.sinceAnswer() });
        return;
      case 'TOOL_CALL_START':
        // The model stops writing while its tools run: say what it wrote before them now.
        this.#reply?.flush();
        for (const call of e.calls) {
          this.#o.filler.started(call.id);
          this.#o.emit({ type: 'tool_started', toolCallId: call.id, name: call.name, atMs: this.#o.sinceAnswer() });
        }
        return;
      case 'TOOL_CALL_END':
        this.#o.filler.finished(e.callId);
        this.#o.emit({
          type: 'tool_finished',
          toolCallId: e.callId,
          name: e.name,
          atMs: this.#o.sinceAnswer(),
          durationMs: e.duration_ms,
          outcome: e.status === 'ok' ? 'ok' : e.status === 'timeout' ? 'timeout' : e.status === 'cancelled' ? 'cancelled' : e.status === 'refused' ? 'refused' : 'error',
        });
        return;
      default:
        return;
    }
  }
}
