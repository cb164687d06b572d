import { createHmac } from 'node:crypto';

/**
 * The key of control-socket tokens, derived from the gateway's token secret (`http.tokenSecret`) so that
 * control tokens and join tokens are separate families: a join token never verifies as a control token,
 * or the other way round, though both use the same format (`core/join-token.ts`) and the same used-id store.
 * Build the verifier as `new JoinTokens({ secret: controlTokenSecret(secret), ttlSeconds, store })`.
 */
export function controlTokenSecret(secret: string | Uint8Array): Buffer {
  return createHmac('sha256', typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret)
    .update('callroom control-socket token v1')
    .digest();
}

/**
 * The control socket URL for a token: `ws(s)://host{controlPath}?token=...&callId=...`. `baseUrl` is the
 * public HTTP(S) base (`http.publicUrl`); http becomes ws and https wss.
 */
export function controlUrl(baseUrl: string, token: string, callId: string, controlPath = '/ws/control'): string {
  const url = new URL(controlPath, baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol;
  url.searchParams.set('token', token);
  url.searchParams.set('callId', callId);
  return url.toString();
}
