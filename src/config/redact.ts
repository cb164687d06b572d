/** Key names whose values are secrets and are never printed. */
const SECRET_KEY = /(apikey|apikeys|password|secret|token)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy with every secret value replaced by "[secret]", for `config check` and start-up logs. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (isSecretKey(key) && value !== undefined) return '[secret]';
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value)) {
    // Credentials inside a URL (https://user:pass@host) are secrets too.
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1[secret]@');
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactConfig(v, k);
    return out;
  }
  return value;
}
