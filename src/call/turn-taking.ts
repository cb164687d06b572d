/**
 * Turn-taking as a pure reducer: `(state, input, now) -> state + actions`. No I/O and no timers of its
 * own: the state carries one timer table (due times in clock ms) and the driver feeds `tick` when the
 * earliest falls due. Recognition and playout report what happened; this decides what to do next:
 *
 * - **End of turn** = VAD speech end, then `endpointingMs` without new speech, and the recogniser's final
 *   text for the audio so far (asked for with `finalize`), waited for at most `finalTimeoutMs`.
 * - **Barge-in without false alarms.** While the agent speaks, an early voice onset pauses playback at once
 *   (so the caller is not talked over); it becomes a barge-in only when the VAD confirms speech and it lasts
 *   `bargeInMinSpeechMs` (and, if asked, words were recognised). A cough or a noise burst ends first: playback
 *   resumes where it paused. Onsets the echo guard attributes to the agent's own voice are ignored.
 * - **Keys**: DTMF digits are collected for `dtmfCollectMs` (or up to `#`) and become a turn; a key
 *   pressed while the agent speaks interrupts it.
 * - **Speech during thinking** (no reply audio yet) cancels the pending turn: the caller was not done.
 */
import type { SessionState } from './session-events.ts';

export type TurnPhase = 'listening' | 'user_speaking' | 'thinking' | 'agent_speaking';

export interface TurnTakingSettings {
  readonly endpointingMs: number;
  readonly finalTimeoutMs: number;
  readonly bargeInMinSpeechMs: number;
  readonly bargeInRequireWords: boolean;
  /** An onset not confirmed as speech within this long resumes paused playback. */
  readonly onsetConfirmMs: number;
  readonly dtmfCollectMs: number;
  /** 0: never prompt a silent caller. */
  readonly idlePromptMs: number;
}

/** What recognition reports (see recognition.ts). `echo`: the echo guard attributes it to our own audio. */
export type HearingEvent =
  | { readonly type: 'onset'; readonly echo: boolean }
  | { readonly type: 'offset' }
  | { readonly type: 'speech_start'; readonly echo: boolean }
  | { readonly type: 'speech_end' }
  | { readonly type: 'interim'; readonly text: string }
  | { readonly type: 'final'; readonly text: string }
  | { readonly type: 'dtmf'; readonly digit: string };

/** What playout reports (see speech-out.ts and the session). */
export type PlayoutEvent =
  /** The first audio of the agent's reply left for the caller. */
  | { readonly type: 'reply_audio' }
  /** The reply is over: played out, stopped, or it had no audio. */
  | { readonly type: 'reply_done' };

export type TurnInput = HearingEvent | PlayoutEvent | { readonly type: 'tick' };

export type TurnAction =
  | { readonly type: 'finalize' }
  | { readonly type: 'start_turn'; readonly text: string; readonly source: 'speech' | 'dtmf' }
  | { readonly type: 'pause_output' }
  | { readonly type: 'resume_output' }
  /** Caller speech stops the reply: drop queued audio, abort the turn, keep what was heard. */
  | { readonly type: 'barge_in' }
  /** The caller went on talking before any reply audio: abort the pending turn quietly. */
  | { readonly type: 'cancel_turn' }
  | { readonly type: 'idle_prompt' }
  | { readonly type: 'state'; readonly state: SessionState }
  /** An onset or speech start attributed to echo, or a pause that ended without speech: counted. */
  | { readonly type: 'false_barge_in'; readonly why: 'echo' | 'short' };

type TimerName = 'endpoint' | 'finalWait' | 'bargeIn' | 'onset' | 'idle' | 'dtmf';

export interface TurnTakingState {
  readonly phase: TurnPhase;
  /** Final texts since the last turn, and the latest interim. */
  readonly finals: readonly string[];
  readonly interim: string;
  /** A user speech segment is open (VAD). */
  readonly userSpeech: boolean;
  /** `finalize` was sent and its final has not come yet. */
  readonly awaitingFinal: boolean;
  /** The endpoint delay after the caller's speech end has passed. */
  readonly endpointReached: boolean;
  /** Playback is paused on an unconfirmed onset or a barge-in candidate. */
  readonly paused: boolean;
  /** The VAD confirmed speech during agent speech: a barge-in candidate. */
  readonly candidate: boolean;
  /** Words recognised since the candidate started. */
  readonly candidateWords: boolean;
  readonly digits: string;
  readonly timers: Readonly<Partial<Record<TimerName, number>>>;
}

export interface TurnStep {
  readonly state: TurnTakingState;
  readonly actions: readonly TurnAction[];
}

export function initialTurnState(): TurnTakingState {
  return {
    phase: 'listening',
    finals: [],
    interim: '',
    userSpeech: false,
    awaitingFinal: false,
    endpointReached: false,
    paused: false,
    candidate: false,
    candidateWords: false,
    digits: '',
    timers: {},
  };
}

/** The earliest due timer, or undefined. */
export function nextDue(state: TurnTakingState): number | undefined {
  let best: number | undefined;
  for (const due of Object.values(state.timers)) if (due !== undefined && (best === undefined || due < best)) best = due;
  return best;
}

/** The state a session reports for a phase. */
export function sessionStateOf(phase: TurnPhase): SessionState {
  if (phase === 'thinking') return 'thinking';
  if (phase === 'agent_speaking') return 'speaking';
  return 'listening';
}

/** One step of turn-taking. */
export function stepTurn(state: TurnTakingState, input: TurnInput, now: number, s: TurnTakingSettings): TurnStep {
  const b = new StepBuilder(state, now, s);
  switch (input.type) {
    case 'onset':
      b.onset(input.echo);
      break;
    case 'offset':
      if (b.st.paused && !b.st.candidate) b.setTimer('onset', Math.min(b.st.timers.onset ?? Infinity, now + 150));
      break;
    case 'speech_start':
      b.speechStart(input.echo);
      break;
    case 'speech_end':
      b.speechEnd();
      break;
    case 'interim':
      b.words(input.text, false);
      break;
    case 'final':
      b.words(input.text, true);
      break;
    case 'dtmf':
      b.dtmf(input.digit);
      break;
    case 'reply_audio':
      if (b.st.phase === 'thinking') b.phase('agent_speaking');
      break;
    case 'reply_done':
      if (b.st.phase === 'thinking' || b.st.phase === 'agent_speaking') {
        b.clearBargeIn();
        b.resume();
        // Words heard while the agent spoke (its own voice coming back) are not the caller's next turn.
        b.st.finals = [];
        b.st.interim = '';
        b.phase('listening');
        if (s.idlePromptMs > 0) b.setTimer('idle', now + s.idlePromptMs);
      }
      break;
    case 'tick':
      b.tick();
      break;
  }
  return b.result();
}

/** Accumulates one step's state changes and actions. */
class StepBuilder {
  st: { -readonly [K in keyof TurnTakingState]: TurnTakingState[K] };
  readonly actions: TurnAction[] = [];
  readonly #now: number;
  readonly #s: TurnTakingSettings;
  readonly #phaseBefore: TurnPhase;

  constructor(state: TurnTakingState, now: number, s: TurnTakingSettings) {
    this.st = { ...state, timers: { ...state.timers } };
    this.#now = now;
    this.#s = s;
    this.#phaseBefore = state.phase;
  }

  result(): TurnStep {
    if (this.st.phase !== this.#phaseBefore && sessionStateOf(this.st.phase) !== sessionStateOf(this.#phaseBefore)) {
      this.actions.push({ type: 'state', state: sessionStateOf(this.st.phase) });
    }
    return { state: this.st, actions: this.actions };
  }

  phase(p: TurnPhase): void {
    this.st.phase = p;
  }

  setTimer(name: TimerName, due: number): void {
    this.st.timers = { ...this.st.timers, [name]: due };
  }

  clearTimer(...names: TimerName[]): void {
    const t = { ...this.st.timers };
    for (const n of names) delete t[n];
    this.st.timers = t;
  }

  onset(echo: boolean): void {
    if (this.st.phase !== 'agent_speaking') return;
    if (echo) {
      this.actions.push({ type: 'false_barge_in', why: 'echo' });
      return;
    }
    if (!this.st.paused) {
      this.st.paused = true;
      this.actions.push({ type: 'pause_output' });
    }
    if (!this.st.candidate) this.setTimer('onset', this.#now + this.#s.onsetConfirmMs);
  }

  speechStart(echo: boolean): void {
    const { phase } = this.st;
    if (phase === 'agent_speaking' && echo) {
      this.actions.push({ type: 'false_barge_in', why: 'echo' });
      return;
    }
    this.st.userSpeech = true;
    this.clearTimer('idle');
    if (phase === 'listening' || phase === 'user_speaking') {
      this.clearTimer('endpoint', 'finalWait');
      this.st.endpointReached = false;
      this.phase('user_speaking');
    } else if (phase === 'thinking') {
      this.actions.push({ type: 'cancel_turn' });
      this.clearTimer('endpoint', 'finalWait');
      this.st.endpointReached = false;
      this.phase('user_speaking');
    } else {
      // Agent speaking: a barge-in candidate. Playback pauses now (if the onset did not already).
      if (!this.st.paused) {
        this.st.paused = true;
        this.actions.push({ type: 'pause_output' });
      }
      this.st.candidate = true;
      this.st.candidateWords = false;
      this.clearTimer('onset');
      this.setTimer('bargeIn', this.#now + this.#s.bargeInMinSpeechMs);
    }
  }

  speechEnd(): void {
    this.st.userSpeech = false;
    if (this.st.phase === 'agent_speaking') {
      if (this.st.candidate) {
        // Shorter than the barge-in minimum (or no words when words are required): a false alarm.
        this.actions.push({ type: 'false_barge_in', why: 'short' });
        this.clearBargeIn();
        this.resume();
      }
      return;
    }
    if (this.st.phase !== 'user_speaking') return;
    this.actions.push({ type: 'finalize' });
    // The recogniser owes a final when it shows words not yet final, or has given nothing at all yet.
    this.st.awaitingFinal = this.st.interim !== '' || this.st.finals.length === 0;
    this.st.endpointReached = false;
    this.setTimer('endpoint', this.#now + this.#s.endpointingMs);
    this.setTimer('finalWait', this.#now + Math.max(this.#s.endpointingMs, this.#s.finalTimeoutMs));
  }

  words(text: string, final: boolean): void {
    const t = text.trim();
    // While the agent talks or thinks, only a barge-in candidate's words count (the rest is our own echo).
    if ((this.st.phase === 'agent_speaking' || this.st.phase === 'thinking') && !this.st.candidate) return;
    if (final) {
      if (t !== '') this.st.finals = [...this.st.finals, t];
      this.st.interim = '';
      this.st.awaitingFinal = false;
    } else {
      this.st.interim = t;
    }
    if (t !== '' && this.st.candidate) {
      this.st.candidateWords = true;
      // Words were the missing condition: the minimum duration already passed.
      if (this.#s.bargeInRequireWords && this.st.timers.bargeIn === undefined) this.bargeIn();
    }
    if (final) this.maybeDecide();
  }

  dtmf(digit: string): void {
    this.st.digits += digit;
    this.clearTimer('idle');
    if (this.st.phase === 'agent_speaking') this.bargeIn();
    else if (this.st.phase === 'thinking') {
      this.actions.push({ type: 'cancel_turn' });
      this.phase('listening');
    }
    this.setTimer('dtmf', digit === '#' ? this.#now : this.#now + this.#s.dtmfCollectMs);
  }

  tick(): void {
    const now = this.#now;
    const t = this.st.timers;
    // Every timer that fell due is cleared here, so a tick never finds the same one due again.
    if (t.endpoint !== undefined && t.endpoint <= now) {
      this.clearTimer('endpoint');
      this.st.endpointReached = true;
    }
    if (t.finalWait !== undefined && t.finalWait <= now) {
      this.clearTimer('finalWait');
      this.st.awaitingFinal = false;
    }
    if (t.onset !== undefined && t.onset <= now) {
      this.clearTimer('onset');
      if (this.st.paused && !this.st.candidate) {
        this.actions.push({ type: 'false_barge_in', why: 'short' });
        this.resume();
      }
    }
    if (t.bargeIn !== undefined && t.bargeIn <= now) {
      this.clearTimer('bargeIn');
      if (this.st.candidate && this.st.userSpeech && (!this.#s.bargeInRequireWords || this.st.candidateWords)) this.bargeIn();
    }
    if (t.dtmf !== undefined && t.dtmf <= now) {
      this.clearTimer('dtmf');
      const keys = this.st.digits;
      this.st.digits = '';
      if (keys !== '') this.startTurn(keypadText(keys), 'dtmf');
    }
    if (t.idle !== undefined && t.idle <= now) {
      this.clearTimer('idle');
      if (this.st.phase === 'listening') {
        this.actions.push({ type: 'idle_prompt' });
        if (this.#s.idlePromptMs > 0) this.setTimer('idle', now + this.#s.idlePromptMs);
      }
    }
    this.maybeDecide();
  }

  /** Decide the turn once speech has ended, the endpoint delay passed, and the final text came (or its wait ran out). */
  maybeDecide(): void {
    if (this.st.phase !== 'user_speaking' || this.st.userSpeech || !this.st.endpointReached || this.st.awaitingFinal) return;
    this.clearTimer('endpoint', 'finalWait');
    this.st.endpointReached = false;
    const text = [...this.st.finals, ...(this.st.finals.length === 0 ? [this.st.interim] : [])].join(' ').trim();
    this.st.finals = [];
    this.st.interim = '';
    if (text === '') {
      // Noise or a breath the recogniser made nothing of: no turn.
      this.phase('listening');
      if (this.#s.idlePromptMs > 0) this.setTimer('idle', this.#now + this.#s.idlePromptMs);
      return;
    }
    this.startTurn(text, 'speech');
  }

  startTurn(text: string, source: 'speech' | 'dtmf'): void {
    this.clearTimer('idle');
    this.actions.push({ type: 'start_turn', text, source });
    this.phase('thinking');
  }

  bargeIn(): void {
    this.clearBargeIn();
    this.st.paused = false;
    this.actions.push({ type: 'barge_in' });
    this.phase(this.st.userSpeech ? 'user_speaking' : 'listening');
  }

  clearBargeIn(): void {
    this.st.candidate = false;
    this.st.candidateWords = false;
    this.clearTimer('bargeIn', 'onset');
  }

  resume(): void {
    if (!this.st.paused) return;
    this.st.paused = false;
    this.actions.push({ type: 'resume_output' });
  }
}

/** How long after the last key an entry without `#` is taken as complete. */
export const DTMF_COLLECT_MS = 800;

/** Caller keys as the model reads them, in every pipeline (cascaded turns and speech-to-speech). */
export function keypadText(keys: string): string {
  return `[The caller pressed ${keys.split('').join(' ')} on the keypad]`;
}
