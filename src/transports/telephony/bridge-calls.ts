import { randomUUID } from 'node:crypto';
import { CallRejectedError } from '../../call/call-errors.ts';
import type { CallOrigin, StartCall } from '../../call/call-leg.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { BridgeLeg } from './bridge-leg.ts';

/**
 * The bridged calls of this process: each gets a call id derived from the platform's own id (so an
 * application that knows the Twilio CallSid or the Asterisk channel id finds the call, e.g. to attach its
 * control socket), is handed to the call layer, and is ended on shutdown.
 */
export class BridgeCalls {
  readonly #startCall: StartCall;
  readonly #logger: Logger;
  readonly #live = new Map<string, BridgeLeg>();
  #closing = false;

  constructor(startCall: StartCall, logger: Logger) {
    this.#startCall = startCall;
    this.#logger = logger;
  }

  get size(): number {
    return this.#live.size;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * `<medium>-<platform id>` when the platform gave a usable id not already live here, else
   * `<medium>-<uuid>`.
   */
  callId(medium: string, platformId: string | undefined): string {
    const id = platformId !== undefined && /^[A-Za-z0-9._:@-]{1,128}$/.test(platformId) ? `${medium}-${platformId}` : undefined;
    if (id !== undefined && !this.#live.has(id)) return id;
    return `${medium}-${randomUUID()}`;
  }

  /** Hand a new leg to the call layer; a refusal or failure ends the leg the medium's way. */
  start(leg: BridgeLeg, origin: CallOrigin, logger: Logger): void {
    if (this.#closing) {
      leg.refuse('CR_CALL_DRAINING', 'the gateway is shutting down');
      return;
    }
    this.#live.set(leg.id, leg);
    void leg.ended.then(() => this.#live.delete(leg.id));
    logger.info({ format: leg.inputFormat, from: origin.from, to: origin.to, dialled: origin.dialled }, 'telephony call started');
    let run: Promise<void>;
    try {
      run = this.#startCall(leg, origin);
    } catch (err) {
      run = Promise.reject(err);
    }
    run.catch((err: unknown) => {
      if (err instanceof CallRejectedError) {
        logger.info({ code: err.code }, 'telephony call refused');
        leg.refuse(err.code, err.message);
        return;
      }
      logger.warn({ err: errorMessage(err) }, 'telephony call failed');
      leg.fail('the call failed');
    });
  }

  /** End every call (the platforms are told, where they can be) and wait for them. */
  async close(): Promise<void> {
    this.#closing = true;
    const legs = [...this.#live.values()];
    for (const leg of legs) leg.shutdown();
    await Promise.all(legs.map((l) => l.ended));
    this.#logger.debug({ calls: legs.length }, 'telephony calls closed');
  }
}
