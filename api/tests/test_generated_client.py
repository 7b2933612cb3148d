"""A client generated from /openapi.json (openapi-python-client), as an integrating team would, calls every
endpoint with its key: readable method names, the key sent by the declared security scheme, typed answers."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx

from api.tests.conftest import KEY, Server
from api.tests.test_applicants import APPLICATION

PACKAGE = "riskmart_generated_client"


def _generate(server: Server, workdir: Path):
    spec = workdir / "openapi.json"
    spec.write_text(json.dumps(httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()))
    bin_dir = str(Path(sys.executable).parent)  # the generator formats its output with ruff
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            os.path.join(bin_dir, "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    sys.path.insert(0, str(workdir))
    importlib.invalidate_caches()
    return importlib.import_module(PACKAGE)


def test_a_generated_client_calls_every_endpoint_with_its_key(
    server: Server, expected: list[dict], tmp_path
) -> None:
    generated = _generate(server, tmp_path)
    scores = importlib.import_module(f"{PACKAGE}.api.scores")
    ops = importlib.import_module(f"{PACKAGE}.api.operations")
    model = importlib.import_module(f"{PACKAGE}.api.model")
    applicants = importlib.import_module(f"{PACKAGE}.api.applicants")
    models = importlib.import_module(f"{PACKAGE}.models")
    for module in ("client_score", "client_score_history", "lookup_scores", "score_page"):
        importlib.import_module(f"{PACKAGE}.api.scores.{module}")
    for module in ("health", "ready", "metrics"):
        importlib.import_module(f"{PACKAGE}.api.operations.{module}")
    importlib.import_module(f"{PACKAGE}.api.model.model_card")
    importlib.import_module(f"{PACKAGE}.api.applicants.score_applicant")

    client = generated.AuthenticatedClient(
        base_url=server.base_url, token=KEY, prefix="", auth_header_name="X-API-Key"
    )
    latest = max(r["score_date"] for r in expected)
    row = next(r for r in expected if r["score_date"] == latest)

    one = scores.client_score.sync(row["client_id"], client=client)
    assert isinstance(one, models.ClientScore)
    assert (one.client_id, one.score, one.score_band) == (row["client_id"], row["score"], row["score_band"])

    history = scores.client_score_history.sync(row["client_id"], client=client)
    assert isinstance(history, models.ClientScoreHistory)
    assert len(history.scores) == sum(r["client_id"] == row["client_id"] for r in expected)

    found = scores.lookup_scores.sync(
        client=client, body=models.LookupRequest(client_ids=[row["client_id"], "no-such-client"])
    )
    assert isinstance(found, models.LookupResponse)
    assert [s.client_id for s in found.scores] == [row["client_id"]]
    assert found.unknown_client_ids == ["no-such-client"]

    page = scores.score_page.sync(client=client, date=latest, limit=5)
    assert isinstance(page, models.ScorePage) and len(page.items) == 5
    following = scores.score_page.sync(client=client, limit=5, cursor=page.next_cursor)
    assert following.items[0].client_id > page.items[-1].client_id

    card = model.model_card.sync(client=client)
    assert isinstance(card, models.ModelCard)

    applicant = applicants.score_applicant.sync(
        client=client, body=models.ApplicantRequest.from_dict(APPLICATION)
    )
    assert isinstance(applicant, models.ClientScore), applicant
    assert 0 < applicant.probability_of_default < 1

    assert ops.health.sync_detailed(client=client).status_code == 200
    assert ops.ready.sync_detailed(client=client).status_code == 200
    assert ops.metrics.sync_detailed(client=client).status_code == 200

    # Errors parse into the declared shape, with the code as the declared enum.
    missing = scores.client_score.sync("no-such-client", client=client)
    assert isinstance(missing, models.ErrorResponse)
    assert missing.error.code == models.ErrorCode.CLIENT_NOT_FOUND
    anonymous = generated.Client(base_url=server.base_url)
    refused = scores.client_score.sync_detailed(row["client_id"], client=anonymous)
    assert refused.status_code == 401
    assert refused.parsed.error.code == models.ErrorCode.UNAUTHENTICATED
    assert date.fromisoformat(str(one.score_date)) == latest
