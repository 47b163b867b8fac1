/** The application menu: File (data folder, backup), View (pages), Help (docs, logs folder). */
import type { MenuItemConstructorOptions } from 'electron';
import type { AppActions, PageId } from './actions';

export const PAGE_TITLES: Record<PageId, string> = {
  dashboard: 'Dashboard',
  'market-data': 'Market Data',
  runs: 'Runs',
  artifacts: 'Artifacts',
  webhooks: 'Webhooks',
  imports: 'Imports',
  integrity: 'Integrity',
  settings: 'Settings',
};

export function buildMenuTemplate(
  actions: AppActions,
  platform: NodeJS.Platform = process.platform,
): MenuItemConstructorOptions[] {
  const pages = (Object.keys(PAGE_TITLES) as PageId[]).map(
    (page, i): MenuItemConstructorOptions => ({
      label: PAGE_TITLES[page],
      accelerator: `CmdOrCtrl+${i + 1}`,
      click: () => actions.showPage(page),
    }),
  );
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Data Folder', click: () => actions.openDataFolder() },
        { label: 'Back Up Now', click: () => void actions.backup() },
        { type: 'separator' },
        { label: 'Settings…', accelerator: 'CmdOrCtrl+,', click: () => actions.showPage('settings') },
        { type: 'separator' },
        { label: 'Quit Marketdesk', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [...pages, { type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }, { role: 'togglefullscreen' }],
    },
    { role: 'windowMenu' },
    {
      label: 'Help',
      submenu: [
        { label: 'Documentation', click: () => actions.openDocs() },
        { label: 'Open Logs Folder', click: () => actions.openLogsFolder() },
      ],
    },
  ];
  if (platform === 'darwin') template.unshift({ role: 'appMenu' });
  return template;
}
