"""generate_landing: write one delivery folder per day following the landing contract."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from tools.generate.csvfile import FileBlob, header_line, write_delivery
from tools.generate.merge import merge_events
from tools.generate.render import UsageFormatter, render_events, snapshots, usage_id
from tools.generate.usage import UsageRows, UsageSimulator
from tools.generate.world import Event, build_world


@dataclass(frozen=True)
class GenerateSummary:
    """What a generation run wrote; counts are over all deliveries."""

    days: int
    teams: int
    users: int
    memberships: int
    packs: int
    token_events: int
    usage_rows: int  # distinct good charges (the truth after late rows and corrections)
    usage_records: int  # records in usage files: late rows, corrections and bad rows included
    usage_tokens: int  # tokens of the good charges, corrections applied
    late_rows: int
    corrected_rows: int
    zero_token_rows: int
    rejected_records: dict[str, int] = field(default_factory=dict)  # expected rejects per file
    bad_usage_ids: tuple[str, ...] = field(default=(), repr=False)  # rule-breaking ids
    merged_team_id: str | None = None
    survivor_team_id: str | None = None
    merge_date: date | None = None


def generate_landing(
    landing_dir: Path,
    start: date,
    end: date,
    teams: int = 30,
    seed: int = 7,
    users_per_team_scale: float = 1.0,
) -> GenerateSummary:
    """Write deliveries `start`..`end` (inclusive) into `landing_dir`.

    The output depends only on the arguments: the same call writes byte-identical files.
    Existing delivery folders for those dates are rewritten (manifest removed first).
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if teams < 1 or users_per_team_scale <= 0:
        raise ValueError("teams must be >= 1 and users_per_team_scale > 0")
    n_days = (end - start).days + 1
    rng = np.random.default_rng(seed)
    world = build_world(rng, start, n_days, teams, users_per_team_scale)
    sim = UsageSimulator(rng, world)
    formatter = UsageFormatter(world)
    snapshot_files = snapshots(world)
    events_by_day: dict[int, list[Event]] = defaultdict(list)
    for event in world.events:
        events_by_day[event.day].append(event)

    landing_dir = Path(landing_dir)
    usage_header = header_line("usage.csv").encode("utf-8")
    n_events = usage_records = 0
    rejected: dict[str, int] = defaultdict(int)
    bad_ids: list[str] = []
    for day in range(n_days):
        good = sim.deliver(day)
        bad, rejects = sim.bad_rows(good)
        if day == world.merge_day and world.merged >= 0:
            events_by_day[day].extend(merge_events(world, UsageRows.concat(sim.merged_rows)))
        files = {name: snap.render(day) for name, snap in snapshot_files.items()}
        files["token_events.csv"] = render_events(world, events_by_day[day], n_events + 1)
        data = usage_header + formatter.encode(good) + formatter.encode_bad(bad)
        files["usage.csv"] = FileBlob.of(data, len(good) + len(bad))
        write_delivery(landing_dir / world.day_date(day).isoformat(), world.day_date(day), files)

        n_events += files["token_events.csv"].rows
        usage_records += files["usage.csv"].rows
        rejected["usage.csv"] += rejects
        bad_ids.extend(usage_id(int(b.row.ids[0])) for b in bad)
        users_blob = files["users.csv"]
        rejected["users.csv"] += users_blob.rows - int((world.user_first_day <= day).sum())

    merged = world.merged >= 0
    return GenerateSummary(
        days=n_days,
        teams=len(world.team_ids),
        users=len(world.user_ids),
        memberships=len(world.m_team),
        packs=len(world.packs),
        token_events=n_events,
        usage_rows=sim.stats["usage_rows"],
        usage_records=usage_records,
        usage_tokens=sim.stats["usage_tokens"],
        late_rows=sim.stats["late_rows"],
        corrected_rows=sim.stats["corrected_rows"],
        zero_token_rows=sim.stats["zero_token_rows"],
        rejected_records=dict(rejected),
        bad_usage_ids=tuple(dict.fromkeys(bad_ids)),
        merged_team_id=world.team_ids[world.merged] if merged else None,
        survivor_team_id=world.team_ids[world.survivor] if merged else None,
        merge_date=world.day_date(world.merge_day) if merged else None,
    )
