/** One figure a benchmark reports. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

/** Print results as an aligned table. */
export function printResults(title: string, results: readonly BenchResult[]): void {
  console.log(`\n## ${title}`);
  const w = Math.max(...results.map((r) => r.name.length), 10);
  for (const r of results) {
    const v = Number.isInteger(r.value) ? String(r.value) : r.value.toPrecision(4);
    console.log(`${r.name.padEnd(w)}  ${v.padStart(12)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
  }
}

/** Median and percentile of a sample (sorted copy). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] as number;
}
