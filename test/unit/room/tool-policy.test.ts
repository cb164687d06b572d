import { describe, expect, it } from 'vitest';
import { fnmatch, globToRegExp } from '../../../src/room/glob.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';

describe('fnmatch globs', () => {
  it.each([
    ['mcp_search', 'mcp_*', true],
    ['mcp_', 'mcp_*', true],
    ['xmcp_search', 'mcp_*', false],
    ['a/b', '*', true],
    ['tool1', 'tool?', true],
    ['tool12', 'tool?', false],
    ['toolb', 'tool[abc]', true],
    ['toold', 'tool[abc]', false],
    ['tool7', 'tool[0-9]', true],
    ['toolx', 'tool[!0-9]', true],
    ['tool7', 'tool[!0-9]', false],
    ['tool]', 'tool[]]', true],
    ['tool[', 'tool[', true],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
    ['a+b(c)', 'a+b(c)', true],
    ['Search', 'search', false],
    ['q', '[z-a]', false],
    ['line\nbreak', '*', true],
  ])('%j vs %j -> %s', (name, pattern, expected) => {
    expect(fnmatch(name, pattern)).toBe(expected);
  });

  it('anchors the whole name', () => {
    expect(globToRegExp('get').test('get_weather')).toBe(false);
  });

  it('keeps no module-level cache: each compile is a fresh RegExp owned by its caller', () => {
    const a = globToRegExp('mcp_*');
    const b = globToRegExp('mcp_*');
    expect(a).not.toBe(b);
    expect(a.source).toBe(b.source);
    // A policy compiles its lists once and keeps matching correctly across instances.
    const p1 = new ToolPolicy({ allow: ['mcp_*'] });
    const p2 = new ToolPolicy({ deny: ['mcp_*'] });
    expect([p1.isAllowed('mcp_time'), p2.isAllowed('mcp_time'), p1.isAllowed('other'), p2.isAllowed('other')]).toEqual([true, false, false, true]);
  });
});

describe('ToolPolicy', () => {
  const names = ['search_web', 'search_docs', 'delete_user', 'mcp_time', 'hangUp'];
  const permitted = (p: ToolPolicy): string[] => names.filter((n) => p.isAllowed(n));

  it('permits everything when allow and deny are empty', () => {
    expect(permitted(new ToolPolicy())).toEqual(names);
  });

  it('a deny match blocks', () => {
    expect(permitted(new ToolPolicy({ deny: ['delete_*'] }))).toEqual(['search_web', 'search_docs', 'mcp_time', 'hangUp']);
  });

  it('a non-empty allow list is a whitelist', () => {
    expect(permitted(new ToolPolicy({ allow: ['search_*', 'hangUp'] }))).toEqual(['search_web', 'search_docs', 'hangUp']);
  });

  it('deny wins over allow', () => {
    expect(permitted(new ToolPolicy({ allow: ['search_*'], deny: ['*_docs'] }))).toEqual(['search_web']);
  });

  it('restrict override (the default): deny lists union, allow lists intersect', () => {
    const policy = new ToolPolicy({
      allow: ['search_*', 'mcp_*', 'hangUp'],
      deny: ['delete_*'],
      roleOverrides: { observer: { allow: ['search_*', 'delete_*'], deny: ['*_web'] } },
    });
    const observer = policy.resolve('observer');
    // base allow ∩ override allow = search_*, minus denied *_web and delete_*.
    expect(permitted(observer)).toEqual(['search_docs']);
    expect(observer.deny).toEqual(['delete_*', '*_web']);
    // Roles without an override, and no role, get the base policy.
    expect(policy.resolve('member')).toBe(policy);
    expect(policy.resolve()).toBe(policy);
    expect(permitted(policy)).toEqual(['search_web', 'search_docs', 'mcp_time', 'hangUp']);
  });

  it('restrict override with only deny keeps the base allow list', () => {
    const policy = new ToolPolicy({ allow: ['search_*', 'hangUp'], roleOverrides: { guest: { deny: ['hangUp'] } } });
    expect(permitted(policy.resolve('guest'))).toEqual(['search_web', 'search_docs']);
  });

  it('restrict override on an open base: the override allow list alone applies', () => {
    const policy = new ToolPolicy({ roleOverrides: { guest: { allow: ['mcp_*'] } } });
    expect(permitted(policy.resolve('guest'))).toEqual(['mcp_time']);
  });

  it('replace override: the base policy is ignored', () => {
    const policy = new ToolPolicy({
      allow: ['search_*'],
      deny: ['delete_*'],
      roleOverrides: { admin: { mode: 'replace', allow: ['delete_*', 'hangUp'] }, open: { mode: 'replace' } },
    });
    expect(permitted(policy.resolve('admin'))).toEqual(['delete_user', 'hangUp']);
    expect(permitted(policy.resolve('open'))).toEqual(names);
  });

  it('filters definitions in order', () => {
    const defs = names.map((name) => ({ name, description: '', parameters: {} }));
    expect(new ToolPolicy({ deny: ['search_*'] }).filter(defs).map((d) => d.name)).toEqual(['delete_user', 'mcp_time', 'hangUp']);
  });
});
