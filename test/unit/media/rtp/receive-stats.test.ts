import { describe, expect, it } from 'vitest';
import { RtpReceiveStats } from '../../../../src/media/rtp/receive-stats.ts';
import { TxBuffers } from '../../../../src/media/rtp/tx-buffers.ts';

const pkt = (seq: number, ts: number, ssrc = 1) => ({ sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc });

describe('RtpReceiveStats', () => {
  it('counts loss across the sequence wrap from the extended highest sequence number', () => {
    const s = new RtpReceiveStats();
    for (const seq of [65530, 65531, 65533, 65535, 0, 3]) s.update(pkt(seq, seq * 160), 172, 0, 8000, true);
    expect(s.extendedHighest).toBe(65536 + 3);
    expect(s.lost).toBe(4); // 65532, 65534, 1, 2
    expect(s.packets).toBe(6);
    expect(s.bytes).toBe(6 * 172);
  });

  it('has zero jitter for perfectly paced packets and D/16 steps for a delayed one (RFC 3550 §A.8)', () => {
    const s = new RtpReceiveStats();
    for (let i = 0; i < 50; i++) s.update(pkt(i, i * 160), 172, 1000 + i * 20, 8000, true);
    expect(s.jitter).toBe(0);
    s.update(pkt(50, 50 * 160), 172, 1000 + 50 * 20 + 10, 8000, true); // 10 ms = 80 samples late
    expect(s.jitter).toBeCloseTo(80 / 16, 9);
    expect(s.jitterMs).toBeCloseTo(10 / 16, 9);
  });

  it('leaves jitter alone for untimed packets (telephone-events) and keeps loss per source', () => {
    const s = new RtpReceiveStats();
    s.update(pkt(1, 0), 16, 0, 8000, true);
    s.update(pkt(2, 0), 16, 500, 8000, false); // a DTMF update: same timestamp, much later
    expect(s.jitter).toBe(0);
    s.update(pkt(10, 0, 2), 16, 600, 8000, true); // new SSRC: fresh sequence space
    s.update(pkt(12, 320, 2), 16, 640, 8000, true);
    expect(s.ssrc).toBe(2);
    expect(s.lost).toBe(1);
  });

  it('treats one wild sequence number as noise and two in a row as a restarted sender', () => {
    const s = new RtpReceiveStats();
    s.update(pkt(100, 0), 16, 0, 8000, true);
    s.update(pkt(30000, 0), 16, 0, 8000, true);
    s.update(pkt(101, 160), 16, 20, 8000, true);
    expect(s.lost).toBe(0);
    s.update(pkt(40000, 0), 16, 0, 8000, true);
    s.update(pkt(40001, 160), 16, 20, 8000, true);
    expect(s.extendedHighest).toBe(40001);
    expect(s.lost).toBe(0);
  });
});

describe('RtpReceiveStats discontinuities (RFC 3550 §A.1)', () => {
  it('takes a restart a few hundred numbers back as a new sequence space once the next packet follows it', () => {
    const s = new RtpReceiveStats();
    for (let i = 0; i < 300; i++) s.update(pkt(1000 + i, i * 160), 172, i * 20, 8000, true);
    s.update(pkt(1000, 300 * 160), 172, 6000, 8000, true); // 299 back: beyond MAX_MISORDER, a jump
    expect(s.restarts).toBe(0);
    s.update(pkt(1001, 301 * 160), 172, 6020, 8000, true);
    expect(s.restarts).toBe(1);
    for (let i = 2; i < 100; i++) s.update(pkt(1000 + i, (300 + i) * 160), 172, 6000 + i * 20, 8000, true);
    expect(s.extendedHighest).toBe(1099);
    expect(s.lost).toBe(0); // the new space starts at the confirming packet (§A.1 init_seq)
  });

  it('counts packets up to MAX_MISORDER behind as received duplicates or reordered ones, not as a restart', () => {
    const s = new RtpReceiveStats();
    for (let i = 0; i < 200; i++) s.update(pkt(i, i * 160), 172, i * 20, 8000, true);
    s.update(pkt(150, 150 * 160), 172, 4000, 8000, true);
    s.update(pkt(151, 151 * 160), 172, 4000, 8000, true);
    expect(s.restarts).toBe(0);
    expect(s.extendedHighest).toBe(199);
    expect(s.lost).toBe(0);
  });

  it('counts a new SSRC as a restart and keeps the old source loss', () => {
    const s = new RtpReceiveStats();
    for (const seq of [1, 2, 4]) s.update(pkt(seq, seq * 160, 1), 172, seq * 20, 8000, true);
    s.update(pkt(500, 0, 2), 172, 100, 8000, true);
    expect(s).toMatchObject({ restarts: 1, lost: 1, ssrc: 2 });
  });

  it('does not let a timestamp jump into the jitter estimate, and goes on from the new timing', () => {
    const s = new RtpReceiveStats();
    for (let i = 0; i < 20; i++) s.update(pkt(i, i * 160), 172, i * 20, 8000, true);
    s.update(pkt(20, 0x7fff0000), 172, 400, 8000, true); // timestamps restarted somewhere else
    expect(s.timestampJumps).toBe(1);
    expect(s.jitter).toBe(0);
    s.update(pkt(21, 0x7fff0000 + 160), 172, 420, 8000, true);
    s.update(pkt(22, 0x7fff0000 + 320), 172, 450, 8000, true); // 10 ms late: real jitter is still measured
    expect(s.jitter).toBeCloseTo(80 / 16, 9);
  });
});

describe('TxBuffers', () => {
  it('reuses a ring buffer only after the send that used it completed', () => {
    const tx = new TxBuffers(2);
    const a = tx.acquire(100);
    tx.issued();
    const b = tx.acquire(100);
    tx.issued();
    expect(b).not.toBe(a);
    const c = tx.acquire(100); // slot of `a`, still in flight
    tx.issued();
    expect(c).not.toBe(a);
    expect(tx.fresh).toBe(1);
    tx.completed();
    tx.completed();
    tx.completed();
    expect(tx.inFlight).toBe(0);
    const d = tx.acquire(100);
    tx.issued();
    expect(d === a || d === b).toBe(true);
    expect(tx.acquire(4000).length).toBeGreaterThanOrEqual(4000);
  });
});
