import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tokenSecret } from '../../../src/api/token-secret.ts';
import { createLogger } from '../../../src/core/logger.ts';

function logger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', redactContent: false }, sink) };
}

describe('tokenSecret', () => {
  it('uses http.tokenSecret silently when set', () => {
    const l = logger();
    expect(tokenSecret({ tokenSecret: 'x'.repeat(32) }, l.logger)).toBe('x'.repeat(32));
    expect(l.lines).toEqual([]);
  });

  it('makes a fresh random 32-byte key when absent, and says tokens do not survive a restart', () => {
    const l = logger();
    const a = tokenSecret({}, l.logger);
    const b = tokenSecret({}, l.logger);
    expect(a).toHaveLength(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(l.lines).toHaveLength(2);
    expect(JSON.parse(l.lines[0] as string)).toMatchObject({ level: 40, msg: expect.stringContaining('refused after it') });
  });
});
