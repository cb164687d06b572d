import { randomUUID } from 'node:crypto';
import { systemClock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { JsonSchema } from '../providers/types.ts';
import {
  checkParameterNames,
  definitionError,
  dynamicParametersSchema,
  resolveKnownValue,
  type AutomaticParameter,
  type DynamicParameter,
} from './tool-parameters.ts';
import { toolError, unknownToolResult, type Tool } from './tool.ts';

/** What the gateway sends the client to run a tool (Ultravox client tools). */
export interface ClientToolInvocation {
  readonly invocationId: string;
  readonly toolName: string;
  readonly parameters: Record<string, unknown>;
}

export type ClientToolErrorType = 'implementation-error' | 'undefined';

/** The client's answer: a result, or an error (`undefined`: the client has no such tool). */
export type ClientToolResponse =
  | { readonly invocationId: string; readonly result: string }
  | { readonly invocationId: string; readonly errorType: ClientToolErrorType; readonly errorMessage: string };

/**
 * The client side of a call (browser, app) as the room needs it. The room owns this interface; the
 * WebSocket medium implements it over its JSON messages.
 */
export interface ClientToolConnection {
  readonly connected: boolean;
  send(invocation: ClientToolInvocation): void | Promise<void>;
  /** Subscribe to responses; returns the unsubscribe function. */
  onResponse(listener: (response: ClientToolResponse) => void): () => void;
  /** Subscribe to the connection going away; returns the unsubscribe function. */
  onDisconnect(listener: () => void): () => void;
  /**
   * The room stopped waiting for `invocationId`: its configured deadline passed (`timeout`) or the turn
   * gave up on it (`cancelled`). Optional: a medium uses it to tell its client and to report a late answer
   * instead of dropping it silently.
   */
  cancel?(invocationId: string, reason: 'timeout' | 'cancelled'): void;
}

export interface ClientToolOptions {
  readonly name: string;
  readonly description: string;
  /** Parameters the model fills (their `location` is ignored: all go in `parameters`). */
  readonly dynamicParameters?: readonly DynamicParameter[];
  /** Or a JSON Schema for the parameters: then its `properties` are the names the model may fill. */
  readonly parameters?: JsonSchema;
  /**
   * Added to `parameters` from their `knownValue` only, never shown to the model; a value the model
   * sends under such a name is discarded.
   */
  readonly automaticParameters?: readonly AutomaticParameter[];
  /**
   * How long the client has to answer. None by default, as the Ultravox API promises (a person may be
   * transferring the call): the call ending and the tool loop's overall limit are what bound it then.
   */
  readonly timeoutMs?: number;
  readonly interruptible?: boolean;
}

/**
 * A tool the client runs: the invocation goes through the connection and the call waits for the
 * response with the same invocation id. A disconnect (the call ended), the configured deadline, or a
 * client error yields an `{"error": ...}` result; only an abort (barge-in, the loop's limit) rejects.
 * Without `timeoutMs` the tool has no per-call deadline at all: its `Tool.timeoutMs` is `Infinity`, which
 * the tool executor reads as "bounded by the loop's overall limit only".
 */
export function clientTool(options: ClientToolOptions, connection: ClientToolConnection): Tool {
  const { name } = options;
  const automatic = options.automaticParameters ?? [];
  checkParameterNames(name, options.dynamicParameters ?? [], automatic);
  const parametersSchema = options.parameters ?? dynamicParametersSchema(options.dynamicParameters ?? []);
  // The names the model may fill: anything else it sends (an automatic name, an invented flag) is dropped.
  const declared = new Set(Object.keys(schemaProperties(parametersSchema)));
  for (const p of automatic) {
    if (declared.has(p.name)) throw definitionError(name, `automatic parameter ${p.name} is also in the model's parameter schema`);
  }
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw definitionError(name, 'timeoutMs must be a positive number of milliseconds');
  return {
    definition: { name, description: options.description, parameters: parametersSchema },
    // The executor's deadline sits behind ours, so the client's own deadline gives the clearer error.
    timeoutMs: timeoutMs === undefined ? Number.POSITIVE_INFINITY : timeoutMs + 1_000,
    ...(options.interruptible === undefined ? {} : { interruptible: options.interruptible }),
    handler: async (called, args, ctx) => {
      if (called !== name) return unknownToolResult(called);
      if (!connection.connected) return toolError('the client is not connected', { tool: name });
      const parameters: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(args)) if (declared.has(key)) parameters[key] = value;
      for (const p of automatic) {
        const v = resolveKnownValue(p, ctx);
        if (v !== undefined) parameters[p.name] = v;
      }
      const invocation: ClientToolInvocation = { invocationId: randomUUID(), toolName: name, parameters };
      ctx.signal.throwIfAborted();
      return new Promise<string>((resolve, reject) => {
        const cleanup: Array<() => void> = [];
        const done = (settle: () => void): void => {
          for (const c of cleanup.splice(0)) c();
          settle();
        };
        cleanup.push(
          connection.onResponse((r) => {
            if (r.invocationId !== invocation.invocationId) return;
            done(() => resolve(renderResponse(name, r)));
          }),
        );
        cleanup.push(connection.onDisconnect(() => done(() => resolve(toolError('the client disconnected before answering', { tool: name })))));
        if (timeoutMs !== undefined) {
          const clock = ctx.clock ?? systemClock();
          const timer = clock.setTimeout(() => {
            cancelOn(connection, invocation.invocationId, 'timeout');
            done(() => resolve(toolError(`the client did not answer within ${timeoutMs} ms`, { tool: name })));
          }, timeoutMs);
          cleanup.push(() => clock.clearTimeout(timer));
        }
        const onAbort = (): void => {
          cancelOn(connection, invocation.invocationId, 'cancelled');
          done(() => reject(ctx.signal.reason));
        };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        cleanup.push(() => ctx.signal.removeEventListener('abort', onAbort));
        ctx.logger.debug({ invocationId: invocation.invocationId }, 'client tool invoked');
        Promise.resolve()
          .then(() => connection.send(invocation))
          .catch((err: unknown) => done(() => resolve(toolError(`could not reach the client: ${errorMessage(err)}`, { tool: name }))));
      });
    },
  };
}

/** Tell the medium the room gave up on an invocation; a medium's failure here must not hold the tool. */
function cancelOn(connection: ClientToolConnection, invocationId: string, reason: 'timeout' | 'cancelled'): void {
  try {
    connection.cancel?.(invocationId, reason);
  } catch {
    // The result the model gets does not depend on the medium hearing about it.
  }
}

function schemaProperties(schema: JsonSchema): Record<string, unknown> {
  const props = schema['properties'];
  return props !== null && typeof props === 'object' && !Array.isArray(props) ? (props as Record<string, unknown>) : {};
}

function renderResponse(name: string, r: ClientToolResponse): string {
  if ('result' in r) return typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
  if (r.errorType === 'undefined') return toolError(`the client does not implement tool ${name}`, { tool: name, errorType: r.errorType });
  return toolError(r.errorMessage === '' ? `client tool ${name} failed` : r.errorMessage, { tool: name, errorType: r.errorType });
}

/**
 * Read a client's JSON message as a tool response; undefined when it is not one (the medium drops it).
 * A non-string `result` is accepted and serialized, as clients often send objects.
 */
export function parseClientToolResponse(value: unknown): ClientToolResponse | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['invocationId'] !== 'string' || v['invocationId'] === '') return undefined;
  const invocationId = v['invocationId'];
  if ('result' in v) return { invocationId, result: typeof v['result'] === 'string' ? v['result'] : JSON.stringify(v['result'] ?? null) };
  const errorType = v['errorType'];
  if (errorType === 'implementation-error' || errorType === 'undefined') {
    return { invocationId, errorType, errorMessage: typeof v['errorMessage'] === 'string' ? v['errorMessage'] : '' };
  }
  return undefined;
}
