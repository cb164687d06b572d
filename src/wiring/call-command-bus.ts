/**
 * The cross-node command bus: how one node reaches the node that holds a call (the REST API on any node
 * hanging up a call, a control socket that arrived at the wrong node). The consumer owns the interface
 * (src/wiring/cluster-calls.ts); two implementations:
 *
 * - {@link InProcessBusHub}: nodes inside one process. A single gateway uses it with one node (nothing
 *   ever leaves the process); tests use it with several to exercise the routing without a database.
 * - `PgCommandBus` (call-command-bus-postgres.ts): PostgreSQL LISTEN/NOTIFY on the database the nodes
 *   already share, so a deployment needs no broker and no node-to-node network paths.
 *
 * Semantics both keep: `send` is a request with one answer or a rejection (the node did not answer in
 * time, or the bus is down), never a silent loss; `post` is one-way, and messages one node posts to
 * another arrive in the order posted (a control socket's events), or not at all once the bus is down.
 * Messages are plain JSON values.
 */
import type { ClientToolInvocation, ClientToolResponse, SessionEvent } from '../call/session-events.ts';
import { CallroomError } from '../core/errors.ts';

/** A request to the node holding a call; answered with a {@link CommandAnswer}. */
export type CallCommand =
  /** End the call (`api-hangup`), or cancel it while it is still dialling or waiting to be joined. */
  | { readonly type: 'hangup'; readonly callId: string }
  /** Attach a control socket held by the sending node to the call, through the relay `relayId`. */
  | { readonly type: 'control.attach'; readonly callId: string; readonly relayId: string };

/** One-way traffic of a relayed control socket, both directions (call-command-bus-control.ts). */
export type RelayMessage =
  /** Holder -> socket node: a session event for the application. */
  | { readonly type: 'control.event'; readonly relayId: string; readonly event: SessionEvent }
  /** Holder -> socket node: run a client tool. */
  | { readonly type: 'control.invoke'; readonly relayId: string; readonly invocation: ClientToolInvocation }
  /** Holder -> socket node: the call stopped waiting for an invocation. */
  | { readonly type: 'control.cancel'; readonly relayId: string; readonly invocationId: string; readonly reason: 'timeout' | 'cancelled' }
  /** Socket node -> holder: the application's answer to an invocation. */
  | { readonly type: 'control.response'; readonly relayId: string; readonly response: ClientToolResponse }
  /** Either way: the relay is over (the socket closed, or the holder dropped it). */
  | { readonly type: 'control.detach'; readonly relayId: string };

/** The answer to a command: done, or a reason it was not (`not-found`: no such live call on that node). */
export type CommandAnswer = { readonly ok: true } | { readonly ok: false; readonly reason: 'not-found' | 'failed' };

export interface CommandHandler {
  command(command: CallCommand, fromNode: string): Promise<CommandAnswer>;
  message(message: RelayMessage, fromNode: string): void;
}

export interface CallCommandBus {
  readonly nodeId: string;
  /**
   * Send a command to `nodeId` and wait for its answer. Rejects with {@link BusError}:
   * `CR_BUS_TIMEOUT` (no answer within `timeoutMs`: the node is gone, overloaded, or the message was
   * lost) or `CR_BUS_UNAVAILABLE` (this node's bus is down or closed).
   */
  send(nodeId: string, command: CallCommand, options?: { readonly timeoutMs?: number }): Promise<CommandAnswer>;
  /** One-way, in order per destination; rejects with CR_BUS_UNAVAILABLE when it could not be handed over. */
  post(nodeId: string, message: RelayMessage): Promise<void>;
  /** The handler of what arrives for this node (one; a later call replaces it). */
  onCommand(handler: CommandHandler): void;
  /** Pending sends reject with CR_BUS_UNAVAILABLE. Idempotent. */
  close(): Promise<void>;
}

export type BusErrorCode = 'CR_BUS_TIMEOUT' | 'CR_BUS_UNAVAILABLE';

export class BusError extends CallroomError {
  constructor(code: BusErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: true, ...options });
    this.name = 'BusError';
  }
}

/** Default wait for an answer. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Several nodes in one process. Delivery is asynchronous (a microtask), as over a network, so a handler
 * never runs inside its sender's call stack; a node without a handler (not started, or closed) never
 * answers, exactly like a dead node on a real bus.
 */
export class InProcessBusHub {
  readonly #nodes = new Map<string, InProcessBus>();

  /** The bus of `nodeId` (created on first use). */
  node(nodeId: string): CallCommandBus {
    let bus = this.#nodes.get(nodeId);
    if (bus === undefined) {
      bus = new InProcessBus(nodeId, this.#nodes);
      this.#nodes.set(nodeId, bus);
    }
    return bus;
  }
}

class InProcessBus implements CallCommandBus {
  readonly nodeId: string;
  readonly #nodes: ReadonlyMap<string, InProcessBus>;
  #handler: CommandHandler | undefined;
  #closed = false;
  /** Per destination: deliveries chain, so posts arrive in order. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #pending = new Set<(err: BusError) => void>();

  constructor(nodeId: string, nodes: ReadonlyMap<string, InProcessBus>) {
    this.nodeId = nodeId;
    this.#nodes = nodes;
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  send(nodeId: string, command: CallCommand, options: { readonly timeoutMs?: number } = {}): Promise<CommandAnswer> {
    if (this.#closed) return Promise.reject(new BusError('CR_BUS_UNAVAILABLE', 'the command bus is closed'));
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise<CommandAnswer>((resolve, reject) => {
      const fail = (err: BusError): void => {
        clearTimeout(timer);
        this.#pending.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => fail(new BusError('CR_BUS_TIMEOUT', `node ${nodeId} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.add(fail);
      this.#deliver(nodeId, (target) => {
        if (target.#handler === undefined || target.#closed) return; // like a dead node: the timeout answers
        target.#handler.command(structuredClone(command), this.nodeId).then(
          (answer) => {
            if (!this.#pending.has(fail)) return;
            clearTimeout(timer);
            this.#pending.delete(fail);
            resolve(structuredClone(answer));
          },
          () => fail(new BusError('CR_BUS_TIMEOUT', `node ${nodeId} failed to answer`)),
        );
      });
    });
  }

  post(nodeId: string, message: RelayMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new BusError('CR_BUS_UNAVAILABLE', 'the command bus is closed'));
    this.#deliver(nodeId, (target) => {
      if (target.#handler !== undefined && !target.#closed) target.#handler.message(structuredClone(message), this.nodeId);
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    for (const fail of [...this.#pending]) fail(new BusError('CR_BUS_UNAVAILABLE', 'the command bus closed'));
  }

  #deliver(nodeId: string, fn: (target: InProcessBus) => void): void {
    const before = this.#chains.get(nodeId) ?? Promise.resolve();
    const next = before.then(() => {
      const target = this.#nodes.get(nodeId);
      if (target !== undefined) fn(target);
    });
    this.#chains.set(nodeId, next);
  }
}
