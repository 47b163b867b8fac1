/**
 * History import throughput: a generated gexbot history file of 1,000,000 strike rows (2,000
 * snapshots × 500 strikes) imported with every record validated against the shared GEX schema,
 * against DuckDB alone loading the same file with read_json (no validation) as the ceiling.
 * Each side runs in its own child process so peak memory (VmHWM) is measured per side.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDir, tempDir } from '../support/temp';
import type { Figure } from './figure';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SNAPSHOTS = 2000;
const STRIKES = 500;

export async function writeHistory(path: string): Promise<void> {
  const out = createWriteStream(path);
  const start = Date.UTC(2026, 0, 5, 14, 30) / 1000;
  out.write('[');
  for (let s = 0; s < SNAPSHOTS; s++) {
    const rows: string[] = [];
    for (let k = 0; k < STRIKES; k++) {
      const g = ((s * 31 + k * 17) % 2000) - 1000;
      rows.push(`[${6500 + k * 5},${(g * 1.37).toFixed(2)},${(g * 0.61).toFixed(2)},[${g},${g + 1.5},${g - 2.25},0,${g / 2}]]`);
    }
    const snap = `{"timestamp":${start + s * 60},"ticker":"SPX","min_dte":0,"sec_min_dte":1,"spot":${(7000 + Math.sin(s / 40) * 20).toFixed(2)},"zero_gamma":6990.5,"major_pos_vol":7135,"major_pos_oi":7200,"major_neg_vol":7100,"major_neg_oi":6900,"strikes":[${rows.join(',')}],"sum_gex_vol":1712585.519,"sum_gex_oi":51521.105,"delta_risk_reversal":0.118,"max_priors":[[7140,170979.742],[7135,1145886.722],[7135,997473.336],[7135,1106210.715],[7135,1128504.809],[7135,1131150.488]]}`;
    if (!out.write(`${s ? ',\n' : ''}${snap}`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end(']', (err?: Error | null) => (err ? reject(err) : resolve())));
}

function child(
  mode: 'import' | 'ceiling',
  file: string,
): { ms: number; rows: number; peak: number; durations?: Record<string, number> } {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'test/bench/imports-child.ts', mode, file], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string);
}

export async function run(): Promise<Figure[]> {
  const dir = tempDir('marketdesk-bench-history-');
  try {
    const file = join(dir, 'history.json');
    await writeHistory(file);
    // The machine is shared and noisy: alternate the two sides twice and keep each side's best run.
    const runs = [child('ceiling', file), child('import', file), child('ceiling', file), child('import', file)];
    const best = (mode: number) => runs.filter((_, i) => i % 2 === mode).reduce((a, b) => (b.ms < a.ms ? b : a));
    const ceiling = best(0);
    const ours = best(1);
    if (ours.rows !== SNAPSHOTS * STRIKES) throw new Error(`imported ${ours.rows} strike rows, expected ${SNAPSHOTS * STRIKES}`);
    const oursRate = ours.rows / (ours.ms / 1000);
    const ceilingRate = ceiling.rows / (ceiling.ms / 1000);
    const peak = Math.max(runs[1]?.peak ?? 0, runs[3]?.peak ?? 0);
    return [
      {
        name: `GEX history import, every record validated (1M strike rows; validate ${Math.round(ours.durations?.validate ?? 0)} ms, merge ${Math.round(ours.durations?.merge ?? 0)} ms)`,
        value: oursRate,
        unit: 'rows/s',
        baseline: { name: 'DuckDB read_json into a table, no validation', value: ceilingRate, unit: 'rows/s' },
        ratio: oursRate / ceilingRate,
        target: 'ratio ≥ 0.5',
      },
      {
        name: 'GEX history import peak memory (VmHWM)',
        value: peak / 2 ** 20,
        unit: 'MiB',
        baseline: { name: 'limit', value: 1024, unit: 'MiB' },
        ratio: peak / 2 ** 30,
        target: 'ratio < 1 (under 1 GiB)',
      },
    ];
  } finally {
    removeDir(dir);
  }
}
