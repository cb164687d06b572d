import { describe, expect, it } from 'vitest';
import { checkJsonValue, MAX_JSON_DEPTH } from '../../../src/api/json-body.ts';
import { isLoopbackAddress, isLoopbackHost } from '../../../src/api/auth.ts';

describe('checkJsonValue', () => {
  it('accepts ordinary JSON up to the depth limit', () => {
    expect(checkJsonValue({ a: [1, 'x', null, true, { b: 'ü👋' }] })).toBeUndefined();
    let v: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) v = [v];
    expect(checkJsonValue(v)).toBeUndefined();
    expect(checkJsonValue([v])).toMatchObject({ message: expect.stringContaining('deeper') });
  });

  it('names the path of a lone surrogate, in a value or a key, and of a __proto__ key', () => {
    expect(checkJsonValue({ a: { b: ['ok', 'x\ud800'] } })).toEqual({ path: 'a.b.1', message: expect.stringContaining('surrogate') });
    expect(checkJsonValue({ a: { ['\udfff']: 1 } })).toMatchObject({ path: 'a' });
    expect(checkJsonValue(JSON.parse('{"x":{"__proto__":1}}'))).toMatchObject({ path: 'x.__proto__' });
  });

  it('walks a million levels without recursion', () => {
    const deep = JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
    expect(checkJsonValue(deep)).toMatchObject({ message: expect.stringContaining('deeper') });
  });
});

describe('loopback', () => {
  it('recognises loopback peers and hosts', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '::', '0.0.0.0', '::ffff:10.0.0.1', 'fe80::1', undefined, 'localhost']) expect(isLoopbackAddress(a), String(a)).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
  });
});
