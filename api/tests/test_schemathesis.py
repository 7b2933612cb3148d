"""Property-based run of schemathesis against the app's own OpenAPI schema, on the real server: no 5xx,
and every response conforms to the schema (documented status code, content type, body).

Driven through schemathesis' Hypothesis strategies (`operation.as_strategy`) rather than its pytest
plugin, whose lazy fixture loading does not run under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.tests.conftest import KEY

# Bounded: this many generated requests per operation and mode keeps the whole run to seconds.
EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(server):
    config = schemathesis.Config.from_dict({"headers": {"X-API-Key": KEY}, "request-timeout": 10})
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema, server, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        has_input = any(len(getattr(operation, part)) for part in ("path_parameters", "query")) or bool(
            operation.body
        )
        if mode == GenerationMode.NEGATIVE and not has_input:
            continue  # nothing a caller sends can be malformed (e.g. /health)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            case.call_and_validate(base_url=server.base_url, headers={"X-API-Key": KEY}, checks=CHECKS)

        run()
