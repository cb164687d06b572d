import { CallroomError } from '../core/errors.ts';
import type { JsonSchema } from '../providers/types.ts';
import type { ToolContext } from './tool.ts';

/** Where an HTTP tool puts a parameter (Ultravox `PARAMETER_LOCATION_*`); client tools send all in the body. */
export type ParameterLocation = 'header' | 'query' | 'path' | 'body';

export type ParameterType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

/** A parameter the model fills in; it appears in the schema the model is offered. */
export interface DynamicParameter {
  readonly name: string;
  readonly location: ParameterLocation;
  /** Default `string`. */
  readonly type?: ParameterType;
  readonly description?: string;
  readonly required?: boolean;
  readonly enum?: ReadonlyArray<string | number | boolean>;
  /** Extra JSON Schema keywords (e.g. `items`, `properties`, `minimum`) merged into this parameter's schema. */
  readonly schema?: JsonSchema;
}

/**
 * A parameter the gateway fills in (Ultravox automatic / known parameters): an API key, the call id,
 * the caller's number. The model never sees it: not in the schema it is offered, not in logs.
 * `knownValue` is a literal, or a function of the tool context (room metadata, state); a function
 * that returns undefined leaves the parameter out.
 */
export interface AutomaticParameter {
  readonly name: string;
  readonly location: ParameterLocation;
  readonly knownValue: string | ((ctx: ToolContext) => string | undefined);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** The JSON Schema the model is offered for a tool's dynamic parameters. */
export function dynamicParametersSchema(params: readonly DynamicParameter[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of params) {
    properties[p.name] = {
      ...(p.schema ?? {}),
      type: p.type ?? 'string',
      ...(p.description === undefined ? {} : { description: p.description }),
      ...(p.enum === undefined ? {} : { enum: [...p.enum] }),
    };
    if (p.required === true) required.push(p.name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** Check parameter names: well-formed and unique across dynamic and automatic parameters. */
export function checkParameterNames(tool: string, dynamic: readonly DynamicParameter[], automatic: readonly AutomaticParameter[]): void {
  const seen = new Set<string>();
  for (const p of [...dynamic, ...automatic]) {
    if (!NAME.test(p.name)) throw definitionError(tool, `parameter name ${JSON.stringify(p.name)} is not allowed`);
    if (seen.has(p.name)) throw definitionError(tool, `parameter ${p.name} is declared twice`);
    seen.add(p.name);
  }
}

/** Resolve an automatic parameter's value for one call. */
export function resolveKnownValue(p: AutomaticParameter, ctx: ToolContext): string | undefined {
  return typeof p.knownValue === 'string' ? p.knownValue : p.knownValue(ctx);
}

export function definitionError(tool: string, message: string): CallroomError {
  return new CallroomError('CR_TOOL_DEFINITION', `tool ${tool}: ${message}`);
}
