import { describe, expect, it } from 'vitest';
import { ResponseTracker } from '../../../../src/providers/openai-realtime/response-tracker.ts';

describe('ResponseTracker (OpenAI turn-taking)', () => {
  it('asks for one response once every call is answered and the response that made them is done', () => {
    const t = new ResponseTracker();
    t.onCreated('r1');
    expect(t.onCall('c1', 'a', 'r1')).toBe(true);
    expect(t.onCall('c2', 'b', 'r1')).toBe(true);
    // Answered while r1 is still active: nothing may be created yet.
    expect(t.answer('c2')).toEqual({ known: true, name: 'b', createNow: false });
    expect(t.answer('c1')).toEqual({ known: true, name: 'a', createNow: false });
    expect(t.onDone('r1', 'completed', undefined)).toEqual({ status: 'completed', withdrawn: [], createNow: true });
    // And only once.
    t.onCreated('r2');
    expect(t.onDone('r2', 'completed', undefined).createNow).toBe(false);
  });

  it('creates at once when the last result comes after the response is done', () => {
    const t = new ResponseTracker();
    t.onCreated('r1');
    t.onCall('c1', 'a', 'r1');
    t.onCall('c2', 'b', 'r1');
    expect(t.onDone('r1', 'completed', undefined).createNow).toBe(false);
    expect(t.answer('c1')).toMatchObject({ createNow: false });
    expect(t.answer('c2')).toMatchObject({ createNow: true });
    expect(t.answer('c2')).toEqual({ known: false });
  });

  it('a cancelled response withdraws its calls and drops its late output', () => {
    const t = new ResponseTracker();
    t.onCreated('r1');
    t.onCall('c1', 'a', 'r1');
    t.cancelActive();
    expect(t.delivers('r1')).toBe(false);
    expect(t.onCall('c2', 'a', 'r1')).toBe(false);
    expect(t.onDone('r1', 'cancelled', 'client_cancelled')).toEqual({ status: 'cancelled', withdrawn: ['c1'], createNow: false });
    expect(t.answer('c1')).toEqual({ known: false });
  });

  it('server VAD cutting a response is an interruption, not a cancel', () => {
    const t = new ResponseTracker();
    t.onCreated('r1');
    expect(t.onDone('r1', 'cancelled', 'turn_detected').status).toBe('interrupted');
    t.onCreated('r2');
    t.cancelActive();
    expect(t.onDone('r2', 'cancelled', 'turn_detected').status).toBe('cancelled');
    expect(t.onDone('r3', 'incomplete', 'max_output_tokens').status).toBe('incomplete');
    expect(t.onDone('r4', 'failed', undefined).status).toBe('failed');
  });

  it('clamps a truncate to the audio received for the item', () => {
    const t = new ResponseTracker();
    t.onAudio('i1', 800);
    t.onAudio('i1', 800);
    expect(t.clampTruncate('i1', 5000, 8)).toBe(200);
    expect(t.clampTruncate('i1', 120.7, 8)).toBe(120);
    expect(t.clampTruncate('i1', -5, 8)).toBe(0);
    expect(t.clampTruncate('unknown', 300, 8)).toBe(300);
    expect(t.clampTruncate('i1', Number.NaN, 8)).toBe(0);
  });
});
