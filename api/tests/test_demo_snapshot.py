"""The API over a snapshot the real pipeline published (demo data → ingest → dbt → train → score →
publish): every client's latest score is the published row, the card is the champion's, and the
schemathesis run finds no 5xx and no schema violation on real data either."""

from __future__ import annotations

from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from api.tests.conftest import KEY, start_server, stop_server
from api.tests.test_schemathesis import CHECKS
from riskmart.publish import current_snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_server(demo_cycle, tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("demo_server"), demo_cycle.settings.publish_path)
    yield server
    stop_server(server)


def test_latest_scores_are_the_published_rows(demo_server, demo_cycle) -> None:
    rows = pq.read_table(current_snapshot(demo_cycle.settings.publish_path)).to_pylist()
    latest: dict[str, dict] = {}
    for row in rows:
        if row["client_id"] not in latest or row["score_date"] > latest[row["client_id"]]["score_date"]:
            latest[row["client_id"]] = row
    with demo_server.client() as api:
        ready = api.get("/ready").json()["snapshot"]
        assert ready["rows"] == len(rows) and ready["clients"] == len(latest)
        for client_id, row in latest.items():
            got = api.get(f"/v1/clients/{quote(client_id, safe='')}/score").json()
            assert got["score_date"] == row["score_date"].isoformat()
            for name in ("probability_of_default", "score", "score_band", "risk_level", "recommended_action",
                         "rule_score", "scored_by", "model_version"):  # fmt: skip
                assert got[name] == row[name], (client_id, name)
            assert [r["reason"] for r in got["reasons"]] == [
                row[f"reason_{k}"] for k in (1, 2, 3) if row[f"reason_{k}"] is not None
            ]
        card = api.get("/v1/model").json()
        assert card["model_version"] == demo_cycle.summary.model_version
        assert card["features"] and set(card["training_window"]) == {"train", "valid", "test"}


def test_schemathesis_on_the_real_snapshot(demo_server) -> None:
    config = schemathesis.Config.from_dict({"headers": {"X-API-Key": KEY}, "request-timeout": 10})
    schema = schemathesis.openapi.from_url(f"{demo_server.base_url}/openapi.json", config=config)
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=20, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def run(case) -> None:
            case.call_and_validate(base_url=demo_server.base_url, headers={"X-API-Key": KEY}, checks=CHECKS)

        run()
