import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings, SettingsStore } from '../../core/config';
import { AppError } from '../../core/platform';
import { removeDir, tempDir } from '../support/temp';

const dirs: string[] = [];
function freshDir(): string {
  const d = tempDir('marketdesk-config-');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function loadError(env: Record<string, string>): AppError {
  const dir = freshDir();
  try {
    loadSettings({ env: { DATA_DIR: dir, ...env }, cwd: dir });
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the settings to be refused');
}

describe('configuration', () => {
  it('gives every documented default on a fresh install', () => {
    const dir = freshDir();
    const { settings, sources } = loadSettings({ env: { DATA_DIR: dir }, cwd: dir });
    expect(settings).toMatchObject({
      DATA_DIR: dir,
      DEBUG_MODE: false,
      CACHE_ENABLED: true,
      CACHE_SYMBOLS: ['NVDA', 'TSLA'],
      CACHE_EXCHANGE: 'NASDAQ',
      CACHE_TTL_HOURS: 24,
      WORKFLOW_SCHEDULE: '0 9 * * 1-5',
      WORKFLOW_TIMEZONE: 'America/New_York',
      IB_HOST: '127.0.0.1',
      IB_PORT: 4002,
      WEBHOOK_HOST: '127.0.0.1',
    });
    expect(typeof settings.IB_CLIENT_ID).toBe('number');
    expect(typeof settings.WEBHOOK_PORT).toBe('number');
    expect(typeof settings.SERVE_PORT).toBe('number');
    expect(sources.CACHE_SYMBOLS).toBe('default');
  });

  it('takes a blank DATA_DIR as the default and expands ~/ like a shell, never making a folder named ~', () => {
    const cwd = freshDir();
    const blank = loadSettings({ env: { DATA_DIR: '  ', XDG_DATA_HOME: join(cwd, 'xdg') }, cwd });
    expect(blank.settings.DATA_DIR).not.toBe(cwd);
    expect(blank.settings.DATA_DIR.startsWith(cwd)).toBe(process.platform === 'linux');
    const tilde = loadSettings({ env: { DATA_DIR: '~/marketdesk-test-data' }, cwd });
    expect(tilde.settings.DATA_DIR).toBe(join(homedir(), 'marketdesk-test-data'));
  });

  it('parses environment strings into typed values', () => {
    const dir = freshDir();
    const { settings } = loadSettings({
      env: { DATA_DIR: dir, DEBUG_MODE: 'yes', CACHE_SYMBOLS: ' aapl, msft ', IB_PORT: '7497', CACHE_TTL_HOURS: '0.5' },
      cwd: dir,
    });
    expect(settings.DEBUG_MODE).toBe(true);
    expect(settings.CACHE_SYMBOLS).toEqual(['AAPL', 'MSFT']);
    expect(settings.IB_PORT).toBe(7497);
    expect(settings.CACHE_TTL_HOURS).toBe(0.5);
    const lists = loadSettings({
      env: {
        DATA_DIR: dir,
        WEBHOOK_ALLOWLIST: '52.89.214.238, 10.0.0.0/8,2001:db8::/32,::1',
        UW_CHANNELS: 'flow-alerts,option_trades:TSLA,gex_strike:BRK.B',
      },
      cwd: dir,
    }).settings;
    expect(lists.WEBHOOK_ALLOWLIST).toEqual(['52.89.214.238', '10.0.0.0/8', '2001:db8::/32', '::1']);
    expect(lists.UW_CHANNELS).toEqual(['flow-alerts', 'option_trades:TSLA', 'gex_strike:BRK.B']);
  });

  it.each([
    ['WORKFLOW_SCHEDULE', '61 * * * *', /WORKFLOW_SCHEDULE="61 \* \* \* \*".*cron/],
    ['WORKFLOW_SCHEDULE', '* * * *', /WORKFLOW_SCHEDULE=.*5 cron fields/],
    ['CACHE_SYMBOLS', 'NV DA,TSLA', /CACHE_SYMBOLS="NV DA,TSLA".*no spaces/],
    ['CACHE_TTL_HOURS', '-1', /CACHE_TTL_HOURS="-1".*0 or more/],
    ['IB_PORT', '70000', /IB_PORT="70000"/],
    ['WORKFLOW_TIMEZONE', 'Mars/Olympus', /WORKFLOW_TIMEZONE="Mars\/Olympus".*IANA/],
    ['DEBUG_MODE', 'maybe', /DEBUG_MODE="maybe".*true or false/],
    // A typo in the allowlist must not be skipped: an allowlist left empty by its typos lets everyone in.
    ['WEBHOOK_ALLOWLIST', '52.89.214.238,34.212.75.300', /WEBHOOK_ALLOWLIST=.*"34\.212\.75\.300" is not an IP address or CIDR/],
    ['WEBHOOK_ALLOWLIST', '10.0.0.0/33', /"10\.0\.0\.0\/33" is not an IP address or CIDR/],
    ['WEBHOOK_ALLOWLIST', 'tradingview.com', /"tradingview\.com" is not an IP address/],
    ['WEBHOOK_ALLOWLIST', 'tradingveiw', /"tradingveiw" is not an IP address or CIDR range .*, or tradingview/],
    ['UW_CHANNELS', 'flow-alerts,option trades', /UW_CHANNELS=.*"option trades" is not an Unusual Whales channel/],
  ])('refuses %s=%s with a message naming the key, the value and what is expected', (key, value, pattern) => {
    const err = loadError({ [key]: value });
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(pattern);
  });

  it('reads .env, lets the environment win over it, and the settings file lose to both', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '.env'), 'CACHE_EXCHANGE=NYSE\nCACHE_TTL_HOURS=5\n');
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ CACHE_TTL_HOURS: 99, IB_PORT: 7497 }));
    const { settings, sources } = loadSettings({ env: { DATA_DIR: dir, CACHE_EXCHANGE: 'ARCA' }, cwd: dir });
    expect(settings.CACHE_EXCHANGE).toBe('ARCA');
    expect(sources.CACHE_EXCHANGE).toBe('env');
    expect(settings.CACHE_TTL_HOURS).toBe(5);
    expect(sources.CACHE_TTL_HOURS).toBe('dotenv');
    expect(settings.IB_PORT).toBe(7497);
    expect(sources.IB_PORT).toBe('file');
  });

  it('refuses a settings file that is not JSON or holds unknown keys, naming the file', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'settings.json'), '{ not json');
    expect(() => loadSettings({ env: { DATA_DIR: dir }, cwd: dir })).toThrow(/settings\.json is not valid JSON/);
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ CACHE_TTL: 3 }));
    expect(() => loadSettings({ env: { DATA_DIR: dir }, cwd: dir })).toThrow(/unknown keys: CACHE_TTL/);
  });
});

describe('live settings', () => {
  function store(env: Record<string, string> = {}) {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    return { dir, store: new SettingsStore(loadSettings({ env: { DATA_DIR: dir, ...env }, cwd: dir })) };
  }

  it('persists a valid change and announces it', () => {
    const { dir, store: s } = store();
    const seen: string[][] = [];
    s.onChange((_settings, changed) => seen.push(changed));
    const { changed } = s.update({ CACHE_SYMBOLS: 'spy,qqq', CACHE_TTL_HOURS: 12 });
    expect(changed.sort()).toEqual(['CACHE_SYMBOLS', 'CACHE_TTL_HOURS']);
    expect(seen).toHaveLength(1);
    const onDisk = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'));
    expect(onDisk).toEqual({ CACHE_SYMBOLS: ['SPY', 'QQQ'], CACHE_TTL_HOURS: 12 });
    // It can hold the webhook secret: readable by this user only.
    if (process.platform !== 'win32') expect(statSync(join(dir, 'settings.json')).mode & 0o777).toBe(0o600);
    const reloaded = loadSettings({ env: { DATA_DIR: dir }, cwd: dir });
    expect(reloaded.settings.CACHE_SYMBOLS).toEqual(['SPY', 'QQQ']);
  });

  it('refuses a bad value, names the field, and changes nothing', () => {
    const { dir, store: s } = store();
    s.update({ CACHE_TTL_HOURS: 3 });
    const before = readFileSync(join(dir, 'settings.json'), 'utf8');
    let error: AppError | undefined;
    try {
      s.update({ CACHE_TTL_HOURS: 8, WORKFLOW_SCHEDULE: 'every day' });
    } catch (err) {
      error = err as AppError;
    }
    expect(error?.code).toBe('SETTING_INVALID');
    const details = error?.details as { issues: { path: string[] }[] } | undefined;
    expect(details?.issues.map((i) => i.path[0])).toEqual(['WORKFLOW_SCHEDULE']);
    expect(s.get().CACHE_TTL_HOURS).toBe(3);
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before);
  });

  it('refuses to change a key the environment sets, or an unknown key', () => {
    const { store: s } = store({ IB_PORT: '7497' });
    expect(() => s.update({ IB_PORT: 4001 })).toThrow(/IB_PORT is set by the environment/);
    expect(() => s.update({ NOPE: 1 } as never)).toThrow(/Unknown setting\(s\): NOPE/);
    expect(() => s.update({ DATA_DIR: '/elsewhere' })).toThrow(/DATA_DIR/);
  });

  it('refuses inherited object keys, hosts that are no host, and values too deep or long to echo', () => {
    const { dir, store: s } = store();
    s.update({ CACHE_TTL_HOURS: 3 });
    const before = readFileSync(join(dir, 'settings.json'), 'utf8');
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__'])
      expect(() => s.update(JSON.parse(`{"${key}": 5}`))).toThrow(/Unknown setting/);
    for (const host of ['0x10', '1.2.3', 'a b', '\u0000\u001b[2J', 'x'.repeat(300), '300.1.1.1', '-bad-.example'])
      expect(() => s.update({ WEBHOOK_HOST: host }), host).toThrow(/WEBHOOK_HOST=.*expected a host name/);
    for (const host of ['localhost', '0.0.0.0', '::1', 'gateway.lan', 'my-pc.local.'])
      expect(() => s.update({ IB_HOST: host }), host).not.toThrow();
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => s.update({ LOG_LEVEL: deep })).toThrow(/LOG_LEVEL=\(a list too deeply nested to show\)/);
    const long = (() => {
      try {
        s.update({ CACHE_SYMBOLS: 7, LOG_LEVEL: 'x'.repeat(1_000_000) });
      } catch (err) {
        return (err as AppError).message;
      }
    })();
    expect(long).toMatch(/LOG_LEVEL="x+… \(1000002 characters\)/);
    expect(long?.length).toBeLessThan(2_000);
    expect(() => s.update({ WEBHOOK_SECRET: 12345 })).toThrow(/WEBHOOK_SECRET=\(hidden\)/);
    // Numbers are decimal and bounded: a timeout past what a timer holds would fire at once.
    expect(() => s.update({ IMPORT_TIMEOUT_SECONDS: 1e7 })).toThrow(
      /IMPORT_TIMEOUT_SECONDS=10000000: expected at most 86400 seconds/,
    );
    expect(() => s.update({ CACHE_TTL_HOURS: '0x10' })).toThrow(/CACHE_TTL_HOURS="0x10"/);
    expect(() => s.update({ WEBHOOK_RATE_LIMIT: 1e308 })).toThrow(/WEBHOOK_RATE_LIMIT/);
    expect(s.update({ CACHE_TTL_HOURS: '1.5e1' }).settings.CACHE_TTL_HOURS).toBe(15);
    s.update({ IB_HOST: '127.0.0.1' });
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toEqual({
      ...JSON.parse(before),
      IB_HOST: '127.0.0.1',
      CACHE_TTL_HOURS: 15,
    });
  });

  it('never shows secrets back, and keeps them when the mask is sent back', () => {
    const { store: s } = store({});
    s.update({ WEBHOOK_SECRET: 'hunter2-very-secret' });
    const view = s.describe();
    expect(view.values.WEBHOOK_SECRET).toBe('********');
    s.update({ WEBHOOK_SECRET: '********', CACHE_TTL_HOURS: 2 });
    expect(s.get().WEBHOOK_SECRET).toBe('hunter2-very-secret');
  });
});
