import type { Dialog } from '../dialog/dialog.ts';
import type { DialogId } from '../dialog/dialog-id.ts';
import { DialogTable } from '../dialog/dialog-table.ts';
import type { InviteSession } from './invite-session.ts';

/**
 * The live calls and the dialogs that lead to them, capped at `maxDialogs`. A call may own several
 * dialogs for a while (early dialogs of a forked outbound INVITE); ending it forgets them all.
 */
export class CallRegistry {
  readonly #dialogs: DialogTable<InviteSession>;
  readonly #byCall = new Map<InviteSession, Set<Dialog>>();
  /**
   * Inbound INVITEs by Call-ID, From tag and CSeq (§8.2.2.2 merged requests): their call, or
   * 'pending' while its media is being allocated.
   */
  readonly #invites = new Map<string, InviteSession | 'pending'>();
  /** The INVITE key each call was bound to, so releasing a call needs no scan of every INVITE. */
  readonly #inviteOf = new Map<InviteSession, string>();
  readonly #max: number;
  #reserved = 0;

  constructor(maxDialogs: number) {
    this.#max = maxDialogs;
    this.#dialogs = new DialogTable(maxDialogs);
  }

  /** Live calls (inbound and outbound, established or not). */
  get size(): number {
    return this.#byCall.size;
  }

  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /** Whether one more call fits under `maxDialogs` (counting calls still being set up). */
  get full(): boolean {
    return this.#byCall.size + this.#reserved >= this.#max;
  }

  /** Holds a place for a call whose media is being allocated; returns the release. */
  reserve(): () => void {
    this.#reserved++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#reserved--;
    };
  }

  calls(): InviteSession[] {
    return [...this.#byCall.keys()];
  }

  add(call: InviteSession): void {
    if (!this.#byCall.has(call)) this.#byCall.set(call, new Set());
  }

  find(id: DialogId): InviteSession | undefined {
    return this.#dialogs.get(id);
  }

  bind(dialog: Dialog, call: InviteSession): boolean {
    const owned = this.#byCall.get(call);
    if (owned === undefined || !this.#dialogs.add(dialog.id, call)) return false;
    owned.add(dialog);
    return true;
  }

  unbind(dialog: Dialog, call: InviteSession): void {
    this.#dialogs.delete(dialog.id, call);
    this.#byCall.get(call)?.delete(dialog);
  }

  release(call: InviteSession): void {
    const owned = this.#byCall.get(call);
    if (owned !== undefined) for (const d of owned) this.#dialogs.delete(d.id, call);
    this.#byCall.delete(call);
    const key = this.#inviteOf.get(call);
    if (key !== undefined) {
      this.#inviteOf.delete(call);
      if (this.#invites.get(key) === call) this.#invites.delete(key);
    }
  }

  /** Claims an INVITE's key; false when a live call (or one being set up) already has it. */
  claimInvite(key: string): boolean {
    if (this.#invites.has(key)) return false;
    this.#invites.set(key, 'pending');
    return true;
  }

  /** The claimed INVITE became `call` (forgotten when the call is released). */
  bindInvite(key: string, call: InviteSession): void {
    this.#invites.set(key, call);
    this.#inviteOf.set(call, key);
  }

  /** The claimed INVITE never became a call. */
  dropInvite(key: string): void {
    if (this.#invites.get(key) === 'pending') this.#invites.delete(key);
  }

}
