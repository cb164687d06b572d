import { isUtf8 } from 'node:buffer';

/** A JSON object from a platform, or why it is not one. Never throws. */
export type JsonObject = Readonly<Record<string, unknown>>;

export function parseJsonObject(data: Uint8Array | string): JsonObject | undefined {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    if (!isUtf8(data)) return undefined;
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** A nested object field, or undefined. */
export function objectField(o: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = o?.[key];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/** A string field (numbers are given as their decimal text: platforms send "1" or 1), or undefined. */
export function stringField(o: JsonObject | undefined, key: string, maxLength = 256): string | undefined {
  const v = o?.[key];
  if (typeof v === 'string') return v.length <= maxLength ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A finite number field (a numeric string counts), or undefined. */
export function numberField(o: JsonObject | undefined, key: string): number | undefined {
  const v = o?.[key];
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && v.length <= 32) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 to bytes; undefined when the text is not base64 (Buffer.from would silently skip junk). */
export function decodeBase64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** One DTMF key as platforms send it. */
export function isDtmfDigit(d: unknown): d is string {
  return typeof d === 'string' && /^[0-9*#A-Da-d]$/.test(d);
}

/** Ids and names echoed into our messages: printable, no quotes or backslashes, bounded. */
export function safeId(v: unknown, maxLength = 128): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= maxLength && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(v) ? v : undefined;
}
