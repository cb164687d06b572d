/**
 * How a call manager can give a SIP call client tools through the control socket: one `ControlSlot` per
 * live call is the `ClientToolConnection` the call's session builds its client tools on, and `attach` is
 * what `AttachControl` does for that call. Tests use it as the manager's stand-in; the call layer can take
 * it as it is (it depends only on the call layer's own types).
 *
 * - No control socket attached (or it closed): `connected` is false, so a client tool fails at once with
 *   "the client is not connected" (src/room/client-tool.ts checks it before sending).
 * - The attached socket closes with invocations pending: `onDisconnect` fires, each gets "the client
 *   disconnected before answering".
 * - A new socket attached replaces the old one (which is closed by its owner or left to close itself).
 */
import { Listeners } from '../../src/core/listeners.ts';
import type { ClientToolConnection, ClientToolInvocation, ClientToolResponse, ControlClient, SessionEvent } from '../../src/call/session-events.ts';

export class ControlSlot implements ClientToolConnection {
  readonly #responses = new Listeners<ClientToolResponse>();
  readonly #disconnects = new Listeners<void>();
  #client: ControlClient | undefined;
  #unsubscribe: (() => void) | undefined;

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /** The control client now attached, if any. */
  get client(): ControlClient | undefined {
    return this.#client;
  }

  send(invocation: ClientToolInvocation): void | Promise<void> {
    const client = this.#client;
    if (client === undefined || !client.connected) throw new Error('no control socket is attached to this call');
    return client.send(invocation);
  }

  onResponse(listener: (response: ClientToolResponse) => void): () => void {
    return this.#responses.add(listener);
  }

  onDisconnect(listener: () => void): () => void {
    return this.#disconnects.add(listener);
  }

  cancel(invocationId: string, reason: 'timeout' | 'cancelled'): void {
    this.#client?.cancel?.(invocationId, reason);
  }

  /** Forward the session's events to the attached application. */
  sessionEvent(event: SessionEvent): void {
    this.#client?.onSessionEvent(event);
  }

  /** `AttachControl` for this call: returns the detach function. */
  attach(client: ControlClient): () => void {
    this.#release();
    this.#client = client;
    const offResponse = client.onResponse((r) => this.#responses.emit(r));
    const offDisconnect = client.onDisconnect(() => {
      if (this.#client === client) this.#release();
    });
    this.#unsubscribe = () => {
      offResponse();
      offDisconnect();
    };
    return () => {
      if (this.#client === client) this.#release();
    };
  }

  #release(): void {
    if (this.#client === undefined) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#client = undefined;
    // Pending invocations were sent through the client that is gone: they get their error now.
    this.#disconnects.emit();
  }
}
