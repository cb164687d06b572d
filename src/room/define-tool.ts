import { z } from 'zod';
import type { JsonSchema } from '../providers/types.ts';
import { toolError, unknownToolResult, type Tool, type ToolContext } from './tool.ts';

export interface DefineToolOptions<S extends z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** Arguments as a zod object schema; the model is offered its JSON Schema (zod 4 `z.toJSONSchema`). */
  readonly parameters: S;
  /**
   * The tool's work. A string is returned to the model as is, `undefined` as `{"ok":true}`, anything
   * else as JSON. A thrown error becomes a structured error result in the tool loop.
   */
  readonly run: (args: z.output<S>, ctx: ToolContext) => unknown;
  /** Default true: barge-in cancels the call through `ctx.signal`. */
  readonly interruptible?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Define a typed tool from a zod schema. The arguments are checked twice: against the JSON Schema by
 * the tool loop (as for every tool) and by zod here, which also applies zod defaults and transforms,
 * so `run` always gets a value of the schema's output type.
 */
export function defineTool<S extends z.ZodType>(options: DefineToolOptions<S>): Tool {
  const { name, parameters, run } = options;
  return {
    definition: { name, description: options.description, parameters: zodToJsonSchema(parameters) },
    ...(options.interruptible === undefined ? {} : { interruptible: options.interruptible }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    handler: async (called, args, ctx) => {
      if (called !== name) return unknownToolResult(called);
      const parsed = parameters.safeParse(args);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: `/${i.path.map(String).join('/')}`, message: i.message }));
        return toolError(`Invalid arguments for tool ${name}`, { issues });
      }
      const result = await run(parsed.data, ctx);
      if (typeof result === 'string') return result;
      if (result === undefined) return JSON.stringify({ ok: true });
      return JSON.stringify(result);
    },
  };
}

/** The JSON Schema of a zod schema as models want it: input shape, no `$schema` marker. */
export function zodToJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
