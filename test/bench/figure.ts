/** One line of `npm run bench`: a measured figure and the in-run baseline it is compared against. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number; unit: string };
  /** value / baseline.value (or as the bench defines it; say so in `target`). */
  ratio: number;
  /** The target in words, e.g. "ratio ≤ 1.5". */
  target?: string;
}

export type Bench = () => Promise<Figure[]>;
