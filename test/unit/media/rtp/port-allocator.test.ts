import { describe, expect, it } from 'vitest';
import { isCallroomError } from '../../../../src/core/errors.ts';
import { PortAllocator, PortsExhaustedError } from '../../../../src/media/rtp/port-allocator.ts';

describe('PortAllocator', () => {
  it('hands out each even port of the range once, then fails with a stable code', () => {
    const a = new PortAllocator({ min: 20001, max: 20011 }); // rounds to 20002..20010
    expect(a.capacity).toBe(5);
    const got = Array.from({ length: 5 }, () => a.allocate());
    expect([...got].sort()).toEqual([20002, 20004, 20006, 20008, 20010]);
    expect(a.available).toBe(0);
    let err: unknown;
    try {
      a.allocate();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortsExhaustedError);
    expect(isCallroomError(err) && err.code).toBe('CR_RTP_PORTS_EXHAUSTED');
    expect(isCallroomError(err) && err.retryable).toBe(true);
  });

  it('reuses a released port only after the others (round robin), and never twice at once', () => {
    const a = new PortAllocator({ min: 30000, max: 30006 });
    const p1 = a.allocate();
    const p2 = a.allocate();
    expect(a.release(p1)).toBe(true);
    expect(a.release(p1)).toBe(false); // double release ignored
    expect(a.allocate()).toBe(30004);
    expect(a.allocate()).toBe(30006);
    expect(a.allocate()).toBe(p1); // wrapped round to the released one
    expect(a.isAllocated(p2)).toBe(true);
    expect(() => a.allocate()).toThrow(PortsExhaustedError);
    a.release(p2);
    expect(a.allocate()).toBe(p2);
  });

  it('ignores releases of ports it does not own', () => {
    const a = new PortAllocator({ min: 40000, max: 40010 });
    expect(a.release(40001)).toBe(false);
    expect(a.release(39998)).toBe(false);
    expect(a.release(40002)).toBe(false);
    expect(a.inUse).toBe(0);
  });

  it('rejects an empty or out-of-range range', () => {
    expect(() => new PortAllocator({ min: 40000, max: 39998 })).toThrow(RangeError);
    expect(() => new PortAllocator({ min: 80, max: 1000 })).toThrow(RangeError);
    expect(() => new PortAllocator({ min: 65000, max: 70000 })).toThrow(RangeError);
    expect(new PortAllocator({ min: 40001, max: 40002 }).capacity).toBe(1);
  });
});
