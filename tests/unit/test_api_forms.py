from __future__ import annotations

import pytest

from gridflow.api.errors import ApiError
from gridflow.api.forms import parse

FORM = "application/x-www-form-urlencoded"


def test_a_form_gives_fields_and_attributes_and_empty_values_count_as_absent():
    fields = parse(FORM, "service_code=sanitation&lat=&attribute%5Bpriority%5D=urgent".encode())
    assert fields.values == {"service_code": "sanitation"} and fields.attributes == {"priority": ["urgent"]}


def test_json_gives_the_same_fields_as_the_form():
    body = b'{"service_code": "sanitation", "lat": null, "attribute": {"priority": "urgent"}, "long": 103.1}'
    fields = parse("application/json; charset=utf-8", body)
    assert fields.values == {"service_code": "sanitation", "long": "103.1"}
    assert fields.attributes == {"priority": ["urgent"]}


def test_the_query_string_adds_fields_such_as_api_key():
    assert parse(FORM, b"service_code=x", [("api_key", "k")]).get("api_key") == "k"


@pytest.mark.parametrize("content_type, body, says", [
    ("application/json", b'{"service_code": ', "body: expected a JSON object, got 'invalid JSON"),
    ("application/json", b'["a list"]', "body: expected a JSON object, got a list"),
    ("application/json", b'\xff\xfe', "body: expected a JSON object in UTF-8"),
    ("application/json", b'{"description": {"nested": 1}}', "description: expected a string or a number, got a map"),
    (FORM, b"service_code", "body: expected application/x-www-form-urlencoded fields"),
    (FORM, b"description=%FF%FE", "body: expected UTF-8 form fields"),
    (FORM, b"service_code=a&service_code=b", "service_code: expected one value"),
])
def test_a_malformed_body_is_a_400_naming_what_is_wrong(content_type, body, says):
    with pytest.raises(ApiError) as caught:
        parse(content_type, body)
    assert caught.value.status == 400 and caught.value.description.startswith(says)


def test_multipart_and_other_types_are_a_415():
    for content_type in ("multipart/form-data; boundary=x", "text/plain"):
        with pytest.raises(ApiError) as caught:
            parse(content_type, b"x")
        assert caught.value.status == 415
