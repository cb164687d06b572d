import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures. Every delivery carries
 *
 *     X-Callroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * where `<body>` is the exact request body (UTF-8 bytes as sent) and `t` the time of that attempt (each
 * retry is signed afresh). A receiver recomputes the HMAC over `t + "." + rawBody` with the endpoint's
 * secret, compares in constant time, and refuses a `t` too far from its clock (replays). Unknown
 * `vN=` entries are ignored, so a future scheme can be added beside v1.
 */
export const SIGNATURE_HEADER = 'x-callroom-signature';

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`, 'utf8').update(body, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export interface VerifyOptions {
  /** Now, Unix seconds. */
  readonly nowSeconds: number;
  /** Largest accepted distance between `t` and now (default 300 s). */
  readonly toleranceSeconds?: number;
}

/** Check a signature header against a body, as a receiver does. */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, options: VerifyOptions): boolean {
  if (header === undefined) return false;
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
  }
  if (t === undefined || v1.length === 0) return false;
  if (Math.abs(options.nowSeconds - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).slice(`t=${t},v1=`.length), 'hex');
  return v1.some((sig) => timingSafeEqual(Buffer.from(sig, 'hex'), expected));
}
