"""Fuzzing of ingest (hypothesis): valid deliveries written in many legal ways, CSV files
mutated at random (grammar tokens, random bytes, dropped or doubled lines, whole files of
noise) and random manifests.

Properties: ingest either loads the delivery or refuses it with ``InvalidDeliveryError``
(never another exception); every loaded row keeps the contract's rules, checked here by
an oracle written from the contract alone; every record is loaded or quarantined; and
every row of a valid delivery loads, value for value.

Budget: ``FLEX_FUZZ=ci`` (default, ``make test``: a few seconds per property, fixed
examples) or ``FLEX_FUZZ=long`` (``make fuzz``: thousands of random examples).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from ingest_fuzz_support import (
    DAY,
    FUZZ,
    INTEGERS,
    KEYS,
    STRING_COLUMNS,
    _loaded,
    assert_contract_holds,
    ingest,
    mutate,
    mutation,
    valid_delivery,
    write,
)
from landing_builder import base_files, count_records, render


@FUZZ
@given(valid_delivery())
def test_every_row_of_a_valid_delivery_loads_value_for_value(delivery):
    files, data = delivery
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), data)
        con, report = ingest(Path(folder))
    assert report is not None and report.rows_rejected == 0
    assert {n: f.loaded for n, f in report.files.items()} == {n: len(r) for n, r in files.items()}
    tables = _loaded(con)
    for name, rows in files.items():
        table = name.removesuffix(".csv")
        key = KEYS[table]
        loaded = {tuple(r[k] for k in key): r for r in tables[table]}
        for row in rows:
            got = loaded[tuple(row[k] for k in key)]
            for column in STRING_COLUMNS[name]:
                if isinstance(got[column], str) or got[column] is None:
                    assert got[column] == (row.get(column) or None), (name, column)
            for column, _ in [INTEGERS.get(name, ("", None))]:
                if column:
                    assert got[column] == int(row[column]), (name, column)
    assert_contract_holds(con)


# --- mutations ---------------------------------------------------------------------------------


@FUZZ
@given(valid_delivery(), st.data())
def test_mutated_csv_is_refused_or_loads_only_rows_that_keep_the_contract(delivery, data):
    _, files = delivery
    files = dict(files)
    for name, kind, where, payload in data.draw(st.lists(mutation(sorted(files)), max_size=4)):
        files[name] = mutate(files[name], kind, where, payload)
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), files)
        con, report = ingest(Path(folder))
    if report is not None:
        for name, file_report in report.files.items():
            assert file_report.loaded + file_report.rejected == file_report.rows, name
        assert_contract_holds(con)


# --- manifests ---------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def manifest_text(draw, valid: dict) -> bytes:
    choice = draw(st.sampled_from(["json", "bytes", "altered", "deep", "duplicate"]))
    if choice == "json":
        return json.dumps(draw(JSON)).encode()
    if choice == "bytes":
        return draw(st.binary(max_size=300))
    if choice == "deep":
        depth = draw(st.integers(1, 50_000))
        return ("[" * depth + "]" * depth).encode()
    if choice == "duplicate":
        return json.dumps(valid).replace('"files"', '"files": {}, "files"', 1).encode()
    doc = json.loads(json.dumps(valid))
    path = draw(st.sampled_from([("delivery_date",), ("files",), ("files", "usage.csv")]))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = draw(JSON)
    if isinstance(doc["files"], dict) and draw(st.booleans()):
        doc["files"][draw(st.text(max_size=12))] = {"rows": 0, "sha256": "0" * 64}
    return json.dumps(doc).encode()


@FUZZ
@given(st.data())
def test_random_manifests_are_refused_naming_the_delivery(data):
    contents = {name: render(name, rows) for name, rows in base_files().items()}
    valid = {
        "delivery_date": DAY,
        "files": {
            n: {"rows": count_records(c), "sha256": hashlib.sha256(c).hexdigest()}
            for n, c in contents.items()
        },
    }
    text = data.draw(manifest_text(valid))
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), contents, valid)
        (Path(folder) / DAY / "manifest.json").write_bytes(text)
        con, report = ingest(Path(folder))
    if report is not None:  # the alteration kept a valid manifest: everything loads
        assert report.rows_rejected == 0
        assert_contract_holds(con)
