/**
 * Transcripts and timings of a speech-to-speech call: the model's final text is reported (and committed to
 * the room) only once its audio has played; an answer cut by barge-in is reported as the part heard; the
 * caller's finals are committed; each caller turn's waterfall is reported once.
 */
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../../../src/call/call-events.ts';
import { RealtimeTurns } from '../../../../src/call/realtime/realtime-turns.ts';
import { FakeClock } from '../../../../src/core/clock.ts';
import { RoomKit } from '../../../../src/room/room-kit.ts';

function setup() {
  const clock = new FakeClock();
  const kit = new RoomKit({ clock });
  const room = kit.createRoom({ id: 'r' });
  const events: CallEvent[] = [];
  let playing = false;
  const turns = new RealtimeTurns({ kit, roomId: room.id, sinceAnswer: () => clock.now(), emit: (e) => events.push(e), playing: () => playing });
  return { clock, room, events, turns, setPlaying: (p: boolean) => (playing = p) };
}

const finals = (events: CallEvent[]) => events.filter((e) => e.type === 'transcript' && e.final);

describe('RealtimeTurns', () => {
  it("holds the model's final until its audio has played, then reports and commits it", () => {
    const t = setup();
    t.setPlaying(true);
    t.turns.transcript({ type: 'transcript', role: 'assistant', text: 'Your order', final: false, itemId: 'i1' });
    t.turns.transcript({ type: 'transcript', role: 'assistant', text: 'Your order has shipped.', final: true, itemId: 'i1' });
    expect(finals(t.events)).toEqual([]);
    t.setPlaying(false);
    t.turns.flushFinals();
    expect(finals(t.events)).toMatchObject([{ role: 'assistant', text: 'Your order has shipped.' }]);
    expect(t.room.history()).toEqual([{ role: 'assistant', content: 'Your order has shipped.' }]);
  });

  it('a cut answer is reported as what was heard, marked interrupted, and a late final for it is ignored', () => {
    const t = setup();
    t.setPlaying(true);
    const text = 'one two three four five six seven eight nine ten';
    t.turns.transcript({ type: 'transcript', role: 'assistant', text, final: false, itemId: 'i1' });
    t.turns.interrupted([{ itemId: 'i1', responseId: 'r1', playedMs: 2000, receivedMs: 4000 }], () => false);
    t.turns.transcript({ type: 'transcript', role: 'assistant', text, final: true, itemId: 'i1' });
    t.turns.flushFinals();
    expect(finals(t.events)).toEqual([{ type: 'transcript', role: 'assistant', text: 'one two three four five', final: true, atMs: 0, interrupted: true }]);
    expect(t.room.history()).toEqual([{ role: 'assistant', content: 'one two three four five' }]);
  });

  it("commits the caller's finals and reports each turn's waterfall once", () => {
    const t = setup();
    t.clock.advance(1000);
    t.turns.callerEnded(950);
    t.clock.advance(300);
    t.turns.modelOutput();
    t.clock.advance(100);
    t.turns.firstAudio();
    t.turns.transcript({ type: 'transcript', role: 'user', text: 'where is my order', final: true });
    t.turns.responseDone('completed');
    t.clock.advance(2000);
    t.turns.settle();
    t.turns.settle();
    expect(t.events.filter((e) => e.type === 'turn')).toEqual([
      { type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 950, decidedMs: 1000, llmFirstTokenMs: 1300, firstAudioMs: 1400, outcome: 'completed', endedMs: 3400 } },
    ]);
    expect(t.room.history()).toEqual([{ role: 'user', content: 'where is my order' }]);
  });
});
