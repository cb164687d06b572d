import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MessageRate } from '../../../../src/transports/ws/message-rate.ts';
import { PcmFramer } from '../../../../src/transports/ws/pcm-framer.ts';
import { parseClientMessage } from '../../../../src/transports/ws/protocol.ts';
import { ClientToolPort } from '../../../../src/transports/ws/client-tool-port.ts';
import type { ServerMessage } from '../../../../src/transports/ws/protocol.ts';
import type { AudioFrame } from '../../../../src/core/audio-frame.ts';

const text = (s: string) => Buffer.from(s, 'utf8');
const parse = (v: unknown) => parseClientMessage(text(typeof v === 'string' ? v : JSON.stringify(v)));

describe('parseClientMessage', () => {
  it('reads the client messages', () => {
    expect(parse({ type: 'hang_up' })).toEqual({ ok: true, message: { type: 'hang_up' } });
    expect(parse({ type: 'ping', timestamp: 12.5 })).toEqual({ ok: true, message: { type: 'ping', timestamp: 12.5 } });
    expect(parse({ type: 'ping' })).toEqual({ ok: true, message: { type: 'ping' } });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', result: 'x' })).toEqual({
      ok: true,
      message: { type: 'client_tool_result', response: { invocationId: 'a', result: 'x' }, responseType: 'tool-response' },
    });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', result: { n: 1 }, responseType: 'hang-up' })).toEqual({
      ok: true,
      message: { type: 'client_tool_result', response: { invocationId: 'a', result: '{"n":1}' }, responseType: 'hang-up' },
    });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', errorType: 'implementation-error', errorMessage: 'boom' })).toEqual({
      ok: true,
      message: {
        type: 'client_tool_result',
        response: { invocationId: 'a', errorType: 'implementation-error', errorMessage: 'boom' },
        responseType: 'tool-response',
      },
    });
  });

  it('answers bad input with a code, never a throw', () => {
    expect(parse('{"type":')).toMatchObject({ ok: false, code: 'malformed_message' });
    expect(parse('[1,2]')).toMatchObject({ ok: false, code: 'malformed_message' });
    expect(parse({ kind: 'x' })).toMatchObject({ ok: false, code: 'malformed_message' });
    expect(parseClientMessage(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ ok: false, code: 'malformed_message' });
    expect(parse({ type: 'dance' })).toMatchObject({ ok: false, code: 'unknown_message_type' });
    expect(parse({ type: 'client_tool_result', result: 'x' })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(parse({ type: 'client_tool_result', invocationId: 'a' })).toMatchObject({ ok: false, code: 'invalid_message', invocationId: 'a' });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', result: 'x', errorType: 'undefined' })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', errorType: 'oops' })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(parse({ type: 'client_tool_result', invocationId: 'a', result: 'x', responseType: 'new-stage' })).toMatchObject({ ok: false, code: 'invalid_message' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseClientMessage(bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(typeof parse(v).ok).toBe('boolean');
      }),
    );
  });
});

describe('PcmFramer', () => {
  it('gives the same 20 ms frames however the bytes are split, odd offsets included', () => {
    const rate = 8000;
    const samples = Int16Array.from({ length: 160 * 3 + 37 }, (_, i) => ((i * 977) % 65536) - 32768);
    const bytes = new Uint8Array(samples.buffer.slice(0));
    const reference: number[] = Array.from(samples.subarray(0, 160 * 3));
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const second of [cut, Math.min(bytes.length, cut + 1), Math.min(bytes.length, cut + 161)]) {
        const frames: AudioFrame[] = [];
        const framer = new PcmFramer(rate, (f) => frames.push(f));
        // Copies into fresh buffers at an odd offset, as the network would hand them over.
        for (const part of [bytes.subarray(0, cut), bytes.subarray(cut, second), bytes.subarray(second)]) {
          const shifted = new Uint8Array(part.length + 1);
          shifted.set(part, 1);
          framer.push(shifted.subarray(1));
        }
        expect(frames.map((f) => f.samples.length)).toEqual([160, 160, 160]);
        expect(frames.flatMap((f) => Array.from(f.samples))).toEqual(reference);
        expect(frames.map((f) => f.timestamp)).toEqual([0, 20, 40]);
      }
    }
  });
});

describe('MessageRate', () => {
  it('allows a burst of one second, then the rate', () => {
    let now = 0;
    const rate = new MessageRate(10, () => now);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (rate.take()) ok++;
    expect(ok).toBe(10);
    expect(rate.dropped).toBe(10);
    now += 500;
    ok = 0;
    for (let i = 0; i < 20; i++) if (rate.take()) ok++;
    expect(ok).toBe(5);
  });
});

describe('ClientToolPort', () => {
  it('matches results, reports unknown and late ids, and answers pending ones on disconnect', () => {
    const out: ServerMessage[] = [];
    const errors: Array<{ code: string; invocationId: string }> = [];
    const port = new ClientToolPort({ send: (m) => (out.push(m), true), error: (code, _m, e) => errors.push({ code, invocationId: e.invocationId }) });
    const got: string[] = [];
    port.onResponse((r) => got.push(r.invocationId));
    let disconnected = 0;
    port.onDisconnect(() => disconnected++);
    port.send({ invocationId: 'i1', toolName: 't', parameters: { a: 1 } });
    port.send({ invocationId: 'i2', toolName: 't', parameters: {} });
    expect(out[0]).toEqual({ type: 'client_tool_invocation', invocationId: 'i1', toolName: 't', parameters: { a: 1 } });
    expect(port.receive({ invocationId: 'i1', result: 'ok' })).toBe(true);
    expect(port.receive({ invocationId: 'i1', result: 'again' })).toBe(false);
    expect(port.receive({ invocationId: 'nope', result: 'x' })).toBe(false);
    port.cancel('i2', 'timeout');
    expect(port.receive({ invocationId: 'i2', result: 'late' })).toBe(false);
    expect(got).toEqual(['i1']);
    expect(errors).toEqual([
      { code: 'invocation_not_pending', invocationId: 'i1' },
      { code: 'unknown_invocation', invocationId: 'nope' },
      { code: 'client_tool_cancelled', invocationId: 'i2' },
      { code: 'invocation_not_pending', invocationId: 'i2' },
    ]);
    port.send({ invocationId: 'i3', toolName: 't', parameters: {} });
    expect(port.outstanding).toBe(1);
    expect(port.disconnect()).toBe(1);
    expect(disconnected).toBe(1);
    expect(port.connected).toBe(false);
    expect(() => port.send({ invocationId: 'i4', toolName: 't', parameters: {} })).toThrow(/not connected/);
  });
});
