import type { Config } from '../config/schema.ts';
import { randomTokenSecret } from '../core/join-token.ts';
import type { Logger } from '../core/logger.ts';

/**
 * The key join tokens are signed with: `http.tokenSecret`, or a random one made now, with a warning that
 * tokens then do not survive a restart (and no other node can verify them).
 */
export function tokenSecret(http: Pick<Config['http'], 'tokenSecret'>, logger: Logger): string | Uint8Array {
  if (http.tokenSecret !== undefined) return http.tokenSecret;
  logger.warn(
    'http.tokenSecret is not set: join tokens are signed with a random key made at start; tokens issued before a restart are refused after it, and other nodes cannot verify them',
  );
  return randomTokenSecret();
}
