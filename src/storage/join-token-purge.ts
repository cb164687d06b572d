/** Used join-token ids are forgotten this long after their token expired (clock differences between nodes). */
const JTI_GRACE_SECONDS = 3600;
/** Expired ids are purged on every this-many consumes (per open storage, i.e. per node). */
const JTI_PURGE_EVERY = 256;

/**
 * When to purge the used join-token ids (`join_token_uses`): call the returned function once per consume;
 * every JTI_PURGE_EVERY-th call it gives the expiry (Unix seconds) below which rows are deleted, otherwise
 * undefined (no purge this time).
 */
export function joinTokenPurge(now: () => number): () => number | undefined {
  let consumes = 0;
  return () => (++consumes % JTI_PURGE_EVERY === 0 ? Math.floor(now() / 1000) - JTI_GRACE_SECONDS : undefined);
}
