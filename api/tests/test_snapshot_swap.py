"""A newer snapshot is picked up without a restart and without failing a request in flight; a broken
one is refused while the last good one keeps serving."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx

from api.tests.snapshots import build_published_snapshot, client_ids, model_card, synthetic_scores

N_CLIENTS = 300
FIRST_DAY, SECOND_DAY = date(2025, 6, 30), date(2025, 7, 1)


def _hammer(base_url: str, key: str, stop: threading.Event, results: list, failures: list) -> None:
    ids = client_ids(N_CLIENTS)[: N_CLIENTS - 2]  # clients scored on every day of both snapshots
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=10) as client:
        k = 0
        while not stop.is_set():
            k += 1
            try:
                if k % 5 == 0:
                    response = client.post(
                        "/v1/scores/lookup", json={"client_ids": ids[k % 50 : k % 50 + 50]}
                    )
                    ok = response.status_code == 200 and len(response.json()["scores"]) == 50
                    day = response.json()["scores"][0]["score_date"] if ok else None
                else:
                    response = client.get(f"/v1/clients/{quote(ids[k % len(ids)], safe='')}/score")
                    ok = response.status_code == 200
                    day = response.json()["score_date"] if ok else None
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            if ok:
                results.append(day)
            else:
                failures.append(f"{response.status_code} {response.text[:200]}")


def test_swap_under_concurrent_requests(tmp_path: Path, server_factory) -> None:
    from api.tests.conftest import KEY

    publish_dir = tmp_path / "published"
    first = synthetic_scores(N_CLIENTS, 20, last_date=FIRST_DAY, seed=1)
    build_published_snapshot(publish_dir, first, model_card(), tmp_path)
    server = server_factory(publish_dir)

    stop = threading.Event()
    results: list[str] = []
    failures: list[str] = []
    threads = [
        threading.Thread(target=_hammer, args=(server.base_url, KEY, stop, results, failures))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        # A newer day, every probability shifted, and no model card: rules took over.
        second = synthetic_scores(N_CLIENTS, 21, last_date=SECOND_DAY, seed=2, shift=1.0)
        published = build_published_snapshot(publish_dir, second, None, tmp_path)
        deadline = time.monotonic() + 10
        while SECOND_DAY.isoformat() not in results[-20:] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # keep the load on after the swap too
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert failures == []
    assert FIRST_DAY.isoformat() in results and SECOND_DAY.isoformat() in results
    # Once a request saw the new snapshot, no later request of the same thread could see the old one;
    # overall, the last answers are all of the new snapshot.
    assert set(results[-50:]) == {SECOND_DAY.isoformat()}
    with server.client() as client:
        ready = client.get("/ready").json()["snapshot"]
        assert ready["file"] == published.path.name
        assert ready["latest_score_date"] == SECOND_DAY.isoformat()
        assert ready["model_version"] is None
        assert client.get("/v1/model").json()["error"]["code"] == "no_model"
        metrics = client.get("/metrics").text
        assert "riskmart_api_snapshot_loads_total 2.0" in metrics


def test_broken_snapshot_is_refused_and_the_last_good_one_keeps_serving(
    tmp_path: Path, server_factory
) -> None:
    publish_dir = tmp_path / "published"
    good = build_published_snapshot(publish_dir, synthetic_scores(20, 3), model_card(), tmp_path)
    server = server_factory(publish_dir)
    with server.client() as client:
        before = client.get("/v1/clients/CLI-000/score").json()

        # CURRENT names a bundle whose scored mart was changed after publishing (its checksum fails).
        broken = publish_dir / "bundle-broken"
        shutil.copytree(good.path, broken)
        (broken / "scores.parquet").write_bytes(b"not parquet at all")
        (publish_dir / "CURRENT").write_text("bundle-broken\n")
        _wait_for_metric(client, "riskmart_api_snapshot_load_errors_total 1.0")
        assert client.get("/v1/clients/CLI-000/score").json() == before
        assert client.get("/ready").json()["snapshot"]["file"] == good.path.name

        # CURRENT escapes the publish folder.
        (publish_dir / "CURRENT").write_text("../../etc/passwd\n")
        _wait_for_metric(client, "riskmart_api_snapshot_load_errors_total 2.0")
        assert client.get("/ready").json()["snapshot"]["file"] == good.path.name

        # A parquet without the scored mart's columns.
        build_published_snapshot(publish_dir, synthetic_scores(20, 3).drop(["risk_level"]), None, tmp_path)
        _wait_for_metric(client, "riskmart_api_snapshot_load_errors_total 3.0")
        assert client.get("/v1/clients/CLI-000/score").json() == before

        # The next good snapshot is picked up again.
        newer = build_published_snapshot(
            publish_dir, synthetic_scores(20, 3, shift=0.5), model_card(), tmp_path
        )
        deadline = time.monotonic() + 10
        while client.get("/ready").json()["snapshot"]["file"] != newer.path.name:
            assert time.monotonic() < deadline, "the good snapshot after broken ones was not loaded"
            time.sleep(0.05)
        assert client.get("/v1/clients/CLI-000/score").json() != before
    log = server.log.read_text()
    assert "bundle-broken not loaded" in log and "scores.parquet has 18 bytes, the manifest says" in log
    assert "lacks the columns ['risk_level']" in log


def _wait_for_metric(client: httpx.Client, line: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while line not in client.get("/metrics").text:
        assert time.monotonic() < deadline, f"metrics never showed {line!r}"
        time.sleep(0.05)
