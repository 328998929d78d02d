/** One measured figure. Benchmarks compare side by side in the same run, so ratios are rows too. */
export interface BenchRow {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

export type BenchModule = { run(): Promise<BenchRow[]> };
