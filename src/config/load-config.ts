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
  applyEnvOverrides(raw, env);
  return validateConfig(raw);
}

/** Parse YAML (also accepts JSON, a subset of YAML) or JSON by extension. */
export function parseConfigText(text: string, file = 'config'): Record<string, unknown> {
  let value: unknown;
  try {
    value = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // Syntax errors carry the position, not the (possibly secret) content.
    const msg = errorMessage(err).split('\n')[0] ?? 'syntax error';
    throw new ConfigError([`${file}: not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${msg}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${file}: the top level must be a mapping of sections (sip, rtp, http, ...)`]);
  }
  return value as Record<string, unknown>;
}

/**
 * CALLROOM_SIP__ECHO=true sets sip.echo; `__` separates levels and SNAKE_CASE becomes camelCase
 * (CALLROOM_PROVIDERS__DEEPGRAM__API_KEY -> providers.deepgram.apiKey). Values are parsed as JSON
 * when they parse (numbers, booleans, arrays), else taken as strings.
 */
export function applyEnvOverrides(target: unknown, env: NodeJS.ProcessEnv): void {
  if (target === null || typeof target !== 'object') return;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .filter((p) => p.length > 0)
      .map(snakeToCamel);
    if (path.length === 0) continue;
    let node = target as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = parseEnvValue(value);
  }
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
