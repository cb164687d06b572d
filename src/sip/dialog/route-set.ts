import { NameAddr } from '../message/name-addr.ts';
import { SipUri } from '../message/sip-uri.ts';
import { isSipUri, type Uri } from '../message/uri.ts';

/** Request-URI and Route values of a request sent inside a dialog. */
export interface InDialogTarget {
  readonly requestUri: Uri;
  /** Route header values in order (empty: no Route header). */
  readonly routes: readonly NameAddr[];
}

/**
 * Where an in-dialog request goes (RFC 3261 §12.2.1.1). An empty route set sends it to the remote
 * target. A loose first route (`;lr`) keeps the remote target as Request-URI with the whole route
 * set as Route. A strict first route (an RFC 2543 proxy) becomes the Request-URI, the rest of the
 * route set follows as Route, and the remote target goes last.
 */
export function inDialogTarget(remoteTarget: Uri, routeSet: readonly NameAddr[]): InDialogTarget {
  const first = routeSet[0];
  if (first === undefined || !isSipUri(first.uri) || first.uri.lr) {
    return { requestUri: requestUriOf(remoteTarget), routes: routeSet };
  }
  // §12.2.1.1: "the UAC MUST place the first URI from the route set into the Request-URI, stripping
  // any parameters that are not allowed in a Request-URI. The UAC MUST add a Route header field
  // containing the remainder of the route set values in order, including all parameters. The UAC
  // MUST then place the remote target URI into the Route header field as the last value."
  const strict = requestUriOf(first.uri);
  const last = routeSet.slice(1);
  return { requestUri: strict, routes: [...last, new NameAddr(remoteTarget.clone())] };
}

/**
 * A URI fit for a Request-URI: §19.1.1 allows neither the `method` parameter nor headers there
 * (a Contact may carry both).
 */
export function requestUriOf(uri: Uri): Uri {
  if (!(uri instanceof SipUri)) return uri.clone();
  const out = uri.clone();
  out.params.delete('method');
  for (const [name] of [...out.headers]) out.headers.delete(name);
  return out;
}
