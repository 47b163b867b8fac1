/**
 * The Unusual Whales stream connector on its own, against a fake UW socket on 127.0.0.1:
 * joining, backoff and re-joining, bad frames, refused tokens, graceful stop.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Logger, type LogRecord, ManualClock, memorySink } from '../../core/platform';
import { type UwFrameSink, UwStreamConnector, type UwStreamFrame, type UwStreamStatus } from '../../core/webhooks/uw-stream';
import { eventually, FakeUwStream } from './fake-uw-stream';

const FIXTURES = '/work/shared/fixtures/webhooks';
const fixture = (name: string): unknown => JSON.parse(readFileSync(`${FIXTURES}/${name}`, 'utf8'));

/** An inbox stand-in that dedupes on the frame text, so "exactly once" is observable. */
class MemorySink implements UwFrameSink {
  readonly stored: UwStreamFrame[] = [];
  readonly rejected: { raw: string; reason: string }[] = [];
  private readonly seen = new Set<string>();
  async ingest(frame: UwStreamFrame) {
    if (this.seen.has(frame.raw)) return 'duplicate' as const;
    this.seen.add(frame.raw);
    this.stored.push(frame);
    return 'accepted' as const;
  }
  reject(raw: string, reason: string) {
    this.rejected.push({ raw, reason });
  }
}

describe('Unusual Whales stream connector', () => {
  let server: FakeUwStream;
  let sink: MemorySink;
  let clock: ManualClock;
  let logs: LogRecord[];
  let statuses: UwStreamStatus[];
  let connector: UwStreamConnector;

  beforeEach(async () => {
    server = await FakeUwStream.start('secret-uw-token');
    sink = new MemorySink();
    clock = new ManualClock();
    logs = [];
    statuses = [];
    connector = new UwStreamConnector({
      sink,
      clock,
      logger: new Logger([memorySink(logs)], 'debug'),
      backoff: { baseMs: 1_000, maxMs: 8_000, factor: 2, jitter: 0 },
      onStatus: (s) => statuses.push(s),
    });
  });

  afterEach(async () => {
    await connector.stop();
    await server.close();
  });

  const channels = ['option_trades', 'flow-alerts', 'gex:SPY', 'gex_strike:SPY'];

  it('joins every configured channel with the token and stores each recorded frame once', async () => {
    await connector.start({ token: 'secret-uw-token', channels, url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 4, 'four join messages');

    expect(server.latest.token).toBe('secret-uw-token');
    expect(server.latest.joins).toEqual(channels.map((channel) => ({ channel, msg_type: 'join' })));
    await eventually(() => connector.status().joinedChannels.length === 4, 'four joins acknowledged');
    expect(connector.status().state).toBe('open');
    expect(connector.status().joinedChannels).toEqual(channels);
    expect(connector.status().url).toBe(`${server.url}?token=****`);

    for (const name of ['uw-option-trade.json', 'uw-flow-alert.json', 'uw-gex.json', 'uw-gex-strike.json']) {
      server.send(fixture(name));
    }
    await eventually(() => sink.stored.length === 4, 'four frames stored');
    await connector.drain();

    expect(sink.stored.map((f) => f.channel)).toEqual(['option_trades', 'flow-alerts', 'gex:SPY', 'gex_strike:SPY']);
    expect((sink.stored[1].payload as { id: string }).id).toBe('29ed5829-e4ce-4934-876b-51985d2f9b70');
    // Join acknowledgements are protocol, not data: nothing of them reaches the inbox.
    expect(sink.stored.some((f) => JSON.stringify(f.payload).includes('"status":"ok"'))).toBe(false);
    const status = connector.status();
    expect(status.framesAccepted).toBe(4);
    expect(status.framesReceived).toBe(4); // join acknowledgements are not counted as data
    expect(status.lastFrameAt).toBe(new Date(clock.now()).toISOString());
  });

  it('after a dropped connection it waits its backoff on the clock, reconnects and re-joins every channel', async () => {
    await connector.start({ token: 'secret-uw-token', channels, url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 4, 'first joins');
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => sink.stored.length === 1, 'first frame stored');

    server.drop();
    await eventually(() => connector.status().state === 'backoff', 'backoff after the drop');
    expect(connector.status().reconnectAttempts).toBe(1);
    expect(connector.status().lastError).toMatch(/stream closed \(code 1006/);
    expect(connector.status().joinedChannels).toEqual([]);
    // Nothing is dialled until the injected clock says the backoff is over.
    await clock.advance(999);
    expect(server.connections).toHaveLength(1);
    await clock.advance(1);
    await server.until(() => server.connections[1]?.joins.length === 4, 're-joins on the second connection');
    expect(server.connections[1].joins).toEqual(channels.map((channel) => ({ channel, msg_type: 'join' })));
    await eventually(() => connector.status().state === 'open', 'open again');

    // The provider replays a frame after a reconnect: the inbox keeps it once.
    server.send(fixture('uw-flow-alert.json'));
    server.send(fixture('uw-option-trade.json'));
    await eventually(() => connector.status().framesDuplicate === 1 && sink.stored.length === 2, 'second connection frames');
    expect(sink.stored.map((f) => f.channel)).toEqual(['flow-alerts', 'option_trades']);
    expect(statuses.map((s) => s.state)).toEqual(expect.arrayContaining(['connecting', 'open', 'backoff']));
  });

  it('a channel counts as joined only once the server acknowledges it or sends data on it', async () => {
    server.ackJoins = false;
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts', 'gex:SPY'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 2, 'joins sent');
    await eventually(() => connector.status().state === 'open', 'open');
    expect(connector.status().joinedChannels).toEqual([]);
    server.send(['gex:SPY', { response: {}, status: 'ok' }]);
    await eventually(() => connector.status().joinedChannels.length === 1, 'gex:SPY acknowledged');
    expect(connector.status().joinedChannels).toEqual(['gex:SPY']);
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => connector.status().joinedChannels.length === 2, 'flow-alerts seen in data');
    expect(connector.status().joinedChannels).toEqual(['gex:SPY', 'flow-alerts']);
    // A channel we did not ask for is not listed as joined.
    server.send(['news', { response: {}, status: 'ok' }]);
    await connector.drain();
    expect(connector.status().joinedChannels).toEqual(['gex:SPY', 'flow-alerts']);
  });

  it('a refused token stops the dialling and says why; Reconnect dials again at once', async () => {
    await connector.start({ token: 'wrong-token', channels, url: server.url });
    await server.until(() => server.refused === 1, 'the refusal');
    await eventually(() => connector.status().state === 'refused', 'state refused');
    expect(connector.status()).toMatchObject({
      lastError: 'Unusual Whales refused the token (HTTP 401); check UW_API_TOKEN in Settings, then Reconnect',
      nextRetryAt: null,
      joinedChannels: [],
    });
    await clock.advance(3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.refused).toBe(1);
    expect(server.connections).toHaveLength(0);

    await connector.reconnect();
    await server.until(() => server.refused === 2, 'a second attempt after Reconnect');
    await eventually(() => connector.status().state === 'refused', 'refused again');
    // With the right token (a Settings change restarts the connector) it connects.
    await connector.start({ token: 'secret-uw-token', channels, url: server.url });
    await eventually(() => connector.status().state === 'open', 'open with the right token');
    expect(sink.stored).toHaveLength(0);
  });

  it('grows the backoff while the server keeps refusing, capped, and reports why', async () => {
    server.refuseAllWith = 503;
    await connector.start({ token: 'secret-uw-token', channels, url: server.url });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await server.until(() => server.refused === attempt, `refusal ${attempt}`);
      await eventually(() => connector.status().state === 'backoff', `backoff ${attempt}`);
      const status = connector.status();
      delays.push(Date.parse(status.nextRetryAt ?? '') - clock.now());
      await clock.advance(delays.at(-1) ?? 0);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(connector.status().lastError).toBe('Unusual Whales stream answered HTTP 503');
    // Reconnect skips the wait.
    server.refuseAllWith = null;
    await connector.reconnect();
    await eventually(() => connector.status().state === 'open', 'open after Reconnect');
    expect(sink.stored).toHaveLength(0);
  });

  it('a server that accepts and acknowledges the joins but drops before any data does not reset the backoff', async () => {
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await server.until(() => server.connections[i]?.joins.length === 1, `join ${i + 1}`);
      await eventually(() => connector.status().state === 'open', `open ${i + 1}`);
      server.drop();
      await eventually(() => connector.status().state === 'backoff', `backoff ${i + 1}`);
      delays.push(Date.parse(connector.status().nextRetryAt ?? '') - clock.now());
      await clock.advance(delays.at(-1) ?? 0);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000]);

    // A connection that delivers data is healthy: the next drop starts again from the first delay.
    await server.until(() => server.connections[3]?.joins.length === 1, 'join 4');
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => sink.stored.length === 1, 'data stored');
    server.drop();
    await eventually(() => connector.status().state === 'backoff', 'backoff after data');
    expect(Date.parse(connector.status().nextRetryAt ?? '') - clock.now()).toBe(1_000);
  });

  it('rejects and logs frames that are not [channel, payload], and keeps streaming', async () => {
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    server.send('{"not json');
    server.send({ channel: 'flow-alerts' });
    server.send([42, { id: 'x' }]);
    server.send(['flow-alerts', 'just a string']);
    server.send(fixture('uw-flow-alert.json'));

    await eventually(() => sink.stored.length === 1 && sink.rejected.length === 4, 'one stored, four rejected');
    expect(sink.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^frame is not JSON/),
      'expected a [channel, payload] array',
      'frame channel must be a non-empty string',
      'payload of flow-alerts must be a JSON object or array',
    ]);
    expect(logs.filter((l) => l.msg === 'Unusual Whales frame rejected')).toHaveLength(4);
    expect(connector.status()).toMatchObject({ state: 'open', framesRejected: 4, framesAccepted: 1, reconnectAttempts: 0 });
  });

  it('counts a frame the inbox refuses as rejected without dropping the connection', async () => {
    const { AppError } = await import('../../core/platform');
    const picky: UwFrameSink = {
      async ingest(frame) {
        if (frame.channel === 'gex:SPY') throw new AppError('invalid_payload', 'timestamp: expected a number', { status: 422 });
        return sink.ingest(frame);
      },
    };
    connector = new UwStreamConnector({ sink: picky, clock, logger: new Logger([memorySink(logs)], 'debug') });
    await connector.start({ token: 'secret-uw-token', channels: ['gex:SPY', 'flow-alerts'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 2, 'joins');
    server.send(fixture('uw-gex.json'));
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => connector.status().framesRejected === 1 && connector.status().framesAccepted === 1, 'outcomes');
    expect(logs.find((l) => l.msg === 'Unusual Whales frame rejected')).toMatchObject({
      channel: 'gex:SPY',
      reason: 'timestamp: expected a number',
    });
    expect(connector.status().state).toBe('open');
  });

  it('a channel the server refuses to join is reported and dropped from the joined list', async () => {
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts', 'nonsense'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 2, 'joins');
    await eventually(() => connector.status().state === 'open', 'open');
    server.send(['nonsense', { response: { error: 'unknown channel' }, status: 'error' }]);
    await eventually(() => connector.status().joinedChannels.length === 1, 'nonsense dropped');
    expect(connector.status().joinedChannels).toEqual(['flow-alerts']);
    expect(connector.status().lastError).toBe('channel nonsense: {"error":"unknown channel"}');
    expect(sink.stored).toHaveLength(0);
  });

  it('when the inbox falls behind it pauses reading the socket, then catches up without losing a frame', async () => {
    const gates: (() => void)[] = [];
    const slow: UwFrameSink = {
      async ingest(frame) {
        await new Promise<void>((resolve) => gates.push(resolve));
        return sink.ingest(frame);
      },
    };
    connector = new UwStreamConnector({ sink: slow, clock, logger: new Logger([memorySink(logs)], 'debug'), maxInFlight: 4 });
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    const [channel, alert] = fixture('uw-flow-alert.json') as [string, Record<string, unknown>];
    for (let i = 0; i < 20; i++) server.send([channel, { ...alert, id: `alert-${i}` }]);

    await eventually(() => gates.length >= 4, 'four frames in flight');
    expect(logs.some((l) => l.msg === 'Unusual Whales stream paused: inbox is behind')).toBe(true);
    expect(sink.stored).toHaveLength(0);
    while (sink.stored.length < 20) {
      await eventually(() => gates.length > 0, 'a frame waiting');
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(logs.some((l) => l.msg === 'Unusual Whales stream resumed')).toBe(true);
    expect(sink.stored.map((f) => (f.payload as { id: string }).id)).toEqual(Array.from({ length: 20 }, (_, i) => `alert-${i}`));
    expect(connector.status()).toMatchObject({ state: 'open', framesReceived: 20, framesAccepted: 20 });
  });

  it('refuses a frame over the body limit like POST /uw does, records why, and reconnects', async () => {
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url, maxFrameBytes: 10_000 });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    server.send(['flow-alerts', { id: 'big', note: 'x'.repeat(20_000) }]);
    await eventually(() => connector.status().state === 'backoff', 'backoff after the oversized frame');
    expect(connector.status().lastError).toBe('a frame over 10000 bytes (WEBHOOK_BODY_LIMIT) was refused; the stream reconnects');
    await eventually(() => sink.rejected.length === 1, 'the refusal recorded');
    expect(sink.rejected[0].reason).toMatch(/over 10000 bytes/);
    expect(connector.status().framesRejected).toBe(1);
    expect(sink.stored).toHaveLength(0);

    await clock.advance(1_000);
    await server.until(() => server.connections[1]?.joins.length === 1, 're-joined');
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => sink.stored.length === 1, 'a normal frame stored after the reconnect');
  });

  it('a stop does not wait for a server that never answers the close', async () => {
    connector = new UwStreamConnector({ sink, clock, logger: new Logger([memorySink(logs)], 'debug'), closeTimeoutMs: 200 });
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    await eventually(() => connector.status().state === 'open', 'open');
    // The server stops reading its socket: our close frame is never answered.
    (server.latest.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    await connector.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(connector.status().state).toBe('stopped');
  });

  it('without a token it stays disabled and dials nothing', async () => {
    await connector.start({ token: '', channels, url: server.url });
    expect(connector.status()).toMatchObject({ enabled: false, state: 'disabled' });
    expect(statuses.at(-1)?.state).toBe('disabled');
    expect(server.connections).toHaveLength(0);
  });

  it('stop waits for frames in flight to be stored, then closes the socket', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: UwFrameSink = {
      async ingest(frame) {
        await gate;
        return sink.ingest(frame);
      },
    };
    connector = new UwStreamConnector({ sink: slow, clock, logger: new Logger([memorySink(logs)], 'debug') });
    await connector.start({ token: 'secret-uw-token', channels: ['flow-alerts'], url: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    server.send(fixture('uw-flow-alert.json'));
    await eventually(() => connector.status().framesReceived === 1, 'frame received');

    const stopped = connector.stop();
    let done = false;
    void stopped.then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    release();
    await stopped;
    expect(sink.stored).toHaveLength(1);
    expect(connector.status().state).toBe('stopped');
    await server.until(() => server.latest.socket.readyState === server.latest.socket.CLOSED, 'server sees the close');
  });
});
