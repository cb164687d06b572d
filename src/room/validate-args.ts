import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonSchema } from '../providers/types.ts';
import type { ToolArgs } from './tool.ts';

/** One reason the arguments do not fit the schema, in terms the model can act on. */
export interface ArgIssue {
  /** JSON pointer into the arguments ("" for the whole object). */
  readonly path: string;
  readonly message: string;
}

/**
 * `schemaError` is set when the tool's own schema does not compile: the arguments cannot be checked,
 * so the call must be refused (the tool definition is at fault, not the model).
 */
export type ParseResult =
  | { readonly ok: true; readonly args: ToolArgs }
  | { readonly ok: false; readonly issues: readonly ArgIssue[]; readonly schemaError?: string };

/** Compiled schemas kept per validator; definitions come from configuration, so this is plenty. */
const MAX_CACHED_SCHEMAS = 500;

/**
 * Parse and validate tool arguments against the tool's JSON Schema (ajv, draft 2020-12, lenient about
 * unknown keywords since vendors add their own). Compiled validators are cached per schema text, in
 * this instance (an agent owns one). A schema that does not compile (a dangling `$ref`, a malformed
 * keyword) is never "not enforced": every call gets `schemaError`, so no argument reaches a handler
 * unchecked.
 */
export class ArgValidator {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  readonly #cache = new Map<string, ValidateFunction | string>();

  /** Parse the model's raw JSON text (empty means `{}`) and validate it. */
  parse(raw: string, schema: JsonSchema | undefined): ParseResult {
    let value: unknown;
    const text = raw.trim();
    if (text === '') {
      value = {};
    } else {
      try {
        value = JSON.parse(text);
      } catch (err) {
        return { ok: false, issues: [{ path: '', message: `arguments are not valid JSON (${(err as Error).message})` }] };
      }
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, issues: [{ path: '', message: 'arguments must be a JSON object' }] };
    }
    return this.validate(value as ToolArgs, schema);
  }

  /** Validate an already parsed arguments object. */
  validate(args: ToolArgs, schema: JsonSchema | undefined): ParseResult {
    if (schema === undefined) return { ok: true, args };
    const check = this.#compile(schema);
    if (typeof check === 'string') return { ok: false, issues: [], schemaError: check };
    if (check(args)) return { ok: true, args };
    const issues = (check.errors ?? []).map((e): ArgIssue => {
      // ajv names a missing property in its message but not an unexpected one.
      const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
      const detail = extra !== undefined ? `: '${extra}'` : '';
      const allowed = e.keyword === 'enum' ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}` : '';
      return { path: e.instancePath, message: `${e.message ?? 'is invalid'}${detail}${allowed}` };
    });
    return { ok: false, issues };
  }

  /** The compiled validator, or why the schema does not compile. */
  #compile(schema: JsonSchema): ValidateFunction | string {
    // `$schema` may name another draft the 2020 instance does not know; the keywords still apply.
    const { $schema: _ignored, $id: _id, ...rest } = schema as Record<string, unknown>;
    const key = JSON.stringify(rest);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let compiled: ValidateFunction | string;
    try {
      compiled = this.#ajv.compile(rest);
    } catch (err) {
      compiled = err instanceof Error ? err.message : String(err);
    }
    // The compiled function stays usable; dropping ajv's own entry keeps our bounded cache the only one.
    this.#ajv.removeSchema(rest);
    if (this.#cache.size >= MAX_CACHED_SCHEMAS) this.#cache.clear();
    this.#cache.set(key, compiled);
    return compiled;
  }
}
