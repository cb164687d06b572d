import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { Keypad } from '../../../../src/call/realtime/keypad.ts';

function keypad(): { pad: Keypad; clock: FakeClock; sent: string[] } {
  const clock = new FakeClock();
  const sent: string[] = [];
  const pad = new Keypad({ clock, collectMs: 800, onKeys: (text) => sent.push(text) });
  return { pad, clock, sent };
}

describe('Keypad (caller DTMF on a speech-to-speech call)', () => {
  it('collects keys until a pause and sends them as one message', () => {
    const { pad, clock, sent } = keypad();
    pad.press('4');
    clock.advance(500);
    pad.press('2');
    clock.advance(799);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual(['[The caller pressed 4 2 on the keypad]']);
    pad.press('9');
    clock.advance(800);
    expect(sent).toEqual(['[The caller pressed 4 2 on the keypad]', '[The caller pressed 9 on the keypad]']);
  });

  it('# ends the entry at once', () => {
    const { pad, sent } = keypad();
    pad.press('1');
    pad.press('#');
    expect(sent).toEqual(['[The caller pressed 1 # on the keypad]']);
  });

  it('keys pending when the call ends are dropped, and no timer is left', () => {
    const { pad, clock, sent } = keypad();
    pad.press('7');
    pad.close();
    clock.advance(5000);
    pad.press('8');
    clock.advance(5000);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
