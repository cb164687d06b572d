import { ConfigError } from '../core/errors.ts';

/** Loop limits (RoomKit names). Hitting one ends the loop with a clear reason, never a hang. */
export interface ToolLoopLimits {
  /** Tool rounds (model turns that called tools) before the loop stops. Default 200; 0 answers without tools. */
  readonly maxToolRounds: number;
  /** Wall-clock budget of the whole loop in seconds; null disables. Default 300. */
  readonly toolLoopTimeoutSeconds: number | null;
  /** Log a warning (and emit one) when this many rounds have run. Default 50. */
  readonly toolLoopWarnAfter: number;
}

export const DEFAULT_LOOP_LIMITS: ToolLoopLimits = Object.freeze({
  maxToolRounds: 200,
  toolLoopTimeoutSeconds: 300,
  toolLoopWarnAfter: 50,
});

/**
 * Merge limit layers field by field, first layer first (e.g. a run's overrides, then the agent's own),
 * over the defaults, and validate the result. A field given as `undefined` counts as not given (so
 * `{ maxToolRounds: undefined }` keeps the default, where an object spread would erase it); `null`
 * is a value only for the timeout, where it disables the deadline.
 *
 * @throws ConfigError naming every bad field: rounds must be integers >= 0 (0: answer without tools,
 * what an agent used as a tool with one turn needs), the warning threshold an integer >= 1, the
 * timeout a positive finite number of seconds or null.
 */
export function resolveLoopLimits(...layers: ReadonlyArray<Partial<ToolLoopLimits> | undefined>): ToolLoopLimits {
  const pick = <K extends keyof ToolLoopLimits>(key: K): ToolLoopLimits[K] => {
    for (const layer of layers) {
      const value = layer?.[key];
      if (value !== undefined) return value as ToolLoopLimits[K];
    }
    return DEFAULT_LOOP_LIMITS[key];
  };
  const limits: ToolLoopLimits = {
    maxToolRounds: pick('maxToolRounds'),
    toolLoopTimeoutSeconds: pick('toolLoopTimeoutSeconds'),
    toolLoopWarnAfter: pick('toolLoopWarnAfter'),
  };
  const issues: string[] = [];
  if (!isInteger(limits.maxToolRounds, 0)) issues.push(`maxToolRounds must be an integer >= 0 (got ${show(limits.maxToolRounds)})`);
  if (!isInteger(limits.toolLoopWarnAfter, 1)) issues.push(`toolLoopWarnAfter must be an integer >= 1 (got ${show(limits.toolLoopWarnAfter)})`);
  const timeout: unknown = limits.toolLoopTimeoutSeconds;
  if (timeout !== null && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
    issues.push(`toolLoopTimeoutSeconds must be a positive finite number of seconds or null (got ${show(timeout)})`);
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => `tool loop: ${i}`));
  return Object.freeze(limits);
}

function isInteger(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
