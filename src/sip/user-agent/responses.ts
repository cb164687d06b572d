import { createResponse } from '../message/create-response.ts';
import type { SipMessage } from '../message/sip-message.ts';

/** What goes into a response besides the §8.2.6 copies. */
export interface ResponseOptions {
  readonly reason?: string;
  /** Our To tag (only added when the request's To has none). */
  readonly toTag?: string;
  /** Copy Record-Route (dialog-creating 18x/2xx, §12.1.1; Kamailio needs it). */
  readonly recordRoute?: boolean;
  readonly contact?: string;
  readonly body?: { readonly type: string; readonly text: string };
  readonly headers?: readonly (readonly [string, string])[];
  /** Server header value. */
  readonly server?: string;
}

/** A response to `request` (RFC 3261 §8.2.6) with our additions. */
export function buildResponse(request: SipMessage, status: number, options: ResponseOptions = {}): SipMessage {
  // Reason phrases may carry text derived from the peer's message: a CR or LF would make the response unsendable.
  const reason = options.reason?.replace(/[\r\n\u0000-\u001f]+/g, ' ');
  const res = createResponse(request, status, reason, {
    ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
    copyRecordRoute: options.recordRoute === true,
  });
  if (options.contact !== undefined) res.append('Contact', options.contact);
  for (const [name, value] of options.headers ?? []) res.append(name, value);
  if (options.server !== undefined) res.append('Server', options.server);
  if (options.body !== undefined) {
    res.append('Content-Type', options.body.type);
    res.body = Buffer.from(options.body.text, 'utf8');
  }
  return res;
}
