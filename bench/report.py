"""The targets (ratios measured in the same run) and the markdown summary of a result."""

from __future__ import annotations

MEMORY_LIMIT_MB = 4096


def _target(value: float, limit: float, at_most: bool, unit: str) -> dict:
    met = value <= limit if at_most else value >= limit
    sign = "<=" if at_most else ">="
    return {"value": round(value, 3), "limit": f"{sign} {round(limit, 3)} {unit}", "met": met}


def _stage(refresh: dict, name: str) -> float:
    return refresh["stages"].get(name, {}).get("seconds", 0.0)


def evaluate_targets(f: dict) -> dict:
    """Every target of issue 15, as value, limit and whether it is met."""
    full, nightly, floors = f["full_refresh"], f["nightly_refresh"], f["floors"]
    export_floor_s = floors["export"]["seconds"]
    exports = full["stages"]["exports"]
    # rows per second per core used = rows per CPU second, whatever else the machine runs
    per_core = exports["rows_per_cpu_second"] / floors["export"]["rows_per_cpu_second"]
    product_s = sum(_stage(full, s) for s in ("ingest", "user_hashes", "dbt"))
    peak = max(
        [full["peak_rss_mb"], nightly["peak_rss_mb"]]
        + [f["on_demand_usage_365d"][fmt]["peak_rss_mb"] for fmt in ("xlsx", "csv")]
    )
    differ = sum(c["mismatches"] for c in f["peer"]["figures"].values())
    full_nodes = full["stages"]["dbt"].get("node_seconds", {})
    return {
        "speedup_vs_pandas_peer": _target(
            f["peer"]["pandas"]["seconds"] / product_s, 2, False, "x (peer s / ingest+dbt s)"
        ),
        "peer_figures_differ": _target(differ, 0, True, "rows (product vs pandas peer)"),
        "ingest_vs_floor": _target(
            _stage(full, "ingest") / floors["ingest"]["seconds"], 2, True, "x ingest floor"
        ),
        "dbt_report_stage_vs_compute_floor": _target(
            nightly["stages"]["dbt"]["node_seconds"].get("report_models", 0.0)
            / floors["compute"]["seconds"],
            3,
            True,
            "x compute floor (nightly report models, summed)",
        ),
        "nightly_ingest_plus_dbt_seconds": _target(
            _stage(nightly, "ingest") + _stage(nightly, "dbt"), 30, True, "s"
        ),
        "nightly_refresh_seconds": _target(
            nightly["seconds"], export_floor_s + 30, True, "s (export floor + 30 s)"
        ),
        "full_refresh_seconds": _target(
            full["seconds"], export_floor_s + 120, True, "s (export floor + 2 min)"
        ),
        "full_drawdown_seconds": _target(
            full_nodes.get("drawdown_models", 0.0), 30, True, "s (drawdown models, full build)"
        ),
        "exports_rows_per_s_per_core_vs_floor": _target(
            per_core, 0.9, False, "x export floor (rows per CPU second)"
        ),
        "peak_rss_mb": _target(peak, MEMORY_LIMIT_MB, True, "MB"),
        "generation_rows_per_minute": _target(
            f["generation"]["rows_per_second"] * 60, 1_000_000, False, "usage rows/min"
        ),
    }


def _row(name: str, fig: dict, warehouse: object = "") -> str:
    rate = fig.get("rows_per_second")
    return (
        f"| {name} | {fig['seconds']:.1f} | {fig['cpu_seconds']:.1f} | {fig['rows']:,} | "
        f"{'' if not rate else f'{rate:,.0f}'} | {fig['peak_rss_mb']:,.0f} | {warehouse} |"
    )


def markdown(f: dict) -> str:
    """Figures and targets of one result as markdown tables."""
    lines = [
        f"### scale {f['scale']}: {f['teams']:,} teams, {f['users']:,} users, "
        f"{f['days']} daily deliveries, {f['usage_rows']:,} usage rows, "
        f"{f['machine']['cores']} cores",
        "",
        "| measure | seconds | CPU s | rows | rows/s | peak RSS MB | warehouse MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("generation", f["generation"]),
    ]
    for key in ("full_refresh", "nightly_refresh"):
        refresh = f[key]
        lines.append(_row(f"**{key.replace('_', ' ')}**", refresh, refresh["warehouse_mb"]))
        lines += [_row(f"  {key.split('_')[0]}: {n}", s) for n, s in refresh["stages"].items()]
    team = f["on_demand_usage_365d"]["team_id"]
    for fmt in ("xlsx", "csv"):
        lines.append(_row(f"on-demand Usage 365 d, {team}, {fmt}", f["on_demand_usage_365d"][fmt]))
    for name, fig in f["floors"].items():
        lines.append(_row(f"{name} floor", fig))
    lines.append(_row("pandas peer", f["peer"]["pandas"]))
    if "drawdown_rebuilt_alone" in f:  # results written before it was measured lack it
        lines.append(_row("drawdown models rebuilt alone (node s)", f["drawdown_rebuilt_alone"]))
    for key in ("full_refresh", "nightly_refresh"):
        nodes = f[key]["stages"]["dbt"].get("node_seconds", {})
        if nodes:
            lines.append(
                f"\n{key.replace('_', ' ')}, dbt node seconds summed over threads: "
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in nodes.items())
            )
    lines += ["", "| target | value | limit | met |", "|---|---:|---|---|"]
    for name, t in f["targets"].items():
        lines.append(f"| {name} | {t['value']:,} | {t['limit']} | {'yes' if t['met'] else 'NO'} |")
    checks = ", ".join(
        f"{name} {c['mismatches']} of {c['peer_rows']}" for name, c in f["peer"]["figures"].items()
    )
    lines += ["", f"peer vs product, rows that differ: {checks}"]
    return "\n".join(lines)
