"""
The pipeline bench's reference (issue 5: "twice as fast as pandas"): the same checks and indicators as
core/pipeline/validate.ts and indicators.ts, written the usual pandas way (vectorised, groupby per symbol,
ewm/rolling), over the bars the bench seeded. Only the checks and indicators are timed, in memory: loading
the bars and writing results are not, so the comparison is strict for Marketdesk, whose figure includes
reading from DuckDB and writing the indicators back.

Run by test/bench/pipeline.bench.ts:
    python3 pandas_reference.py <meta.json> <bars.f64>
meta.json: {"symbols": [...], "counts": [...], "outlierZ": 8,
            "sessions": [[open_ms, close_ms], ...]}  (the NYSE sessions of the bars' range, core/calendar)
bars.f64: six little-endian float64 columns one after the other: ts (epoch ms), open, high, low, close, volume.
Prints one JSON line: {"seconds": median of 3, "runs": [...], "rows": n, "pandas": version, "failures": {...}}.
"""
import json
import sys
import time

import numpy as np
import pandas as pd

MINUTE = pd.Timedelta(minutes=1)


def load(meta_path, bars_path):
    meta = json.load(open(meta_path))
    cols = np.fromfile(bars_path, dtype="<f8").reshape(6, -1)
    df = pd.DataFrame(
        {
            "symbol": pd.Categorical(np.repeat(meta["symbols"], meta["counts"])),
            "ts": pd.to_datetime(cols[0], unit="ms"),
            "open": cols[1],
            "high": cols[2],
            "low": cols[3],
            "close": cols[4],
            "volume": cols[5],
        }
    )
    sessions = pd.DataFrame(
        {
            "open_ts": pd.to_datetime([s[0] for s in meta["sessions"]], unit="ms"),
            "close_ts": pd.to_datetime([s[1] for s in meta["sessions"]], unit="ms"),
        }
    )
    sessions["day"] = sessions["open_ts"].dt.tz_localize("UTC").dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    return df, sessions, meta


def validate(df, sessions, z_limit):
    f = {}
    f["required_columns"] = int(not {"ts", "open", "high", "low", "close", "volume"} <= set(df.columns))
    f["no_nulls"] = int(df[["ts", "open", "high", "low", "close", "volume"]].isna().any(axis=1).sum())
    f["prices_positive"] = int((df[["open", "high", "low", "close"]] <= 0).any(axis=1).sum())
    f["volume_non_negative"] = int((df["volume"] < 0).sum())
    f["high_consistent"] = int((df["high"] < df[["open", "close"]].max(axis=1)).sum())
    f["low_consistent"] = int((df["low"] > df[["open", "close"]].min(axis=1)).sum())
    f["no_duplicate_ts"] = int(df.duplicated(["symbol", "ts"]).sum())

    # Gaps against the trading calendar: bars missing inside a session, at its ends, and whole trading days.
    day = df["ts"].dt.tz_localize("UTC").dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    g = df.groupby("symbol", observed=True, sort=False)
    same_session = day.eq(day.groupby(df["symbol"], observed=True).shift())
    steps = g["ts"].diff()
    inside = ((steps / MINUTE - 1).where(same_session & (steps > MINUTE), 0)).sum()
    per_day = pd.DataFrame({"symbol": df["symbol"], "day": day, "ts": df["ts"]}).groupby(["symbol", "day"], observed=True)["ts"].agg(["min", "max"]).reset_index()
    per_day = per_day.merge(sessions, on="day", how="left")
    # As in validate.ts: the range may cut the first and the last session, so only the ends in between count.
    by_symbol = per_day.groupby("symbol", observed=True)["day"]
    not_first = per_day["day"] != by_symbol.transform("min")
    not_last = per_day["day"] != by_symbol.transform("max")
    ends = ((per_day["min"] - per_day["open_ts"]) / MINUTE).clip(lower=0).where(not_first, 0).sum() + (
        (per_day["close_ts"] - per_day["max"]) / MINUTE - 1
    ).clip(lower=0).where(not_last, 0).sum()
    missing_days = 0
    for _, days in per_day.groupby("symbol", observed=True)["day"]:
        expected = sessions["day"][(sessions["day"] >= days.min()) & (sessions["day"] <= days.max())]
        missing_days += int((~expected.isin(days)).sum())
    f["no_calendar_gaps"] = int(inside + ends + missing_days)

    # Return outliers beyond z_limit standard deviations, the overnight return left out.
    ret = g["close"].pct_change().where(same_session)
    stats = ret.groupby(df["symbol"], observed=True).agg(["mean", "std"])
    mean = df["symbol"].map(stats["mean"]).astype(float)
    std = df["symbol"].map(stats["std"]).astype(float)
    f["no_return_outliers"] = int((((ret - mean) / std).abs() > z_limit).sum())
    return f


def indicators(df):
    # transform(lambda) per symbol: groupby().rolling()/.ewm() build a MultiIndex result whose factorising costs
    # more than the arithmetic (1.8 s against 0.7 s here); the reference should be pandas at its quick, not its slow.
    g = df.groupby("symbol", observed=True, sort=False)
    close = g["close"]
    out = pd.DataFrame(index=df.index)
    out["return"] = close.pct_change()
    out["log_return"] = np.log(df["close"]).groupby(df["symbol"], observed=True).diff()
    out["range"] = df["high"] - df["low"]
    out["range_pct"] = out["range"] / df["close"] * 100
    out["sma_20"] = close.transform(lambda s: s.rolling(20).mean())
    out["sma_50"] = close.transform(lambda s: s.rolling(50).mean())
    change = close.diff()
    avg_gain = change.clip(lower=0).groupby(df["symbol"], observed=True).transform(lambda s: s.ewm(alpha=1 / 14, adjust=False).mean())
    avg_loss = (-change).clip(lower=0).groupby(df["symbol"], observed=True).transform(lambda s: s.ewm(alpha=1 / 14, adjust=False).mean())
    out["rsi_14"] = 100 - 100 / (1 + avg_gain / avg_loss)
    ema12 = close.transform(lambda s: s.ewm(span=12, adjust=False).mean())
    ema26 = close.transform(lambda s: s.ewm(span=26, adjust=False).mean())
    out["macd"] = ema12 - ema26
    out["macd_signal"] = out["macd"].groupby(df["symbol"], observed=True).transform(lambda s: s.ewm(span=9, adjust=False).mean())
    out["macd_hist"] = out["macd"] - out["macd_signal"]
    return out


def main():
    df, sessions, meta = load(sys.argv[1], sys.argv[2])
    runs = []
    failures = None
    for _ in range(3):
        t0 = time.perf_counter()
        failures = validate(df, sessions, meta.get("outlierZ", 8))
        out = indicators(df)
        runs.append(time.perf_counter() - t0)
    if len(out) != len(df):
        raise SystemExit("indicators do not cover every bar")
    print(json.dumps({"seconds": sorted(runs)[1], "runs": runs, "rows": len(df), "pandas": pd.__version__, "failures": failures}))


main()
