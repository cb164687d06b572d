import { CallroomError } from '../../core/errors.ts';
import type { NameAddr } from '../message/name-addr.ts';
import { SipMessage } from '../message/sip-message.ts';
import { isSipUri, type Uri } from '../message/uri.ts';
import { routeRequest, routeUri } from '../transport/route-request.ts';
import type { RouteOutcome } from '../transport/route-response.ts';
import type { TransportProtocol } from '../transport/transport.ts';
import { dialogKey, type DialogId } from './dialog-id.ts';
import { inDialogTarget } from './route-set.ts';

/** RFC 3261 §12: a dialog is early (after a 1xx with a To tag) or confirmed (after a 2xx). */
export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Which side created the dialog: the UAC sent the INVITE, the UAS received it. */
export type DialogRole = 'uac' | 'uas';

/**
 * How in-dialog requests leave: the transport the dialog was set up over (used when the remote
 * target names none) and, for TCP, the connection it arrived on, reused while it stays open and the
 * request goes straight to the peer (no route set), as RFC 3261 §18.1.1 allows.
 */
export interface DialogFlow {
  readonly transport: TransportProtocol;
  readonly remoteAddress: string;
  /** The peer's source port: where in-dialog requests go when its Contact is a host name we will not resolve. */
  readonly remotePort?: number;
  readonly connectionId?: number;
}

/** Extra content of a request built by `Dialog.createRequest`. */
export interface InDialogRequestOptions {
  /** Add our Contact (target refresh requests, REFER, NOTIFY). Default: INVITE, UPDATE, REFER, NOTIFY, SUBSCRIBE. */
  readonly contact?: boolean;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
}

const CONTACT_METHODS = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE']);

interface DialogInit {
  readonly role: DialogRole;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  readonly localSeq: number | undefined;
  readonly remoteSeq: number | undefined;
  readonly remoteTarget: Uri;
  readonly routeSet: readonly NameAddr[];
  readonly localContact: string;
  readonly flow: DialogFlow;
  readonly state: 'early' | 'confirmed';
}

/** A From/To value without its tag (the dialog keeps the tags apart). */
function withoutTag(addr: NameAddr): NameAddr {
  const copy = addr.clone();
  copy.tag = undefined;
  return copy;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new CallroomError('CR_SIP_DIALOG_BAD_MESSAGE', `cannot create a dialog: ${what}`);
  return value;
}

/**
 * The state of one dialog (RFC 3261 §12): its id, local and remote sequence numbers, remote target
 * and route set, and the requests sent inside it. Knows no SDP, no media and no transactions: the
 * user agent sends what this builds and feeds it what arrives.
 */
export class Dialog {
  readonly role: DialogRole;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our URI (From for the UAC, To for the UAS), without tag. */
  readonly localUri: NameAddr;
  /** The peer's URI, without tag. */
  readonly remoteUri: NameAddr;
  /** Our Contact header value, placed in target refresh requests. */
  readonly localContact: string;
  readonly flow: DialogFlow;
  #localSeq: number | undefined;
  #remoteSeq: number | undefined;
  #remoteTarget: Uri;
  #routeSet: readonly NameAddr[];
  #state: DialogState;

  private constructor(init: DialogInit) {
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.localContact = init.localContact;
    this.flow = init.flow;
    this.#localSeq = init.localSeq;
    this.#remoteSeq = init.remoteSeq;
    this.#remoteTarget = init.remoteTarget;
    this.#routeSet = init.routeSet;
    this.#state = init.state;
  }

  /**
   * The UAS side of a dialog created by an INVITE it answers with a 1xx or 2xx carrying `localTag`
   * (§12.1.1): route set from Record-Route in order, remote target from Contact, remote sequence
   * number from CSeq, local sequence number empty. Throws for a request without From, To, Call-ID
   * or CSeq (`checkRequest` refuses those first).
   */
  static forUas(request: SipMessage, init: { localTag: string; localContact: string; flow: DialogFlow; state: 'early' | 'confirmed' }): Dialog {
    const from = required(request.from, 'no From');
    const to = required(request.to, 'no To');
    // §12.1.1: "The remote target MUST be set to the URI from the Contact header field of the request."
    // An RFC 2543 peer may omit it; its From URI is the best guess left.
    const contact = request.contacts[0];
    return new Dialog({
      role: 'uas',
      callId: required(request.callId, 'no Call-ID'),
      localTag: init.localTag,
      remoteTag: from.tag ?? '',
      localUri: withoutTag(to),
      remoteUri: withoutTag(from),
      localSeq: undefined,
      remoteSeq: required(request.cseq, 'no CSeq').seq,
      remoteTarget: (contact?.uri ?? request.uri ?? from.uri).clone(),
      routeSet: request.recordRoutes.map((r) => r.clone()),
      localContact: init.localContact,
      flow: init.flow,
      state: init.state,
    });
  }

  /**
   * The UAC side of a dialog created by a 1xx (early) or 2xx (confirmed) with a To tag to our
   * `request` (§12.1.2): route set from the response's Record-Route in reverse order, remote target
   * from its Contact, local sequence number from the request's CSeq, remote sequence number empty.
   */
  static forUac(request: SipMessage, response: SipMessage, init: { localContact: string; flow: DialogFlow }): Dialog {
    const from = required(request.from, 'no From');
    const to = required(response.to, 'no To in the response');
    const contact = response.contacts[0];
    return new Dialog({
      role: 'uac',
      callId: required(request.callId, 'no Call-ID'),
      localTag: required(from.tag, 'no From tag'),
      remoteTag: required(to.tag, 'no To tag in the response'),
      localUri: withoutTag(from),
      remoteUri: withoutTag(required(request.to, 'no To')),
      localSeq: required(request.cseq, 'no CSeq').seq,
      remoteSeq: undefined,
      remoteTarget: (contact?.uri ?? required(request.uri, 'no Request-URI')).clone(),
      routeSet: [...response.recordRoutes].reverse().map((r) => r.clone()),
      localContact: init.localContact,
      flow: init.flow,
      state: response.status >= 200 ? 'confirmed' : 'early',
    });
  }

  get id(): DialogId {
    return { callId: this.callId, localTag: this.localTag, remoteTag: this.remoteTag };
  }

  get key(): string {
    return dialogKey(this.id);
  }

  get state(): DialogState {
    return this.#state;
  }

  get localSeq(): number | undefined {
    return this.#localSeq;
  }

  get remoteSeq(): number | undefined {
    return this.#remoteSeq;
  }

  get remoteTarget(): Uri {
    return this.#remoteTarget;
  }

  get routeSet(): readonly NameAddr[] {
    return this.#routeSet;
  }

  /** The UAS sent its 2xx: the dialog is confirmed (§12.1.1). */
  confirm(): void {
    if (this.#state === 'early') this.#state = 'confirmed';
  }

  /**
   * A 2xx for the UAC's INVITE on this (early) dialog: §13.2.2.4 "the dialog MUST be transitioned to
   * the 'confirmed' state, and the route set for the dialog MUST be recomputed based on the 2xx
   * response using the procedures of Section 12.2.1.2"; the 2xx also refreshes the remote target.
   */
  confirmWith(response: SipMessage): void {
    if (this.#state === 'terminated') return;
    if (this.#state === 'early') this.#routeSet = [...response.recordRoutes].reverse().map((r) => r.clone());
    this.#state = 'confirmed';
    this.refreshTarget(response);
  }

  terminate(): void {
    this.#state = 'terminated';
  }

  /**
   * Target refresh (§12.2.1.2, §12.2.2): a re-INVITE, an UPDATE or a 2xx to one of ours replaces
   * the remote target with its Contact. Returns whether it did.
   */
  refreshTarget(message: SipMessage): boolean {
    const contact = message.contacts[0];
    if (contact === undefined) return false;
    this.#remoteTarget = contact.uri.clone();
    return true;
  }

  /**
   * Checks and records the CSeq of a request received in this dialog (§12.2.2): "If the remote
   * sequence number was not empty, but the sequence number of the request is lower than the remote
   * sequence number, the request is out of order and MUST be rejected with a 500". ACK and CANCEL
   * reuse the number of the request they belong to and are not checked.
   */
  acceptRemoteSeq(request: SipMessage): boolean {
    if (request.method === 'ACK' || request.method === 'CANCEL') return true;
    const seq = request.cseq?.seq;
    if (seq === undefined) return false;
    if (this.#remoteSeq !== undefined && seq < this.#remoteSeq) return false;
    this.#remoteSeq = seq;
    return true;
  }

  /** Takes the next local sequence number (§12.2.1.1: "incremented by one"; from 1 when empty). */
  nextSeq(): number {
    this.#localSeq = (this.#localSeq ?? 0) + 1;
    return this.#localSeq;
  }

  /**
   * A request inside the dialog (§12.2.1.1): To with the remote tag, From with the local tag,
   * Call-ID, the next CSeq, Request-URI and Route from the remote target and route set (loose or
   * strict routing). No Via: the transaction layer adds it.
   */
  createRequest(method: string, options: InDialogRequestOptions = {}): SipMessage {
    return this.#build(method, this.nextSeq(), options.contact ?? CONTACT_METHODS.has(method), options);
  }

  /**
   * The ACK for a 2xx to the INVITE with sequence number `inviteSeq` (§13.2.2.4): built like any
   * in-dialog request, but with the INVITE's sequence number and method ACK. It may carry the
   * answer when the 2xx carried the offer.
   */
  createAck(inviteSeq: number, options: Omit<InDialogRequestOptions, 'contact'> = {}): SipMessage {
    return this.#build('ACK', inviteSeq, false, options);
  }

  /**
   * Next hop of a request this dialog built: its first loose Route, else its Request-URI (IP
   * literals only, `routeRequest`), over the dialog's transport when the URI names none, on the dialog's TCP
   * connection when it goes straight back to the peer that connection leads to.
   */
  destinationFor(request: SipMessage): RouteOutcome {
    // §8.1.2: with a strict first route "the procedures MUST be applied to the Request-URI of the
    // request" (which then holds that router), whatever the Route header now starts with.
    const first = this.#routeSet[0];
    const strict = first !== undefined && isSipUri(first.uri) && !first.uri.lr;
    const uri = request.uri;
    let route = strict && uri !== undefined ? routeUri(uri, this.flow.transport) : routeRequest(request, this.flow.transport);
    if (!route.ok && route.error.code === 'CR_SIP_TRANSPORT_NEEDS_DNS' && this.#routeSet.length === 0 && this.flow.remotePort !== undefined) {
      // A remote target with a host name (Contact: sip:pbx.example.com): this stack never resolves names taken
      // from messages, so the request goes back where the dialog's messages came from (as an SBC would).
      route = { ok: true, destination: { transport: this.flow.transport, address: this.flow.remoteAddress, port: this.flow.remotePort } };
    }
    if (!route.ok) return route;
    const d = route.destination;
    const reuse =
      this.flow.connectionId !== undefined &&
      d.transport === 'tcp' &&
      this.flow.transport === 'tcp' &&
      this.#routeSet.length === 0 &&
      d.address === this.flow.remoteAddress;
    return reuse ? { ok: true, destination: { ...d, connectionId: this.flow.connectionId } } : route;
  }

  #build(method: string, seq: number, contact: boolean, options: InDialogRequestOptions): SipMessage {
    const target = inDialogTarget(this.#remoteTarget, this.#routeSet);
    const req = SipMessage.request(method, target.requestUri);
    for (const route of target.routes) req.append('Route', route.toString());
    req.append('Max-Forwards', '70');
    const from = this.localUri.clone();
    from.tag = this.localTag;
    const to = this.remoteUri.clone();
    if (this.remoteTag !== '') to.tag = this.remoteTag;
    req.append('From', from.toString());
    req.append('To', to.toString());
    req.append('Call-ID', this.callId);
    req.append('CSeq', `${seq} ${method}`);
    if (contact) req.append('Contact', this.localContact);
    for (const [name, value] of options.headers ?? []) req.append(name, value);
    if (options.body !== undefined) {
      req.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
      if (options.contentType !== undefined) req.append('Content-Type', options.contentType);
    }
    return req;
  }
}
