import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildTelephoneEvent,
  DtmfReceiver,
  DtmfSender,
  parseTelephoneEvent,
  type DtmfEvent,
  type DtmfPacketOut,
} from '../../../../src/media/rtp/dtmf-4733.ts';

function ev(event: number, end: boolean, duration: number, volume = 10): Uint8Array {
  return buildTelephoneEvent({ event, end, volume, duration });
}

function collect(): { events: DtmfEvent[]; rx: DtmfReceiver } {
  const events: DtmfEvent[] = [];
  return { events, rx: new DtmfReceiver({ onEvent: (e) => events.push(e) }) };
}

describe('telephone-event payload', () => {
  it('encodes the RFC 4733 layout: event, E|R|volume, 16-bit duration', () => {
    expect([...ev(5, true, 800, 10)]).toEqual([0x05, 0x8a, 0x03, 0x20]);
    expect([...ev(11, false, 0xffff, 63)]).toEqual([0x0b, 0x3f, 0xff, 0xff]);
  });

  it('parses what it builds and rejects short payloads', () => {
    expect(parseTelephoneEvent(ev(10, true, 1234, 7))).toEqual({ event: 10, end: true, volume: 7, duration: 1234 });
    expect(parseTelephoneEvent(Uint8Array.from([1, 2, 3]))).toBeNull();
    // the R bit is ignored on receive
    expect(parseTelephoneEvent(Uint8Array.from([1, 0x40 | 5, 0, 160]))?.volume).toBe(5);
  });

  it('rejects unencodable fields', () => {
    expect(() => ev(256, false, 0)).toThrow(RangeError);
    expect(() => ev(1, false, 0x10000)).toThrow(RangeError);
    expect(() => ev(1, false, 0, 64)).toThrow(RangeError);
  });

  it('never throws on random payloads, in the parser or the receiver (property)', () => {
    const { rx } = collect();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat(), fc.boolean(), (payload, timestamp, marker) => {
        parseTelephoneEvent(payload);
        rx.receive({ payload, timestamp: timestamp >>> 0, marker }, 0);
        rx.expire(10_000);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('DtmfReceiver', () => {
  it('reports one start and one end for a full event with three redundant ends', () => {
    const { events, rx } = collect();
    const ts = 16000;
    rx.receive({ marker: true, timestamp: ts, payload: ev(1, false, 160) });
    rx.receive({ marker: false, timestamp: ts, payload: ev(1, false, 320) });
    rx.receive({ marker: false, timestamp: ts, payload: ev(1, false, 480) });
    for (let i = 0; i < 3; i++) rx.receive({ marker: false, timestamp: ts, payload: ev(1, true, 800) });
    expect(events).toEqual([
      { type: 'digit-start', digit: '1', timestamp: ts },
      { type: 'digit-end', digit: '1', timestamp: ts, durationMs: 100 },
    ]);
  });

  it('starts on an update or an end when the marker packet was lost', () => {
    const { events, rx } = collect();
    rx.receive({ marker: false, timestamp: 100, payload: ev(11, false, 480) });
    rx.receive({ marker: false, timestamp: 100, payload: ev(11, true, 640) });
    rx.receive({ marker: false, timestamp: 100, payload: ev(11, true, 640) });
    // only end packets survive for the next key
    rx.receive({ marker: false, timestamp: 2000, payload: ev(12, true, 800) });
    rx.receive({ marker: false, timestamp: 2000, payload: ev(12, true, 800) });
    expect(events.map((e) => `${e.type}:${e.digit}`)).toEqual([
      'digit-start:#',
      'digit-end:#',
      'digit-start:A',
      'digit-end:A',
    ]);
    expect(events[3]).toMatchObject({ durationMs: 100 });
  });

  it('ends an event whose ends were lost when the next event (new timestamp) arrives', () => {
    const { events, rx } = collect();
    rx.receive({ marker: true, timestamp: 0, payload: ev(2, false, 160) });
    rx.receive({ marker: false, timestamp: 0, payload: ev(2, false, 400) });
    rx.receive({ marker: true, timestamp: 1600, payload: ev(2, false, 160) }); // same digit pressed again
    rx.receive({ marker: false, timestamp: 0, payload: ev(2, true, 800) }); // straggling end of the first press
    rx.receive({ marker: false, timestamp: 1600, payload: ev(2, true, 480) });
    expect(events).toEqual([
      { type: 'digit-start', digit: '2', timestamp: 0 },
      { type: 'digit-end', digit: '2', timestamp: 0, durationMs: 50 },
      { type: 'digit-start', digit: '2', timestamp: 1600 },
      { type: 'digit-end', digit: '2', timestamp: 1600, durationMs: 60 },
    ]);
  });

  it('ends an event that never got an end packet after the timeout', () => {
    const events: DtmfEvent[] = [];
    const rx = new DtmfReceiver({ onEvent: (e) => events.push(e), endTimeoutMs: 500 });
    rx.receive({ marker: true, timestamp: 0, payload: ev(9, false, 160) }, 1000);
    rx.receive({ marker: false, timestamp: 0, payload: ev(9, false, 320) }, 1040);
    rx.expire(1500);
    expect(events).toHaveLength(1);
    rx.expire(1540);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ type: 'digit-end', digit: '9', durationMs: 40 });
    rx.expire(5000);
    rx.receive({ marker: false, timestamp: 0, payload: ev(9, true, 320) }, 5000); // late end: already reported
    expect(events).toHaveLength(2);
  });

  it('joins the segments of an event longer than the 16-bit duration (RFC 4733 §2.5.1.3)', () => {
    const { events, rx } = collect();
    rx.receive({ marker: true, timestamp: 1000, payload: ev(0, false, 160) });
    rx.receive({ marker: false, timestamp: 1000, payload: ev(0, false, 0xffff) });
    rx.receive({ marker: false, timestamp: 1000 + 0xffff, payload: ev(0, false, 800) });
    rx.receive({ marker: false, timestamp: 1000 + 0xffff, payload: ev(0, true, 1600) });
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ type: 'digit-end', digit: '0', timestamp: 1000 + 0xffff });
    expect((events[1] as { durationMs: number }).durationMs).toBeCloseTo(((0xffff + 1600) * 1000) / 8000, 6);
  });

  it('ignores non-DTMF events and handles the timestamp wrap', () => {
    const { events, rx } = collect();
    rx.receive({ marker: true, timestamp: 0xffffff00, payload: ev(32, false, 160) }); // fax tone: not a digit
    rx.receive({ marker: true, timestamp: 0xffffff00, payload: ev(3, true, 160) });
    rx.receive({ marker: true, timestamp: 0x00000100, payload: ev(4, true, 160) }); // after the wrap: newer
    rx.receive({ marker: false, timestamp: 0xffffff00, payload: ev(3, true, 160) }); // older: ignored
    expect(events.map((e) => `${e.type}:${e.digit}`)).toEqual([
      'digit-start:3',
      'digit-end:3',
      'digit-start:4',
      'digit-end:4',
    ]);
  });
});

function drive(sender: DtmfSender, ticks: number, tsStart = 0, spp = 160): Array<DtmfPacketOut | null> {
  const out: Array<DtmfPacketOut | null> = [];
  for (let i = 0; i < ticks; i++) out.push(sender.tick((tsStart + i * spp) >>> 0));
  return out;
}

describe('DtmfSender', () => {
  it('sends marker, 20 ms updates with growing duration, then three ends with the final duration', () => {
    const s = new DtmfSender({ packetMs: 20, updateIntervalMs: 20 });
    s.enqueue('5', 100);
    const pkts = drive(s, 8, 4000);
    const sent = pkts.filter((p): p is DtmfPacketOut => p !== null);
    expect(sent).toHaveLength(7);
    expect(pkts[7]).toBeNull();
    expect(sent.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(sent.every((p) => p.timestamp === 4000)).toBe(true);
    const parsed = sent.map((p) => parseTelephoneEvent(p.payload));
    expect(parsed.map((p) => p?.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(parsed.map((p) => p?.end)).toEqual([false, false, false, false, true, true, true]);
    expect(parsed.every((p) => p?.event === 5 && p.volume === 10)).toBe(true);
  });

  it('spaces updates by the configured interval (50 ms) while holding audio', () => {
    const s = new DtmfSender({ packetMs: 20, updateIntervalMs: 50 });
    s.enqueue('#', 200);
    const holds: boolean[] = [];
    const pkts: Array<DtmfPacketOut | null> = [];
    for (let i = 0; i < 14; i++) {
      pkts.push(s.tick(i * 160));
      holds.push(s.holdsAudio);
    }
    const durations = pkts.map((p) => (p === null ? null : parseTelephoneEvent(p.payload)?.duration));
    // t=0 first; updates at 60, 100, 160 ms (first slot at or after each 50 ms step); ends from t=180 (covers 200).
    expect(durations).toEqual([160, null, null, 640, null, 960, null, null, 1440, 1600, 1600, 1600, null, null]);
    expect(holds.slice(0, 11).every(Boolean)).toBe(true);
    expect(holds[11]).toBe(false);
  });

  it('separates queued digits by the inter-digit gap with a new timestamp each', () => {
    const s = new DtmfSender({ packetMs: 20, updateIntervalMs: 20, interDigitGapMs: 60 });
    s.enqueue('12', 40);
    const pkts = drive(s, 12);
    const starts = pkts.flatMap((p, i) => (p?.marker ? [i] : []));
    // digit 1: start at slot 0, ends at slots 1-3; 60 ms gap = slots 4-6; digit 2 starts at slot 7, ends 8-10
    expect(starts).toEqual([0, 7]);
    expect(pkts[7]?.timestamp).toBe(7 * 160);
    expect(parseTelephoneEvent((pkts[7] as DtmfPacketOut).payload)?.event).toBe(2);
    expect(pkts.filter((p) => p !== null)).toHaveLength(8);
    expect(s.pending).toBe(0);
  });

  // RFC 4733 §2.3.2, §2.5.1.2: the first packet of an event carries the marker even when it is already an end packet.
  it.each([
    { ptime: 20, durationMs: 20, samples: 160 },
    { ptime: 20, durationMs: 10, samples: 160 }, // clamped up to one packet
    { ptime: 60, durationMs: 60, samples: 480 },
    { ptime: 60, durationMs: 50, samples: 480 }, // clamped up to one packet
  ])('marks the first packet of a one-packet digit (ptime $ptime, $durationMs ms)', ({ ptime, durationMs, samples }) => {
    const spp = ptime * 8;
    const s = new DtmfSender({ packetMs: ptime, interDigitGapMs: 0 });
    s.enqueue('59', durationMs);
    const pkts = drive(s, 8, 1000, spp);
    const sent = pkts.filter((p): p is DtmfPacketOut => p !== null);
    expect(sent).toHaveLength(6);
    expect(sent.map((p) => p.marker)).toEqual([true, false, false, true, false, false]);
    expect(sent.map((p) => p.timestamp)).toEqual([1000, 1000, 1000, 1000 + 3 * spp, 1000 + 3 * spp, 1000 + 3 * spp]);
    const parsed = sent.map((p) => parseTelephoneEvent(p.payload));
    expect(parsed.every((p) => p?.end === true && p.duration === samples)).toBe(true);
    expect(parsed.map((p) => p?.event)).toEqual([5, 5, 5, 9, 9, 9]);
    // and a receiver reports each as one press of one packet's length
    const { events, rx } = collect();
    for (const p of sent) rx.receive(p);
    expect(events.map((e) => `${e.type}:${e.digit}`)).toEqual(['digit-start:5', 'digit-end:5', 'digit-start:9', 'digit-end:9']);
    expect(events.filter((e) => e.type === 'digit-end').map((e) => e.type === 'digit-end' && e.durationMs)).toEqual([ptime, ptime]);
  });

  it('rejects a non-digit without queuing anything', () => {
    const s = new DtmfSender({ packetMs: 20 });
    expect(() => s.enqueue('12x')).toThrow(RangeError);
    expect(s.pending).toBe(0);
    s.enqueue('abcd*#'); // lower-case A-D accepted
    expect(s.pending).toBe(6);
  });

  it('is understood by the receiver: one start and end per digit, durations kept', () => {
    const s = new DtmfSender({ packetMs: 20, updateIntervalMs: 50 });
    s.enqueue('0123456789*#ABCD', 120);
    const { events, rx } = collect();
    for (let i = 0; i < 400; i++) {
      const p = s.tick(i * 160);
      if (p !== null) rx.receive(p);
    }
    const ends = events.filter((e) => e.type === 'digit-end');
    expect(ends.map((e) => e.digit).join('')).toBe('0123456789*#ABCD');
    expect(ends.every((e) => e.type === 'digit-end' && e.durationMs === 120)).toBe(true);
    expect(events).toHaveLength(32);
  });
});
