/**
 * Calls across the nodes of one deployment: a command for a call reaches the node holding it, whichever
 * node it arrived at. The call record names the holder (`nodeId`); the command bus carries the command;
 * the holder's answer comes back. On a single node nothing leaves the process: every call is local.
 *
 * - `calls(local)`: the REST API's CallsPort, with `hangup` routed to the holder (DELETE /calls/{id} on any
 *   node).
 * - `attachControl` / `verifyControl`: control sockets, attached locally or relayed to the holder
 *   (call-command-bus-control.ts).
 * - The bus handler: what this node does for the others (hang up one of its calls, attach a relay).
 */
import type { CallsPort } from '../api/calls-port.ts';
import type { ControlClient } from '../call/session-events.ts';
import { CallroomError, errorMessage } from '../core/errors.ts';
import type { JoinTokenClaims } from '../core/join-token.ts';
import type { Logger } from '../core/logger.ts';
import type { NodeRecord, Storage } from '../storage/types.ts';
import { BusError, type CallCommandBus, type CommandAnswer } from './call-command-bus.ts';
import { ControlRelays, type LocalAttach } from './call-command-bus-control.ts';

export interface ClusterCallsOptions {
  readonly bus: CallCommandBus;
  readonly storage: Storage;
  /** Attach a control client to a live call of this node (the call manager); undefined in echo mode. */
  readonly localAttach: LocalAttach | undefined;
  readonly logger: Logger;
  /** `cluster.commandTimeoutMs`. */
  readonly commandTimeoutMs: number;
  /** `cluster.nodeTimeoutMs`: a node silent this long gets no commands. */
  readonly nodeTimeoutMs: number;
  readonly now?: () => number;
}

/** Is this node gone (stopped, or silent past the timeout)? */
export function nodeLost(node: NodeRecord | undefined, now: number, nodeTimeoutMs: number): boolean {
  return node === undefined || node.state === 'down' || node.heartbeatAt < now - nodeTimeoutMs;
}

export class ClusterCalls {
  readonly #o: ClusterCallsOptions;
  readonly #relays: ControlRelays;
  readonly #now: () => number;
  #local: CallsPort | undefined;

  constructor(options: ClusterCallsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const localAttach = options.localAttach ?? (() => undefined);
    this.#relays = new ControlRelays({ bus: options.bus, localAttach, logger: options.logger, commandTimeoutMs: options.commandTimeoutMs });
    options.bus.onCommand({
      command: async (command, from): Promise<CommandAnswer> => {
        switch (command.type) {
          case 'hangup': {
            const done = (await this.#local?.hangup(command.callId)) ?? false;
            this.#o.logger.info({ callId: command.callId, from, done }, 'hang-up from another node');
            return done ? { ok: true } : { ok: false, reason: 'not-found' };
          }
          case 'control.attach':
            return this.#relays.attachHere(command.callId, command.relayId, from);
          default:
            return { ok: false, reason: 'failed' };
        }
      },
      message: (m, from) => this.#relays.onMessage(m, from),
    });
  }

  get nodeId(): string {
    return this.#o.bus.nodeId;
  }

  /** Relayed control sockets (both directions). */
  get relays(): { readonly holding: number; readonly relaying: number } {
    return this.#relays.size;
  }

  /**
   * The REST API's calls port: `start` and `activeCount` are this node's; `hangup` ends the call on
   * whichever node holds it. Rejects with CR_CALL_NODE_UNREACHABLE when the holder does not answer.
   */
  calls(local: CallsPort): CallsPort {
    this.#local = local;
    const hangupRemote = (callId: string): Promise<boolean> => this.#hangupRemote(callId);
    return {
      get activeCount() {
        return local.activeCount;
      },
      start: (request) => local.start(request),
      async hangup(callId) {
        if (await local.hangup(callId)) return true;
        return hangupRemote(callId);
      },
    };
  }

  /** The node holding a live call, when it is another node that is up; undefined otherwise. */
  async holderOf(callId: string): Promise<NodeRecord | undefined> {
    const record = await this.#o.storage.calls.get(callId);
    if (record === undefined || record.state === 'ended' || record.nodeId === null || record.nodeId === this.nodeId) return undefined;
    const node = await this.#o.storage.nodes.get(record.nodeId);
    if (nodeLost(node, this.#now(), this.#o.nodeTimeoutMs)) return undefined;
    return node;
  }

  /**
   * Wrap the control-token verifier: once a token checks out for a call held by another node, a relay to
   * that node is reserved before the socket is upgraded, so {@link attachControl} can bind it at once.
   */
  verifyControl(verify: (token: unknown) => Promise<JoinTokenClaims>): (token: unknown) => Promise<JoinTokenClaims> {
    return async (token) => {
      const claims = await verify(token);
      try {
        const holder = await this.holderOf(claims.callId);
        if (holder !== undefined) await this.#relays.reserve(claims.callId, holder.id);
      } catch (err) {
        // No relay: the socket is told there is no such live call here (call_not_found), not left hanging.
        this.#o.logger.warn({ callId: claims.callId, err: errorMessage(err) }, 'control relay to the holding node failed');
      }
      return claims;
    };
  }

  /** Attach a control socket to the call, here or through a reserved relay. Undefined: no such live call. */
  readonly attachControl = (callId: string, client: ControlClient): (() => void) | undefined => this.#relays.attach(callId, client);

  /** Nodes found lost by the heartbeat loop: relays with them end. */
  nodesLost(ids: ReadonlySet<string>): void {
    if (ids.size > 0) this.#relays.peersLost(ids);
  }

  close(): void {
    this.#relays.close();
  }

  async #hangupRemote(callId: string): Promise<boolean> {
    const holder = await this.holderOf(callId);
    if (holder === undefined) return false;
    let answer: CommandAnswer;
    try {
      answer = await this.#o.bus.send(holder.id, { type: 'hangup', callId }, { timeoutMs: this.#o.commandTimeoutMs });
    } catch (err) {
      if (err instanceof BusError) {
        throw new CallroomError('CR_CALL_NODE_UNREACHABLE', `the node holding the call (${holder.id}) did not answer`, { retryable: true, cause: err });
      }
      throw err;
    }
    return answer.ok;
  }
}
