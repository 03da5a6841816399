"""The pandas peer: the shared figures computed straight from the delivery CSVs.

A plain pandas implementation of the same rules (validation of the rows the figures
need, latest delivery wins, facts dated after D dropped, the five ranges and the
drawdown), timed against the product, and its figures compared with the warehouse's:
Tokens by day, By product and the Summary's Tokens remaining of every active team.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from bench.ranges import time_ranges

TEAM_ID = r"^[A-Za-z0-9_-]{1,64}$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
INTEGER = r"^-?\d+$"
EVENT_SIGNS = {
    "purchase": 1,
    "move_in": 1,
    "merge_in": 1,
    "move_out": -1,
    "merge_out": -1,
    "adjustment": 0,
}


def _read(folder: Path, name: str, columns: list[str]) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, usecols=columns, keep_default_na=False)


def _present(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return (frame[columns] != "").all(axis=1)


def _unique(frame: pd.DataFrame, key: str) -> pd.Series:
    return ~frame[key].duplicated(keep=False)


def _dates(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(DATE)
    return pd.to_datetime(text.where(ok), format="%Y-%m-%d", errors="coerce")


def _timestamps(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(TIMESTAMP)
    return pd.to_datetime(text.where(ok).str.rstrip("Z"), format="ISO8601", errors="coerce")


def _integers(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(INTEGER)
    return pd.to_numeric(text.where(ok), errors="coerce").astype("Int64")


def _teams(folder: Path) -> pd.DataFrame:
    teams = _read(folder, "teams.csv", ["team_id", "team_alias", "include_pii", "status"])
    ok = (
        _present(teams, ["team_id", "team_alias"])
        & teams.team_id.str.fullmatch(TEAM_ID)
        & teams.include_pii.isin(["true", "false"])
        & teams.status.isin(["active", "merged"])
        & _unique(teams, "team_id")
    )
    return teams[ok]


def _keys(folder: Path, name: str, key: str, required: list[str]) -> set[str]:
    frame = _read(folder, name, required)
    return set(frame.loc[_present(frame, required) & _unique(frame, key), key])


def _packs(folder: Path, teams: set[str]) -> pd.DataFrame:
    columns = ["subscription_id", "team_id", "tokens_purchased", "start_date", "end_date"]
    packs = _read(folder, "token_packs.csv", columns)
    packs["tokens_purchased"] = _integers(packs.tokens_purchased)
    packs["start_date"] = _dates(packs.start_date)
    packs["end_date"] = _dates(packs.end_date)
    ok = (
        (packs.subscription_id != "")
        & packs.team_id.isin(teams)
        & (packs.tokens_purchased >= 1)
        & (packs.start_date <= packs.end_date)
        & _unique(packs, "subscription_id")
    )
    return packs[ok.fillna(False).astype(bool)]


def _events(folder: Path, teams: set[str], packs: set[str], day: date) -> pd.DataFrame:
    columns = ["event_id", "event_ts", "team_id", "subscription_id", "event_type", "tokens"]
    events = _read(folder, "token_events.csv", [*columns, "related_team_id"])
    events["event_ts"] = _timestamps(events.event_ts)
    events["tokens"] = _integers(events.tokens)
    sign = events.event_type.map(EVENT_SIGNS)
    ok = (
        (events.event_id != "")
        & events.event_ts.notna()
        & events.team_id.isin(teams)
        & events.subscription_id.isin(packs)
        & sign.notna()
        & events.tokens.notna()
        & ((sign == 0) | (events.tokens * sign > 0))
        & ((events.related_team_id == "") | events.related_team_id.isin(teams))
        & _unique(events, "event_id")
    )
    return events.loc[ok.fillna(False).astype(bool), columns].assign(delivery_date=day)


def _usage(folder: Path, teams: set[str], users: set[str], products: set[str], day: date):
    columns = ["usage_id", "team_id", "autodesk_id", "product_line_code", "version"]
    usage = _read(folder, "usage.csv", [*columns, "usage_date", "charge_ts", "tokens"])
    usage["usage_date"] = _dates(usage.usage_date)
    usage["charge_ts"] = _timestamps(usage.charge_ts)
    usage["tokens"] = _integers(usage.tokens)
    ok = (
        _present(usage, columns)
        & usage.team_id.str.fullmatch(TEAM_ID)
        & usage.team_id.isin(teams)
        & usage.autodesk_id.isin(users)
        & usage.product_line_code.isin(products)
        & usage.usage_date.notna()
        & usage.charge_ts.notna()
        & (usage.tokens >= 0)
        & _unique(usage, "usage_id")
    )
    return usage[ok.fillna(False).astype(bool)].drop(columns="version").assign(delivery_date=day)


def _latest(frames: list[pd.DataFrame], key: str) -> pd.DataFrame:
    rows = pd.concat(frames, ignore_index=True)
    return rows.sort_values("delivery_date", kind="stable").drop_duplicates(key, keep="last")


def load(landing: Path, as_of: date) -> dict:
    """Validated, deduplicated facts as of D and the newest snapshot's teams, products, packs."""
    folders = sorted(
        f
        for f in Path(landing).iterdir()
        if (f / "manifest.json").is_file() and date.fromisoformat(f.name) <= as_of
    )
    usage, events = [], []
    for folder in folders:
        day = date.fromisoformat(folder.name)
        teams = set(_teams(folder).team_id)
        users = _keys(folder, "users.csv", "autodesk_id", ["autodesk_id", "email"])
        products = _keys(folder, "products.csv", "product_line_code", ["product_line_code"])
        packs = set(_packs(folder, teams).subscription_id)
        events.append(_events(folder, teams, packs, day))
        usage.append(_usage(folder, teams, users, products, day))
    newest = folders[-1]
    teams = _teams(newest)
    product_names = _read(newest, "products.csv", ["product_line_code", "product_name"])
    usage_rows = _latest(usage, "usage_id")
    event_rows = _latest(events, "event_id")
    d = pd.Timestamp(as_of)
    return {
        "active": sorted(teams.loc[teams.status == "active", "team_id"]),
        "products": product_names.drop_duplicates("product_line_code", keep=False),
        "packs": _packs(newest, set(teams.team_id)),
        "usage": usage_rows[usage_rows.usage_date <= d],
        "events": event_rows[event_rows.event_ts.dt.normalize() <= d],
    }


def tokens_by_day(data: dict, as_of: date) -> pd.DataFrame:
    """team_id, usage_date, tokens_used for D-364..D, zero-filled, every active team."""
    days = pd.date_range(end=pd.Timestamp(as_of), periods=365, freq="D")
    grid = pd.MultiIndex.from_product([data["active"], days], names=["team_id", "usage_date"])
    daily = data["usage"].groupby(["team_id", "usage_date"])["tokens"].sum()
    return daily.reindex(grid, fill_value=0).rename("tokens_used").reset_index()


def by_product(data: dict, as_of: date) -> pd.DataFrame:
    """team_id, time_range, product, total_users, total_tokens_used, average per month."""
    usage = data["usage"][data["usage"].team_id.isin(data["active"])]
    usage = usage.merge(data["products"], on="product_line_code")
    parts = []
    for label, first, last, months in time_ranges(as_of):
        inside = usage[usage.usage_date.between(pd.Timestamp(first), pd.Timestamp(last))]
        grouped = inside.groupby(["team_id", "product_name"]).agg(
            total_users=("autodesk_id", "nunique"), total_tokens_used=("tokens", "sum")
        )
        grouped["average_tokens_per_month"] = grouped.total_tokens_used / months
        parts.append(grouped.reset_index().assign(time_range=label))
    frame = pd.concat(parts, ignore_index=True).rename(columns={"product_name": "product"})
    return frame[["team_id", "time_range", "product", *frame.columns[2:5]]]


def _ns(values: pd.Series) -> list[int]:
    return values.to_numpy(dtype="datetime64[ns]").astype("int64").tolist()


def _team_remaining(events: pd.DataFrame, usage: pd.DataFrame, packs: dict, day: int) -> int:
    """Drawdown of one team: events and charges in time order (events first on ties).

    ``packs``: subscription_id -> (end, tokens purchased, id, start), dates as epoch ns.
    """
    timeline = sorted(
        [
            *zip(_ns(events.event_ts), [0] * len(events), events.event_id,
                 events.subscription_id, events.tokens.astype(int).tolist(), strict=True),
            *zip(_ns(usage.charge_ts), [1] * len(usage), usage.usage_id,
                 _ns(usage.usage_date), usage.tokens.astype(int).tolist(), strict=True),
        ]
    )  # fmt: skip
    held = sorted({sub for _, kind, _, sub, _ in timeline if kind == 0 and sub in packs},
                  key=packs.__getitem__)  # fmt: skip
    balance: dict[str, int] = defaultdict(int)
    for _ts, kind, _key, target, tokens in timeline:
        if kind == 0:
            balance[target] += tokens
            continue
        need = tokens
        for pack in held:
            if need == 0:
                break
            end, _size, _id, start = packs[pack]
            if balance[pack] > 0 and start <= target <= end:
                take = min(need, balance[pack])
                balance[pack] -= take
                need -= take
    return sum(max(balance[s], 0) for s in held if packs[s][3] <= day <= packs[s][0])


def tokens_remaining(data: dict, as_of: date) -> pd.DataFrame:
    """team_id, tokens_remaining: balances at the end of D in packs active on D."""
    frame = data["packs"]
    packs = dict(
        zip(
            frame.subscription_id,
            zip(_ns(frame.end_date), frame.tokens_purchased.astype(int).tolist(),
                frame.subscription_id, _ns(frame.start_date), strict=True),
            strict=True,
        )
    )  # fmt: skip
    events = dict(tuple(data["events"].groupby("team_id")))
    usage = dict(tuple(data["usage"].groupby("team_id")))
    day = pd.Timestamp(as_of).value
    rows = [
        (
            team,
            _team_remaining(
                events.get(team, data["events"][:0]), usage.get(team, data["usage"][:0]), packs, day
            ),
        )
        for team in data["active"]
    ]
    return pd.DataFrame(rows, columns=["team_id", "tokens_remaining"])


def product_figures(warehouse: Path, as_of: date) -> dict[str, pd.DataFrame]:
    """The same three figures as the warehouse's report models hold them."""
    queries = {
        "tokens_by_day": "SELECT team_id, usage_date, tokens_used FROM main.rpt_tokens_by_day",
        "by_product": "SELECT team_id, time_range, product, total_users, total_tokens_used, "
        "average_tokens_per_month FROM main.rpt_by_product",
        "tokens_remaining": "SELECT team_id, tokens_remaining FROM main.rpt_summary",
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            name: con.execute(f"{sql} WHERE as_of_date = ?", [as_of]).df()
            for name, sql in queries.items()
        }
    finally:
        con.close()


def compare(peer: pd.DataFrame, product: pd.DataFrame) -> dict:
    """Rows on each side and rows that differ (present on one side only, or other values)."""
    keys = [c for c in peer.columns if c in ("team_id", "usage_date", "time_range", "product")]
    values = [c for c in peer.columns if c not in keys]
    product = product.astype({"usage_date": "datetime64[ns]"}) if "usage_date" in keys else product
    peer = peer.astype({"usage_date": "datetime64[ns]"}) if "usage_date" in keys else peer
    joined = peer.merge(product, on=keys, how="outer", suffixes=("_peer", "_product"),
                        indicator=True)  # fmt: skip
    differ = joined["_merge"] != "both"
    for column in values:
        left, right = joined[f"{column}_peer"], joined[f"{column}_product"]
        differ |= ~((left - right).abs() <= 1e-9)
    return {"peer_rows": len(peer), "product_rows": len(product), "mismatches": int(differ.sum())}


def run_peer(landing: Path, as_of: date, warehouse: Path) -> dict:
    """Time the peer end to end (CSV reading included), then compare with the warehouse."""
    start = time.perf_counter()
    data = load(landing, as_of)
    figures = {
        "tokens_by_day": tokens_by_day(data, as_of),
        "by_product": by_product(data, as_of),
        "tokens_remaining": tokens_remaining(data, as_of),
    }
    seconds = time.perf_counter() - start
    product = product_figures(warehouse, as_of)
    checks = {name: compare(frame, product[name]) for name, frame in figures.items()}
    return {"seconds": seconds, "usage_rows": len(data["usage"]), "figures": checks}
