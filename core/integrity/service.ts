/**
 * Runs integrity checks and keeps every report in the journal (`integrity_reports` plus one
 * `integrity_findings` row per check, with its offending rows as JSON). A report fails when any
 * check fails, warns when any warns; skipped checks (absent tables, unreachable sources) never fail it.
 */
import { randomBytes } from 'node:crypto';
import type { HistoricalSource } from '../ibkr/types';
import { AppError, type Clock, type Logger, systemClock } from '../platform';
import type { Stores } from '../storage';
import { type CheckScope, type Finding, INTEGRITY_SOURCES, type IntegritySource, runSourceChecks } from './checks';

export interface IntegrityReportSummary {
  id: string;
  trigger: string;
  status: 'pass' | 'warn' | 'fail';
  sources: string[];
  scope: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: { pass: number; warn: number; fail: number; skipped: number };
}

export interface IntegrityReport extends IntegrityReportSummary {
  findings: Finding[];
}

export const integrityJournalMigrations = [
  {
    id: 'integrity/0001_reports',
    up: `
      CREATE TABLE integrity_reports (
        id TEXT PRIMARY KEY,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        sources TEXT NOT NULL,
        scope TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        counts TEXT NOT NULL
      );
      CREATE TABLE integrity_findings (
        report_id TEXT NOT NULL REFERENCES integrity_reports(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        source TEXT NOT NULL,
        check_name TEXT NOT NULL,
        status TEXT NOT NULL,
        count INTEGER NOT NULL,
        message TEXT NOT NULL,
        table_name TEXT,
        rows TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (report_id, seq)
      );
      CREATE INDEX integrity_reports_started ON integrity_reports(started_at);
    `,
  },
];

export interface IntegrityServiceDeps {
  stores: Stores;
  logger: Logger;
  clock?: Clock;
  historicalSource?: () => HistoricalSource | undefined;
  onReport?: (summary: IntegrityReportSummary) => void;
}

export class IntegrityService {
  private readonly deps: IntegrityServiceDeps;
  private readonly clock: Clock;

  constructor(deps: IntegrityServiceDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
  }

  async run(options: { sources?: readonly string[]; trigger?: string; scope?: CheckScope } = {}): Promise<IntegrityReport> {
    const sources = (options.sources && options.sources.length > 0 ? options.sources : INTEGRITY_SOURCES) as IntegritySource[];
    for (const s of sources) {
      if (!INTEGRITY_SOURCES.includes(s)) {
        throw new AppError('INTEGRITY_BAD_SOURCE', `Unknown source "${s}"; expected one of ${INTEGRITY_SOURCES.join(', ')}`);
      }
    }
    const started = this.clock.now();
    const t0 = Date.now();
    const findings: Finding[] = [];
    for (const source of sources) {
      try {
        findings.push(
          ...(await runSourceChecks(source, {
            warehouse: this.deps.stores.warehouse,
            scope: options.scope ?? {},
            historicalSource: this.deps.historicalSource,
          })),
        );
      } catch (err) {
        findings.push({
          source,
          check: 'run',
          status: 'fail',
          count: 1,
          message: `the checks could not run: ${(err as Error).message}`,
          table: null,
          rows: [],
        });
      }
    }
    const counts = { pass: 0, warn: 0, fail: 0, skipped: 0 };
    for (const f of findings) counts[f.status]++;
    const status: IntegrityReport['status'] = counts.fail > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'pass';
    const report: IntegrityReport = {
      id: `int_${started.toString(36)}${randomBytes(3).toString('hex')}`,
      trigger: options.trigger ?? 'manual',
      status,
      sources,
      scope: { ...(options.scope ?? {}) },
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(this.clock.now()).toISOString(),
      durationMs: Date.now() - t0,
      counts,
      findings,
    };
    this.save(report);
    this.deps.logger.info('integrity check finished', { reportId: report.id, status, counts, trigger: report.trigger });
    const { findings: _f, ...summary } = report;
    this.deps.onReport?.(summary);
    return report;
  }

  private save(r: IntegrityReport): void {
    const db = this.deps.stores.journal.db;
    db.transaction(() => {
      db.prepare(
        `INSERT INTO integrity_reports (id, trigger, status, sources, scope, started_at, finished_at, duration_ms, counts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        r.id,
        r.trigger,
        r.status,
        JSON.stringify(r.sources),
        JSON.stringify(r.scope),
        r.startedAt,
        r.finishedAt,
        r.durationMs,
        JSON.stringify(r.counts),
      );
      const ins = db.prepare(
        `INSERT INTO integrity_findings (report_id, seq, source, check_name, status, count, message, table_name, rows)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      r.findings.forEach((f, i) => {
        ins.run(r.id, i, f.source, f.check, f.status, f.count, f.message, f.table, JSON.stringify(f.rows));
      });
    })();
  }

  list(limit = 50): IntegrityReportSummary[] {
    const rows = this.deps.stores.journal.db
      .prepare('SELECT * FROM integrity_reports ORDER BY started_at DESC, id DESC LIMIT ?')
      .all(limit) as Record<string, unknown>[];
    return rows.map(toSummary);
  }

  get(id: string): IntegrityReport {
    const db = this.deps.stores.journal.db;
    const row = db.prepare('SELECT * FROM integrity_reports WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (!row) throw new AppError('INTEGRITY_NOT_FOUND', `No integrity report ${id}`, { status: 404 });
    const findings = (
      db.prepare('SELECT * FROM integrity_findings WHERE report_id = ? ORDER BY seq').all(id) as Record<string, unknown>[]
    ).map((f) => ({
      source: f.source as string,
      check: f.check_name as string,
      status: f.status as Finding['status'],
      count: f.count as number,
      message: f.message as string,
      table: (f.table_name as string | null) ?? null,
      rows: JSON.parse(f.rows as string) as Record<string, unknown>[],
    }));
    return { ...toSummary(row), findings };
  }
}

function toSummary(r: Record<string, unknown>): IntegrityReportSummary {
  return {
    id: r.id as string,
    trigger: r.trigger as string,
    status: r.status as IntegrityReportSummary['status'],
    sources: JSON.parse(r.sources as string) as string[],
    scope: JSON.parse(r.scope as string) as Record<string, unknown>,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string,
    durationMs: r.duration_ms as number,
    counts: JSON.parse(r.counts as string) as IntegrityReportSummary['counts'],
  };
}
