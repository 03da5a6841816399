"""Vectorised usage simulation: daily charges, late rows, corrections and bad rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields

import numpy as np

from tools.generate.catalog import PRODUCTS, VERSIONS
from tools.generate.world import SLOT_PROBABILITY, WEEKEND_FACTOR, ZERO_TOKEN_SHARE, World

WORKDAY_START_S = 7 * 3600
WORKDAY_END_S = 19 * 3600
OTHER_VERSION_SHARE = 0.04
LATE_SHARE = 0.01
MAX_LATE_DAYS = 5
CORRECTION_SHARE = 0.001
# At most one rejected record per this many good records in a usage file (< 1%).
ROWS_PER_REJECT = 150
MAX_REJECTS_PER_FILE = 3
BAD_KINDS = ("negative_tokens", "bad_date", "unknown_product", "duplicate_id", "bad_team_id",
             "unknown_team")  # fmt: skip

RATES = np.array([p.tokens_per_day for p in PRODUCTS], dtype=np.int64)
CLOUD = np.array([p.category == "CLOUD_SERVICE" for p in PRODUCTS])


@dataclass
class UsageRows:
    """Columns of usage records; team/user/product/version/day are indexes into the world."""

    ids: np.ndarray
    team: np.ndarray
    user: np.ndarray
    product: np.ndarray
    version: np.ndarray
    day: np.ndarray
    seconds: np.ndarray
    tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray) -> UsageRows:
        return UsageRows(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(parts: list[UsageRows]) -> UsageRows:
        return UsageRows(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(UsageRows))
        )


@dataclass
class BadRow:
    """A template row plus the single rule it breaks (see BAD_KINDS)."""

    row: UsageRows
    kind: str


class UsageSimulator:
    """Generates each day's charges and routes every record to the delivery that carries it."""

    def __init__(self, rng: np.random.Generator, world: World):
        self.rng = rng
        self.world = world
        self.next_id = 1
        self.pending: dict[int, list[UsageRows]] = defaultdict(list)
        self.merged_rows: list[UsageRows] = []
        self.bad_cursor = 0
        self.stats = {"usage_rows": 0, "usage_tokens": 0, "late_rows": 0, "corrected_rows": 0,
                      "zero_token_rows": 0}  # fmt: skip

    def take_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids

    def charges(self, day: int) -> UsageRows:
        """All charges dated `day`, ordered by charge time, with their final tokens."""
        w, rng = self.world, self.rng
        weekend = w.day_date(day).weekday() >= 5
        p_active = w.m_pweek * (WEEKEND_FACTOR if weekend else 1.0)
        started = w.team_first_day[w.m_team] <= day
        members = np.flatnonzero(started & (rng.random(len(p_active)) < p_active))
        nfav = w.m_nfav[members]
        slots = np.arange(3)[None, :] < nfav[:, None]
        chosen = slots & (rng.random((len(members), 3)) < SLOT_PROBABILITY[None, :])
        chosen[:, 0] |= ~chosen.any(axis=1)
        rows_m, rows_slot = np.nonzero(chosen)
        member = members[rows_m]
        product = w.m_fav[member, rows_slot].astype(np.int64)
        version = w.m_version[member, rows_slot].astype(np.int64)
        other = (rng.random(len(member)) < OTHER_VERSION_SHARE) & ~CLOUD[product]
        version[other] = rng.integers(0, len(VERSIONS) - 1, int(other.sum()))
        tokens = np.where(rng.random(len(member)) < ZERO_TOKEN_SHARE, 0, RATES[product])
        seconds = rng.integers(WORKDAY_START_S, WORKDAY_END_S, len(member))
        order = np.argsort(seconds, kind="stable")
        n = len(member)
        return UsageRows(
            ids=self.take_ids(n),
            team=w.usage_team(day)[member][order].astype(np.int64),
            user=w.m_user[member][order].astype(np.int64),
            product=product[order],
            version=version[order],
            day=np.full(n, day, dtype=np.int64),
            seconds=seconds[order],
            tokens=tokens[order].astype(np.int64),
        )

    def deliver(self, day: int) -> UsageRows:
        """Good usage records of delivery `day`: on-time charges, late rows, corrections."""
        rows = self.charges(day)
        last = self.world.n_days - 1
        n = len(rows)
        lag = np.where(
            self.rng.random(n) < LATE_SHARE, self.rng.integers(1, MAX_LATE_DAYS + 1, n), 0
        )
        lag = np.minimum(lag, last - day)
        if day < last and n and not self.stats["late_rows"] and not lag.any():
            lag[0] = 1  # guarantee at least one late row per run
        for delay in np.unique(lag[lag > 0]):
            self.pending[day + int(delay)].append(rows.take(np.flatnonzero(lag == delay)))
        on_time = np.flatnonzero(lag == 0)

        final_tokens = rows.tokens.copy()
        corrected = np.zeros(0, dtype=np.int64)
        if day < last and len(on_time):
            k = self.rng.binomial(len(on_time), CORRECTION_SHARE)
            k = max(k, 1) if not self.stats["corrected_rows"] else k
            corrected = np.sort(self.rng.choice(on_time, size=k, replace=False))
            final_tokens[corrected] = np.where(
                rows.tokens[corrected] > 0, 0, RATES[rows.product[corrected]]
            )
            fix = rows.take(corrected)
            fix.tokens = final_tokens[corrected]
            self.pending[min(last, day + int(self.rng.integers(1, 4)))].append(fix)

        self.stats["usage_rows"] += n
        self.stats["usage_tokens"] += int(final_tokens.sum())
        self.stats["zero_token_rows"] += int((final_tokens == 0).sum())
        self.stats["late_rows"] += n - len(on_time)
        self.stats["corrected_rows"] += len(corrected)
        if self.world.merged >= 0:
            mine = np.flatnonzero(rows.team == self.world.merged)
            final = rows.take(mine)
            final.tokens = final_tokens[mine]
            self.merged_rows.append(final)
        return UsageRows.concat([rows.take(on_time), *self.pending.pop(day, [])])

    def bad_rows(self, good: UsageRows) -> tuple[list[BadRow], int]:
        """A few rule-breaking records for a delivery, kept under 1% of its usage file.

        Kinds rotate across deliveries so a run exercises them all; a duplicated id costs
        two rejects (every copy of a duplicated key is rejected). Returns rows and rejects.
        """
        budget = min(MAX_REJECTS_PER_FILE, len(good) // ROWS_PER_REJECT)
        bad: list[BadRow] = []
        rejects = 0
        while budget > 0:
            kinds = [
                BAD_KINDS[(self.bad_cursor + i) % len(BAD_KINDS)] for i in range(len(BAD_KINDS))
            ]
            kind = next(k for k in kinds if (2 if k == "duplicate_id" else 1) <= budget)
            self.bad_cursor = (BAD_KINDS.index(kind) + 1) % len(BAD_KINDS)
            template = good.take(np.array([self.rng.integers(len(good))]))
            template.ids = self.take_ids(1)
            copies = 2 if kind == "duplicate_id" else 1
            bad.extend(BadRow(template, kind) for _ in range(copies))
            rejects += copies
            budget -= copies
        return bad, rejects
