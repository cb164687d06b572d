/**
 * SIP dialogs (RFC 3261 §12-§14): dialog state and ids, in-dialog request construction with loose
 * and strict routing, the dialog table with its cap, and re-INVITE glare rules. Imports the
 * message and transport layers only.
 */
export { Dialog, type DialogFlow, type DialogRole, type DialogState, type InDialogRequestOptions } from './dialog.ts';
export { dialogKey, requestDialogId, responseDialogId, type DialogId } from './dialog-id.ts';
export { DialogTable } from './dialog-table.ts';
export { inDialogTarget, requestUriOf, type InDialogTarget } from './route-set.ts';
export { ReinviteGuard, glareRetryDelay, type ReinviteCheck } from './reinvite-guard.ts';
