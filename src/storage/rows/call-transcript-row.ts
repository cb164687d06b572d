import type { TranscriptEntry } from '../call-record.ts';

/** A `call_transcript` row: one entry appended to a call (keyed by `call_id`, read back in `seq` order). */
export interface TranscriptRow {
  role: TranscriptEntry['role'];
  text: string;
  at_ms: number;
  /** 0 or 1. */
  interrupted: number;
}

export const TRANSCRIPT_COLUMNS = 'role, text, at_ms, interrupted';

export function transcriptFromRow(r: TranscriptRow): TranscriptEntry {
  return { role: r.role, text: r.text, atMs: r.at_ms, ...(r.interrupted === 1 ? { interrupted: true } : {}) };
}

/** What an entry writes, in the order of {@link TRANSCRIPT_COLUMNS}. */
export function transcriptValues(entry: TranscriptEntry): [role: string, text: string, atMs: number, interrupted: number] {
  return [entry.role, entry.text, entry.atMs, entry.interrupted === true ? 1 : 0];
}
