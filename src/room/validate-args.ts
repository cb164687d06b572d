import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonSchema } from '../providers/types.ts';
import type { ToolArgs } from './tool.ts';

/** One reason the arguments do not fit the schema, in terms the model can act on. */
export interface ArgIssue {
  /** JSON pointer into the arguments ("" for the whole object). */
  readonly path: string;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly args: ToolArgs }
  | { readonly ok: false; readonly issues: readonly ArgIssue[] };

/**
 * Parse and validate tool arguments against the tool's JSON Schema (ajv, draft 2020-12, lenient about
 * unknown keywords since vendors add their own). Compiled validators are cached per schema text.
 * A schema that does not compile is not enforced: the handler still gets the parsed object, because
 * a broken definition must not turn every call into an error the model cannot fix.
 */
export class ArgValidator {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  readonly #cache = new Map<string, ValidateFunction | null>();

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
    const check = schema === undefined ? null : this.#compile(schema);
    if (check === null || check(args)) return { ok: true, args };
    const issues = (check.errors ?? []).map((e): ArgIssue => {
      // ajv names a missing property in its message but not an unexpected one.
      const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
      const detail = extra !== undefined ? `: '${extra}'` : '';
      const allowed = e.keyword === 'enum' ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}` : '';
      return { path: e.instancePath, message: `${e.message ?? 'is invalid'}${detail}${allowed}` };
    });
    return { ok: false, issues };
  }

  #compile(schema: JsonSchema): ValidateFunction | null {
    // `$schema` may name another draft the 2020 instance does not know; the keywords still apply.
    const { $schema: _ignored, $id: _id, ...rest } = schema as Record<string, unknown>;
    const key = JSON.stringify(rest);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let compiled: ValidateFunction | null;
    try {
      compiled = this.#ajv.compile(rest);
      // The compiled function stays usable; dropping ajv's own entry keeps our bounded cache the only one.
      this.#ajv.removeSchema(rest);
    } catch {
      compiled = null;
    }
    if (this.#cache.size >= 500) this.#cache.clear();
    this.#cache.set(key, compiled);
    return compiled;
  }
}
