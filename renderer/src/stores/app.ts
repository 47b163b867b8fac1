/** Shell state: which page is open, the workstation status and notices shown to the user. */
import { create } from 'zustand';
import { DASHBOARD_PAGES, type SystemStatus } from '../../../core/api/browser';
import { api } from '../api';

/** The app's pages, as the contract names them (the desktop menu navigates by these ids). */
export type PageId = (typeof DASHBOARD_PAGES)[number];

export interface Notice {
  id: number;
  level: 'info' | 'warn' | 'error';
  title: string;
  message: string;
}

interface AppState {
  page: PageId;
  status: SystemStatus | null;
  statusError: string | null;
  notices: Notice[];
  navigate(page: PageId): void;
  refreshStatus(): Promise<void>;
  notify(notice: Omit<Notice, 'id'>): void;
  dismiss(id: number): void;
}

const pageFromHash = (): PageId => {
  const id = window.location.hash.replace(/^#\/?/, '').split(/[?&]/)[0];
  return (PAGE_IDS as readonly string[]).includes(id) ? (id as PageId) : 'dashboard';
};

export const PAGE_IDS: readonly PageId[] = DASHBOARD_PAGES;

let noticeId = 0;

export const useApp = create<AppState>((set, get) => ({
  page: pageFromHash(),
  status: null,
  statusError: null,
  notices: [],
  navigate(page) {
    if (window.location.hash !== `#/${page}`) history.pushState(null, '', `#/${page}`);
    set({ page });
  },
  async refreshStatus() {
    try {
      set({ status: await api.call('system.status', {}), statusError: null });
    } catch (err) {
      set({ statusError: (err as Error).message });
    }
  },
  notify(notice) {
    const id = ++noticeId;
    set({ notices: [...get().notices, { ...notice, id }].slice(-5) });
    if (notice.level !== 'error') setTimeout(() => get().dismiss(id), 8000);
  },
  dismiss(id) {
    set({ notices: get().notices.filter((n) => n.id !== id) });
  },
}));

window.addEventListener('popstate', () => useApp.setState({ page: pageFromHash() }));
