import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, zodToJsonSchema } from '../../../src/room/define-tool.ts';
import { createToolContext, type ToolContext } from '../../../src/room/tool.ts';
import { estimateTokens, truncateToolResult } from '../../../src/room/truncate.ts';
import { ArgValidator } from '../../../src/room/validate-args.ts';

describe('defineTool', () => {
  it('offers the zod schema as JSON Schema without $schema', () => {
    const tool = defineTool({
      name: 'order',
      description: 'place an order',
      parameters: z.object({ item: z.string().describe('what'), qty: z.number().int().default(1) }),
      run: () => 'ok',
    });
    expect(tool.definition).toEqual({
      name: 'order',
      description: 'place an order',
      parameters: {
        type: 'object',
        properties: {
          item: { type: 'string', description: 'what' },
          qty: { type: 'integer', default: 1, minimum: -9007199254740991, maximum: 9007199254740991 },
        },
        required: ['item'],
      },
    });
  });

  it('runs with parsed args (defaults applied) and a context carrying call id, room, signal and logger', async () => {
    let seen: { args: unknown; ctx: ToolContext } | undefined;
    const tool = defineTool({
      name: 'order',
      description: 'x',
      parameters: z.object({ item: z.string(), qty: z.number().default(1) }),
      run: (args, ctx) => {
        seen = { args, ctx };
        return { placed: args.item };
      },
    });
    const controller = new AbortController();
    const ctx = createToolContext({ callId: 'call_9', roomId: 'room_1', signal: controller.signal });
    expect(await tool.handler('order', { item: 'tea' }, ctx)).toBe('{"placed":"tea"}');
    expect(seen?.args).toEqual({ item: 'tea', qty: 1 });
    expect(seen?.ctx.callId).toBe('call_9');
    expect(seen?.ctx.roomId).toBe('room_1');
    expect(seen?.ctx.signal).toBe(controller.signal);
    expect(typeof seen?.ctx.logger.info).toBe('function');
  });

  it('answers unknown-tool for other names and a structured error for bad args', async () => {
    const tool = defineTool({ name: 'a', description: 'x', parameters: z.object({ n: z.number() }), run: () => undefined });
    const ctx = createToolContext();
    expect(await tool.handler('b', { n: 1 }, ctx)).toBe('{"error":"Unknown tool: b"}');
    expect(await tool.handler('a', { n: 1 }, ctx)).toBe('{"ok":true}');
    const bad = JSON.parse(await tool.handler('a', { n: 'x' }, ctx)) as { error: string; issues: Array<{ path: string }> };
    expect(bad.error).toBe('Invalid arguments for tool a');
    expect(bad.issues[0]?.path).toBe('/n');
  });

  it('passes interruptible and timeout through', () => {
    const tool = defineTool({ name: 'a', description: 'x', parameters: z.object({}), interruptible: false, timeoutMs: 10, run: () => 'x' });
    expect(tool.interruptible).toBe(false);
    expect(tool.timeoutMs).toBe(10);
  });
});

describe('ArgValidator', () => {
  const validator = new ArgValidator();
  const schema = zodToJsonSchema(z.object({ city: z.string(), unit: z.enum(['c', 'f']).optional() }));

  it('accepts valid arguments and empty text as {}', () => {
    expect(validator.parse('{"city":"Oslo","unit":"c"}', schema)).toEqual({ ok: true, args: { city: 'Oslo', unit: 'c' } });
    expect(validator.parse('', { type: 'object' })).toEqual({ ok: true, args: {} });
  });

  it('reports missing, mistyped and out-of-enum values with paths', () => {
    const r = validator.parse('{"unit":"k"}', schema);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { path: '', message: "must have required property 'city'" },
        { path: '/unit', message: 'must be equal to one of the allowed values: ["c","f"]' },
      ]),
    );
  });

  it('names an unexpected property', () => {
    const strict = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
    expect(validator.parse('{"a":"x","b":1}', strict)).toEqual({ ok: false, issues: [{ path: '', message: "must NOT have additional properties: 'b'" }] });
  });

  it('rejects non-objects and bad JSON', () => {
    expect(validator.parse('[1,2]', schema)).toMatchObject({ ok: false, issues: [{ message: 'arguments must be a JSON object' }] });
    expect(validator.parse('{"city":', schema)).toMatchObject({ ok: false });
  });

  it('reports a schema that does not compile (never passes the arguments unchecked), and tolerates another $schema draft', () => {
    const broken = validator.parse('{"a":1}', { type: 'not-a-type' });
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.schemaError).toMatch(/type/);
    const dangling = validator.parse('{"a":123}', { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } });
    expect(!dangling.ok && dangling.schemaError).toMatch(/can't resolve reference/);
    // The failure is remembered per schema, and does not poison valid schemas.
    expect(validator.parse('{"a":1}', { type: 'not-a-type' })).toEqual(broken);
    expect(validator.parse('{"a":1}', { type: 'object' })).toEqual({ ok: true, args: { a: 1 } });
    const draft7 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['a'] };
    expect(validator.parse('{}', draft7).ok).toBe(false);
  });
});

describe('truncateToolResult', () => {
  it('leaves results under the cap untouched', () => {
    expect(truncateToolResult('short', 10)).toEqual({ text: 'short', truncated: false, omittedChars: 0 });
  });

  it('keeps the head and appends a visible marker (default cap ~30K tokens)', () => {
    const text = 'y'.repeat(130_000);
    const r = truncateToolResult(text);
    expect(r.truncated).toBe(true);
    expect(r.omittedChars).toBe(10_000);
    expect(r.text.startsWith('y'.repeat(120_000))).toBe(true);
    expect(r.text.endsWith('[TRUNCATED: tool result exceeded ~30000 tokens; 10000 of 130000 characters (~2500 tokens) omitted]')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const r = truncateToolResult(`abc${'😀'.repeat(10)}`, 1);
    expect(r.text.startsWith('abc\n')).toBe(true);
    expect(estimateTokens('12345678')).toBe(2);
  });
});
