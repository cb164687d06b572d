import { CallroomError, errorMessage } from '../../core/errors.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { TransactionLayer } from '../transaction/transaction-layer.ts';
import type { ClientTransactionUser } from '../transaction/transaction-user.ts';
import type { Destination } from '../transport/transport.ts';

/** How a request we sent ended: a final response, Timer F/B, or a failure to send. */
export type ClientOutcome =
  | { readonly kind: 'final'; readonly response: SipMessage }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'failed'; readonly error: CallroomError };

/** The status an outcome stands for (§8.1.3.1: a timeout is a 408, a transport error a 503). */
export function outcomeStatus(outcome: ClientOutcome): number {
  return outcome.kind === 'final' ? outcome.response.status : outcome.kind === 'timeout' ? 408 : 503;
}

function asCallroomError(err: unknown): CallroomError {
  return err instanceof CallroomError ? err : new CallroomError('CR_SIP_SEND_FAILED', errorMessage(err));
}

/**
 * Sends a non-INVITE request in its own client transaction and resolves with its final outcome
 * (never rejects). Provisional responses go to `onProvisional`. `signal` settles the promise as
 * failed when the user agent closes (its transactions then stop without reporting).
 */
export function sendNonInvite(
  layer: TransactionLayer,
  request: SipMessage,
  destination: Destination,
  options: { readonly signal?: AbortSignal; readonly onProvisional?: (response: SipMessage) => void } = {},
): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    const signal = options.signal;
    const onAbort = (): void => settle({ kind: 'failed', error: new CallroomError('CR_SIP_UA_CLOSED', 'user agent closed') });
    const settle = (outcome: ClientOutcome): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    const user: ClientTransactionUser = {
      onResponse(response) {
        if (response.status < 200) options.onProvisional?.(response);
        else settle({ kind: 'final', response });
      },
      onTimeout() {
        settle({ kind: 'timeout' });
      },
      onTransportError(_tx, error) {
        settle({ kind: 'failed', error });
      },
    };
    try {
      layer.sendRequest(request, destination, user);
    } catch (err) {
      settle({ kind: 'failed', error: asCallroomError(err) });
    }
  });
}
