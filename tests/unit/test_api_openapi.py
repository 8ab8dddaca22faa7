"""The OpenAPI document is valid OpenAPI 3 and describes every route the server has."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from api_support import make_api
from gridflow.api.server import OPENAPI, build


def test_the_document_is_valid_openapi():
    validate(OPENAPI)


def test_every_route_of_the_server_is_in_the_document_and_nothing_else():
    served = set()
    for route in build(make_api()).router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD to every GET
            continue
        path = route.resource.canonical
        for variant in ((path.replace("{fmt}", ".{format}"),) if "{fmt}" in path else (path,)):
            if re.search(r"\{(service_code|service_request_id)\}$", variant):
                variant += ".{format}"  # the suffix is part of the variable; the document names it
            served.add((variant, route.method.lower()))
    documented = {(path, method) for path, item in OPENAPI["paths"].items() for method in item}
    assert served == documented


def test_every_documented_answer_names_its_status_and_errors_are_error_lists():
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                assert answer["description"], (path, method, status)
                if int(status) >= 400 and "content" in answer:
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Errors"}
