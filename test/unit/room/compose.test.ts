import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { composeToolHandlers } from '../../../src/room/compose.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import { createToolContext, isUnknownToolResult, unknownToolResult, type ToolHandler } from '../../../src/room/tool.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';

const ctx = createToolContext();

function named(label: string, handles: string[], calls: string[]): ToolHandler {
  return async (name) => {
    calls.push(label);
    return handles.includes(name) ? JSON.stringify({ by: label }) : unknownToolResult(name);
  };
}

describe('composeToolHandlers', () => {
  it('first match wins; unknown-tool passes to the next', async () => {
    const calls: string[] = [];
    const h = composeToolHandlers(named('a', ['x'], calls), named('b', ['x', 'y'], calls), named('c', ['y', 'z'], calls));
    expect(await h('x', {}, ctx)).toBe('{"by":"a"}');
    expect(calls).toEqual(['a']);
    calls.length = 0;
    expect(await h('y', {}, ctx)).toBe('{"by":"b"}');
    expect(calls).toEqual(['a', 'b']);
    calls.length = 0;
    expect(await h('z', {}, ctx)).toBe('{"by":"c"}');
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('an error that is not unknown-tool is final', async () => {
    const calls: string[] = [];
    const failing: ToolHandler = async () => {
      calls.push('failing');
      return JSON.stringify({ error: 'rate limited' });
    };
    const h = composeToolHandlers(failing, named('b', ['x'], calls));
    expect(await h('x', {}, ctx)).toBe('{"error":"rate limited"}');
    expect(calls).toEqual(['failing']);
  });

  it.each([
    ['an unknown-tool error for another name', '{"error":"Unknown tool: other_name"}'],
    ['an error that merely starts with "unknown tool"', '{"error":"unknown tool version, retry later"}'],
    ['the unknown-tool error with extra keys', '{"error":"Unknown tool: x","hint":"y"}'],
    ['the unknown-tool error in another case', '{"error":"unknown tool: x"}'],
    ['"Unknown toolbox"', '{"error":"Unknown toolbox"}'],
  ])('%s is final (only the exact pass-through for the called name goes on)', async (_label, answer) => {
    const calls: string[] = [];
    const h = composeToolHandlers(async () => answer, named('second', ['x'], calls));
    expect(await h('x', {}, ctx)).toBe(answer);
    expect(calls).toEqual([]);
  });

  it('the exact pass-through for the called name goes on, also written with other JSON spacing', async () => {
    const calls: string[] = [];
    const h = composeToolHandlers(async () => '{ "error": "Unknown tool: x" }', named('second', ['x'], calls));
    expect(await h('x', {}, ctx)).toBe('{"by":"second"}');
    expect(calls).toEqual(['second']);
    expect(isUnknownToolResult(unknownToolResult('x'), 'x')).toBe(true);
    expect(isUnknownToolResult(unknownToolResult('x'), 'y')).toBe(false);
  });

  it('the last handler answers unknown-tool when nobody knows the tool', async () => {
    const h = composeToolHandlers(named('a', [], []), named('b', [], []));
    const result = await h('nope', {}, ctx);
    expect(result).toBe('{"error":"Unknown tool: nope"}');
    expect(isUnknownToolResult(result)).toBe(true);
  });

  it('recognises unknown-tool errors case-insensitively and nothing else', () => {
    expect(isUnknownToolResult('{"error":"unknown tool: q"}')).toBe(true);
    expect(isUnknownToolResult('{"error":"Unknown tool"}')).toBe(true);
    expect(isUnknownToolResult('{"error":"tool failed"}')).toBe(false);
    expect(isUnknownToolResult('Unknown tool: q')).toBe(false);
    expect(isUnknownToolResult('{"error":42}')).toBe(false);
    expect(isUnknownToolResult('[1]')).toBe(false);
  });
});

describe('ToolSet', () => {
  it('tries tool objects before the explicit handler, and takes definitions from tool objects', async () => {
    const calls: string[] = [];
    const weather = defineTool({ name: 'weather', description: 'w', parameters: z.object({}), run: () => 'sunny (tool object)' });
    const explicit: ToolHandler = async (name) => {
      calls.push(name);
      return name === 'weather' || name === 'time' ? `${name} (explicit)` : unknownToolResult(name);
    };
    const set = new ToolSet([weather, { name: 'time', description: 't', parameters: { type: 'object' } }], explicit);
    expect(set.definitions.map((d) => d.name)).toEqual(['weather', 'time']);
    expect(await set.handler('weather', {}, ctx)).toBe('sunny (tool object)');
    expect(calls).toEqual([]);
    // A plain definition passes through to the explicit handler.
    expect(await set.handler('time', {}, ctx)).toBe('time (explicit)');
    expect(await set.handler('other', {}, ctx)).toBe(unknownToolResult('other'));
    expect(calls).toEqual(['time', 'other']);
  });

  it('several tool objects compose first-match-wins by name; the first definition of a name wins', async () => {
    const a = defineTool({ name: 'dup', description: 'first', parameters: z.object({}), run: () => 'first' });
    const b = defineTool({ name: 'dup', description: 'second', parameters: z.object({}), run: () => 'second' });
    const c = defineTool({ name: 'other', description: 'c', parameters: z.object({}), run: () => 'c' });
    const set = new ToolSet([a, b, c]);
    expect(set.definitions.map((d) => d.description)).toEqual(['first', 'c']);
    expect(await set.handler('dup', {}, ctx)).toBe('first');
    expect(await set.handler('other', {}, ctx)).toBe('c');
  });
});
