import { describe, expect, it } from 'vitest';
import { DEFAULT_RELATCH_AFTER_MS, SourceLatch } from '../../../../src/media/rtp/source-latch.ts';

const A = { address: '127.0.0.1', port: 40000 };
const A2 = { address: '127.0.0.1', port: 40000 }; // same source, another object
const B = { address: '127.0.0.1', port: 40002 };
const B6 = { address: '::1', port: 40000 }; // same port, other address

describe('SourceLatch', () => {
  it('learns the first source, even one that differs from the SDP address, then locks to it', () => {
    const l = new SourceLatch();
    expect(l.learning).toBe(true);
    expect(l.admit(B, A, 0)).toBe('latch');
    expect(l.learning).toBe(false);
    expect(l.admit(A, A2, 10)).toBe('current');
    expect(l.admit(A, B, 20)).toBe('refuse');
    expect(l.admit(A, B6, 30)).toBe('refuse'); // the port alone does not identify a source
  });

  it('locks without moving when the first source is the SDP address itself, and learns from no address at all', () => {
    const l = new SourceLatch();
    expect(l.admit(A, A2, 0)).toBe('current');
    expect(l.admit(A, B, 1)).toBe('refuse');
    expect(new SourceLatch().admit(null, A, 0)).toBe('latch');
  });

  it('lets another source take over only once the latched one was silent for relatchAfterMs', () => {
    const l = new SourceLatch();
    expect(DEFAULT_RELATCH_AFTER_MS).toBe(1000);
    l.admit(null, A, 0);
    l.admit(A, A, 500);
    expect(l.admit(A, B, 1499)).toBe('refuse');
    expect(l.admit(A, B, 1500)).toBe('latch');
    // the refused packets did not count as the new source being heard, nor did they refresh the old one
    expect(l.admit(B, A, 1501)).toBe('refuse');
    expect(l.admit(B, A, 2500)).toBe('latch');
  });

  it('re-opens learning on learn(), even while the latched source is active', () => {
    const l = new SourceLatch(Infinity);
    l.admit(null, A, 0);
    expect(l.admit(A, B, 1e9)).toBe('refuse'); // Infinity: never by silence
    l.learn();
    expect(l.learning).toBe(true);
    expect(l.admit(A, B, 1e9 + 1)).toBe('latch');
    expect(l.admit(B, A, 1e9 + 2)).toBe('refuse');
  });

  it('after a new SDP, lets the signalled address take over from a straggler of the old source that latched first', () => {
    const l = new SourceLatch();
    l.admit(null, A, 0); // the old media source
    l.learn(B); // re-INVITE: the new source is at B
    expect(l.admit(B, A, 10)).toBe('latch'); // the old source sends a few more packets and is latched first...
    expect(l.admit(A, A, 20)).toBe('current');
    expect(l.admit(A, B, 30)).toBe('latch'); // ...but the signalled address takes over at once
    expect(l.admit(B, A, 40)).toBe('refuse'); // and holds the latch from then on
    expect(l.admit(B, B, 50)).toBe('current');
  });

  it('prefers the signalled address only for relatchAfterMs after the first packet (NAT: it may never send)', () => {
    const l = new SourceLatch(1000);
    l.learn(B);
    expect(l.admit(B, A, 0)).toBe('latch'); // behind NAT the source differs from the SDP
    expect(l.admit(A, A, 900)).toBe('current');
    expect(l.admit(A, B, 1000)).toBe('refuse'); // too late: a packet from B now is a stray
    l.learn(B);
    expect(l.admit(A, B, 2000)).toBe('latch'); // from the signalled address itself: locked at once
    expect(l.admit(B, A, 2001)).toBe('refuse');
  });

  it('rejects a negative or NaN window', () => {
    expect(() => new SourceLatch(-1)).toThrow(RangeError);
    expect(() => new SourceLatch(Number.NaN)).toThrow(RangeError);
    expect(new SourceLatch(0).admit(null, A, 0)).toBe('latch');
  });
});
