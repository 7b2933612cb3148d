"""API keys (401/403, hashed keys), the audit log of lookups, Prometheus metrics."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote

import httpx
import pytest

from api.security import KeyRing, hash_entry, key_digest, key_id, parse_key_list
from api.tests.conftest import HASHED_KEY, KEY, REVOKED_KEY

PROTECTED = [
    ("GET", "/v1/clients/CLI-000/score", None),
    ("GET", "/v1/clients/CLI-000/scores", None),
    ("POST", "/v1/scores/lookup", {"client_ids": ["CLI-000"]}),
    ("GET", "/v1/scores", None),
    ("POST", "/v1/applicants/score", {}),
    ("GET", "/v1/model", None),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_every_protected_route_needs_a_valid_unrevoked_key(server, method: str, path: str, body) -> None:
    for key, status, code in (
        (None, 401, "unauthenticated"),
        ("", 401, "unauthenticated"),
        ("not-a-key", 401, "unauthenticated"),
        (hash_entry(KEY), 401, "unauthenticated"),  # the hash of a key is not a key
        (REVOKED_KEY, 403, "key_revoked"),
    ):
        with server.client(key) as client:
            response = client.request(method, path, json=body)
        assert response.status_code == status, (key, response.text)
        assert response.json()["error"]["code"] == code
        if status == 401:
            assert response.headers["www-authenticate"] == "ApiKey"


def test_without_a_key_nothing_else_is_revealed(server) -> None:
    # Authentication comes first: no hint whether a path or a parameter would have been valid.
    with server.client(key=None) as client:
        for path in ("/v1/no/such/route", "/v1/clients/CLI-000/score?date=not-a-date", "/metrics"):
            assert client.get(path).status_code == 401, path
        assert client.post("/v1/scores/lookup", content=b"not json").status_code == 401


def test_plain_and_hashed_keys_are_accepted(server) -> None:
    for key in (KEY, HASHED_KEY):
        with server.client(key) as client:
            assert client.get("/v1/clients/CLI-000/score").status_code == 200


def test_health_and_ready_are_open(server) -> None:
    with server.client(key=None) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200


def test_key_lists_parse_hashes_and_reject_malformed_ones() -> None:
    assert parse_key_list(" a ,, sha256:" + "0" * 64 + ",", "X") == {key_digest("a"), bytes(32)}
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_key_list("sha256:abc", "RISKMART_API_KEYS")
    ring = KeyRing.from_settings("k1", "")
    assert ring.authenticate("k1") == key_id(key_digest("k1"))
    assert re.fullmatch(r"key_[0-9a-f]{12}", ring.authenticate("k1"))


def _audit_lines(server) -> list[dict]:
    text = server.audit_log.read_text() if server.audit_log.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def _wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError("the audit log did not get the expected records in time")


def test_every_lookup_is_audited_with_a_key_id_never_the_key(server) -> None:
    marker = f"audit-probe-{time.time_ns()}"
    ids = [f"{marker}-é", "CLI-000"]
    with server.client(HASHED_KEY) as client:
        client.get(f"/v1/clients/{quote(ids[0])}/score")  # a 404 is a lookup too
        client.get("/v1/clients/CLI-000/score", params={"date": "2025-06-30"})
        client.get(f"/v1/clients/{quote(ids[0])}/scores", params={"from": "2025-06-01"})
        client.post("/v1/scores/lookup", json={"client_ids": [*ids, ids[0]]})
        page = client.get("/v1/scores", params={"limit": 3}).json()

    def my_records() -> list[dict]:
        records = _audit_lines(server)
        first = next((k for k, r in enumerate(records) if r["client_ids"] == [ids[0]]), None)
        mine = [] if first is None else records[first:]
        mine = [r for r in mine if r["key_id"] == key_id(key_digest(HASHED_KEY))]
        return mine if len(mine) >= 5 else None

    mine = _wait_for(my_records)
    assert [r["action"] for r in mine] == [
        "client_score",
        "client_score",
        "client_score_history",
        "lookup",
        "score_page",
    ]
    assert mine[0]["client_ids"] == [ids[0]] and mine[0]["found"] == 0
    assert (
        mine[1]["client_ids"] == ["CLI-000"]
        and mine[1]["score_date"] == "2025-06-30"
        and mine[1]["found"] == 1
    )
    assert mine[2]["date_from"] == "2025-06-01"
    assert mine[3]["client_ids"] == ids and mine[3]["found"] == 1
    assert mine[4]["client_ids"] == [i["client_id"] for i in page["items"]]
    for record in mine:
        assert time.time() - time.mktime(time.strptime(record["ts"][:19], "%Y-%m-%dT%H:%M:%S")) < 3600 * 24
    text = server.audit_log.read_text()
    for secret in (KEY, HASHED_KEY, REVOKED_KEY):
        assert secret not in text


def test_unauthenticated_calls_are_not_audited_as_lookups(server) -> None:
    marker = f"unauthenticated-{time.time_ns()}"
    with server.client("wrong") as client:
        assert client.get(f"/v1/clients/{marker}/score").status_code == 401
    with server.client() as client:
        assert client.get(f"/v1/clients/{marker}-after/score").status_code == 404
    # Records are written in order: once the later lookup is there, the earlier one would be too.
    records = _wait_for(
        lambda: [r for r in _audit_lines(server) if r["client_ids"] and r["client_ids"][0].startswith(marker)]
    )
    assert [r["client_ids"] for r in records] == [[f"{marker}-after"]]


def test_metrics_count_routes_and_report_the_snapshot(server, api: httpx.Client) -> None:
    api.get("/v1/clients/CLI-000/score")
    api.get("/v1/clients/no-such-client/score")
    api.get("/v2/random/path/1")
    text = api.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = text.text
    route = 'route="/v1/clients/{client_id}/score",method="GET"'
    assert re.search(rf'riskmart_api_requests_total{{{route},status="200"}} [1-9]', body)
    assert re.search(rf'riskmart_api_requests_total{{{route},status="404"}} [1-9]', body)
    assert 'route="unmatched"' in body and "/v2/random" not in body
    assert re.search(rf'riskmart_api_request_duration_seconds_bucket{{{route},le="\+Inf"}} [1-9]', body)
    assert re.search(rf"riskmart_api_request_duration_seconds_count{{{route}}} [1-9]", body)
    age = float(re.search(r"^riskmart_api_snapshot_age_seconds (\S+)$", body, re.M).group(1))
    assert 0 <= age < 3600
    assert re.search(r"^riskmart_api_snapshot_loaded 1\.0$", body, re.M)
    # Every sample line is "name{labels} value" or "name value" with a float value.
    for line in body.splitlines():
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])
