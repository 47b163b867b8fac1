/** Handlers for the runs, artifacts and scheduler parts of the contract. */
import { existsSync } from 'node:fs';
import { copyFile, open, stat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import type { EventHub, Handlers } from '../api';
import { AppError, errorMessage, FolderError, makeFolder } from '../platform';
import type { RunTracker } from '../runs';
import { nextRunTimes, type WorkflowScheduler } from '../scheduler';
import type { Warehouse } from '../storage';
import { compareRuns } from './compare';
import type { Pipeline } from './workflow';

export interface RunsHandlerDeps {
  pipeline: Pipeline;
  tracker: RunTracker;
  scheduler: WorkflowScheduler;
  warehouse: Warehouse;
  settings: () => { WORKFLOW_TIMEZONE: string; WORKFLOW_SKIP_HOLIDAYS: boolean };
  clock: { now(): number };
}

type RunsMethod =
  | 'runs.list'
  | 'runs.get'
  | 'runs.logs'
  | 'runs.trigger'
  | 'runs.cancel'
  | 'runs.replay'
  | 'runs.compare'
  | 'artifacts.list'
  | 'artifacts.preview'
  | 'artifacts.saveCopy'
  | 'scheduler.status'
  | 'scheduler.pause'
  | 'scheduler.resume'
  | 'scheduler.setSchedule'
  | 'scheduler.preview';

const JSON_PREVIEW_BYTES = 512 * 1024;

export function runsHandlers(deps: RunsHandlerDeps): Pick<Handlers, RunsMethod> {
  const { pipeline, tracker, scheduler } = deps;
  return {
    'runs.list': ({ search, limit, offset }) => ({
      ...tracker.list({ search, limit, offset }),
      current: pipeline.current()?.runId ?? null,
    }),
    'runs.get': ({ runId }) => tracker.get(runId),
    'runs.logs': ({ runId, ...filter }) => {
      tracker.get(runId);
      tracker.flush();
      return { entries: tracker.logs(runId, filter) };
    },
    'runs.trigger': (input) => ({ runId: pipeline.trigger({ ...input, trigger: 'manual' }).runId }),
    'runs.cancel': ({ runId }) => {
      tracker.get(runId); // an unknown id is NOT_FOUND, like runs.get; a finished run answers cancelled: false
      return { cancelled: pipeline.cancel(runId) };
    },
    'runs.replay': ({ runId }) => ({ runId: pipeline.replay(runId).runId }),
    'runs.compare': ({ runIds }) => compareRuns(runIds.map((id) => tracker.get(id))),
    'artifacts.list': (filter) => ({ artifacts: tracker.artifacts(filter) }),
    'artifacts.preview': ({ id, limit, all }) => previewArtifact(deps, id, all ? 100_000 : limit),
    'artifacts.saveCopy': async ({ id, directory }) => {
      const a = tracker.artifact(id);
      if (directory.includes('\0')) throw new AppError('BAD_PATH', 'directory holds a NUL character', { status: 400 });
      if (!isAbsolute(directory))
        throw new AppError('BAD_PATH', `"${directory}" is not an absolute folder path`, { status: 400 });
      await makeFolder(directory).catch((err: unknown) => {
        throw err instanceof FolderError ? new AppError('BAD_PATH', err.message, { status: 400 }) : err;
      });
      const target = join(directory, `${a.runId}-${basename(a.name)}`);
      await copyFile(a.path, target).catch((err: unknown) => {
        throw copyError(err, a.path, directory);
      });
      return { path: target };
    },
    'scheduler.status': () => scheduler.status(),
    'scheduler.pause': () => scheduler.pause(),
    'scheduler.resume': () => scheduler.resume(),
    'scheduler.setSchedule': ({ expression, timezone }) => scheduler.setSchedule(expression, timezone),
    'scheduler.preview': ({ expression, timezone, count }) => ({
      times: nextRunTimes(expression, timezone ?? deps.settings().WORKFLOW_TIMEZONE, deps.clock.now(), count, {
        skipHolidays: deps.settings().WORKFLOW_SKIP_HOLIDAYS,
      }).map((t) => new Date(t).toISOString()),
    }),
  };
}

type Cell = string | number | boolean | null;

async function previewArtifact(deps: RunsHandlerDeps, id: number, limit: number) {
  const artifact = deps.tracker.artifact(id);
  try {
    await stat(artifact.path);
  } catch {
    throw new AppError('ARTIFACT_MISSING', `The file of artifact ${artifact.name} is gone: ${artifact.path}`, { status: 404 });
  }
  if (artifact.kind === 'json') {
    if (artifact.size > JSON_PREVIEW_BYTES && limit < 100_000) {
      const fh = await open(artifact.path, 'r');
      try {
        const buf = Buffer.alloc(JSON_PREVIEW_BYTES);
        const { bytesRead } = await fh.read(buf, 0, JSON_PREVIEW_BYTES, 0);
        return {
          artifact,
          format: 'text' as const,
          columns: [],
          rows: [],
          text: buf.subarray(0, bytesRead).toString('utf8'),
          totalRows: null,
          truncated: true,
        };
      } finally {
        await fh.close();
      }
    }
    const fh = await open(artifact.path, 'r');
    try {
      const text = await fh.readFile('utf8');
      return {
        artifact,
        format: 'json' as const,
        columns: [],
        rows: [],
        json: JSON.parse(text),
        totalRows: null,
        truncated: false,
      };
    } finally {
      await fh.close();
    }
  }
  const path = artifact.path.replace(/'/g, "''");
  const source =
    artifact.kind === 'parquet' ? `read_parquet('${path}')` : `read_csv('${path}', header = true, auto_detect = true)`;
  const reader = await deps.warehouse.read(`SELECT * FROM ${source} LIMIT ${limit + 1}`);
  const columns = reader.columnNames();
  const raw = reader.getRowsJS() as unknown[][];
  const truncated = raw.length > limit;
  const rows: Cell[][] = raw.slice(0, limit).map((r) => r.map(toCell));
  const [{ n }] = await deps.warehouse.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${source}`);
  return { artifact, format: 'table' as const, columns, rows, totalRows: n, truncated };
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
}

/** Forwards tracker and scheduler events to the contract's event hub. */
export function bridgeRunEvents(tracker: RunTracker, events: EventHub): () => void {
  return tracker.onEvent((e) => {
    if (e.kind === 'log') events.emit('runs.log', e.entry);
    else {
      const { kind: _kind, ...payload } = e;
      events.emit('runs.updated', payload);
    }
  });
}

/** What a failed copy means to the user: the folder refused it (4xx, naming it), or the artifact itself is gone. */
function copyError(err: unknown, source: string, directory: string): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && !existsSync(source))
    return new AppError('ARTIFACT_MISSING', `The artifact file ${source} is no longer there`, { status: 410 });
  const why: Record<string, string> = {
    EACCES: 'is not writable by you',
    EPERM: 'does not allow writing',
    EROFS: 'is on a read-only disk',
    ENOSPC: 'is on a disk with no space left',
    EDQUOT: 'is over its disk quota',
    EISDIR: 'already holds a folder of that name',
  };
  return new AppError(
    'BAD_PATH',
    `directory "${directory}" ${why[code ?? ''] ?? `cannot take the copy (${errorMessage(err)})`}`,
    {
      status: 400,
    },
  );
}
