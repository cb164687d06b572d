/**
 * The call's client-tool connection as the room sees it: the medium's own (a WebSocket client) when it has
 * one, else whatever application is attached to the call right now through a control socket (a SIP call).
 * With nothing attached, `connected` is false and a client tool answers the model with an error at once.
 */
import type { ClientToolConnection, ClientToolInvocation, ClientToolResponse } from '../room/client-tool.ts';

export class ClientToolPort implements ClientToolConnection {
  #attached: ClientToolConnection | undefined;
  readonly #responses = new Set<(r: ClientToolResponse) => void>();
  readonly #disconnects = new Set<() => void>();
  #offs: Array<() => void> = [];

  constructor(own: ClientToolConnection | undefined) {
    if (own !== undefined) this.attach(own);
  }

  get connected(): boolean {
    return this.#attached?.connected ?? false;
  }

  /** Route invocations to `connection` from now on; returns detach (which counts as a disconnect). */
  attach(connection: ClientToolConnection): () => void {
    if (this.#attached !== undefined) this.#detach();
    this.#attached = connection;
    this.#offs = [
      connection.onResponse((r) => {
        for (const fn of [...this.#responses]) fn(r);
      }),
      connection.onDisconnect(() => {
        if (this.#attached === connection) this.#detach();
      }),
    ];
    return () => {
      if (this.#attached === connection) this.#detach();
    };
  }

  send(invocation: ClientToolInvocation): void | Promise<void> {
    const to = this.#attached;
    if (to === undefined) throw new Error('no client is attached to this call');
    return to.send(invocation);
  }

  /** Tell the client an invocation is no longer wanted (its deadline passed, the turn was abandoned). */
  cancel(invocationId: string, reason: 'timeout' | 'cancelled'): void {
    this.#attached?.cancel?.(invocationId, reason);
  }

  onResponse(listener: (response: ClientToolResponse) => void): () => void {
    this.#responses.add(listener);
    return () => this.#responses.delete(listener);
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnects.add(listener);
    return () => this.#disconnects.delete(listener);
  }

  /** The call ended: every outstanding invocation gets its error. */
  close(): void {
    this.#detach();
  }

  #detach(): void {
    for (const off of this.#offs.splice(0)) off();
    this.#attached = undefined;
    for (const fn of [...this.#disconnects]) fn();
  }
}
