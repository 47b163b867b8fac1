/**
 * The runs search box, MLflow style: `params.symbols = "TSLA" AND metrics.rows > 100 AND status = "failed"`.
 * Parsed into conditions (never pasted into SQL), then compiled to a parameterised WHERE clause.
 * An array param (symbols) matches when any element matches.
 */
import { AppError } from '../platform';

export type SearchOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE';

export interface SearchCondition {
  scope: 'params' | 'tags' | 'metrics' | 'attr';
  key: string;
  op: SearchOp;
  value: string | number;
}

export interface RunSearch {
  conditions: SearchCondition[];
}

export class RunSearchError extends AppError {
  constructor(message: string, position: number) {
    super('BAD_SEARCH', `${message} (at character ${position + 1})`, { status: 400, details: { position } });
  }
}

const ATTRIBUTES: Record<string, string> = {
  status: 'status',
  trigger: 'trigger',
  workflow: 'workflow',
  id: 'id',
  run_id: 'id',
  started: 'started_at',
  started_at: 'started_at',
  ended: 'ended_at',
  ended_at: 'ended_at',
};

type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'op'; text: SearchOp; pos: number }
  | { kind: 'and'; pos: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < input.length && input[i] !== c) {
        if (input[i] === '\\' && i + 1 < input.length) i++;
        text += input[i];
        i++;
      }
      if (i >= input.length) throw new RunSearchError(`unterminated string starting with ${c}`, start);
      i++;
      tokens.push({ kind: 'string', text, pos: start });
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', text: two === '<>' ? '!=' : (two as SearchOp), pos: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c as SearchOp, pos: start });
      i += 1;
      if (c === '=' && input[i] === '=') i++;
      continue;
    }
    const num = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(input.slice(i));
    if (num && (c === '-' || /[\d.]/.test(c))) {
      tokens.push({ kind: 'number', value: Number(num[0]), pos: start });
      i += num[0].length;
      continue;
    }
    const word = /^(`[^`]*`|[A-Za-z_][A-Za-z0-9_\-:/]*)(\.(`[^`]*`|[A-Za-z0-9_][A-Za-z0-9_\-:/]*))*/.exec(input.slice(i));
    if (word) {
      const text = word[0];
      i += text.length;
      const upper = text.toUpperCase();
      if (upper === 'AND') tokens.push({ kind: 'and', pos: start });
      else if (upper === 'LIKE') tokens.push({ kind: 'op', text: 'LIKE', pos: start });
      else if (upper === 'OR') throw new RunSearchError('OR is not supported; combine conditions with AND', start);
      else tokens.push({ kind: 'ident', text, pos: start });
      continue;
    }
    throw new RunSearchError(`unexpected character "${c}"`, start);
  }
  return tokens;
}

function splitIdent(text: string, pos: number): { scope: SearchCondition['scope']; key: string } {
  const dot = text.indexOf('.');
  const head = (dot < 0 ? text : text.slice(0, dot)).toLowerCase();
  const rest = dot < 0 ? '' : text.slice(dot + 1).replace(/`/g, '');
  const scopes: Record<string, SearchCondition['scope']> = {
    params: 'params',
    param: 'params',
    tags: 'tags',
    tag: 'tags',
    metrics: 'metrics',
    metric: 'metrics',
    attributes: 'attr',
    attr: 'attr',
  };
  const scope = Object.hasOwn(scopes, head) ? scopes[head] : undefined;
  if (scope && scope !== 'attr') {
    if (!rest) throw new RunSearchError(`"${head}" needs a key, e.g. ${head}.symbols`, pos);
    return { scope, key: rest };
  }
  const attr = (scope === 'attr' ? rest : text).toLowerCase();
  if (!Object.hasOwn(ATTRIBUTES, attr)) {
    throw new RunSearchError(
      `unknown field "${text}"; use params.<name>, tags.<name>, metrics.<name> or one of ${Object.keys(ATTRIBUTES).join(', ')}`,
      pos,
    );
  }
  return { scope: 'attr', key: attr };
}

export function parseRunSearch(input: string): RunSearch {
  const tokens = tokenize(input);
  const conditions: SearchCondition[] = [];
  let i = 0;
  const end = input.length;
  while (i < tokens.length) {
    const ident = tokens[i];
    if (ident.kind !== 'ident') throw new RunSearchError('expected a field name such as params.symbols', ident.pos);
    const op = tokens[i + 1];
    if (op?.kind !== 'op')
      throw new RunSearchError(`expected an operator (=, !=, <, <=, >, >=, LIKE) after "${ident.text}"`, op?.pos ?? end);
    const value = tokens[i + 2];
    if (!value || (value.kind !== 'string' && value.kind !== 'number')) {
      throw new RunSearchError(`expected a quoted value or a number after ${op.text}`, value?.pos ?? end);
    }
    const { scope, key } = splitIdent(ident.text, ident.pos);
    const v = value.kind === 'string' ? value.text : value.value;
    if (scope === 'metrics' && typeof v !== 'number')
      throw new RunSearchError(`metrics compare with numbers, got "${v}"`, value.pos);
    if (op.text === 'LIKE' && typeof v !== 'string') throw new RunSearchError('LIKE needs a quoted pattern', value.pos);
    if (scope === 'attr') checkAttributeValue(key, op.text, v, value.pos);
    conditions.push({ scope, key, op: op.text, value: v });
    i += 3;
    if (i < tokens.length) {
      if (tokens[i].kind !== 'and') throw new RunSearchError('expected AND between conditions', tokens[i].pos);
      i++;
      if (i >= tokens.length) throw new RunSearchError('expected a condition after AND', end);
    }
  }
  return { conditions };
}

const KNOWN_VALUES: Record<string, readonly string[]> = {
  status: ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'],
  trigger: ['manual', 'scheduled', 'replay'],
};
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const TIME_ATTRIBUTES = new Set(['started', 'started_at', 'ended', 'ended_at']);

/** `status = "bogus"` or `started > "yesterday"` would silently match nothing: name the allowed values instead. */
function checkAttributeValue(key: string, op: SearchOp, value: string | number, pos: number): void {
  const known = Object.hasOwn(KNOWN_VALUES, key) ? KNOWN_VALUES[key] : undefined;
  if (known && op !== 'LIKE' && !known.includes(String(value)))
    throw new RunSearchError(`${key} is one of ${known.map((k) => `"${k}"`).join(', ')}; got "${value}"`, pos);
  if (TIME_ATTRIBUTES.has(key) && op !== 'LIKE' && !(typeof value === 'string' && Number.isFinite(Date.parse(value))))
    throw new RunSearchError(`${key} compares with a date such as "2026-01-05" or a time such as "2026-01-05T14:30:00Z"`, pos);
}

/**
 * A stored value as the search compares it: JSON true/false as "true"/"false" (json_each gives 1/0), and — when the
 * searched value is a bare date — an ISO timestamp cut to its date, so `params.from = "2025-06-02"` matches the
 * stored 2025-06-02T00:00:00.000Z.
 */
function comparable(expr: string, typeExpr: string | null, value: string | number): string {
  const bool = typeExpr ? `CASE ${typeExpr} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE ${expr} END` : expr;
  return typeof value === 'string' && DATE_ONLY.test(value)
    ? `CASE WHEN ${expr} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*' THEN substr(${expr}, 1, 10) ELSE ${bool} END`
    : bool;
}

/** Compiles to a WHERE fragment over `runs r`, with positional parameters. */
export function compileRunSearch(search: RunSearch): { where: string; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  for (const c of search.conditions) {
    const op = c.op === 'LIKE' ? 'LIKE' : c.op;
    if (c.scope === 'attr') {
      parts.push(`${comparable(`r.${ATTRIBUTES[c.key]}`, null, c.value)} ${op} ?`);
      params.push(c.value);
    } else if (c.scope === 'metrics') {
      // The latest value of the metric (highest step, then newest row).
      parts.push(
        `(SELECT m.value FROM run_metrics m WHERE m.run_id = r.id AND m.key = ? ORDER BY m.step DESC, m.rowid DESC LIMIT 1) ${op} ?`,
      );
      params.push(c.key, c.value);
    } else {
      const column = c.scope === 'params' ? 'r.params' : 'r.tags';
      const path = `$."${c.key.replace(/"/g, '')}"`;
      const value = comparable('j.value', 'j.type', c.value);
      // `params.symbols = "tsla"` finds the TSLA runs: symbols are stored upper-case, typed however.
      const nocase = typeof c.value === 'string' && (c.op === '=' || c.op === '!=') ? ' COLLATE NOCASE' : '';
      if (c.op === '!=') {
        parts.push(`NOT EXISTS (SELECT 1 FROM json_each(${column}, ?) j WHERE ${value} = ?${nocase})`);
      } else {
        parts.push(`EXISTS (SELECT 1 FROM json_each(${column}, ?) j WHERE ${value} ${op} ?${nocase})`);
      }
      params.push(path, c.value);
    }
  }
  return { where: parts.length ? parts.join(' AND ') : '1 = 1', params };
}
