/** Desktop notifications for `system.notice` events (run failures, webhook listener errors, core restarts). */
import { Notification } from 'electron';

export interface NoticePayload {
  level: 'info' | 'warn' | 'error';
  title: string;
  message: string;
  link?: string;
}

/** Warnings and errors always; plain information only when the window is not in front. */
export function shouldNotify(notice: NoticePayload, windowFocused: boolean): boolean {
  return notice.level !== 'info' || !windowFocused;
}

export function showNotice(notice: NoticePayload, onClick: () => void): void {
  if (!Notification.isSupported()) return;
  const n = new Notification({
    title: notice.title,
    body: notice.message,
    urgency: notice.level === 'error' ? 'critical' : 'normal',
  });
  n.on('click', onClick);
  n.show();
}
