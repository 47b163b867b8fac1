/**
 * The rows of a CSV/Parquet preview, up to 100,000 of them: only the rows in view (and a few around
 * them) are in the DOM. Every row has the same height, so the row at a scroll offset is a division;
 * spacer rows above and below keep the scrollbar true to the whole table. Column widths are fixed
 * from a sample of the rows, so they do not jump while scrolling.
 */
import { useLayoutEffect, useMemo, useRef, useState } from 'react';

export type Cell = string | number | boolean | null;

/** Must match `.artifact-table tbody td` height in runs.css. */
const ROW_HEIGHT = 24;
/** Left + right padding of a cell, as in runs.css. */
const CELL_PADDING_PX = 16;
const OVERSCAN = 12;
const SAMPLE_ROWS = 2000;
const MAX_COLUMN_CH = 40;

function formatCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(8).replace(/0+$/, '').replace(/\.$/, '');
  return String(v);
}

/** Column widths in `ch`, from the header and an even sample of the rows (formatting 1.7M cells would stall). */
function columnWidths(columns: string[], rows: Cell[][]): number[] {
  const widths = columns.map((c) => c.length);
  const step = Math.max(1, Math.floor(rows.length / SAMPLE_ROWS));
  for (let i = 0; i < rows.length; i += step) {
    const row = rows[i];
    for (let j = 0; j < widths.length; j++) widths[j] = Math.max(widths[j], formatCell(row[j] ?? null).length);
  }
  return widths.map((w) => Math.min(MAX_COLUMN_CH, w) + 1);
}

/** Stands for the rows not rendered, so the scrollbar measures the whole table. */
function Spacer({ height, span }: { height: number; span: number }) {
  return (
    <tr className="row-spacer">
      <td colSpan={span} style={{ height }} />
    </tr>
  );
}

export function ArtifactTable({ columns, rows }: { columns: string[]; rows: Cell[][] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(480);
  const widths = useMemo(() => columnWidths(columns, rows), [columns, rows]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport(el.clientHeight);
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const visible = rows.slice(first, last);
  return (
    <div
      className="table-scroll"
      ref={scroller}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      data-testid="artifact-scroll"
    >
      <table
        className="artifact-table"
        style={{ width: `calc(${widths.reduce((a, b) => a + b, 0)}ch + ${widths.length * CELL_PADDING_PX}px)` }}
        data-testid="artifact-table"
      >
        <colgroup>
          {widths.map((w, j) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
            <col key={j} style={{ width: `calc(${w}ch + ${CELL_PADDING_PX}px)` }} />
          ))}
        </colgroup>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} title={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <Spacer height={first * ROW_HEIGHT} span={columns.length} />}
          {visible.map((r, k) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a row's identity is its position in the file
            <tr key={first + k} data-row={first + k}>
              {r.map((v, j) => {
                const text = formatCell(v);
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                  <td key={j} className="mono" title={text.length > MAX_COLUMN_CH ? text : undefined}>
                    {text}
                  </td>
                );
              })}
            </tr>
          ))}
          {last < rows.length && <Spacer height={(rows.length - last) * ROW_HEIGHT} span={columns.length} />}
        </tbody>
      </table>
    </div>
  );
}
