import type { TurnMark, TurnTiming } from '../call-record.ts';
import { parseJson } from '../sql/parse-json.ts';

/** A `call_turns` row: one turn's timings appended to a call (keyed by `call_id`, read back in `seq` order). */
export interface TurnRow {
  turn: number;
  /** JSON array of TurnMark. */
  marks: string;
}

export const TURN_COLUMNS = 'turn, marks';

export function turnFromRow(r: TurnRow): TurnTiming {
  return { turn: r.turn, marks: parseJson<TurnMark[]>(r.marks) };
}

/** What a turn writes, in the order of {@link TURN_COLUMNS}. */
export function turnValues(turn: TurnTiming): [turn: number, marks: string] {
  return [turn.turn, JSON.stringify(turn.marks)];
}
