import type { Logger } from '../../core/logger.ts';
import { errorMessage } from '../../core/errors.ts';
import type { ClientToolInvocation, ClientToolResponse, ControlClient, SessionEvent } from '../../call/session-events.ts';
import type { ClientSocket, SocketClosed } from './client-socket.ts';
import { ClientToolPort } from './client-tool-port.ts';
import type { ClientMessage } from './protocol.ts';

/** End a live call by id; false when this node has no such live call. */
export type HangupCall = (callId: string) => Promise<boolean>;

export interface WsControlClientOptions {
  readonly callId: string;
  readonly socket: ClientSocket;
  readonly hangupCall: HangupCall;
  readonly logger: Logger;
}

/**
 * An application attached to a live call (a SIP call) over the control socket: it receives the session's
 * `state` and `transcript` events and `call_ended`, answers `client_tool_invocation`s with
 * `client_tool_result`, and may `hang_up`. Same JSON messages as the WebSocket medium, no audio.
 *
 * `connected` is true from the moment it is attached until its socket closes; from then on a client tool
 * invoked through it fails at once with "the client is not connected", and any invocation still pending
 * gets "the client disconnected before answering" (through `onDisconnect`).
 */
export class WsControlClient implements ControlClient {
  readonly callId: string;
  readonly #socket: ClientSocket;
  readonly #port: ClientToolPort;
  readonly #hangupCall: HangupCall;
  readonly #logger: Logger;
  #detach: (() => void) | undefined;
  #closed = false;

  constructor(options: WsControlClientOptions) {
    this.callId = options.callId;
    this.#socket = options.socket;
    this.#hangupCall = options.hangupCall;
    this.#logger = options.logger;
    this.#port = new ClientToolPort({
      send: (message) => this.#socket.sendJson(message),
      error: (code, message, extra) => this.#socket.sendError(code, message, extra),
      onListenerError: (err) => this.#logger.warn({ err }, 'control client listener failed'),
    });
    this.#socket.setHandlers({
      onMessage: (message) => this.#onMessage(message),
      onBinary: () => this.#socket.sendError('unexpected_audio', 'the control socket carries no audio'),
      onClose: (closed) => this.#onClosed(closed),
    });
  }

  get connected(): boolean {
    return this.#port.connected && this.#socket.open;
  }

  /** Attached to the call: remember how to detach, and tell the client. */
  attached(detach: () => void): void {
    this.#detach = detach;
    if (this.#closed) {
      this.#runDetach();
      return;
    }
    this.#socket.sendJson({ type: 'call_started', callId: this.callId });
  }

  send(invocation: ClientToolInvocation): void {
    this.#port.send(invocation);
  }

  onResponse(listener: (response: ClientToolResponse) => void): () => void {
    return this.#port.onResponse(listener);
  }

  onDisconnect(listener: () => void): () => void {
    return this.#port.onDisconnect(listener);
  }

  cancel(invocationId: string, reason: 'timeout' | 'cancelled'): void {
    this.#port.cancel(invocationId, reason);
  }

  onSessionEvent(event: SessionEvent): void {
    if (this.#closed) return;
    switch (event.type) {
      case 'state':
        this.#socket.sendJson({ type: 'state', state: event.state });
        return;
      case 'transcript':
        this.#socket.sendJson({
          type: 'transcript',
          role: event.role,
          text: event.text,
          final: event.final,
          atMs: event.atMs,
          ...(event.interrupted === true ? { interrupted: true } : {}),
        });
        return;
      case 'ended':
        this.#socket.sendJson({ type: 'call_ended', reason: event.end.reason, ...(event.end.detail === undefined ? {} : { detail: event.end.detail }) });
        this.close(1000);
        return;
      default:
        return;
    }
  }

  /** Close the socket (call ended, gateway shutting down). */
  close(code = 1000): void {
    this.#socket.close(code);
    this.#onClosed(undefined);
  }

  #onMessage(message: ClientMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case 'client_tool_result': {
        const delivered = this.#port.receive(message.response);
        if (delivered && message.responseType === 'hang-up') this.#hangup();
        return;
      }
      case 'hang_up':
        this.#hangup();
        return;
      default:
        return;
    }
  }

  #hangup(): void {
    this.#hangupCall(this.callId).then(
      (ok) => {
        if (!ok) this.#socket.sendError('call_not_found', 'the call is no longer live');
      },
      (err: unknown) => this.#logger.warn({ err: errorMessage(err) }, 'control hang_up failed'),
    );
  }

  #onClosed(closed: SocketClosed | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const outstanding = this.#port.disconnect();
    this.#logger.info({ cause: closed?.cause ?? 'server-closed', detail: closed?.detail, outstandingInvocations: outstanding }, 'control socket closed');
    this.#runDetach();
  }

  #runDetach(): void {
    const detach = this.#detach;
    this.#detach = undefined;
    try {
      detach?.();
    } catch (err) {
      this.#logger.warn({ err }, 'control detach failed');
    }
  }
}
