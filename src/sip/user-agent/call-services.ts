import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Dialog } from '../dialog/dialog.ts';
import type { TransactionLayer } from '../transaction/transaction-layer.ts';
import type { Transport } from '../transport/transport.ts';

/** Settings every call reads (from config `sip` and the user agent's options). */
export interface CallSettings {
  /** The Allow list. */
  readonly allow: readonly string[];
  readonly userAgent: string;
  readonly ringing: boolean;
  readonly earlyMedia: boolean;
  readonly acceptRefer: boolean;
  /** Unanswered inbound calls get 480 after this long. */
  readonly ringTimeoutMs: number;
  /** A transfer we make fails with 408 when no final NOTIFY arrives within this. */
  readonly transferTimeoutMs: number;
  /** A REFER we accepted gets a final NOTIFY 408 when the application reports nothing within this. */
  readonly referReportTimeoutMs: number;
}

/**
 * What a call needs from the user agent: narrow services rather than the user agent itself (no
 * back-references to a parent). `bind`/`release` keep the dialog table in step with the call.
 */
export interface CallServices {
  readonly layer: TransactionLayer;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly settings: CallSettings;
  /** Aborted when the user agent closes: pending requests settle as failed. */
  readonly signal: AbortSignal;
  /** Makes requests of `dialog` reach `call`; false when the dialog table is full. */
  bind(dialog: Dialog, call: object): boolean;
  /** Forgets one dialog of a call (an early dialog that lost to another fork). */
  unbind(dialog: Dialog, call: object): void;
  /** The call ended: forget every dialog bound to it. */
  release(call: object): void;
}
