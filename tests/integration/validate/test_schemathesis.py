"""Schemathesis over the validate API's own OpenAPI document (``/api/v1/openapi.json``, the
``/api/v1/validate`` operations only), against the real ASGI app on a real database, with a
valid API key: no answer is a server error, and every answer conforms to the document (status
code, content type, headers, body schema), for data that fits the document and data that does
not. Deterministic (``derandomize``) and bounded.

Schemathesis's pytest integration (``schema.parametrize`` with ``from_fixture``) does not run
under pytest 9 (it sets ``request.node._nodeid``), so each operation is driven through its
Hypothesis strategy, as Schemathesis documents for use with ``@given``. The app's lifespan runs
in Schemathesis's own event-loop thread (``from_asgi`` starts it) and is stopped before the
runtime is disposed."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from portvakt.app import Runtime
from portvakt.web.app import create_app
from tests.integration.validate.conftest import bearer, new_key

EXAMPLES = 30
OPERATIONS = [("POST", "/api/v1/validate"), ("GET", "/api/v1/validate/{transaction_id}")]


def _schema(runtime: Runtime) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(runtime))
    return loaded.include(path_regex=r"^/api/v1/validate")


def test_the_fuzzed_operations_are_all_the_validate_operations(runtime: Runtime) -> None:
    try:
        results = list(_schema(runtime).get_all_operations())
    finally:
        asgi.shutdown_lifespans()
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)  # the document has no operation it cannot use
    assert {(op.method.upper(), op.path) for op in operations} == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_validate_api_conforms_to_its_schema(
    runtime: Runtime, method: str, path: str, mode: GenerationMode
) -> None:
    key = new_key(runtime, "fuzz")
    operation = _schema(runtime)[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers=bearer(key))

    try:
        check()
    finally:
        asgi.shutdown_lifespans()
