/** The schedule: cron expression and time zone (validated on save), next run times, pause/resume, missed runs. */
import { useEffect, useState } from 'react';
import { useRuns } from '../../stores/runs';

export function SchedulerCard() {
  const scheduler = useRuns((s) => s.scheduler);
  const error = useRuns((s) => s.schedulerError);
  const action = useRuns((s) => s.schedulerAction);
  const save = useRuns((s) => s.setSchedule);
  const [expression, setExpression] = useState('');
  const [timezone, setTimezone] = useState('');

  const savedExpression = scheduler?.expression;
  const savedTimezone = scheduler?.timezone;
  useEffect(() => {
    if (savedExpression !== undefined) setExpression(savedExpression);
    if (savedTimezone !== undefined) setTimezone(savedTimezone);
  }, [savedExpression, savedTimezone]);

  if (!scheduler) return <div className="card muted">Loading schedule…</div>;
  const dirty = expression !== scheduler.expression || timezone !== scheduler.timezone;
  return (
    <div className="card scheduler" data-testid="scheduler-card">
      <div className="card-head">
        <h2>
          Schedule{' '}
          <span
            className={scheduler.active ? 'ok' : 'warn'}
            data-testid="scheduler-state"
            title={scheduler.active ? `fired by ${scheduler.engine}` : undefined}
          >
            {scheduler.paused
              ? 'paused'
              : scheduler.active
                ? 'active'
                : 'not armed (scheduled runs fire in serve and desktop mode)'}
          </span>
        </h2>
        <div className="actions">
          {scheduler.paused ? (
            <button type="button" onClick={() => void action('resume')} data-testid="scheduler-resume">
              Resume
            </button>
          ) : (
            <button type="button" onClick={() => void action('pause')} data-testid="scheduler-pause">
              Pause
            </button>
          )}
        </div>
      </div>
      <form
        className="schedule-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save(expression.trim(), timezone.trim());
        }}
      >
        <input
          value={expression}
          onChange={(e) => setExpression(e.target.value)}
          aria-label="Cron expression"
          data-testid="schedule-expression"
          className="mono"
        />
        <input
          value={timezone}
          onChange={(e) => setTimezone(e.target.value)}
          aria-label="Time zone"
          data-testid="schedule-timezone"
        />
        <button type="submit" disabled={!dirty} data-testid="schedule-save">
          Save
        </button>
      </form>
      {error && (
        <p className="bad" data-testid="scheduler-error">
          {error}
        </p>
      )}
      <div className="muted small" data-testid="next-runs-label">
        Next runs ({scheduler.timezone}
        {scheduler.skipsHolidays ? ', NYSE holidays skipped' : ''}):
      </div>
      <ul className="next-runs" data-testid="next-runs">
        {scheduler.nextRuns.length === 0 && <li className="muted">none while paused</li>}
        {scheduler.nextRuns.map((t) => (
          <li key={t} className="mono">
            {inZone(t, scheduler.timezone)}
          </li>
        ))}
      </ul>
      {scheduler.lastResult && (
        <p
          className={['started', 'skipped'].includes(scheduler.lastResult.outcome) ? 'muted small' : 'warn small'}
          data-testid="scheduler-last"
        >
          Last fire {inZone(scheduler.lastResult.at, scheduler.timezone, true)}: {scheduler.lastResult.message}
        </p>
      )}
      {scheduler.missed.length > 0 && (
        <p className="warn small" data-testid="scheduler-missed">
          Missed while closed (not run):{' '}
          {scheduler.missed
            .slice(0, 5)
            .map((m) => inZone(m.expectedAt, scheduler.timezone, true))
            .join(', ')}
          {scheduler.missed.length > 5 ? ` and ${scheduler.missed.length - 5} more` : ''}
        </p>
      )}
    </div>
  );
}

/** A time in the schedule's zone, as the next runs are shown (`withZone`: with the zone's short name, e.g. EST). */
function inZone(iso: string, timeZone: string, withZone = false): string {
  return new Date(iso).toLocaleString('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(withZone ? { timeZoneName: 'short' } : {}),
  });
}
