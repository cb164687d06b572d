import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JitterBuffer, LOST, PcmConcealer, type JitterPop } from '../../../src/media/jitter-buffer.ts';
import { parseRtp, serializeRtp, type RtpPacket } from '../../../src/media/rtp/packet.ts';

interface P {
  readonly sequenceNumber: number;
  readonly ssrc?: number;
}

const p = (seq: number, ssrc?: number): P => (ssrc === undefined ? { sequenceNumber: seq & 0xffff } : { sequenceNumber: seq & 0xffff, ssrc });

function label(x: JitterPop<P>): number | 'lost' | null {
  if (x === LOST) return 'lost';
  return x === null ? null : x.sequenceNumber;
}

function pops(jb: JitterBuffer<P>, n: number): Array<number | 'lost' | null> {
  return Array.from({ length: n }, () => label(jb.pop()));
}

describe('JitterBuffer', () => {
  it('waits for the prefetch depth, then plays in order one per tick', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 60, frameMs: 20 });
    expect(jb.pop()).toBeNull();
    jb.push(p(10));
    jb.push(p(11));
    expect(jb.pop()).toBeNull();
    jb.push(p(12));
    expect(pops(jb, 3)).toEqual([10, 11, 12]);
    expect(jb.stats()).toMatchObject({ received: 3, lost: 0, concealed: 0 });
  });

  it('reorders by sequence number and counts the reordered packet', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 80 });
    for (const s of [1, 3, 2, 4]) expect(jb.push(p(s))).toBe('accepted');
    expect(pops(jb, 4)).toEqual([1, 2, 3, 4]);
    expect(jb.stats().reordered).toBe(1);
  });

  it('starts from an earlier packet reordered during the first prefetch', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 60 });
    for (const s of [101, 100, 102]) jb.push(p(s));
    expect(pops(jb, 3)).toEqual([100, 101, 102]);
  });

  it('drops duplicates, before and after they were played', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 40 });
    expect(jb.push(p(1))).toBe('accepted');
    expect(jb.push(p(1))).toBe('duplicate');
    jb.push(p(2));
    expect(pops(jb, 1)).toEqual([1]);
    expect(jb.push(p(1))).toBe('duplicate');
    expect(pops(jb, 1)).toEqual([2]);
    expect(jb.stats()).toMatchObject({ duplicate: 2, late: 0, received: 4 });
  });

  it('reports a gap as LOST, and a packet arriving after its slot as late', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 40 });
    for (const s of [1, 2, 4, 5]) jb.push(p(s));
    expect(pops(jb, 3)).toEqual([1, 2, 'lost']);
    expect(jb.push(p(3))).toBe('held'); // behind the playout point: late, unless 4 followed it (a restart)
    expect(jb.push(p(6))).toBe('accepted');
    expect(pops(jb, 3)).toEqual([4, 5, 6]);
    expect(jb.stats()).toMatchObject({ lost: 0, late: 1, concealed: 1 });
  });

  it('counts network loss as expected minus received', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 20 });
    for (const s of [1, 2, 5, 6, 9]) jb.push(p(s));
    expect(jb.stats().lost).toBe(4); // 3, 4, 7, 8
  });

  it('plays across the 65535 -> 0 wrap, reordered', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 60 });
    for (const s of [65533, 65535, 65534, 1, 0, 2]) jb.push(p(s));
    expect(pops(jb, 6)).toEqual([65533, 65534, 65535, 0, 1, 2]);
    expect(jb.stats()).toMatchObject({ lost: 0, reordered: 2, duplicate: 0 });
  });

  it('conceals a few frames when the sender goes quiet, then rebuffers without counting the resumption late', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 40, maxConcealFrames: 3 });
    for (const s of [1, 2, 3]) jb.push(p(s));
    expect(pops(jb, 8)).toEqual([1, 2, 3, 'lost', 'lost', 'lost', null, null]);
    expect(jb.playing).toBe(false);
    for (const s of [4, 5]) expect(jb.push(p(s))).toBe('accepted');
    expect(pops(jb, 3)).toEqual([4, 5, 'lost']);
    expect(jb.stats()).toMatchObject({ late: 0, lost: 0 });
  });

  it('skips to the first buffered packet after a silence with a sequence gap', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 40, maxConcealFrames: 1 });
    for (const s of [1, 2]) jb.push(p(s));
    expect(pops(jb, 4)).toEqual([1, 2, 'lost', null]);
    for (const s of [10, 11]) jb.push(p(s));
    expect(pops(jb, 2)).toEqual([10, 11]);
  });

  it('bounds the buffered span by dropping the oldest packets', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 40, maxDepthMs: 100 });
    for (let s = 0; s < 12; s++) jb.push(p(s));
    expect(jb.size).toBe(5);
    expect(jb.stats().dropped).toBe(7);
    expect(pops(jb, 5)).toEqual([7, 8, 9, 10, 11]);
  });

  it('follows a new SSRC and a confirmed sequence jump without a reset, and ignores one stray packet', () => {
    const jb = new JitterBuffer<P>({ prefetchMs: 20 });
    jb.push(p(100, 1));
    expect(pops(jb, 1)).toEqual([100]);
    expect(jb.push(p(40000, 1))).toBe('held'); // implausible jump: held until confirmed
    expect(jb.push(p(101, 1))).toBe('accepted'); // ... and the stream goes on: the stray is dropped
    expect(pops(jb, 1)).toEqual([101]);
    expect(jb.push(p(50000, 1))).toBe('held');
    expect(jb.push(p(50001, 1))).toBe('accepted'); // confirmed: both play, right after 101
    expect(pops(jb, 2)).toEqual([50000, 50001]);
    expect(jb.push(p(7, 2))).toBe('held'); // new source
    expect(jb.push(p(8, 2))).toBe('accepted');
    expect(pops(jb, 2)).toEqual([7, 8]);
    expect(jb.stats()).toMatchObject({ resyncs: 2, resets: 0, dropped: 1, lost: 0, concealed: 0 });
  });

  it('holds real parsed RTP packets', () => {
    const jb = new JitterBuffer<RtpPacket>({ prefetchMs: 40 });
    for (const seq of [65535, 0]) {
      const pkt = parseRtp(serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 5, payload: new Uint8Array(160) }));
      if (pkt !== null) jb.push(pkt);
    }
    const a = jb.pop();
    const b = jb.pop();
    expect(a !== LOST && a !== null && a.sequenceNumber).toBe(65535);
    expect(b !== LOST && b !== null && b.sequenceNumber).toBe(0);
  });

  it('never throws on random and truncated datagrams parsed and pushed (property)', () => {
    const valid = (seq: number): Uint8Array =>
      serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 3, payload: new Uint8Array(160) });
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.nat(200)).map(([seq, cut]) => valid(seq).subarray(0, cut)),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(datagram, fc.boolean()), { maxLength: 200 }), (items) => {
        const jb = new JitterBuffer<RtpPacket>();
        for (const [buf, popAfter] of items) {
          const pkt = parseRtp(buf);
          if (pkt !== null) jb.push(pkt);
          if (popAfter) jb.pop();
        }
        expect(jb.size).toBeLessThanOrEqual(15);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, never grows past its depth and never plays a packet twice on random push/pop streams (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), seq: fc.integer({ min: 0, max: 0xffff }), ssrc: fc.integer({ min: 1, max: 2 }) }),
      fc.record({ kind: fc.constant('near' as const), delta: fc.integer({ min: -40, max: 40 }) }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const jb = new JitterBuffer<P>({ prefetchMs: 60, maxDepthMs: 200 });
        let cursor = 1000;
        const played = new Set<P>();
        for (const o of ops) {
          if (o.kind === 'push') {
            cursor = o.seq;
            jb.push(p(o.seq, o.ssrc));
          } else if (o.kind === 'near') {
            cursor = (cursor + o.delta) & 0xffff;
            jb.push(p(cursor, 1));
          } else {
            const r = jb.pop();
            if (r !== null && r !== LOST) {
              expect(played.has(r)).toBe(false);
              played.add(r);
            }
          }
          expect(jb.size).toBeLessThanOrEqual(10);
        }
        const st = jb.stats();
        expect(st.lost).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('PcmConcealer', () => {
  it('repeats the last good frame with a linear fade, then silence', () => {
    const plc = new PcmConcealer(2);
    plc.good(new Int16Array(4).fill(1000));
    const out = new Int16Array(4);
    expect([...plc.conceal(out)]).toEqual([1000, 875, 750, 625]);
    expect([...plc.conceal(out)]).toEqual([500, 375, 250, 125]);
    expect([...plc.conceal(out)]).toEqual([0, 0, 0, 0]);
    plc.good(Int16Array.from([100, -100, 100, -100]));
    expect([...plc.conceal(out)]).toEqual([100, -87, 75, -62]);
  });

  it('outputs silence before any good frame', () => {
    const plc = new PcmConcealer();
    expect([...plc.conceal(new Int16Array(3).fill(7))]).toEqual([0, 0, 0]);
  });
});
