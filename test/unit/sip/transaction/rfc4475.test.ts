import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import { harness, source, T1 } from './support.ts';
import { RFC4475_DIR } from '../../../support/fixture-paths.ts';

const DIR = RFC4475_DIR;
const files = readdirSync(DIR).filter((f) => f.endsWith('.dat')).sort();

/** Every RFC 4475 torture message that parses, delivered to the transaction layer with a TU that answers. */
describe('RFC 4475 torture messages through the transaction layer', () => {
  it('has the fixtures', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(files)('%s: matched or answered without an exception, and nothing left running after the timers', (file) => {
    const h = harness();
    h.user.onRequestHook = (tx, req) => {
      tx.respond(createResponse(req, req.method === 'INVITE' ? 486 : 200, undefined, { toTag: 'uas' }));
    };
    const outcome = parseMessage(readFileSync(join(DIR, file)));
    if (!outcome.ok) {
      expect(outcome.error.code).toMatch(/^CR_SIP_/);
      return;
    }
    h.transport.deliver(outcome.message, source());
    // Retransmission: absorbed, never a second request to the TU.
    h.transport.deliver(outcome.message, source());
    expect(h.user.of('request').length).toBeLessThanOrEqual(1);
    expect(h.layer.stats.userErrors).toBe(0);
    h.clock.advance(64 * T1 + 10_000);
    expect(h.layer.size).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('answers insuf and multi01 with 400 statelessly (RFC 4475 §3.3.1, §3.3.9)', () => {
    for (const [file, reason] of [
      ['insuf.dat', /Missing/],
      ['multi01.dat', /Multiple/],
    ] as const) {
      const h = harness();
      const outcome = parseMessage(readFileSync(join(DIR, file)));
      if (!outcome.ok) throw new Error(`${file} should parse`);
      h.transport.deliver(outcome.message, source());
      expect(h.transport.sent.map((s) => s.message.status)).toEqual([400]);
      expect(h.transport.sent[0]!.message.reason).toMatch(reason);
      expect(h.user.of('request')).toHaveLength(0);
    }
  });

  it('matches the retransmission of badbranch (a bare magic cookie) with the RFC 2543 rules (§3.2.1)', () => {
    const h = harness();
    const bytes = readFileSync(join(DIR, 'badbranch.dat'));
    const first = parseMessage(bytes);
    const again = parseMessage(bytes);
    if (!first.ok || !again.ok) throw new Error('badbranch should parse');
    expect(first.message.topVia?.hasRfc3261Branch).toBe(false);
    h.transport.deliver(first.message, source());
    h.transport.deliver(again.message, source());
    expect(h.user.of('request')).toHaveLength(1);
  });
});
