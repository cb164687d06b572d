import type { ToolDefinition } from '../providers/types.ts';
import { globToRegExp } from './glob.ts';

/**
 * How a role override combines with the base policy. `restrict` (the default): deny lists are
 * unioned and allow lists intersected (a tool must pass both). `replace`: the override alone applies.
 */
export type RoleOverrideMode = 'restrict' | 'replace';

export interface RoleOverride {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly mode?: RoleOverrideMode;
}

export interface ToolPolicyOptions {
  /** fnmatch globs (`*`, `?`, `[...]`); non-empty makes it a whitelist. */
  readonly allow?: readonly string[];
  /** fnmatch globs; a match always blocks. */
  readonly deny?: readonly string[];
  /** Per-role overrides, applied by {@link ToolPolicy.resolve}. */
  readonly roleOverrides?: Readonly<Record<string, RoleOverride>>;
}

/**
 * Allow/deny rules for tool access (RoomKit `ToolPolicy`). Resolution: empty allow and deny permit
 * all; a deny match blocks; a non-empty allow with no match blocks; otherwise permitted. A blocked
 * tool is not offered to the model, and a call to it is refused without running.
 */
export class ToolPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  readonly roleOverrides: Readonly<Record<string, RoleOverride>>;
  /** Second allow list a `restrict` override adds: both lists must match (intersection). */
  readonly #alsoAllow: readonly string[];
  /** The lists compiled once, owned by this policy (no shared cache). */
  readonly #allowRe: readonly RegExp[];
  readonly #denyRe: readonly RegExp[];
  readonly #alsoAllowRe: readonly RegExp[];

  constructor(options: ToolPolicyOptions = {}, alsoAllow: readonly string[] = []) {
    this.allow = [...(options.allow ?? [])];
    this.deny = [...(options.deny ?? [])];
    this.roleOverrides = { ...(options.roleOverrides ?? {}) };
    this.#alsoAllow = [...alsoAllow];
    this.#allowRe = this.allow.map(globToRegExp);
    this.#denyRe = this.deny.map(globToRegExp);
    this.#alsoAllowRe = this.#alsoAllow.map(globToRegExp);
  }

  /** A policy that permits every tool. */
  static permitAll(): ToolPolicy {
    return new ToolPolicy();
  }

  /** The effective policy for `role`: this one when the role is absent or has no override. */
  resolve(role?: string): ToolPolicy {
    if (role === undefined || role === '' || !Object.hasOwn(this.roleOverrides, role)) return this;
    const override = this.roleOverrides[role] as RoleOverride;
    if ((override.mode ?? 'restrict') === 'replace') {
      return new ToolPolicy({ allow: override.allow ?? [], deny: override.deny ?? [] });
    }
    const deny = [...this.deny, ...(override.deny ?? []).filter((p) => !this.deny.includes(p))];
    return new ToolPolicy({ allow: this.allow, deny }, override.allow ?? []);
  }

  /** Whether a tool of this name may be offered and run. */
  isAllowed(name: string): boolean {
    if (this.allow.length === 0 && this.deny.length === 0 && this.#alsoAllow.length === 0) return true;
    if (matchesAny(name, this.#denyRe)) return false;
    if (this.#allowRe.length > 0 && !matchesAny(name, this.#allowRe)) return false;
    if (this.#alsoAllowRe.length > 0 && !matchesAny(name, this.#alsoAllowRe)) return false;
    return true;
  }

  /** The definitions this policy permits, in their original order. */
  filter<T extends Pick<ToolDefinition, 'name'>>(definitions: readonly T[]): T[] {
    return definitions.filter((d) => this.isAllowed(d.name));
  }
}

function matchesAny(name: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((re) => re.test(name));
}
