/**
 * The REST API's `CallsPort` over the call manager: `POST /calls` prepares a WebSocket call for its client
 * to join, or dials out through a SIP trunk and runs the agent on the answered call; `DELETE /calls/{id}`
 * hangs up (or cancels a call still ringing). Each call's record is created before `start` resolves.
 */
import { randomUUID } from 'node:crypto';
import { withAssignedTools, type CallsPort, type StartCallRequest, type StartedCall } from '../api/calls-port.ts';
import type { CallLeg } from '../call/call-leg.ts';
import type { CallManager } from '../call/call-manager.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { CallMediumInfo } from '../storage/call-record.ts';
import type { Storage } from '../storage/types.ts';
import type { AgentBuilder } from './agent-builder.ts';
import type { CallRecorder } from './call-recorder.ts';

export type Dialer = (req: { to: string; from: string; trunk: string; signal: AbortSignal }) => Promise<CallLeg>;

export interface ApiCallsOptions {
  readonly manager: CallManager;
  readonly builder: AgentBuilder;
  readonly storage: Storage;
  readonly recorder: CallRecorder;
  /** Undefined when SIP dial-out is not possible (no user agent). */
  readonly dial: Dialer | undefined;
  readonly logger: Logger;
}

export class ApiCalls implements CallsPort {
  readonly #o: ApiCallsOptions;
  readonly #dialling = new Map<string, AbortController>();

  constructor(options: ApiCallsOptions) {
    this.#o = options;
  }

  get activeCount(): number {
    return this.#o.manager.activeCount;
  }

  async start(request: StartCallRequest): Promise<StartedCall> {
    const { manager, builder, storage, recorder } = this.#o;
    const spec = withAssignedTools(request);
    const agent = await builder.build(spec);
    const callId = randomUUID();
    const createdAt = Date.now();
    const m = request.medium;
    const medium: CallMediumInfo =
      m.type === 'websocket'
        ? { type: 'websocket', inputSampleRate: m.inputSampleRate, outputSampleRate: m.outputSampleRate }
        : { type: 'sip', direction: 'outbound', from: m.from, to: m.to, trunk: m.trunk };
    const origin = {
      direction: m.type === 'websocket' ? ('inbound' as const) : ('outbound' as const),
      from: m.type === 'websocket' ? 'websocket' : m.from,
      to: m.type === 'websocket' ? spec.name : m.to,
      dialled: spec.name,
    };
    if (m.type === 'websocket') {
      manager.prepare(agent, origin, callId, () => {
        recorder.forget(callId);
        void storage.calls.markEnded(callId, Date.now(), 'unanswered').catch(() => undefined);
      });
    } else if (this.#o.dial === undefined) {
      throw Object.assign(new Error('SIP dial-out is not available on this node'), { code: 'CR_CALL_TRUNK_UNKNOWN' });
    }
    const release = m.type === 'sip' ? manager.reserve() : () => undefined;
    try {
      await storage.calls.create({ id: callId, agentId: request.agentId, agentName: spec.name, medium, metadata: request.metadata, createdAt });
    } catch (err) {
      release();
      await manager.hangup(callId);
      throw err;
    }
    recorder.know(callId, { agentId: request.agentId, medium, metadata: request.metadata, created: true, createdAt });
    if (m.type === 'sip' && this.#o.dial !== undefined) {
      const dial = this.#o.dial;
      const ac = new AbortController();
      this.#dialling.set(callId, ac);
      void (async () => {
        let leg: CallLeg;
        try {
          await storage.calls.markRinging(callId);
          leg = await dial({ to: m.to, from: m.from, trunk: m.trunk, signal: ac.signal });
        } catch (err) {
          release();
          this.#dialling.delete(callId);
          recorder.forget(callId);
          this.#o.logger.info({ callId, err: errorMessage(err) }, 'dial-out not answered');
          await storage.calls.markEnded(callId, Date.now(), ac.signal.aborted ? 'api-hangup' : 'unanswered').catch(() => undefined);
          return;
        }
        this.#dialling.delete(callId);
        release();
        await manager.runLeg(leg, origin, agent, callId).catch((err: unknown) => this.#o.logger.warn({ callId, err: errorMessage(err) }, 'dial-out call failed'));
      })();
    }
    return { callId };
  }

  async hangup(callId: string): Promise<boolean> {
    const dialling = this.#dialling.get(callId);
    if (dialling !== undefined) {
      dialling.abort();
      return true;
    }
    return this.#o.manager.hangup(callId, 'api-hangup');
  }
}
