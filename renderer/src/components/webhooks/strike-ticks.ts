const MAX_TICKS = 10;
const NICE_MULTIPLES = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000];

/** Ticks on strikes: a multiple of the strike spacing (1, 2, 5, 10, 25, 50… of it), at most MAX_TICKS of them. */
export function strikeTicks(strikes: number[], [lo, hi]: [number, number]): number[] {
  const sorted = [...new Set(strikes)].sort((a, b) => a - b);
  let spacing = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) spacing = Math.min(spacing, sorted[i] - sorted[i - 1]);
  if (!Number.isFinite(spacing) || spacing <= 0) spacing = 1;
  let step = spacing;
  for (const m of NICE_MULTIPLES) {
    step = spacing * m;
    if ((hi - lo) / step <= MAX_TICKS) break;
  }
  // Round numbers (6900, 7000…) when they are strikes themselves; otherwise counted from the first strike (7002.5, 7007.5…).
  const round = Math.ceil(lo / step) * step;
  const onGrid = sorted.length === 0 || Math.abs(((round - sorted[0]) / spacing) % 1) < 1e-9;
  const first = onGrid ? round : sorted[0] + Math.ceil((lo - sorted[0]) / step) * step;
  const ticks: number[] = [];
  for (let t = first; t <= hi + 1e-9 && ticks.length <= MAX_TICKS; t += step) ticks.push(Number(t.toFixed(6)));
  return ticks;
}
