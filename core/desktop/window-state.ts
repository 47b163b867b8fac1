/** The main window's remembered bounds: read defensively, fitted to the displays present now, written atomically. */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../config';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1280, height: 820, maximized: false };
export const MIN_WINDOW_SIZE = { width: 900, height: 600 };

const stateSchema = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  maximized: z.boolean().default(false),
});

/** A missing or damaged file gives the defaults; it never stops the app from opening. */
export function readWindowState(file: string): WindowState {
  if (!existsSync(file)) return { ...DEFAULT_WINDOW_STATE };
  try {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : { ...DEFAULT_WINDOW_STATE };
  } catch {
    return { ...DEFAULT_WINDOW_STATE };
  }
}

export function writeWindowState(file: string, state: WindowState): void {
  writeJsonAtomic(file, state);
}

/**
 * Keeps the size within the largest display and drops the position when the window would open
 * off-screen (a monitor was unplugged since last time), so the OS centres it.
 */
export function fitToDisplays(state: WindowState, workAreas: Rect[]): WindowState {
  const largest = workAreas.reduce<Rect | null>((a, b) => (!a || b.width * b.height > a.width * a.height ? b : a), null);
  const width = Math.max(MIN_WINDOW_SIZE.width, largest ? Math.min(state.width, largest.width) : state.width);
  const height = Math.max(MIN_WINDOW_SIZE.height, largest ? Math.min(state.height, largest.height) : state.height);
  const fitted: WindowState = { width, height, maximized: state.maximized };
  if (state.x === undefined || state.y === undefined) return fitted;
  // Visible enough: the title bar (top 40 px, at least 100 px wide) lies on some display.
  const titleBar = { x: state.x, y: state.y, width, height: 40 };
  const visible = workAreas.some((area) => overlap(titleBar, area) >= Math.min(100, width) * 20);
  return visible ? { ...fitted, x: state.x, y: state.y } : fitted;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}
