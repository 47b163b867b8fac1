/** The one logger: structured JSON lines with levels, child loggers carry bound fields. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { makeFolderSync } from './folders';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogRecord {
  time: string;
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export interface LogSink {
  write(record: LogRecord): void;
  close?(): Promise<void>;
}

interface LoggerState {
  level: LogLevel;
  sinks: LogSink[];
}

export class Logger {
  private readonly state: LoggerState;
  private readonly bindings: Record<string, unknown>;

  constructor(sinks: LogSink[], level: LogLevel = 'info', bindings: Record<string, unknown> = {}, state?: LoggerState) {
    this.state = state ?? { level, sinks };
    this.bindings = bindings;
  }

  child(bindings: Record<string, unknown>): Logger {
    return new Logger([], this.state.level, { ...this.bindings, ...bindings }, this.state);
  }

  setLevel(level: LogLevel): void {
    this.state.level = level;
  }

  get level(): LogLevel {
    return this.state.level;
  }

  addSink(sink: LogSink): void {
    this.state.sinks.push(sink);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.state.level)) return;
    const record: LogRecord = { time: new Date().toISOString(), level, msg, ...this.bindings, ...normalise(fields) };
    for (const sink of this.state.sinks) sink.write(record);
  }

  async close(): Promise<void> {
    await Promise.all(this.state.sinks.map((s) => s.close?.()));
  }
}

function normalise(fields?: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { message: v.message, name: v.name, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}

export function streamSink(stream: NodeJS.WritableStream = process.stderr): LogSink {
  return { write: (r) => void stream.write(`${JSON.stringify(r, jsonSafe)}\n`) };
}

export function fileSink(path: string): LogSink {
  makeFolderSync(dirname(path));
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  let failed = false;
  // A log file that cannot be written (folder removed, disk full) must never take the process down.
  stream.on('error', (err) => {
    if (!failed) process.stderr.write(`marketdesk: cannot write log file ${path}: ${err.message}\n`);
    failed = true;
  });
  return {
    write: (r) => {
      if (!failed) stream.write(`${JSON.stringify(r, jsonSafe)}\n`);
    },
    close: () => new Promise((resolve) => (failed ? resolve() : stream.end(resolve))),
  };
}

export function memorySink(records: LogRecord[] = []): LogSink & { records: LogRecord[] } {
  return { records, write: (r) => void records.push(r) };
}

export const silentLogger = (): Logger => new Logger([], 'error');

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
