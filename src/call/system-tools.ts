/**
 * The built-in tools every agent can be given: `hangUp`, `transferCall`, `playDtmf`. Their descriptions
 * and schemas come from the one table in src/config/system-tools.ts (what the REST API lists is what the
 * model sees). Each acts on the call through a narrow port the session builds, never the session itself,
 * and only through `ctx.turn.act`, so a stale turn's tool (superseded by barge-in, or timed out) cannot end
 * or transfer a live call. All three first let what the agent is saying play out ("I'll press 1 for you" is
 * heard before the key).
 */
import { SYSTEM_TOOLS } from '../config/system-tools.ts';
import type { SystemToolName } from '../config/agent-schema.ts';
import { errorMessage } from '../core/errors.ts';
import { toolError, type Tool, type ToolContext } from '../room/tool.ts';
import type { LegTransferResult } from './call-leg.ts';

/** What the system tools may do to the call. */
export interface CallControlPort {
  /** End the call once the current speech has played. */
  requestHangup(reason: string | undefined): void;
  /** Resolves when everything said so far has played (or the signal aborts). */
  playedOut(signal: AbortSignal): Promise<void>;
  /** Blind transfer; undefined when the medium cannot transfer. */
  readonly transfer: ((target: string) => Promise<LegTransferResult>) | undefined;
  sendDtmf(digits: string, durationMs: number): Promise<void>;
}

export function systemTools(names: readonly SystemToolName[], port: CallControlPort): Tool[] {
  const tools: Tool[] = [];
  for (const name of names) {
    if (name === 'hangUp') tools.push(hangUp(port));
    else if (name === 'transferCall' && port.transfer !== undefined) tools.push(transferCall(port, port.transfer));
    else if (name === 'playDtmf') tools.push(playDtmf(port));
  }
  return tools;
}

function definition(name: SystemToolName): Tool['definition'] {
  const spec = SYSTEM_TOOLS[name];
  return { name, description: spec.description, parameters: spec.parameters };
}

function stale(name: string, reason: string): string {
  return toolError(`${name} was not carried out: the turn is no longer current (${reason})`, { tool: name });
}

function hangUp(port: CallControlPort): Tool {
  return {
    definition: definition('hangUp'),
    // Committing to end the call is not undone by the caller saying something meanwhile.
    interruptible: false,
    handler: async (_name, args, ctx) => {
      const reason = typeof args['reason'] === 'string' ? args['reason'] : undefined;
      const r = ctx.turn.act(() => port.requestHangup(reason));
      if (!r.done) return stale('hangUp', r.reason);
      return JSON.stringify({ ok: true, result: 'The call will end after your current words have played.' });
    },
  };
}

function transferCall(port: CallControlPort, transfer: (target: string) => Promise<LegTransferResult>): Tool {
  return {
    definition: definition('transferCall'),
    interruptible: false,
    timeoutMs: 60_000,
    handler: async (_name, args, ctx: ToolContext) => {
      const target = String(args['target'] ?? '');
      await port.playedOut(ctx.signal);
      const r = ctx.turn.act(() => transfer(target));
      if (!r.done) return stale('transferCall', r.reason);
      try {
        const outcome = await r.value;
        ctx.logger.info({ ok: outcome.ok, status: outcome.status }, 'transfer finished');
        return outcome.ok
          ? JSON.stringify({ ok: true, status: outcome.status, result: 'The caller was transferred; the call is ending.' })
          : toolError(`the transfer failed (status ${outcome.status}); the caller is still on the line`, { status: outcome.status });
      } catch (err) {
        return toolError(`the transfer could not be started: ${errorMessage(err)}; the caller is still on the line`);
      }
    },
  };
}

function playDtmf(port: CallControlPort): Tool {
  return {
    definition: definition('playDtmf'),
    handler: async (_name, args, ctx) => {
      const digits = String(args['digits'] ?? '');
      const durationMs = typeof args['durationMs'] === 'number' ? args['durationMs'] : 160;
      await port.playedOut(ctx.signal);
      const r = ctx.turn.act(() => port.sendDtmf(digits, durationMs));
      if (!r.done) return stale('playDtmf', r.reason);
      try {
        await r.value;
        return JSON.stringify({ ok: true, sent: digits.length });
      } catch (err) {
        return toolError(`the keys could not be sent: ${errorMessage(err)}`);
      }
    },
  };
}
