"""A small raw layer for the quality-check tests: two clean deliveries of hand-made rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

D0 = date(2026, 3, 1)  # accepted by an earlier run
D1 = date(2026, 3, 2)  # ingested by the run under test
USAGE_ROWS = 99  # 1 rejected usage row of D1 is exactly a 1% reject rate

# The raw layer as documented in docs/ARCHITECTURE.md, written out independently.
RAW_DDL = {
    "teams": "team_id VARCHAR, team_alias VARCHAR, include_pii BOOLEAN, status VARCHAR, "
    "merged_into_team_id VARCHAR",
    "users": "autodesk_id VARCHAR, email VARCHAR, first_name VARCHAR, last_name VARCHAR",
    "team_members": "team_id VARCHAR, autodesk_id VARCHAR, role VARCHAR",
    "products": "product_line_code VARCHAR, product_name VARCHAR, tokens_per_day BIGINT, "
    "usage_category VARCHAR",
    "token_packs": "subscription_id VARCHAR, contract_number VARCHAR, team_id VARCHAR, "
    "offering_name VARCHAR, term VARCHAR, tokens_purchased BIGINT, purchase_date DATE, "
    "start_date DATE, end_date DATE, reseller_name VARCHAR, reseller_email VARCHAR",
    "token_events": "event_id VARCHAR, event_ts TIMESTAMP, team_id VARCHAR, "
    "subscription_id VARCHAR, event_type VARCHAR, tokens BIGINT, related_team_id VARCHAR",
    "usage": "usage_id VARCHAR, team_id VARCHAR, autodesk_id VARCHAR, product_line_code VARCHAR, "
    "version VARCHAR, usage_date DATE, charge_ts TIMESTAMP, tokens BIGINT",
}


def _snapshot_rows(d: date) -> dict[str, list[tuple]]:
    return {
        "teams": [("T1", "Team One", True, "active", None), ("T2", "Two", False, "merged", "T1")],
        "users": [("U1", "a@x.io", "Ann", "Lee"), ("U2", "b@x.io", None, "Bo")],
        "team_members": [("T1", "U1", "admin"), ("T1", "U2", "user")],
        "products": [
            ("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT"),
            ("RVT", "Revit", 10, "CLOUD_SERVICE"),
        ],
        "token_packs": [
            ("S1", "C1", "T1", "Flex", "Annual", 1000, D0, D0, date(2027, 2, 28), None, None)
        ],
        "token_events": [
            (f"E-{d}", datetime(d.year, d.month, d.day, 9), "T1", "S1", "purchase", 10, None),
            (f"M-{d}", datetime(d.year, d.month, d.day, 8), "T1", "S1", "merge_in", 5, "T2"),
        ],
        "usage": [
            (
                f"u{i:03d}",
                "T1",
                f"U{i % 2 + 1}",
                "ACD",
                "2026",
                d - timedelta(days=i % 2),
                datetime(d.year, d.month, d.day, 12),
                i % 10,
            )
            for i in range(1, USAGE_ROWS + 1)
        ],
    }


def build_raw(path, *statements: str) -> None:
    """Two clean deliveries (D0, D1), an empty quarantine, then ``statements``."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    for table, ddl in RAW_DDL.items():
        con.execute(f"create table raw.{table} ({ddl}, delivery_date DATE, source_line BIGINT)")
        rows = [
            (*r, d, line)
            for d in (D0, D1)
            for line, r in enumerate(_snapshot_rows(d)[table], start=2)
        ]
        marks = "(" + ", ".join("?" for _ in rows[0]) + ")"
        con.execute(
            f"insert into raw.{table} values {', '.join(marks for _ in rows)}",
            [v for r in rows for v in r],
        )
    con.execute(
        "create table raw.quarantine (delivery_date DATE, file VARCHAR, line BIGINT, "
        "raw_values VARCHAR, reason VARCHAR)"
    )
    con.execute(
        "create table raw.deliveries (delivery_date DATE, manifest_sha256 VARCHAR, "
        "ingested_at TIMESTAMP, files_json VARCHAR)"
    )
    con.execute(
        "insert into raw.deliveries values (?, 'x', now(), '{}'), (?, 'y', now(), '{}')", [D0, D1]
    )
    for statement in statements:
        con.execute(statement)
    con.close()
