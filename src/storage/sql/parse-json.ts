/** A JSON column read back (both databases keep JSON as TEXT, exactly as written). */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
