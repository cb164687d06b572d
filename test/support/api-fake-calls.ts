/**
 * A CallsPort for API tests and the API benchmark: it keeps the contract of src/api/calls-port.ts (the
 * call record exists in storage when `start` resolves; `hangup` ends it) without any media.
 */
import { randomUUID } from 'node:crypto';
import type { CallsPort, StartCallRequest, StartedCall } from '../../src/api/calls-port.ts';
import type { Storage } from '../../src/storage/types.ts';

export class FakeCallsPort implements CallsPort {
  readonly started: StartCallRequest[] = [];
  readonly live = new Set<string>();
  /** The next start rejects with this. */
  failNext: unknown = undefined;
  /** Starts wait for this before resolving (tests of concurrent starts). */
  gate: Promise<void> | undefined = undefined;
  readonly #storage: Storage;
  readonly #now: () => number;

  constructor(storage: Storage, now: () => number = Date.now) {
    this.#storage = storage;
    this.#now = now;
  }

  get activeCount(): number {
    return this.live.size;
  }

  async start(request: StartCallRequest): Promise<StartedCall> {
    if (this.failNext !== undefined) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (this.gate !== undefined) await this.gate;
    const callId = randomUUID();
    const m = request.medium;
    await this.#storage.calls.create({
      id: callId,
      agentId: request.agentId,
      agentName: request.agent.name,
      medium: m.type === 'websocket' ? m : { type: 'sip', direction: 'outbound', from: m.from, to: m.to, trunk: m.trunk },
      metadata: request.metadata,
      createdAt: this.#now(),
    });
    this.started.push(request);
    this.live.add(callId);
    return { callId };
  }

  async hangup(callId: string): Promise<boolean> {
    if (!this.live.delete(callId)) return false;
    await this.#storage.calls.markEnded(callId, this.#now(), 'api-hangup');
    return true;
  }
}
