import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  StreamFramer, createResponse, parseMessage, type FramerEvent, type SipParseOptions,
} from '../../../../src/sip/message/index.ts';
import { ALL, torture } from './torture.ts';

/** Byte-level mutations of a torture message. */
type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; len: number };

const SPECIAL = ['\r\n', '\r\n\r\n', '\r\n ', ' ', ',', ';', '"', '\\', '<', '>', ':', '%', '%0', '@', '[', '\r', '\n', '\0', '\u00ff', 'é',
  'Content-Length: 99999\r\n', 'l: -1\r\n', 'Via: SIP/2.0/UDP [::1]:99999\r\n', 'To: "\r\n', 'Contact: *\r\n'].map((s) => new Uint8Array(Buffer.from(s)));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...SPECIAL)) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 400 }) }),
);

function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = input;
  for (const m of mutations) {
    const at = m.at % (buf.length + 1);
    switch (m.kind) {
      case 'flip':
        if (buf.length > 0) {
          buf = Buffer.from(buf);
          buf[at % buf.length] = m.byte;
        }
        break;
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
      case 'duplicate':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + m.len), buf.subarray(at)]);
        break;
    }
  }
  return buf;
}

const sample = fc.tuple(fc.constantFrom(...ALL), fc.array(mutation, { minLength: 1, maxLength: 6 }));
const SMALL: SipParseOptions = { maxMessageSize: 1200, maxHeaderCount: 24, maxLineLength: 300 };

function checkParse(bytes: Buffer, options: SipParseOptions | undefined): void {
  const limits = { maxMessageSize: 65535, maxHeaderCount: 256, maxLineLength: 8192, ...options };
  const r = parseMessage(bytes, options);
  if (!r.ok) {
    expect(r.error.code).not.toBe('CR_SIP_INTERNAL');
    if (r.error.canRespond) {
      expect(r.error.message).toBeDefined();
      const res = createResponse(r.error.message!, r.error.status!, r.error.reason, { toTag: 'fz' });
      expect(parseMessage(res.toBuffer(), { validate: false }).ok).toBe(true);
    }
    return;
  }
  const m = r.message;
  expect(bytes.length).toBeLessThanOrEqual(limits.maxMessageSize);
  expect(m.headers.length).toBeLessThanOrEqual(limits.maxHeaderCount);
  for (const h of m.headers) expect(h.value.length).toBeLessThanOrEqual(limits.maxLineLength);
  // What was accepted serialises to something that parses back to the same message.
  const again = parseMessage(m.toBuffer());
  expect(again.ok).toBe(true);
  if (again.ok) {
    expect(again.message.startLine()).toBe(m.startLine());
    expect(again.message.headers.filter((h) => h.key !== 'content-length')).toEqual(m.headers.filter((h) => h.key !== 'content-length'));
    expect(Buffer.from(again.message.body).equals(Buffer.from(m.body))).toBe(true);
  }
  // Lazy structured getters never throw either.
  void [m.uri, m.vias, m.from, m.to, m.callId, m.cseq, m.contacts, m.routes, m.recordRoutes, m.contentType, m.parsed('accept'), m.parsed('expires')];
}

function events(chunks: readonly Uint8Array[], options: SipParseOptions | undefined): string[] {
  const framer = new StreamFramer(options);
  const max = options?.maxMessageSize ?? 65535;
  const out: string[] = [];
  for (const c of chunks) {
    for (const e of framer.push(c)) out.push(describeEvent(e));
    expect(framer.bufferedBytes).toBeLessThanOrEqual(max + 1);
  }
  return out;
}

function describeEvent(e: FramerEvent): string {
  if (e.type === 'message') return `m:${e.message.toBuffer().toString('latin1')}`;
  if (e.type === 'keepalive') return `k:${e.kind}`;
  expect(e.error.code).not.toBe('CR_SIP_INTERNAL');
  return `${e.type}:${e.error.code}:${e.error.status}:${e.error.canRespond}`;
}

describe('fuzz: mutated RFC 4475 messages', () => {
  it('parseMessage never throws, respects the limits and round-trips what it accepts', () => {
    fc.assert(
      fc.property(sample, fc.boolean(), ([name, muts], small) => {
        checkParse(mutate(torture(name), muts), small ? SMALL : undefined);
      }),
      { seed: 4475, numRuns: 3000 },
    );
  });

  it('StreamFramer never throws, stays bounded and frames the same however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (samples, cuts, small) => {
        const stream = Buffer.concat(samples.map(([name, muts]) => mutate(torture(name), muts)));
        const options = small ? SMALL : undefined;
        const whole = events([stream], options);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        expect(events(chunks, options)).toEqual(whole);
      }),
      { seed: 5626, numRuns: 800 },
    );
  });

  it('random bytes never make either throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        checkParse(Buffer.from(bytes), undefined);
        events([bytes], SMALL);
      }),
      { seed: 3261, numRuns: 1000 },
    );
  });
});
