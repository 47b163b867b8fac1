/**
 * Issue 5's yardstick measured in the same run: its target (0.5 s) is "twice as fast as pandas", whose
 * ≈ 1.0 s was measured on another machine. test/bench/pandas_reference.py does the same checks and indicators
 * the pandas way over the bars the bench seeded; only its checks and indicators are timed.
 * Needs a Python 3 with pandas (Debian: `apt-get install python3-pandas`); without one the figure is skipped.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY_MS, isTradingDay, sessionBounds } from '../../core/calendar';
import type { BarColumns } from '../../core/marketdata/types';

const SCRIPT = fileURLToPath(new URL('./pandas_reference.py', import.meta.url));
const COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

export type PandasReference =
  | { ok: true; seconds: number; version: string; failures: Record<string, number> }
  | { ok: false; reason: string };

/** A Python that imports pandas: PANDAS_PYTHON, else python3 on PATH, else Debian's /usr/bin/python3. */
function pythonWithPandas(): string | null {
  const candidates = [process.env.PANDAS_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const probe = spawnSync(py, ['-c', 'import pandas'], { stdio: 'ignore', timeout: 30_000 });
    if (probe.status === 0) return py;
  }
  return null;
}

/** The NYSE regular sessions [open, close] (epoch ms) of every trading day from `first` to `last`. */
function sessionsBetween(first: number, last: number): [number, number][] {
  const out: [number, number][] = [];
  for (let day = Math.floor(first / DAY_MS) - 1; day <= Math.floor(last / DAY_MS) + 1; day++) {
    if (!isTradingDay(day)) continue;
    const { open, close } = sessionBounds(day, true);
    if (close > first && open <= last) out.push([open, close]);
  }
  return out;
}

export function measurePandas(dir: string, series: Map<string, BarColumns>, outlierZ: number): PandasReference {
  const python = pythonWithPandas();
  if (!python)
    return { ok: false, reason: 'no Python 3 with pandas found (apt-get install python3-pandas, or set PANDAS_PYTHON)' };
  const symbols = [...series.keys()];
  const counts = symbols.map((s) => series.get(s)?.ts.length ?? 0);
  const n = counts.reduce((a, b) => a + b, 0);
  const columns = new Float64Array(COLUMNS.length * n);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  COLUMNS.forEach((k, c) => {
    let at = c * n;
    for (const s of symbols) {
      const a = (series.get(s) as BarColumns)[k];
      columns.set(a, at);
      at += a.length;
      if (k === 'ts' && a.length > 0) {
        first = Math.min(first, a[0]);
        last = Math.max(last, a[a.length - 1]);
      }
    }
  });
  const metaPath = join(dir, 'pandas-meta.json');
  const barsPath = join(dir, 'pandas-bars.f64');
  writeFileSync(metaPath, JSON.stringify({ symbols, counts, outlierZ, sessions: sessionsBetween(first, last) }));
  writeFileSync(barsPath, new Uint8Array(columns.buffer));
  const run = spawnSync(python, [SCRIPT, metaPath, barsPath], { encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0)
    return { ok: false, reason: `pandas_reference.py failed: ${(run.stderr || run.error?.message || '').trim().slice(-500)}` };
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as {
    seconds: number;
    rows: number;
    pandas: string;
    failures: Record<string, number>;
  };
  if (result.rows !== n) return { ok: false, reason: `pandas read ${result.rows} bars, expected ${n}` };
  return { ok: true, seconds: result.seconds, version: result.pandas, failures: result.failures };
}
