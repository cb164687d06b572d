/**
 * What a speech-to-speech call says, for its events, record and room: both sides' transcripts (deltas as
 * partials, the model's finals as finals; an answer cut by barge-in as the text the caller heard, marked
 * interrupted, never the whole text), each committed to the room's history; and one latency waterfall per
 * caller turn (speech end, the model's first output, the first audio out, barge-in, end, outcome).
 */
import type { RealtimeEvent } from '../../providers/types.ts';
import type { RoomKit } from '../../room/room-kit.ts';
import type { CallEvent, TurnTiming } from '../call-events.ts';
import { heardLength } from '../heard-text.ts';
import type { ItemCut } from './playout.ts';

export interface RealtimeTurnsOptions {
  readonly kit: RoomKit;
  readonly roomId: string;
  readonly sinceAnswer: () => number;
  readonly emit: (event: CallEvent) => void;
  /** The model's audio is still playing (finals wait for it). */
  readonly playing: () => boolean;
}

type Timing = { -readonly [K in keyof TurnTiming]: TurnTiming[K] };

interface Said {
  /** The deltas so far. */
  text: string;
  /** The model's final text, held until the audio has played (a barge-in may still cut it). */
  final: string | undefined;
  /** Its final was reported (whole, or as the heard part at a barge-in). */
  done: boolean;
}

/** Assistant text without an item id from the model (kept under one key). */
const NO_ITEM = '';

export class RealtimeTurns {
  readonly #o: RealtimeTurnsOptions;
  readonly #said = new Map<string, Said>();
  #timing: Timing | undefined;
  #count = 0;

  constructor(options: RealtimeTurnsOptions) {
    this.#o = options;
  }

  /** The caller finished a turn (the model's VAD, or Callroom's in manual mode). */
  callerEnded(speechEndMs?: number, source: 'speech' | 'dtmf' = 'speech'): void {
    this.settle();
    const now = this.#o.sinceAnswer();
    this.#timing = { turn: ++this.#count, source, decidedMs: now, ...(speechEndMs === undefined ? {} : { speechEndMs }) };
  }

  /** The model produced something for the current turn (audio, text or a tool call). */
  modelOutput(): void {
    if (this.#timing !== undefined) this.#timing.llmFirstTokenMs ??= this.#o.sinceAnswer();
  }

  /** The current turn's first audio went to the leg. */
  firstAudio(): void {
    if (this.#timing !== undefined) this.#timing.firstAudioMs ??= this.#o.sinceAnswer();
  }

  responseDone(status: string): void {
    if (this.#timing !== undefined) this.#timing.outcome = status;
  }

  /** The turn is over (everything played, nothing running): its waterfall is reported. */
  settle(): void {
    const t = this.#timing;
    if (t === undefined) return;
    this.#timing = undefined;
    t.endedMs = this.#o.sinceAnswer();
    this.#o.emit({ type: 'turn', timing: { ...t } });
  }

  transcript(e: Extract<RealtimeEvent, { type: 'transcript' }>): void {
    const atMs = this.#o.sinceAnswer();
    if (e.role === 'user') {
      if (e.text.trim() === '') return;
      this.#o.emit({ type: 'transcript', role: 'user', text: e.text, final: e.final, atMs });
      if (e.final) this.#o.kit.addMessage(this.#o.roomId, 'caller', { role: 'user', content: e.text.trim() });
      return;
    }
    const key = e.itemId ?? NO_ITEM;
    let said = this.#said.get(key);
    if (said === undefined) {
      said = { text: '', final: undefined, done: false };
      this.#said.set(key, said);
      if (this.#said.size > 64) this.#said.delete(this.#said.keys().next().value as string);
    }
    if (said.done) return;
    if (!e.final) {
      said.text += e.text;
      if (e.text !== '') this.#o.emit({ type: 'transcript', role: 'assistant', text: e.text, final: false, atMs });
      return;
    }
    said.final = e.text.trim() === '' ? said.text : e.text;
    if (!this.#o.playing()) this.flushFinals();
  }

  /** Everything has played: the model's finals held so far are what the caller heard. */
  flushFinals(): void {
    for (const said of this.#said.values()) {
      if (said.done || said.final === undefined) continue;
      said.done = true;
      const text = said.final.trim();
      if (text === '') continue;
      this.#o.emit({ type: 'transcript', role: 'assistant', text, final: true, atMs: this.#o.sinceAnswer() });
      this.#o.kit.addMessage(this.#o.roomId, 'agent', { role: 'assistant', content: text });
    }
  }

  /** Barge-in: each cut item's final is what the caller heard of it. */
  interrupted(cuts: readonly ItemCut[], stillGenerating: (responseId: string) => boolean): void {
    if (this.#timing !== undefined) this.#timing.bargeInMs ??= this.#o.sinceAnswer();
    for (const cut of cuts) {
      const said = this.#said.get(cut.itemId);
      if (said === undefined || said.done) continue;
      said.done = true;
      const text = said.final ?? said.text;
      const n = heardLength(
        [{ text, model: true, rawStart: 0, rawEnd: text.length, startMs: 0, endMs: cut.receivedMs, complete: !stillGenerating(cut.responseId) }],
        cut.playedMs,
      );
      const heard = text.slice(0, n).trim();
      this.#o.emit({ type: 'transcript', role: 'assistant', text: heard, final: true, atMs: this.#o.sinceAnswer(), interrupted: true });
      if (heard !== '') this.#o.kit.addMessage(this.#o.roomId, 'agent', { role: 'assistant', content: heard });
    }
    // Items played to the end before the cut keep their whole text.
    this.flushFinals();
  }

  /** The call ended: text the model never finalized is reported as it stands; the last turn is settled. */
  close(): void {
    this.flushFinals();
    for (const said of this.#said.values()) {
      if (said.done || said.text.trim() === '') continue;
      said.done = true;
      this.#o.emit({ type: 'transcript', role: 'assistant', text: said.text.trim(), final: true, atMs: this.#o.sinceAnswer() });
    }
    this.settle();
  }
}
