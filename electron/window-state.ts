/** Remembers the main window's size, position and maximised state between launches. */
import type { BrowserWindow, Rectangle } from 'electron';
import { fitToDisplays, readWindowState, type WindowState, writeWindowState } from '../core/desktop';

export function initialWindowState(file: string, workAreas: Rectangle[]): WindowState {
  return fitToDisplays(readWindowState(file), workAreas);
}

/** Saves on every move/resize (debounced) and when the window closes. */
export function trackWindowState(win: BrowserWindow, file: string, debounceMs = 500): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (win.isDestroyed() || win.isMinimized()) return;
    const maximized = win.isMaximized();
    // Keep the normal bounds while maximised, so un-maximising next launch restores them.
    const b = maximized ? win.getNormalBounds() : win.getBounds();
    writeWindowState(file, { x: b.x, y: b.y, width: b.width, height: b.height, maximized });
  };
  const later = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, debounceMs);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('maximize', save);
  win.on('unmaximize', save);
  win.on('close', save);
}
