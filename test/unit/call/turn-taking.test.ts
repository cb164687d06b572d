import { describe, expect, it } from 'vitest';
import {
  initialTurnState,
  nextDue,
  stepTurn,
  type TurnAction,
  type TurnInput,
  type TurnTakingSettings,
  type TurnTakingState,
} from '../../../src/call/turn-taking.ts';

const S: TurnTakingSettings = {
  endpointingMs: 200,
  finalTimeoutMs: 1500,
  bargeInMinSpeechMs: 250,
  bargeInRequireWords: false,
  onsetConfirmMs: 600,
  dtmfCollectMs: 800,
  idlePromptMs: 0,
};

/** Play a script of [ms, input] through the reducer, ticking every due timer on the way; returns the actions with their times. */
function run(script: Array<[number, TurnInput]>, settings: TurnTakingSettings = S, start: TurnTakingState = initialTurnState()): { state: TurnTakingState; actions: Array<[number, TurnAction]> } {
  let state = start;
  const actions: Array<[number, TurnAction]> = [];
  const apply = (at: number, input: TurnInput): void => {
    const step = stepTurn(state, input, at, settings);
    state = step.state;
    for (const a of step.actions) actions.push([at, a]);
  };
  const tickUntil = (t: number): void => {
    for (let due = nextDue(state); due !== undefined && due <= t; due = nextDue(state)) apply(due, { type: 'tick' });
  };
  for (const [at, input] of script) {
    tickUntil(at);
    apply(at, input);
  }
  tickUntil(60_000);
  return { state, actions };
}

const kinds = (r: { actions: Array<[number, TurnAction]> }): string[] => r.actions.filter(([, a]) => a.type !== 'state').map(([, a]) => a.type);

/** The agent is speaking: a turn was started and its reply audio began. */
function speaking(): TurnTakingState {
  return run([
    [0, { type: 'speech_start', echo: false }],
    [1000, { type: 'speech_end' }],
    [1100, { type: 'final', text: 'hello' }],
    [1300, { type: 'reply_audio' }],
  ]).state;
}

describe('turn-taking', () => {
  it('decides a turn after speech end, the endpoint delay and the final text', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [1000, { type: 'interim', text: 'what is' }],
      [1500, { type: 'speech_end' }],
      [1900, { type: 'final', text: 'what is the time' }],
    ]);
    const start = r.actions.find(([, a]) => a.type === 'start_turn');
    expect(start).toEqual([1900, { type: 'start_turn', text: 'what is the time', source: 'speech' }]);
    expect(kinds(r)).toEqual(['finalize', 'start_turn']);
    expect(r.state.phase).toBe('thinking');
  });

  it('waits the endpoint delay when the final text comes first', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [900, { type: 'final', text: 'yes' }],
      [1000, { type: 'speech_end' }],
    ]);
    expect(r.actions.find(([, a]) => a.type === 'start_turn')?.[0]).toBe(1200);
  });

  it('decides with the interim text when the final never comes', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [500, { type: 'interim', text: 'order status' }],
      [1000, { type: 'speech_end' }],
    ]);
    expect(r.actions.find(([, a]) => a.type === 'start_turn')).toEqual([2500, { type: 'start_turn', text: 'order status', source: 'speech' }]);
  });

  it('keeps listening when speech resumes within the endpoint delay, and joins the texts', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [800, { type: 'speech_end' }],
      [850, { type: 'final', text: 'my order' }],
      [900, { type: 'speech_start', echo: false }],
      [2000, { type: 'speech_end' }],
      [2100, { type: 'final', text: 'number four' }],
    ]);
    const starts = r.actions.filter(([, a]) => a.type === 'start_turn');
    expect(starts).toEqual([[2200, { type: 'start_turn', text: 'my order number four', source: 'speech' }]]);
  });

  it('makes no turn from noise the recogniser found no words in', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [300, { type: 'speech_end' }],
      [400, { type: 'final', text: '' }],
    ]);
    expect(kinds(r)).toEqual(['finalize']);
    expect(r.state.phase).toBe('listening');
  });

  it('pauses at a voice onset during agent speech and resumes when it was only a cough', () => {
    const r = run(
      [
        [2000, { type: 'onset', echo: false }],
        [2150, { type: 'offset' }],
      ],
      S,
      speaking(),
    );
    expect(kinds(r)).toEqual(['pause_output', 'false_barge_in', 'resume_output']);
    expect(r.actions.find(([, a]) => a.type === 'resume_output')?.[0]).toBe(2300);
    expect(r.state.phase).toBe('agent_speaking');
  });

  it('resumes when confirmed speech is shorter than the barge-in minimum', () => {
    const r = run(
      [
        [2000, { type: 'onset', echo: false }],
        [2100, { type: 'speech_start', echo: false }],
        [2250, { type: 'speech_end' }],
      ],
      S,
      speaking(),
    );
    expect(kinds(r)).toEqual(['pause_output', 'false_barge_in', 'resume_output']);
    expect(r.state.phase).toBe('agent_speaking');
  });

  it('barges in on speech that lasts, keeping the caller words for the next turn', () => {
    const r = run(
      [
        [2000, { type: 'onset', echo: false }],
        [2100, { type: 'speech_start', echo: false }],
        [2200, { type: 'interim', text: 'wait' }],
        [2500, { type: 'final', text: 'wait stop' }],
        [3000, { type: 'speech_end' }],
        [3100, { type: 'final', text: 'I meant something else' }],
      ],
      S,
      speaking(),
    );
    expect(r.actions.filter(([, a]) => a.type === 'barge_in')).toEqual([[2350, { type: 'barge_in' }]]);
    expect(r.actions.find(([, a]) => a.type === 'start_turn')?.[1]).toEqual({ type: 'start_turn', text: 'wait stop I meant something else', source: 'speech' });
  });

  it('ignores onsets and speech the echo guard attributes to our own voice, and the words they bring', () => {
    const r = run(
      [
        [2000, { type: 'onset', echo: true }],
        [2100, { type: 'speech_start', echo: true }],
        [2300, { type: 'final', text: 'is out for delivery' }],
        [4000, { type: 'reply_done' }],
      ],
      S,
      speaking(),
    );
    expect(kinds(r)).toEqual(['false_barge_in', 'false_barge_in']);
    expect(r.state.phase).toBe('listening');
    expect(r.state.finals).toEqual([]);
  });

  it('with words required, barges in only once words are recognised', () => {
    const words = { ...S, bargeInRequireWords: true };
    const noWords = run([[2000, { type: 'speech_start', echo: false }], [3000, { type: 'speech_end' }]], words, speaking());
    expect(kinds(noWords)).toEqual(['pause_output', 'false_barge_in', 'resume_output']);
    const withWords = run([[2000, { type: 'speech_start', echo: false }], [2600, { type: 'interim', text: 'no' }]], words, speaking());
    expect(withWords.actions.find(([, a]) => a.type === 'barge_in')?.[0]).toBe(2600);
  });

  it('cancels a pending turn when the caller goes on talking before any reply audio', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [500, { type: 'speech_end' }],
      [600, { type: 'final', text: 'my order' }],
      [900, { type: 'speech_start', echo: false }],
    ]);
    expect(kinds(r)).toEqual(['finalize', 'start_turn', 'cancel_turn']);
    expect(r.state.phase).toBe('user_speaking');
  });

  it('collects DTMF into one turn, ends early on #, and a key interrupts the agent', () => {
    const keys = run([
      [0, { type: 'dtmf', digit: '4' }],
      [300, { type: 'dtmf', digit: '5' }],
    ]);
    expect(keys.actions.find(([, a]) => a.type === 'start_turn')).toEqual([1100, { type: 'start_turn', text: '[The caller pressed 4 5 on the keypad]', source: 'dtmf' }]);
    const pound = run([[0, { type: 'dtmf', digit: '1' }], [100, { type: 'dtmf', digit: '#' }]]);
    expect(pound.actions.find(([, a]) => a.type === 'start_turn')?.[0]).toBe(100);
    const interrupt = run([[2000, { type: 'dtmf', digit: '1' }]], S, speaking());
    expect(kinds(interrupt)).toEqual(['barge_in', 'start_turn']);
  });

  it('prompts a silent caller after the idle time, again and again, and not while the agent speaks', () => {
    const idle = { ...S, idlePromptMs: 5000 };
    const r = run([[0, { type: 'reply_audio' }], [100, { type: 'reply_done' }], [12_000, { type: 'speech_start', echo: false }]], idle, { ...initialTurnState(), phase: 'thinking' });
    expect(r.actions.filter(([, a]) => a.type === 'idle_prompt').map(([t]) => t)).toEqual([5100, 10_100]);
  });

  it('reports the session state on phase changes only', () => {
    const r = run([
      [0, { type: 'speech_start', echo: false }],
      [500, { type: 'speech_end' }],
      [600, { type: 'final', text: 'hi' }],
      [900, { type: 'reply_audio' }],
      [2000, { type: 'reply_done' }],
    ]);
    expect(r.actions.filter(([, a]) => a.type === 'state').map(([, a]) => (a as { state: string }).state)).toEqual(['thinking', 'speaking', 'listening']);
  });
});
