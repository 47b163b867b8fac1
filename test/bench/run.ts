/**
 * Runs every `*.bench.ts` beside this file (serve first), prints
 * `name: value unit | baseline: value unit | ratio: x` per figure and writes bench-results.json.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figure';

const HERE = fileURLToPath(new URL('.', import.meta.url));

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(3);
}

export function formatFigure(f: Figure): string {
  const target = f.target ? ` | target: ${f.target}` : '';
  return `${f.name}: ${fmt(f.value)} ${f.unit} | baseline: ${fmt(f.baseline.value)} ${f.baseline.unit} (${f.baseline.name}) | ratio: ${fmt(f.ratio)}${target}`;
}

export async function runBenches(filters: string[]): Promise<number> {
  const files = readdirSync(HERE)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort((a, b) => (a.startsWith('serve') ? -1 : b.startsWith('serve') ? 1 : a.localeCompare(b)))
    .filter((f) => filters.length === 0 || filters.some((name) => f.startsWith(name)));
  const results: (Figure & { bench: string })[] = [];
  let failed = 0;
  for (const file of files) {
    const bench = file.replace(/\.bench\.ts$/, '');
    try {
      const mod = (await import(`./${file}`)) as { run: () => Promise<Figure[]> };
      for (const figure of await mod.run()) {
        results.push({ bench, ...figure });
        process.stdout.write(`${formatFigure(figure)}\n`);
      }
    } catch (err) {
      failed++;
      process.stdout.write(`${bench}: FAILED ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  writeFileSync('bench-results.json', `${JSON.stringify({ at: new Date().toISOString(), figures: results }, null, 2)}\n`);
  return failed === 0 ? 0 : 1;
}
