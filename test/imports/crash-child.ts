/**
 * Child process for the crash test: starts a workstation on DATA_DIR, imports FILE, and SIGKILLs
 * itself the moment the job enters `importing` — after staging committed, before the merge.
 */
import { openTestWorkstation } from '../support/workstation';

const [dataDir, file] = process.argv.slice(2) as [string, string];
const t = await openTestWorkstation({ WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' }, { dataDir });
t.ws.events.subscribe((name, payload) => {
  const job = payload as { id: string; state: string };
  if (name === 'imports.job' && job.state === 'importing') {
    process.stdout.write(`KILLING ${job.id}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
});
t.ws.imports.queue.enqueue({ path: file, source: 'crash-test' });
