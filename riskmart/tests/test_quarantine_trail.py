"""The quarantine's audit trail is queryable in staging, without the rejected record itself (it may hold PII)."""

from __future__ import annotations

import duckdb
import pytest

pytestmark = pytest.mark.slow


def test_every_quarantined_record_is_in_the_staged_trail_without_its_payload(demo_cycle) -> None:
    with duckdb.connect(str(demo_cycle.settings.warehouse), read_only=True) as con:
        columns = [
            row[0] for row in con.execute("describe staging.stg_ingest__quarantined_records").fetchall()
        ]
        staged = con.execute(
            "select file_id, line_number, table_name, cast(rules_broken as varchar)"
            " from staging.stg_ingest__quarantined_records order by all"
        ).fetchall()
        raw = con.execute(
            "select _file_id, line_number, table_name, cast(rules_broken as varchar)"
            " from raw.quarantine order by all"
        ).fetchall()
    assert "record" not in columns
    assert {"file_id", "source_file", "line_number", "rules_broken", "export_date", "loaded_at"} <= set(
        columns
    )
    # the demo export is 1 % dirty: the cycle quarantined rows, and every one is in the trail
    assert len(raw) > 0 and staged == raw
