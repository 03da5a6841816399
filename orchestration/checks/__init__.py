"""Great Expectations data-quality checks of the raw layer, the reject-rate gate and warnings.

Every rule expressible over the dbt models (staged keys, nulls, accepted values,
references, report identities and row shapes) is a dbt test instead, surfaced by
dagster-dbt as an asset check.

Suites are defined in code and validated with an ephemeral GX context on
pandas frames read from a (read-only) DuckDB connection. Every check returns a
:class:`CheckOutcome`; :mod:`orchestration.defs.check_results` turns those
into Dagster asset check results.
"""

from orchestration.checks.advisories import check_freshness, check_unallocated_tokens
from orchestration.checks.outcome import CheckOutcome, FailedExpectation
from orchestration.checks.raw_suites import check_raw_layer, check_raw_table, raw_check_name
from orchestration.checks.reject_gate import check_reject_rate, reject_rates

__all__ = [
    "CheckOutcome",
    "FailedExpectation",
    "check_freshness",
    "check_raw_layer",
    "check_raw_table",
    "check_reject_rate",
    "check_unallocated_tokens",
    "raw_check_name",
    "reject_rates",
]
