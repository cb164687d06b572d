import type { ToolDefinition } from '../providers/types.ts';
import { composeToolHandlers } from './compose.ts';
import { isTool, toolFromDefinition, unknownToolResult, type Tool, type ToolHandler } from './tool.ts';

/**
 * The tools one agent turn can use: tool objects (and plain definitions, turned into pass-through tool
 * objects) plus an optional explicit handler. Definitions are taken from the tool objects, first name
 * wins; calls go to the tool objects first, each answering only its own name, then to the explicit
 * handler, composed first-match-wins.
 */
export class ToolSet {
  readonly tools: readonly Tool[];
  readonly definitions: readonly ToolDefinition[];
  readonly handler: ToolHandler;
  readonly #byName: ReadonlyMap<string, Tool>;
  readonly #explicit: ToolHandler | undefined;

  constructor(entries: ReadonlyArray<Tool | ToolDefinition> = [], handler?: ToolHandler) {
    const tools = entries.map((e) => (isTool(e) ? e : toolFromDefinition(e)));
    const byName = new Map<string, Tool>();
    for (const t of tools) if (!byName.has(t.definition.name)) byName.set(t.definition.name, t);
    this.tools = tools;
    this.#byName = byName;
    this.#explicit = handler;
    this.definitions = [...byName.values()].map((t) => t.definition);
    const own = tools.map((t): ToolHandler => {
      const name = t.definition.name;
      return (called, args, ctx) => (called === name ? t.handler(called, args, ctx) : Promise.resolve(unknownToolResult(called)));
    });
    const chain = handler === undefined ? own : [...own, handler];
    this.handler = chain.length === 0 ? async (name) => unknownToolResult(name) : composeToolHandlers(...chain);
  }

  /** The tool object offered under `name`, if any. */
  get(name: string): Tool | undefined {
    return this.#byName.get(name);
  }

  /** A new set with `extra` tools added after these (same explicit handler). */
  with(extra: ReadonlyArray<Tool | ToolDefinition>): ToolSet {
    if (extra.length === 0) return this;
    return new ToolSet([...this.tools, ...extra], this.#explicit);
  }

  /** A new set without the tools `drop` rejects (same explicit handler). */
  without(drop: (tool: Tool) => boolean): ToolSet {
    return new ToolSet(
      this.tools.filter((t) => !drop(t)),
      this.#explicit,
    );
  }
}
