import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.ts';
import { configSchema, type Config } from './schema.ts';

export const ENV_PREFIX = 'CALLROOM_';

/**
 * Read a YAML or JSON config file, apply CALLROOM_* environment overrides, validate once, freeze.
 * Throws ConfigError whose issues name the key path and what is wrong — never the value.
 */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`${file}: cannot read file (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`]);
    }
    raw = parseConfigText(text, file);
  }
  const overrides = applyEnvOverrides(raw, env);
  // A secret such as CALLROOM_PROVIDERS__OPENAI__API_KEY=12345678 parses as a number; where the schema wants a
  // string, the override is retried as the text it was given.
  const first = configSchema.safeParse(raw);
  if (!first.success) {
    for (const issue of first.error.issues) {
      if (issue.code !== 'invalid_type' || issue.expected !== 'string') continue;
      const o = overrides.find((x) => x.path.join('.') === issue.path.map(String).join('.'));
      if (o !== undefined) o.parent[o.key] = o.raw;
    }
  }
  return validateConfig(raw);
}

/** Parse YAML (also accepts JSON, a subset of YAML) or JSON by extension. */
export function parseConfigText(text: string, file = 'config'): Record<string, unknown> {
  const json = extname(file) === '.json';
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // Only the position is reported: parser messages quote the source, which may hold a secret.
    throw new ConfigError([`${file}: not valid ${json ? 'JSON' : 'YAML'}${syntaxPosition(err, text)}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${file}: the top level must be a mapping of sections (sip, rtp, http, ...)`]);
  }
  return value as Record<string, unknown>;
}

function syntaxPosition(err: unknown, text: string): string {
  const linePos = (err as { linePos?: Array<{ line: number; col: number }> }).linePos;
  const first = linePos?.[0];
  if (first !== undefined) return ` at line ${first.line}, column ${first.col}`;
  const m = /position (\d+)/.exec(errorMessage(err));
  if (m === null) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

/**
 * CALLROOM_SIP__ECHO=true sets sip.echo; `__` separates levels and SNAKE_CASE becomes camelCase
 * (CALLROOM_PROVIDERS__DEEPGRAM__API_KEY -> providers.deepgram.apiKey). Values are parsed as JSON
 * when they parse (numbers, booleans, arrays), else taken as strings.
 */
export function applyEnvOverrides(target: unknown, env: NodeJS.ProcessEnv): EnvOverride[] {
  const applied: EnvOverride[] = [];
  if (target === null || typeof target !== 'object') return applied;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .filter((p) => p.length > 0)
      .map(snakeToCamel);
    if (path.length === 0) continue;
    let node = target as Record<string, unknown>;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] as string;
      const next = node[key];
      // CALLROOM_SIP__LISTEN__0__PORT indexes into an existing array.
      const keepArray = Array.isArray(next) && /^\d+$/.test(path[i + 1] as string);
      if (next === null || typeof next !== 'object' || (Array.isArray(next) && !keepArray)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] as string;
    node[leaf] = parseEnvValue(value);
    applied.push({ path, raw: value, parent: node, key: leaf });
  }
  return applied;
}

/** One applied environment override, kept so a value that JSON-parsed to the wrong type can fall back to its text. */
export interface EnvOverride {
  readonly path: readonly string[];
  readonly raw: string;
  readonly parent: Record<string, unknown>;
  readonly key: string;
}

function snakeToCamel(part: string): string {
  return part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Validate a raw object against the schema and deep-freeze the result. */
export function validateConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue));
  return deepFreeze(result.data);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  // zod messages describe expectations ("expected number, received string"), not input values.
  return `${path}: ${issue.message}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
