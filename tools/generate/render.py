"""Rendering of the world into delivery files: cached snapshots, events and usage."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tools.generate.catalog import PRODUCTS, RESELLERS, VERSIONS
from tools.generate.csvfile import FileBlob, csv_line, header_line
from tools.generate.usage import RATES, ROWS_PER_REJECT, BadRow, UsageRows
from tools.generate.world import Event, World

# Within one instant: a pair's outgoing row precedes its incoming row.
EVENT_ORDER = {"purchase": 0, "adjustment": 1, "move_out": 2, "move_in": 3, "merge_out": 4,
               "merge_in": 5}  # fmt: skip
BAD_USER_LINE = csv_line(("", "no.id@example.invalid", "Missing", "Identifier"))


class Snapshot:
    """A snapshot file whose records appear from a given day; renders are cached.

    Records only ever get added, except that merged-team records switch to their
    post-merge form from the merge day, so (records present, merged yet) keys a render.
    """

    def __init__(
        self,
        name: str,
        lines: list[str],
        first_day: np.ndarray,
        merged_lines: list[str] | None = None,
        merge_day: int = 0,
    ):
        self.header = header_line(name)
        self.lines = np.array(lines, dtype=object)
        self.merged_lines = np.array(merged_lines if merged_lines else lines, dtype=object)
        self.first_day = np.asarray(first_day)
        self.merge_day = merge_day if merged_lines else 0
        self._key: tuple[int, bool] | None = None
        self._blob: FileBlob | None = None

    def render(self, day: int) -> FileBlob:
        present = self.first_day <= day
        merged = day >= self.merge_day
        key = (int(present.sum()), merged)
        if key != self._key or self._blob is None:
            lines = (self.merged_lines if merged else self.lines)[present]
            data = (self.header + "".join(lines.tolist())).encode("utf-8")
            self._key, self._blob = key, FileBlob.of(data, len(lines))
        return self._blob


def snapshots(world: World) -> dict[str, Snapshot]:
    """The five snapshot files of the world (bad records only where they stay under 1%)."""
    w = world
    pii = ["true" if p else "false" for p in w.team_pii]
    team_lines = [
        csv_line((tid, alias, pii[t], "active", ""))
        for t, (tid, alias) in enumerate(zip(w.team_ids, w.team_aliases, strict=True))
    ]
    merged_team_lines = list(team_lines)
    if w.merged >= 0:
        merged_team_lines[w.merged] = csv_line(
            (w.team_ids[w.merged], w.team_aliases[w.merged], pii[w.merged], "merged",
             w.team_ids[w.survivor])
        )  # fmt: skip

    user_lines = [
        csv_line(u) for u in zip(w.user_ids, w.user_emails, w.user_first, w.user_last, strict=True)
    ]
    user_first_day = w.user_first_day
    if int((user_first_day == 0).sum()) >= ROWS_PER_REJECT:
        user_lines.append(BAD_USER_LINE)
        user_first_day = np.append(user_first_day, 0)

    roles = np.where(w.m_admin, "admin", "user")
    member_lines = [
        csv_line((w.team_ids[t], w.user_ids[u], r))
        for t, u, r in zip(w.m_team.tolist(), w.m_user.tolist(), roles.tolist(), strict=True)
    ]
    moved_lines = [
        csv_line((w.team_ids[w.survivor], w.user_ids[u], "user")) if t == w.merged else line
        for t, u, line in zip(w.m_team.tolist(), w.m_user.tolist(), member_lines, strict=True)
    ]

    product_lines = [
        csv_line((p.code, p.name, str(p.tokens_per_day), p.category)) for p in PRODUCTS
    ]
    pack_lines = []
    for p in w.packs:
        reseller = RESELLERS[p.reseller] or ("", "")
        pack_lines.append(
            csv_line((p.subscription_id, p.contract_number, w.team_ids[p.team], "Flex", "Annual",
                      str(p.tokens), w.day_date(p.purchase_day).isoformat(),
                      p.start.isoformat(), p.end.isoformat(), *reseller))
        )  # fmt: skip
    merging = w.merged >= 0
    return {
        "teams.csv": Snapshot(
            "teams.csv", team_lines, w.team_first_day,
            merged_team_lines if merging else None, w.merge_day,
        ),
        "users.csv": Snapshot("users.csv", user_lines, user_first_day),
        "team_members.csv": Snapshot(
            "team_members.csv", member_lines, w.team_first_day[w.m_team],
            moved_lines if merging else None, w.merge_day,
        ),
        "products.csv": Snapshot("products.csv", product_lines, np.zeros(len(PRODUCTS))),
        "token_packs.csv": Snapshot(
            "token_packs.csv", pack_lines,
            np.array([p.purchase_day for p in w.packs], dtype=np.int64),
        ),
    }  # fmt: skip


def render_events(world: World, events: list[Event], first_id: int) -> FileBlob:
    """token_events.csv for one delivery, ordered by time; ids numbered from `first_id`."""
    lines = [header_line("token_events.csv")]
    ordered = sorted(events, key=lambda e: (e.seconds, e.pack, EVENT_ORDER[e.event_type], e.team))
    for n, e in enumerate(ordered, start=first_id):
        ts = world.day_date(e.day).isoformat() + "T" + _clock(e.seconds)
        related = world.team_ids[e.related] if e.related >= 0 else ""
        lines.append(
            csv_line((f"E-{n:08d}", ts, world.team_ids[e.team],
                      world.packs[e.pack].subscription_id, e.event_type, str(e.tokens), related))
        )  # fmt: skip
    return FileBlob.of("".join(lines).encode("utf-8"), len(ordered))


def _clock(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def usage_id(n: int) -> str:
    return f"U-{n:010d}"


class UsageFormatter:
    """Encodes usage records with pyarrow string kernels (no per-row Python)."""

    def __init__(self, world: World):
        self.team = pa.array(world.team_ids)
        self.user = pa.array(world.user_ids)
        self.product = pa.array([p.code for p in PRODUCTS])
        self.version = pa.array(VERSIONS)
        self.dates = pa.array([world.day_date(d).isoformat() for d in range(world.n_days)])
        self.clock = pa.array([_clock(s) for s in range(86_400)])

    def lines(self, rows: UsageRows) -> pa.StringArray:
        """One newline-terminated CSV line per record (values never need quoting)."""
        ids = pc.utf8_lpad(pc.cast(pa.array(rows.ids), pa.string()), 10, padding="0")
        dates = self.dates.take(pa.array(rows.day))
        return pc.binary_join_element_wise(
            pc.binary_join_element_wise("U-", ids, ""),
            self.team.take(pa.array(rows.team)),
            self.user.take(pa.array(rows.user)),
            self.product.take(pa.array(rows.product)),
            self.version.take(pa.array(rows.version)),
            dates,
            pc.binary_join_element_wise(dates, self.clock.take(pa.array(rows.seconds)), "T"),
            pc.binary_join_element_wise(pc.cast(pa.array(rows.tokens), pa.string()), "\n", ""),
            ",",
        )

    def encode(self, rows: UsageRows) -> bytes:
        if not len(rows):
            return b""
        arr = self.lines(rows)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
        begin, end = offsets[arr.offset], offsets[arr.offset + len(arr)]
        return arr.buffers()[2].to_pybytes()[begin:end]

    def encode_bad(self, bad: list[BadRow]) -> bytes:
        """Bad records: a good record's values with exactly one rule broken."""
        out = []
        for b in bad:
            values = self.encode(b.row).decode("utf-8").rstrip("\n").split(",")
            if b.kind == "negative_tokens":
                values[7] = f"-{max(1, int(RATES[b.row.product[0]]))}"
            elif b.kind == "bad_date":
                values[5] = values[5].replace("-", "/")
            elif b.kind == "unknown_product":
                values[3] = "NOSUCHPRODUCT"
            elif b.kind == "bad_team_id":
                values[1] = "bad team!"
            elif b.kind == "unknown_team":
                values[1] = "no-such-team"
            out.append(",".join(values) + "\n")
        return "".join(out).encode("utf-8")
