"""The synthetic world: teams, users, memberships, usage profiles, packs and planned events.

Days are integer offsets from the first delivery date. Everything is drawn from one numpy
Generator in a fixed order, so a seed fully determines the world.
"""

from __future__ import annotations

import calendar
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from tools.generate.catalog import (
    CLOUD_VERSION,
    DESKTOP_VERSION_WEIGHTS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    RESELLERS,
    SPECIAL_ALIASES,
    TEAM_PREFIXES,
    TEAM_SUFFIXES,
)

MEAN_TEAM_SIZE = 20
# Probability that a member uses each of their favourite products on an active day.
SLOT_PROBABILITY = np.array([0.95, 0.40, 0.25])
WEEKEND_FACTOR = 0.04
ZERO_TOKEN_SHARE = 0.03
PURCHASE_WINDOW_S = 7 * 3600  # purchases are booked before the working day starts
ID_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
SUBSCRIPTION_BASE = 61_200_000_000
CONTRACT_BASE = 110_000_000_000


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the end of a shorter month."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pack_end(start: date) -> date:
    """Last usable day of a 12-month pack starting on `start`."""
    return add_months(start, 12) - timedelta(days=1)


@dataclass
class Pack:
    subscription_id: str
    contract_number: str
    team: int
    tokens: int
    purchase_day: int
    start: date
    end: date
    reseller: int


@dataclass
class Event:
    day: int
    seconds: int
    team: int
    pack: int
    event_type: str
    tokens: int
    related: int = -1


@dataclass
class World:
    start: date
    n_days: int
    team_ids: list[str]
    team_aliases: list[str]
    team_pii: np.ndarray
    team_first_day: np.ndarray
    merged: int
    survivor: int
    merge_day: int
    user_ids: list[str]
    user_emails: list[str]
    user_first: list[str]
    user_last: list[str]
    user_first_day: np.ndarray
    m_team: np.ndarray
    m_user: np.ndarray
    m_admin: np.ndarray
    m_pweek: np.ndarray
    m_nfav: np.ndarray
    m_fav: np.ndarray
    m_version: np.ndarray
    packs: list[Pack] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def day_date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def usage_team(self, day: int) -> np.ndarray:
        """Team charged for each membership's usage on `day` (merged members move over)."""
        if self.merged >= 0 and day >= self.merge_day:
            return np.where(self.m_team == self.merged, self.survivor, self.m_team)
        return self.m_team


def build_world(rng: np.random.Generator, start: date, n_days: int, teams: int, scale: float):
    """Draw the complete world for a period of `n_days` starting on `start`."""
    sizes = _team_sizes(rng, teams, scale)
    team_ids, aliases = _team_names(teams)
    pii = rng.random(teams) < 0.7
    late_start = rng.integers(1, max(2, int(n_days * 0.7)), teams)
    first_day = np.minimum(np.where(rng.random(teams) < 0.8, 0, late_start), n_days - 1)
    first_day[:2] = 0
    if teams >= 2:
        pii[0], pii[1] = True, False
    merged, survivor = _merge_pair(sizes, first_day) if teams >= 2 and n_days >= 2 else (-1, -1)
    merge_day = max(1, round(n_days * 0.6)) if merged >= 0 else n_days

    m_team, m_user, m_admin = _memberships(rng, sizes, merged, survivor)
    n_users = int(sizes.sum())
    user_first_day = np.full(n_users, n_days, dtype=np.int64)
    np.minimum.at(user_first_day, m_user, first_day[m_team])
    users = _users(rng, n_users, team_ids, m_team[:n_users])

    world = World(
        start=start, n_days=n_days, team_ids=team_ids, team_aliases=aliases, team_pii=pii,
        team_first_day=first_day, merged=merged, survivor=survivor, merge_day=merge_day,
        user_ids=users[0], user_emails=users[1], user_first=users[2], user_last=users[3],
        user_first_day=user_first_day, m_team=m_team, m_user=m_user, m_admin=m_admin,
        **_profiles(rng, m_team, teams),
    )  # fmt: skip
    runners = _runners(rng, teams, merged)
    world.packs = _packs(rng, world, runners)
    world.events = _purchases(rng, world) + _transfers(rng, world, runners)
    return world


def _team_sizes(rng: np.random.Generator, teams: int, scale: float) -> np.ndarray:
    raw = rng.lognormal(0.0, 1.1, teams)
    return np.maximum(3, np.round(raw / raw.mean() * MEAN_TEAM_SIZE * scale)).astype(np.int64)


def _team_names(teams: int) -> tuple[list[str], list[str]]:
    ids, aliases = [], []
    for i in range(teams):
        prefix = TEAM_PREFIXES[i % len(TEAM_PREFIXES)]
        suffix, suffix_name = TEAM_SUFFIXES[(i // len(TEAM_PREFIXES)) % len(TEAM_SUFFIXES)]
        style = i % 3
        if style == 0:
            ids.append(f"{prefix}-{suffix}-{i + 1:04d}")
        elif style == 1:
            ids.append(f"{prefix.upper()}_{i + 1:04d}")
        else:
            ids.append(f"{prefix}{suffix.title()}{i + 1}")
        alias = f"{prefix.title()} {suffix_name}"
        aliases.append(SPECIAL_ALIASES[i] if i < len(SPECIAL_ALIASES) else alias)
    return ids, aliases


def _merge_pair(sizes: np.ndarray, first_day: np.ndarray) -> tuple[int, int]:
    """The merged team is a mid-sized founding team; the survivor the largest other one."""
    founders = np.flatnonzero(first_day == 0)
    median = np.median(sizes[founders])
    merged = int(founders[np.argmin(np.abs(sizes[founders] - median))])
    others = founders[founders != merged]
    return merged, int(others[np.argmax(sizes[others])])


def _memberships(rng: np.random.Generator, sizes: np.ndarray, merged: int, survivor: int):
    """Each user has a primary team; about 5% also belong to a second team."""
    teams = len(sizes)
    m_team = np.repeat(np.arange(teams), sizes)
    m_user = np.arange(len(m_team))
    admin = np.zeros(len(m_team), dtype=bool)
    admin[np.concatenate(([0], np.cumsum(sizes)[:-1]))] = True
    admin |= rng.random(len(m_team)) < 0.08
    eligible = np.setdiff1d(np.arange(teams), [merged, survivor])
    if len(eligible) == 0:
        return m_team, m_user, admin
    extra_users = np.sort(rng.choice(len(m_team), size=round(0.05 * len(m_team)), replace=False))
    extra_teams = eligible[rng.integers(0, len(eligible), len(extra_users))]
    primary = m_team[extra_users]
    keep = (extra_teams != primary) & (primary != merged) & (primary != survivor)
    m_team = np.concatenate((m_team, extra_teams[keep]))
    m_user = np.concatenate((m_user, extra_users[keep]))
    admin = np.concatenate((admin, np.zeros(int(keep.sum()), dtype=bool)))
    return m_team, m_user, admin


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _users(rng: np.random.Generator, n: int, team_ids: list[str], primary: np.ndarray):
    codes = rng.integers(0, len(ID_ALPHABET), (n, 12))
    ids = ["".join(row) for row in ID_ALPHABET[codes]]
    seen: set[str] = set()
    for i, uid in enumerate(ids):
        while uid in seen:
            uid = "".join(ID_ALPHABET[rng.integers(0, len(ID_ALPHABET), 12)])
        ids[i] = uid
        seen.add(uid)
    first = [FIRST_NAMES[i] for i in rng.integers(0, len(FIRST_NAMES), n)]
    last = [LAST_NAMES[i] for i in rng.integers(0, len(LAST_NAMES), n)]
    if n >= 10:  # one user without a first name and one without a last name
        first[3], last[7] = "", ""
    emails, used = [], set()
    for f, la, team in zip(first, last, primary, strict=True):
        domain = team_ids[team].split("-")[0].split("_")[0].lower() + ".example"
        local = ".".join(p for p in (_ascii(f), _ascii(la)) if p) or "user"
        email, k = f"{local}@{domain}", 1
        while email in used:
            k += 1
            email = f"{local}{k}@{domain}"
        used.add(email)
        emails.append(email)
    return ids, emails, first, last


def _profiles(rng: np.random.Generator, m_team: np.ndarray, teams: int) -> dict:
    """Per membership: weekday activity, 1-3 favourite products and their usual versions."""
    m = len(m_team)
    occasional = rng.random(m) < 0.12
    pweek = np.where(occasional, rng.uniform(0.03, 0.2, m), rng.beta(5, 2.5, m))
    popularity = np.array([p.popularity for p in PRODUCTS])
    team_weights = popularity * (rng.gamma(0.6, size=(teams, len(PRODUCTS))) + 0.05)
    keys = np.log(team_weights[m_team]) + rng.gumbel(size=(m, len(PRODUCTS)))
    fav = np.argsort(-keys, axis=1)[:, :3].astype(np.int8)
    nfav = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20], size=m)
    cloud = np.array([p.category == "CLOUD_SERVICE" for p in PRODUCTS])
    desktop = rng.choice(3, p=DESKTOP_VERSION_WEIGHTS, size=(m, 3))
    version = np.where(cloud[fav], CLOUD_VERSION, desktop).astype(np.int8)
    return {"m_pweek": pweek, "m_nfav": nfav, "m_fav": fav, "m_version": version}


def expected_daily_tokens(world: World) -> np.ndarray:
    """Expected tokens per calendar day for each team (its own members' usage)."""
    rates = np.array([p.tokens_per_day for p in PRODUCTS], dtype=float)
    fav_rates = rates[world.m_fav]
    slot = SLOT_PROBABILITY[None, :] * (np.arange(3)[None, :] < world.m_nfav[:, None])
    per_active_day = (slot * fav_rates).sum(axis=1) + np.prod(1 - slot, axis=1) * fav_rates[:, 0]
    active_share = world.m_pweek * (5 + 2 * WEEKEND_FACTOR) / 7
    per_member = per_active_day * active_share * (1 - ZERO_TOKEN_SHARE)
    return np.bincount(world.m_team, weights=per_member, minlength=len(world.team_ids))


def _runners(rng: np.random.Generator, teams: int, merged: int) -> np.ndarray:
    """Teams that under-buy and run out of tokens (at least one, never the merged team)."""
    runners = rng.random(teams) < 0.12
    if teams >= 3:
        runners[teams - 1] = True
    if merged >= 0:
        runners[merged] = False
    return runners


def _packs(rng: np.random.Generator, world: World, runners: np.ndarray) -> list[Pack]:
    """Each team buys a pack on its first day and tops up before the expected run-out."""
    daily = expected_daily_tokens(world)
    if world.merged >= 0:
        daily[world.survivor] += daily[world.merged]
    resellers = rng.integers(0, len(RESELLERS), len(world.team_ids))
    plans: list[tuple[int, int, int, int]] = []  # (purchase day, team, tokens, start offset)
    for team in range(len(world.team_ids)):
        day = int(world.team_first_day[team])
        last = world.merge_day - 1 if team == world.merged else world.n_days - 1
        while day <= last:
            cover = rng.uniform(90, 240)
            share = rng.uniform(0.35, 0.6) if runners[team] else 1.0
            tokens = max(200, math.ceil(daily[team] * cover * share / 100) * 100)
            plans.append((day, team, tokens, 0))
            day += max(1, int(cover * rng.uniform(0.75, 0.95)))
    by_team = np.bincount([p[1] for p in plans], minlength=len(world.team_ids))
    regular = [t for t in np.argsort(-by_team, kind="stable") if t != world.merged]
    if regular:  # the team with most packs buys a twin of its first (same end date)
        first = next(p for p in plans if p[1] == regular[0])
        plans.append((first[0], first[1], max(100, first[2] // 2), 0))
        topups = [i for i, p in enumerate(plans) if p[1] == regular[0] and p[0] > first[0]]
        if topups:  # and one of its top-ups only starts a week after purchase
            day, team, tokens, _ = plans[topups[0]]
            plans[topups[0]] = (day, team, tokens, 7)
    plans.sort(key=lambda p: (p[0], p[1], -p[2]))
    per_team_count = [0] * len(world.team_ids)
    packs = []
    for k, (day, team, tokens, offset) in enumerate(plans):
        per_team_count[team] += 1
        pack_start = world.day_date(day + offset)
        packs.append(
            Pack(
                subscription_id=str(SUBSCRIPTION_BASE + 17 * k),
                contract_number=str(CONTRACT_BASE + 1000 * team + per_team_count[team]),
                team=team,
                tokens=tokens,
                purchase_day=day,
                start=pack_start,
                end=pack_end(pack_start),
                reseller=int(resellers[team]),
            )
        )
    return packs


def _purchases(rng: np.random.Generator, world: World) -> list[Event]:
    seconds = rng.integers(0, PURCHASE_WINDOW_S, len(world.packs))
    return [
        Event(p.purchase_day, int(s), p.team, i, "purchase", p.tokens)
        for i, (p, s) in enumerate(zip(world.packs, seconds, strict=True))
    ]


def _transfers(rng: np.random.Generator, world: World, runners: np.ndarray) -> list[Event]:
    """Moves between teams and small adjustments, shortly after a pack's purchase.

    Only well-funded teams give tokens away and the merged team takes no part, so no
    balance goes negative and the merged team's ledger stays purchases only.
    """
    n_teams, last = len(world.team_ids), world.n_days - 1
    sources = [
        i
        for i, p in enumerate(world.packs)
        if p.team != world.merged
        and not runners[p.team]
        and p.purchase_day < last
        and p.start == world.day_date(p.purchase_day)
    ]
    if not sources or n_teams < 3:
        return []
    scale = n_teams * world.n_days / 365
    events: list[Event] = []
    for _ in range(max(1, round(scale * 0.3))):
        pack_i = int(sources[rng.integers(len(sources))])
        pack = world.packs[pack_i]
        day = min(last, pack.purchase_day + int(rng.integers(1, 21)))
        ts = int(rng.integers(6 * 3600, 18 * 3600))
        receivers = [
            t
            for t in range(n_teams)
            if t not in (pack.team, world.merged) and world.team_first_day[t] <= day
        ]
        if not receivers:
            continue
        dest = receivers[int(rng.integers(len(receivers)))]
        tokens = max(10, round(pack.tokens * rng.uniform(0.02, 0.08) / 10) * 10)
        events.append(Event(day, ts, pack.team, pack_i, "move_out", -tokens, dest))
        events.append(Event(day, ts, dest, pack_i, "move_in", tokens, pack.team))
    for _ in range(max(1, round(scale * 0.2))):
        pack_i = int(sources[rng.integers(len(sources))])
        pack = world.packs[pack_i]
        day = min(last, pack.purchase_day + int(rng.integers(1, 31)))
        ts = int(rng.integers(6 * 3600, 18 * 3600))
        sign = -1 if rng.random() < 0.4 else 1
        tokens = sign * int(rng.integers(5, 51))
        events.append(Event(day, ts, pack.team, pack_i, "adjustment", tokens))
    return events
