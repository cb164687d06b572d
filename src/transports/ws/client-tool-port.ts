import { Listeners } from '../../core/listeners.ts';
import type { ClientToolConnection, ClientToolInvocation, ClientToolResponse } from '../../call/session-events.ts';
import type { ServerMessage, WsErrorCode } from './protocol.ts';

export interface ClientToolPortOptions {
  /** Send a message to the client; false when it cannot be sent (closed). */
  readonly send: (message: ServerMessage) => boolean;
  /** Report a problem to the client (an `error` message). */
  readonly error: (code: WsErrorCode, message: string, extra: { invocationId: string }) => void;
  readonly onListenerError?: (err: unknown) => void;
}

/** Ids remembered after they stop being pending, to tell "answered twice / too late" from "never sent". */
const SETTLED_MEMORY = 512;

/**
 * The client-tool side of one client connection (the call's own WebSocket, or a SIP call's control
 * socket): invocations go out as `client_tool_invocation`, results come back matched by `invocationId`.
 * Every id is tracked, so a result for an id never sent is reported (`unknown_invocation`), one for an id
 * already answered or given up on is reported (`invocation_not_pending`), and a deadline or cancellation
 * is told to the client (`client_tool_cancelled`). `disconnect` (the call ended, the socket closed)
 * answers every pending invocation through the room's `onDisconnect` listeners.
 */
export class ClientToolPort implements ClientToolConnection {
  readonly #options: ClientToolPortOptions;
  readonly #responses: Listeners<ClientToolResponse>;
  readonly #disconnects: Listeners<void>;
  readonly #pending = new Map<string, string>();
  readonly #settled = new Set<string>();
  #open = true;

  constructor(options: ClientToolPortOptions) {
    this.#options = options;
    this.#responses = new Listeners(options.onListenerError);
    this.#disconnects = new Listeners(options.onListenerError);
  }

  get connected(): boolean {
    return this.#open;
  }

  /** Invocations sent and not yet answered or given up on. */
  get outstanding(): number {
    return this.#pending.size;
  }

  send(invocation: ClientToolInvocation): void {
    if (!this.#open) throw new Error('the client is not connected');
    this.#pending.set(invocation.invocationId, invocation.toolName);
    const sent = this.#options.send({
      type: 'client_tool_invocation',
      invocationId: invocation.invocationId,
      toolName: invocation.toolName,
      parameters: invocation.parameters,
    });
    if (!sent) {
      this.#pending.delete(invocation.invocationId);
      throw new Error('the client connection is closed');
    }
  }

  onResponse(listener: (response: ClientToolResponse) => void): () => void {
    return this.#responses.add(listener);
  }

  onDisconnect(listener: () => void): () => void {
    return this.#disconnects.add(listener);
  }

  cancel(invocationId: string, reason: 'timeout' | 'cancelled'): void {
    if (!this.#pending.delete(invocationId)) return;
    this.#remember(invocationId);
    const message =
      reason === 'timeout'
        ? 'the deadline for this invocation passed; the agent no longer waits for its result'
        : 'the agent no longer waits for this invocation';
    this.#options.error('client_tool_cancelled', message, { invocationId });
  }

  /** A `client_tool_result` from the client: delivered to the room when its invocation is pending. */
  receive(response: ClientToolResponse): boolean {
    const id = response.invocationId;
    if (this.#pending.delete(id)) {
      this.#remember(id);
      this.#responses.emit(response);
      return true;
    }
    if (this.#settled.has(id)) {
      this.#options.error('invocation_not_pending', 'this invocation was already answered or is no longer awaited', { invocationId: id });
    } else {
      this.#options.error('unknown_invocation', 'no invocation with this id was sent on this call', { invocationId: id });
    }
    return false;
  }

  /**
   * The connection is gone (or the call ended): pending invocations get their error result now. Returns
   * how many were still pending.
   */
  disconnect(): number {
    if (!this.#open) return 0;
    this.#open = false;
    const outstanding = this.#pending.size;
    this.#pending.clear();
    this.#disconnects.emit();
    this.#responses.clear();
    this.#disconnects.clear();
    return outstanding;
  }

  #remember(id: string): void {
    this.#settled.add(id);
    if (this.#settled.size > SETTLED_MEMORY) {
      const oldest = this.#settled.values().next().value;
      if (oldest !== undefined) this.#settled.delete(oldest);
    }
  }
}
