import { describe, expect, it } from 'vitest';
import { DialogTable } from '../../../../src/sip/dialog/dialog-table.ts';
import { ReinviteGuard, glareRetryDelay } from '../../../../src/sip/dialog/reinvite-guard.ts';

describe('ReinviteGuard (RFC 3261 §14)', () => {
  it('answers 491 to a re-INVITE while ours is in progress (glare)', () => {
    const g = new ReinviteGuard();
    expect(g.beginOutgoing()).toBe(true);
    expect(g.checkIncoming()).toEqual({ ok: false, status: 491 });
    expect(g.beginOutgoing()).toBe(false);
    g.endOutgoing();
    expect(g.checkIncoming()).toEqual({ ok: true });
  });

  it('answers 500 with a 0-10 s Retry-After to a second INVITE before the first is answered', () => {
    const g = new ReinviteGuard();
    g.beginIncoming(4);
    expect(g.checkIncoming(() => 0.99)).toEqual({ ok: false, status: 500, retryAfter: 10 });
    expect(g.checkIncoming(() => 0)).toEqual({ ok: false, status: 500, retryAfter: 0 });
    // Nor can we start one of ours meanwhile.
    expect(g.beginOutgoing()).toBe(false);
    g.endIncoming();
    expect(g.busy).toBe(false);
  });

  it('waits 2.1-4 s when owning the Call-ID, else 0-2 s, in 10 ms units (§14.1)', () => {
    for (const r of [0, 0.25, 0.5, 0.999999, 1]) {
      const owner = glareRetryDelay(true, () => r);
      const other = glareRetryDelay(false, () => r);
      expect(owner).toBeGreaterThanOrEqual(2100);
      expect(owner).toBeLessThanOrEqual(4000);
      expect(other).toBeGreaterThanOrEqual(0);
      expect(other).toBeLessThanOrEqual(2000);
      expect(owner % 10).toBe(0);
      expect(other % 10).toBe(0);
    }
    expect(glareRetryDelay(true, () => 0)).toBe(2100);
    expect(glareRetryDelay(false, () => 0.999999)).toBe(2000);
  });
});

describe('DialogTable', () => {
  it('refuses dialogs over its cap and ids taken by another owner', () => {
    const t = new DialogTable<string>(2);
    const id = (n: number) => ({ callId: `c${n}`, localTag: 'l', remoteTag: 'r' });
    expect(t.add(id(1), 'a')).toBe(true);
    expect(t.add(id(1), 'a')).toBe(true);
    expect(t.add(id(1), 'b')).toBe(false);
    expect(t.add(id(2), 'b')).toBe(true);
    expect(t.full).toBe(true);
    expect(t.add(id(3), 'c')).toBe(false);
    expect(t.delete(id(1), 'other')).toBe(false);
    expect(t.delete(id(1))).toBe(true);
    expect(t.add(id(3), 'c')).toBe(true);
    expect(t.get(id(3))).toBe('c');
  });
});
