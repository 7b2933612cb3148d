"""Each score endpoint against a real uvicorn server, checked against the published parquet itself."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from urllib.parse import quote

import httpx
import pytest

from api.schemas import ErrorResponse
from api.tests.snapshots import ODD_CLIENT_IDS, model_card, nested_reasons

FIELDS = (
    "probability_of_default",
    "model_probability",
    "rule_probability",
    "score",
    "score_band",
    "rule_score",
    "segment",
    "risk_level",
    "recommended_action",
    "model_version",
    "scored_by",
)


def url(client_id: str, tail: str = "score") -> str:
    return f"/v1/clients/{quote(client_id, safe='')}/{tail}"


@pytest.fixture(scope="module")
def by_client(expected: list[dict]) -> dict[str, list[dict]]:
    rows = defaultdict(list)
    for row in expected:
        rows[row["client_id"]].append(row)
    for history in rows.values():
        history.sort(key=lambda r: r["score_date"])
    return dict(rows)


def assert_same_score(got: dict, row: dict) -> None:
    """A response item carries exactly the mart row (reasons nested, in rank order)."""
    assert got["client_id"] == row["client_id"]
    assert got["score_date"] == row["score_date"].isoformat()
    for name in FIELDS:
        assert got[name] == row[name], name
    assert got["reasons"] == nested_reasons(row)
    assert set(got) == {"client_id", "score_date", "reasons", *FIELDS}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = ErrorResponse.model_validate(response.json())
    if code is not None:
        assert body.error.code == code, response.text
    return response.json()


def test_latest_score_of_every_client_is_the_mart_row(api: httpx.Client, by_client: dict) -> None:
    for client_id, history in by_client.items():
        response = api.get(url(client_id))
        assert response.status_code == 200, response.text
        assert_same_score(response.json(), history[-1])


def test_score_on_a_date(api: httpx.Client, by_client: dict) -> None:
    client_id = ODD_CLIENT_IDS[0]
    for row in by_client[client_id]:
        response = api.get(url(client_id), params={"date": row["score_date"].isoformat()})
        assert response.status_code == 200
        assert_same_score(response.json(), row)


def test_opaque_ids_round_trip(api: httpx.Client, by_client: dict) -> None:
    for client_id in ODD_CLIENT_IDS:
        assert client_id in by_client
        assert api.get(url(client_id)).json()["client_id"] == client_id


def test_rules_scored_client_has_no_model_fields(api: httpx.Client, by_client: dict) -> None:
    rules = [c for c, h in by_client.items() if h[-1]["scored_by"] == "rules"]
    assert rules
    body = api.get(url(rules[0])).json()
    assert body["model_probability"] is None and body["model_version"] is None
    assert body["reasons"] and all(r["value"] is None for r in body["reasons"])


def test_unknown_client_and_date_are_404(api: httpx.Client, by_client: dict) -> None:
    assert_error(api.get(url("no-such-client")), 404, "client_not_found")
    known = next(iter(by_client))
    assert_error(api.get(url(known), params={"date": "1999-01-01"}), 404, "score_not_found")
    assert_error(api.get(url("no-such-client", "scores")), 404, "client_not_found")


@pytest.mark.parametrize(
    "bad", ["2025-13-01", "2025-02-30", "20250630", "1751241600", "2025-6-30", "yesterday", ""]
)
def test_malformed_date_is_422(api: httpx.Client, bad: str) -> None:
    body = assert_error(api.get(url("CLI-000"), params={"date": bad}), 422, "invalid_request")
    assert body["error"]["details"][0]["loc"] == ["query", "date"]


@pytest.mark.parametrize("bad", ["tab\there", "nul\x00", "x" * 129])
def test_malformed_client_id_is_422(api: httpx.Client, bad: str) -> None:
    assert_error(api.get(url(bad)), 422, "invalid_request")


def test_history_is_newest_first_within_the_range(api: httpx.Client, by_client: dict) -> None:
    client_id = ODD_CLIENT_IDS[1]
    history = by_client[client_id]
    body = api.get(url(client_id, "scores")).json()
    assert [s["score_date"] for s in body["scores"]] == [
        r["score_date"].isoformat() for r in reversed(history)
    ]
    start, end = history[2]["score_date"], history[5]["score_date"]
    body = api.get(url(client_id, "scores"), params={"from": start.isoformat(), "to": end.isoformat()}).json()
    assert body["from"] == start.isoformat() and body["to"] == end.isoformat()
    assert len(body["scores"]) == 4
    for got, row in zip(body["scores"], reversed(history[2:6]), strict=True):
        assert_same_score(got, row)
    empty = api.get(url(client_id, "scores"), params={"from": "1990-01-01", "to": "1990-12-31"})
    assert empty.status_code == 200 and empty.json()["scores"] == []


def test_history_range_backwards_is_422(api: httpx.Client) -> None:
    response = api.get(url("CLI-000", "scores"), params={"from": "2025-06-30", "to": "2025-06-01"})
    assert_error(response, 422, "invalid_range")


def test_lookup_splits_found_unknown_and_missing_on_date(api: httpx.Client, by_client: dict) -> None:
    ids = list(by_client)
    gone = next(c for c, h in by_client.items() if len(h) == 1)  # scored once, on the earliest day
    ids = [c for c in ids if c != gone]
    asked = [ids[3], "unknown-1", ids[0], ids[3], gone, "unknown-2"]
    body = api.post("/v1/scores/lookup", json={"client_ids": asked}).json()
    assert [s["client_id"] for s in body["scores"]] == [ids[3], ids[0], gone]
    assert body["unknown_client_ids"] == ["unknown-1", "unknown-2"]
    assert body["no_score_on_date"] == []
    for item in body["scores"]:
        assert_same_score(item, by_client[item["client_id"]][-1])

    latest = max(r["score_date"] for h in by_client.values() for r in h)
    body = api.post("/v1/scores/lookup", json={"client_ids": asked, "score_date": latest.isoformat()}).json()
    assert body["score_date"] == latest.isoformat()
    assert [s["client_id"] for s in body["scores"]] == [ids[3], ids[0]]
    assert body["no_score_on_date"] == [gone]


def test_lookup_of_a_thousand_ids(api: httpx.Client, by_client: dict) -> None:
    ids = [*by_client, *(f"missing-{k}" for k in range(1000 - len(by_client)))]
    body = api.post("/v1/scores/lookup", json={"client_ids": ids}).json()
    assert len(body["scores"]) == len(by_client) and len(body["unknown_client_ids"]) == 1000 - len(by_client)


def test_lookup_errors(api: httpx.Client) -> None:
    assert_error(
        api.post("/v1/scores/lookup", json={"client_ids": [f"c{k}" for k in range(1001)]}),
        413,
        "batch_too_large",
    )
    assert_error(api.post("/v1/scores/lookup", json={"client_ids": []}), 422, "invalid_request")
    assert_error(api.post("/v1/scores/lookup", json={"client_ids": ["ok", ""]}), 422, "invalid_request")
    assert_error(api.post("/v1/scores/lookup", json={"client_ids": ["ok"], "score_date": "30/06/2025"}), 422)
    assert_error(
        api.post("/v1/scores/lookup", json={"client_ids": ["ok"], "tax_id": "1"}), 422, "invalid_request"
    )
    assert_error(api.post("/v1/scores/lookup", json={"client_ids": "CLI-000"}), 422, "invalid_request")
    bad_json = api.post(
        "/v1/scores/lookup", content=b'{"client_ids": [', headers={"content-type": "application/json"}
    )
    assert_error(bad_json, 422, "invalid_request")
    huge = json.dumps({"client_ids": ["x" * 100] * 20_000}).encode()
    assert_error(
        api.post("/v1/scores/lookup", content=huge, headers={"content-type": "application/json"}), 413
    )


def test_pages_walk_a_whole_day_in_client_order(api: httpx.Client, expected: list[dict]) -> None:
    day = max(r["score_date"] for r in expected)
    wanted = sorted(r["client_id"] for r in expected if r["score_date"] == day)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"date": day.isoformat(), "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = api.get("/v1/scores", params=params).json()
        assert body["score_date"] == day.isoformat() and body["limit"] == 7
        seen += [item["client_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == wanted
    assert pages == -(-len(wanted) // 7)
    # Without a date, the page is of the latest day.
    assert api.get("/v1/scores", params={"limit": 1}).json()["score_date"] == day.isoformat()


def test_page_filters(api: httpx.Client, expected: list[dict]) -> None:
    day = min(r["score_date"] for r in expected)
    rows = [r for r in expected if r["score_date"] == day]
    for level in ("LOW", "MEDIUM", "HIGH"):
        body = api.get(
            "/v1/scores", params={"date": day.isoformat(), "risk_level": level, "limit": 1000}
        ).json()
        assert [i["client_id"] for i in body["items"]] == sorted(
            r["client_id"] for r in rows if r["risk_level"] == level
        )
    band = rows[0]["score_band"]
    items, cursor = [], None
    while True:
        params = {"date": day.isoformat(), "band": band, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/v1/scores", params=params).json()
        items += body["items"]
        if not (cursor := body["next_cursor"]):
            break
    assert [i["client_id"] for i in items] == sorted(r["client_id"] for r in rows if r["score_band"] == band)
    assert all(i["score_band"] == band for i in items)
    unknown = api.get("/v1/scores", params={"date": day.isoformat(), "band": "ZZ"})
    assert_error(unknown, 422, "unknown_band")
    assert band in unknown.json()["error"]["message"]


def test_a_cursor_is_bound_to_its_query(api: httpx.Client, expected: list[dict]) -> None:
    days = sorted({r["score_date"] for r in expected})
    first = api.get(
        "/v1/scores", params={"date": days[0].isoformat(), "risk_level": "LOW", "limit": 1}
    ).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    # The same query goes on; the date may be left out (it is the cursor's), even after a newer day exists.
    same = api.get("/v1/scores", params={"risk_level": "LOW", "limit": 1, "cursor": cursor})
    assert same.status_code == 200 and same.json()["score_date"] == days[0].isoformat()
    assert same.json()["items"][0]["client_id"] > first["items"][0]["client_id"]
    for other in (
        {"risk_level": "HIGH"},
        {},
        {"risk_level": "LOW", "band": first["items"][0]["score_band"]},
        {"risk_level": "LOW", "date": days[-1].isoformat()},
    ):
        assert_error(
            api.get("/v1/scores", params={**other, "limit": 1, "cursor": cursor}), 422, "invalid_cursor"
        )


def test_generated_operation_ids_are_the_route_names(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    assert {"client_score", "client_score_history", "lookup_scores", "score_page", "model_card"} <= ids
    codes = set(schema["components"]["schemas"]["ErrorCode"]["enum"])
    assert {"client_not_found", "invalid_cursor", "unknown_band", "unauthenticated"} <= codes


def test_page_errors(api: httpx.Client) -> None:
    assert_error(api.get("/v1/scores", params={"date": "1999-01-01"}), 404, "score_not_found")
    assert_error(api.get("/v1/scores", params={"cursor": "bm90LWEtY3Vyc29y"}), 422, "invalid_cursor")
    assert_error(api.get("/v1/scores", params={"cursor": "a"}), 422, "invalid_cursor")
    assert_error(api.get("/v1/scores", params={"cursor": "no spaces"}), 422, "invalid_request")
    assert_error(api.get("/v1/scores", params={"limit": 0}), 422, "invalid_request")
    assert_error(api.get("/v1/scores", params={"limit": 1001}), 422, "invalid_request")
    assert_error(api.get("/v1/scores", params={"risk_level": "SEVERE"}), 422, "invalid_request")


def test_model_card(api: httpx.Client) -> None:
    published = model_card()
    card = api.get("/v1/model").json()
    assert card["model_version"] == published["model_version"]
    assert card["metrics"] == published["metrics"]
    assert card["baseline_metrics"] == published["baseline_metrics"]
    assert card["test_window"] == published["test_window"]
    assert card["trained_at"] == "2025-06-01T02:00:00Z"  # the registry's naive UTC, made explicit
    # Completed from the model's registry folder: features and the out-of-time windows.
    kinds = {f["name"]: f["kind"] for f in card["features"]}
    assert kinds["industry"] == "categorical" and kinds["bureau_score"] == "numeric" and len(kinds) > 40
    assert {f["name"]: f["monotone"] for f in card["features"]}["bureau_score"] == -1
    assert set(card["training_window"]) == {"train", "valid", "test"}
    assert card["training_window"]["test"]["start"] == "2025-02-01"
    # A server path is not the caller's business.
    assert "artifact_dir" not in card


def test_health_ready_and_unknown_routes(server, expected: list[dict]) -> None:
    with server.client(key=None) as anonymous:
        assert anonymous.get("/health").json() == {"status": "ok"}
        ready = anonymous.get("/ready").json()
        assert ready["status"] == "ready"
        assert ready["snapshot"]["rows"] == len(expected)
        assert ready["snapshot"]["clients"] == len({r["client_id"] for r in expected})
        assert ready["snapshot"]["latest_score_date"] == max(r["score_date"] for r in expected).isoformat()
        assert ready["snapshot"]["model_version"] == model_card()["model_version"]
        assert_error(anonymous.get("/v2/nothing"), 404, "not_found")
        assert_error(anonymous.delete("/health"), 405, "method_not_allowed")


def test_openapi_documents_every_route_and_no_pii(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    assert {
        "/v1/clients/{client_id}/score",
        "/v1/clients/{client_id}/scores",
        "/v1/scores/lookup",
        "/v1/scores",
        "/v1/applicants/score",
        "/v1/model",
        "/health",
        "/ready",
        "/metrics",
    } <= set(schema["paths"])
    text = json.dumps(schema)
    assert "tax_id" not in text and "client_name" not in text
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API key issued by the risk team (RISKMART_API_KEYS).",
    }


def test_date_is_parsed_as_a_calendar_date(api: httpx.Client) -> None:
    # A leap day exists in 2024 and not in 2025: the first is a 404 (no score), the second a 422.
    assert api.get(url("CLI-000"), params={"date": date(2024, 2, 29).isoformat()}).status_code == 404
    assert api.get(url("CLI-000"), params={"date": "2025-02-29"}).status_code == 422
