/**
 * Control sockets relayed between nodes. An application's control socket normally connects to the node
 * holding its call (its controlUrl points there), but one that lands on another node — behind an HTTP load
 * balancer, say — is relayed over the command bus:
 *
 *   socket node                                   holding node
 *   reserve(callId) ── control.attach ──────────▶ attach a RemoteControlClient to the live session
 *                   ◀───────────── ok / not-found
 *   bind(callId, client)
 *   client.onSessionEvent ◀── control.event ───── session events (state, transcripts, ended)
 *   client.send           ◀── control.invoke ──── client tools
 *   client.cancel         ◀── control.cancel
 *   response ────────────── control.response ──▶ the session's client tool gets its answer
 *   socket closed ───────── control.detach ────▶ detached; pending invocations see a disconnect
 *
 * Messages that arrive before the socket is bound (the first `state`, sent while attaching) are held and
 * replayed. A relay whose peer node is lost, or whose messages cannot be posted, is disconnected, so a
 * client tool never waits on a socket that is gone.
 */
import { randomUUID } from 'node:crypto';
import type { ClientToolInvocation, ClientToolResponse, ControlClient, SessionEvent } from '../call/session-events.ts';
import { errorMessage } from '../core/errors.ts';
import { Listeners } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import type { CallCommandBus, CommandAnswer, RelayMessage } from './call-command-bus.ts';

/** Attach a client to a live call of this node; undefined when there is none. */
export type LocalAttach = (callId: string, client: ControlClient) => (() => void) | undefined;

/** A reserved relay waits this long for its socket to be bound before it is released. */
const BIND_TIMEOUT_MS = 10_000;
/** Messages held for a relay that is not bound yet. */
const MAX_HELD = 256;

/** The holding node's stand-in for a socket on another node. */
class RemoteControlClient implements ControlClient {
  readonly #responses: Listeners<ClientToolResponse>;
  readonly #disconnects: Listeners<void>;
  readonly #post: (m: RelayMessage) => void;
  readonly relayId: string;
  #connected = true;

  constructor(relayId: string, post: (m: RelayMessage) => void, logger: Logger) {
    this.relayId = relayId;
    this.#post = post;
    const onError = (err: unknown): void => logger.warn({ err: errorMessage(err) }, 'relayed control listener failed');
    this.#responses = new Listeners(onError);
    this.#disconnects = new Listeners(onError);
  }

  get connected(): boolean {
    return this.#connected;
  }

  onSessionEvent(event: SessionEvent): void {
    if (this.#connected) this.#post({ type: 'control.event', relayId: this.relayId, event });
  }

  send(invocation: ClientToolInvocation): void {
    if (this.#connected) this.#post({ type: 'control.invoke', relayId: this.relayId, invocation });
  }

  cancel(invocationId: string, reason: 'timeout' | 'cancelled'): void {
    if (this.#connected) this.#post({ type: 'control.cancel', relayId: this.relayId, invocationId, reason });
  }

  onResponse(listener: (response: ClientToolResponse) => void): () => void {
    return this.#responses.add(listener);
  }

  onDisconnect(listener: () => void): () => void {
    return this.#disconnects.add(listener);
  }

  receive(response: ClientToolResponse): void {
    if (this.#connected) this.#responses.emit(response);
  }

  disconnect(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#disconnects.emit();
    this.#disconnects.clear();
    this.#responses.clear();
  }
}

/** Holding side: a relayed socket attached to one of our calls. */
interface Held {
  readonly client: RemoteControlClient;
  readonly peer: string;
  readonly detach: () => void;
}

/** Socket side: a relay reserved for a call on `holder`, bound to a socket once it is upgraded. */
interface Relay {
  readonly relayId: string;
  readonly callId: string;
  readonly holder: string;
  client: ControlClient | undefined;
  held: RelayMessage[];
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
  readonly unsubscribe: Array<() => void>;
}

export class ControlRelays {
  readonly #bus: CallCommandBus;
  readonly #logger: Logger;
  readonly #localAttach: LocalAttach;
  readonly #commandTimeoutMs: number;
  /** Holding side, by relay id. */
  readonly #held = new Map<string, Held>();
  /** Socket side, by relay id. */
  readonly #relays = new Map<string, Relay>();
  /** Socket side: reserved, not yet bound, per call (oldest first). */
  readonly #reserved = new Map<string, Relay[]>();

  constructor(o: { bus: CallCommandBus; localAttach: LocalAttach; logger: Logger; commandTimeoutMs: number }) {
    this.#bus = o.bus;
    this.#localAttach = o.localAttach;
    this.#logger = o.logger.child({ component: 'control-relay' });
    this.#commandTimeoutMs = o.commandTimeoutMs;
  }

  /** Relayed sockets, both sides (metrics, tests). */
  get size(): { readonly holding: number; readonly relaying: number } {
    return { holding: this.#held.size, relaying: this.#relays.size };
  }

  // ---- socket side ----

  /**
   * Ask `holder` to attach a relay to `callId`; true once it has. The socket is bound later, synchronously,
   * with {@link bind}. Rejects with a BusError when the holder does not answer.
   */
  async reserve(callId: string, holder: string): Promise<boolean> {
    const relay: Relay = { relayId: randomUUID(), callId, holder, client: undefined, held: [], timer: undefined, ended: false, unsubscribe: [] };
    this.#relays.set(relay.relayId, relay);
    let answer: CommandAnswer;
    try {
      answer = await this.#bus.send(holder, { type: 'control.attach', callId, relayId: relay.relayId }, { timeoutMs: this.#commandTimeoutMs });
    } catch (err) {
      this.#relays.delete(relay.relayId);
      // The holder may have attached after all: tell it to let go.
      void this.#bus.post(holder, { type: 'control.detach', relayId: relay.relayId }).catch(() => undefined);
      throw err;
    }
    if (!answer.ok) {
      this.#relays.delete(relay.relayId);
      return false;
    }
    relay.timer = setTimeout(() => {
      if (relay.client !== undefined) return;
      this.#logger.info({ callId }, 'reserved control relay never bound; released');
      this.#release(relay, true);
    }, BIND_TIMEOUT_MS);
    relay.timer.unref();
    const queue = this.#reserved.get(callId) ?? [];
    queue.push(relay);
    this.#reserved.set(callId, queue);
    return true;
  }

  /**
   * Attach a control socket: to the live call of this node when there is one, else through a relay
   * reserved for the call. Undefined when neither (no such live call). Returns detach.
   */
  attach(callId: string, client: ControlClient): (() => void) | undefined {
    const local = this.#localAttach(callId, client);
    if (local !== undefined) return local;
    const queue = this.#reserved.get(callId);
    const relay = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#reserved.delete(callId);
    if (relay === undefined) return undefined;
    clearTimeout(relay.timer);
    relay.client = client;
    relay.unsubscribe.push(
      client.onResponse((response) => this.#toHolder(relay, { type: 'control.response', relayId: relay.relayId, response })),
      client.onDisconnect(() => this.#release(relay, true)),
    );
    for (const m of relay.held.splice(0)) this.#deliver(relay, m);
    this.#logger.info({ callId, holder: relay.holder }, 'control socket relayed to the node holding the call');
    return () => this.#release(relay, true);
  }

  // ---- holding side ----

  /** A `control.attach` from `peer`: attach a stand-in for its socket to our live call. */
  attachHere(callId: string, relayId: string, peer: string): CommandAnswer {
    if (this.#held.has(relayId)) return { ok: true };
    let posting = true;
    const client: RemoteControlClient = new RemoteControlClient(
      relayId,
      (m) => {
        void this.#bus.post(peer, m).catch((err: unknown) => {
          if (!posting) return;
          posting = false;
          this.#logger.warn({ callId, err: errorMessage(err) }, 'relayed control socket unreachable; detached');
          this.#drop(relayId, false);
        });
        if (m.type === 'control.event' && m.event.type === 'ended') this.#drop(relayId, false);
      },
      this.#logger,
    );
    const detach = this.#localAttach(callId, client);
    if (detach === undefined) return { ok: false, reason: 'not-found' };
    this.#held.set(relayId, { client, peer, detach });
    return { ok: true };
  }

  // ---- both ----

  /** A relay message arrived from `from`. */
  onMessage(m: RelayMessage, from: string): void {
    const held = this.#held.get(m.relayId);
    if (held !== undefined && held.peer === from) {
      if (m.type === 'control.response') held.client.receive(m.response);
      else if (m.type === 'control.detach') this.#drop(m.relayId, false);
      return;
    }
    const relay = this.#relays.get(m.relayId);
    if (relay === undefined || relay.holder !== from) return;
    if (relay.client === undefined) {
      if (relay.held.length < MAX_HELD) relay.held.push(m);
      return;
    }
    this.#deliver(relay, m);
  }

  /** Nodes that are gone: relays to and from them are disconnected. */
  peersLost(nodes: ReadonlySet<string>): void {
    for (const [relayId, held] of this.#held) if (nodes.has(held.peer)) this.#drop(relayId, false);
    for (const relay of [...this.#relays.values()]) {
      if (!nodes.has(relay.holder)) continue;
      this.#deliver(relay, { type: 'control.detach', relayId: relay.relayId });
    }
  }

  /** Shutdown: every relay ends (sockets here are closed with call_ended; holders are told). */
  close(): void {
    for (const relayId of [...this.#held.keys()]) this.#drop(relayId, true);
    for (const relay of [...this.#relays.values()]) this.#release(relay, true);
  }

  #deliver(relay: Relay, m: RelayMessage): void {
    const client = relay.client;
    if (client === undefined || relay.ended) return;
    switch (m.type) {
      case 'control.event':
        if (m.event.type === 'ended') relay.ended = true;
        client.onSessionEvent(m.event);
        if (relay.ended) this.#release(relay, false);
        return;
      case 'control.invoke':
        void Promise.resolve(client.send(m.invocation)).catch((err: unknown) => this.#logger.warn({ err: errorMessage(err) }, 'relayed invocation not delivered'));
        return;
      case 'control.cancel':
        client.cancel?.(m.invocationId, m.reason);
        return;
      case 'control.detach':
        // The holder let go without an end of call (it is shutting down, or it was lost).
        relay.ended = true;
        client.onSessionEvent({ type: 'ended', end: { reason: 'error', detail: 'the node holding the call dropped the control socket' }, atMs: 0 });
        this.#release(relay, false);
        return;
      default:
        return;
    }
  }

  #toHolder(relay: Relay, m: RelayMessage): void {
    void this.#bus.post(relay.holder, m).catch((err: unknown) => {
      this.#logger.warn({ callId: relay.callId, err: errorMessage(err) }, 'relay to the holding node failed');
      if (relay.client !== undefined && !relay.ended) this.#deliver(relay, { type: 'control.detach', relayId: relay.relayId });
    });
  }

  /** Socket side: forget a relay; `tell` the holder to detach. */
  #release(relay: Relay, tell: boolean): void {
    if (!this.#relays.delete(relay.relayId)) return;
    clearTimeout(relay.timer);
    for (const off of relay.unsubscribe.splice(0)) off();
    const queue = this.#reserved.get(relay.callId);
    if (queue !== undefined) {
      const i = queue.indexOf(relay);
      if (i >= 0) queue.splice(i, 1);
      if (queue.length === 0) this.#reserved.delete(relay.callId);
    }
    if (tell) void this.#bus.post(relay.holder, { type: 'control.detach', relayId: relay.relayId }).catch(() => undefined);
  }

  /** Holding side: detach a stand-in; `tell` its socket node. */
  #drop(relayId: string, tell: boolean): void {
    const held = this.#held.get(relayId);
    if (held === undefined) return;
    this.#held.delete(relayId);
    held.detach();
    held.client.disconnect();
    if (tell) void this.#bus.post(held.peer, { type: 'control.detach', relayId }).catch(() => undefined);
  }
}
