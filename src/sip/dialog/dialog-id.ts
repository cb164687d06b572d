import type { SipMessage } from '../message/sip-message.ts';

/**
 * A dialog identifier (RFC 3261 §12): Call-ID, local tag and remote tag, each from this side's
 * point of view. A peer that sent no From tag (RFC 2543) has the empty remote tag: §12.1.1 "the
 * tag is considered to have a value of null".
 */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/** Lookup key of a dialog id (newlines cannot occur in any of the three parts). */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\n${id.localTag}\n${id.remoteTag}`;
}

/**
 * The dialog a received request belongs to, seen from the side that receives it (§12.2.2): the To
 * tag is ours, the From tag the peer's. Undefined for a request outside any dialog (no To tag).
 */
export function requestDialogId(request: SipMessage): DialogId | undefined {
  const callId = request.callId;
  const localTag = request.to?.tag;
  if (callId === undefined || localTag === undefined) return undefined;
  return { callId, localTag, remoteTag: request.from?.tag ?? '' };
}

/**
 * The dialog a received response (to a request this side sent) belongs to (§12.1.2): the From tag
 * is ours, the To tag the peer's. Undefined when the response has no To tag (a 100 Trying).
 */
export function responseDialogId(response: SipMessage): DialogId | undefined {
  const callId = response.callId;
  const localTag = response.from?.tag;
  const remoteTag = response.to?.tag;
  if (callId === undefined || localTag === undefined || remoteTag === undefined) return undefined;
  return { callId, localTag, remoteTag };
}
