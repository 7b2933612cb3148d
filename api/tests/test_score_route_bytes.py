"""GET /v1/clients/{id}/score byte for byte: the JSON pydantic makes of the mart row (what the route sent
before its responses were cached), the first time and from the cache, before and after a snapshot swap;
its errors exactly as the API's error shape words them."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.repository import PublishedSnapshotRepository, ResponseCache
from api.schemas import ClientScore
from api.tests.conftest import KEY, REVOKED_KEY
from api.tests.snapshots import build_published_snapshot, model_card, nested_reasons, synthetic_scores


def reference_json(row: dict) -> bytes:
    """What the route answered before it cached anything: ClientScore validated from the mart row (read
    from the published parquet, not through the API's loader) and serialized by pydantic."""
    reasons = nested_reasons(row)
    fields = {name: row[name] for name in ClientScore.model_fields if name != "reasons"}
    return ClientScore.model_validate({**fields, "reasons": reasons}).model_dump_json().encode("utf-8")


def url(client_id: str, score_date: date | None = None) -> str:
    tail = "" if score_date is None else f"?date={score_date.isoformat()}"
    return f"/v1/clients/{quote(client_id, safe='')}/score{tail}"


def assert_json_response(response: httpx.Response, body: bytes) -> None:
    assert response.status_code == 200, response.text
    assert response.content == body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(body))


def test_every_row_is_the_reference_json_first_and_from_the_cache(server, expected: list[dict]) -> None:
    latest: dict[str, dict] = {}
    for row in expected:
        if row["client_id"] not in latest or row["score_date"] > latest[row["client_id"]]["score_date"]:
            latest[row["client_id"]] = row
    with server.client() as client:
        for _ in range(2):  # the second pass is answered from the cache
            for row in expected:
                assert_json_response(
                    client.get(url(row["client_id"], row["score_date"])), reference_json(row)
                )
            for client_id, row in latest.items():
                assert_json_response(client.get(url(client_id)), reference_json(row))
                # the same row asked for by its date and by default: the same bytes either way
                assert_json_response(client.get(url(client_id, row["score_date"])), reference_json(row))


# Each error of the route, word for word (the error shape's JSON, as JSONResponse writes it).
ERRORS = [
    (
        None,
        url("CLI-000"),
        401,
        b'{"error":{"code":"unauthenticated","message":"send your API key in the X-API-Key header",'
        b'"details":null}}',
    ),
    (
        "wrong",
        url("nobody"),
        401,
        b'{"error":{"code":"unauthenticated","message":"the X-API-Key header does not hold a valid API key",'
        b'"details":null}}',
    ),
    (
        REVOKED_KEY,
        url("CLI-000"),
        403,
        b'{"error":{"code":"key_revoked","message":"API key key_5b823b4dc17d has been revoked; ask the risk'
        b' team for a new one","details":null}}',
    ),
    (
        KEY,
        url("nobody"),
        404,
        b'{"error":{"code":"client_not_found","message":"no score for client \'nobody\' in the snapshot",'
        b'"details":null}}',
    ),
    (
        KEY,
        url("CLI-000", date(2020, 1, 1)),
        404,
        b'{"error":{"code":"score_not_found","message":"no score on 2020-01-01 in the snapshot",'
        b'"details":null}}',
    ),
    (
        KEY,
        url("CLI-000") + "?date=bad",
        422,
        b'{"error":{"code":"invalid_request","message":"the request has malformed fields; see details",'
        b'"details":[{"loc":["query","date"],"msg":"Value error, a date is written YYYY-MM-DD",'
        b'"type":"value_error"}]}}',
    ),
    (
        KEY,
        "/v1/clients/%01abc/score",
        422,
        b'{"error":{"code":"invalid_request","message":"the request has malformed fields; see details",'
        b'"details":[{"loc":["path","client_id"],"msg":"String should match pattern'
        b' \'^[^\\\\x00-\\\\x1f\\\\x7f/]+$\'","type":"string_pattern_mismatch"}]}}',
    ),
    (
        KEY,
        "/v1/clients/" + "x" * 129 + "/score",
        422,
        b'{"error":{"code":"invalid_request","message":"the request has malformed fields; see details",'
        b'"details":[{"loc":["path","client_id"],"msg":"String should have at most 128 characters",'
        b'"type":"string_too_long"}]}}',
    ),
]


@pytest.mark.parametrize(("key", "path", "status", "body"), ERRORS)
def test_errors_word_for_word(server, key: str | None, path: str, status: int, body: bytes) -> None:
    with server.client(key) as client:
        for _ in range(2):  # an error is never cached as a score
            response = client.get(path)
            assert (response.status_code, response.content) == (status, body)
            assert response.headers["content-type"] == "application/json"
            assert ("www-authenticate" in response.headers) == (status == 401)


def _rows(published: Path) -> list[dict]:
    return pq.read_table(published / "scores.parquet").to_pylist()


def test_a_new_snapshot_is_answered_with_its_own_bytes(tmp_path: Path, server_factory) -> None:
    """The same clients and dates (so the same row numbers) with other values: after the swap no answer
    may come from the old snapshot's cache."""
    publish_dir = tmp_path / "published"
    first = build_published_snapshot(publish_dir, synthetic_scores(30, 5, seed=1), model_card(), tmp_path)
    server = server_factory(publish_dir)
    before = _rows(first.path)
    with server.client() as client:
        for row in before:
            assert_json_response(client.get(url(row["client_id"], row["score_date"])), reference_json(row))
        second = build_published_snapshot(
            publish_dir, synthetic_scores(30, 5, seed=2, shift=0.5), model_card(), tmp_path
        )
        deadline = time.monotonic() + 20
        while client.get("/ready").json()["snapshot"]["file"] != second.path.name:
            assert time.monotonic() < deadline, "the new snapshot was not picked up"
            time.sleep(0.05)
        after = _rows(second.path)
        assert {(r["client_id"], r["score_date"]) for r in after} == {
            (r["client_id"], r["score_date"]) for r in before
        }
        changed = 0
        for row, old in zip(after, before, strict=True):
            body = reference_json(row)
            changed += body != reference_json(old)
            assert_json_response(client.get(url(row["client_id"], row["score_date"])), body)
        assert changed == len(after)


def test_the_cache_keeps_the_most_recently_used_rows() -> None:
    cache = ResponseCache(2)
    cache.put(1, b"one")
    cache.put(2, b"two")
    assert cache.get(1) == b"one"  # 1 is now the most recently used
    cache.put(3, b"three")  # evicts 2
    assert (cache.get(1), cache.get(2), cache.get(3), len(cache)) == (b"one", None, b"three", 2)
    off = ResponseCache(0)
    off.put(1, b"one")
    assert off.get(1) is None and len(off) == 0


@pytest.mark.parametrize("cache_rows", [0, 3])
def test_repository_json_with_a_small_or_no_cache(
    published: Path, expected: list[dict], cache_rows: int
) -> None:
    repository = PublishedSnapshotRepository(published.parent, score_cache_rows=cache_rows)
    assert repository.refresh()
    for _ in range(2):
        for row in expected[:40]:
            assert repository.score_json(row["client_id"], row["score_date"]) == reference_json(row)
    assert len(repository.snapshot.responses) == cache_rows


def test_free_text_values_read_from_arrow_buffers(tmp_path: Path) -> None:
    """Empty values, nulls, non-ASCII text and a sliced array (non-zero offset) read as Arrow reads them."""
    from api.repository import FreeTextColumn

    values = ["17.5", None, "", "ñandú ü €", None, "x" * 300, 'a"b\\c', "0"]
    array = pa.array(["pad", *values], pa.string()).slice(1)
    column = FreeTextColumn.of(array)
    assert [column.value(i) for i in range(len(values))] == values
    no_nulls = FreeTextColumn.of(pa.array(["a", "", "bc"], pa.string()))
    assert no_nulls.validity is None and [no_nulls.value(i) for i in range(3)] == ["a", "", "bc"]


def test_the_hot_copy_of_the_route_leaves_the_openapi_document_as_it_was(server) -> None:
    """The score route also sits on the app itself, ahead of the included routers (api/main.py): the
    document served is the one without that copy, and generating it warns of no duplicate operation."""
    import warnings

    from fastapi.routing import APIRoute

    from api.main import create_app
    from api.settings import ApiSettings

    app = create_app(ApiSettings(api_keys=KEY))
    hot = [r for r in app.router.routes if isinstance(r, APIRoute) and r.name == "client_score"]
    assert len(hot) == 1 and not hot[0].include_in_schema
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_copy = app.openapi()
    app.router.routes.remove(hot[0])
    app.openapi_schema = None
    assert with_copy == app.openapi()
    with server.client() as client:
        assert client.get("/openapi.json").json() == with_copy
    operation = with_copy["paths"]["/v1/clients/{client_id}/score"]
    assert list(operation) == ["get"] and operation["get"]["operationId"] == "client_score"
