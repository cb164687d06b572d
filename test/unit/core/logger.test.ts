import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { callLogger, createLogger } from '../../../src/core/logger.ts';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes JSON with the call id in context and content under its own keys', () => {
    const out = capture();
    const log = callLogger(createLogger({ level: 'info', redactContent: false }, out.stream), 'call-1');
    log.info({ transcript: 'my order is 4567', digits: '12#' }, 'turn');
    const [line] = out.lines();
    expect(line).toMatchObject({ callId: 'call-1', msg: 'turn', transcript: 'my order is 4567', digits: '12#' });
  });

  it('redacts transcripts, digits, tool arguments and secrets when asked', () => {
    const out = capture();
    const log = createLogger({ level: 'info', redactContent: true }, out.stream);
    log.info({ transcript: 'secret words', digits: '1234', toolArgs: { card: 'card-4111' }, provider: { apiKey: 'sk-x' } }, 'turn');
    const [line] = out.lines();
    expect(line).toMatchObject({ transcript: '[redacted]', digits: '[redacted]', toolArgs: '[redacted]' });
    expect((line?.provider as Record<string, unknown>).apiKey).toBe('[redacted]');
    expect(JSON.stringify(line)).not.toContain('card-4111');
    log.info({ call: { tool: { toolArgs: { card: 'card-4222' }, apiKey: 'sk-deep' } } }, 'nested');
    const nested = JSON.stringify(out.lines()[1]);
    expect(nested).not.toContain('card-4222');
    expect(nested).not.toContain('sk-deep');
  });
});
