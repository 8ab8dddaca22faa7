"""Identifier fields carry vocabulary, never a resident's name or phone number."""
from __future__ import annotations

import uuid

import jsonschema
import pytest

from events import REGISTRY, ValidationError, codec
from events.identifiers import ID_PATTERN, is_identifier
from events.orgtree import OrgUnit
from events.schema import json_schema
from events.types import payload_fields
from events.validation import from_wire, to_wire

AT = 1_767_225_600_000

IDS = [str(uuid.uuid4()), str(uuid.uuid5(uuid.NAMESPACE_URL, "x")), "12345678-1234-4123-8123-123456789012",
       f"m-{uuid.uuid4().hex}", "m-s1-203d-000123", "h-cb-00042", "cb-telecom-sanshui", "u-beijiang-g02",
       "r-7f3a9c", "wanggejiahe-app", "clock-s1-203d", "e-1.p3", "ns:matter_7", "A", "sanitation"]
NOT_IDS = ["13800138000", "+8613800138000", "138-0013-8000", "0755.8888.1234", "张三", "王小明的网格",
           "Zhang San", "r 7f3a9c", "-leading-dash", ".hidden", "", " ", "x" * 129, "h-1\n", "name@example.com",
           "u/beijiang", "1234"]


@pytest.mark.parametrize("value", IDS)
def test_slugs_uuids_and_the_simulators_ids_are_identifiers(value):
    assert is_identifier(value)
    assert jsonschema.Draft202012Validator({"type": "string", "pattern": ID_PATTERN}).is_valid(value)


@pytest.mark.parametrize("value", NOT_IDS)
def test_names_phone_numbers_and_free_text_are_not(value):
    assert not is_identifier(value)
    if "\n" not in value:  # ECMA's $ and Python's fullmatch differ on a trailing newline; maxLength catches it too
        assert not jsonschema.Draft202012Validator({"type": "string", "pattern": ID_PATTERN,
                                                    "maxLength": 128, "minLength": 1}).is_valid(value)


def wire(type_name: str, **data) -> dict:
    cls = REGISTRY[type_name]
    record = to_wire(cls(event_id="e-1", matter_id="m-1", occurred_at=AT, producer="app", **cls.EXAMPLE))
    record["data"].update(data)
    return record


def test_a_residents_name_and_phone_in_claimed_unit_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"^data.unit: expected an identifier: .*got '张三 13800138000'"):
        from_wire(wire("claimed", unit="张三 13800138000"))


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_identifier_field_of_every_type_refuses_a_phone_number(type_name):
    fields = [f.name for f in payload_fields(REGISTRY[type_name]) if f.metadata["ident"]]
    for name in fields:
        with pytest.raises(ValidationError) as caught:
            from_wire(wire(type_name, **{name: "13800138000"}))
        assert caught.value.field == f"data.{name}"
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wire(type_name, **{name: "13800138000"}), json_schema())


@pytest.mark.parametrize("field", ["id", "matter", "producer"])
def test_envelope_ids_follow_the_same_rule(field):
    record = wire("resumed") | {field: "13800138000"}
    with pytest.raises(ValidationError) as caught:
        codec.decode(codec.pack(record))
    assert caught.value.field == field


def test_free_text_and_versions_are_not_identifiers():
    assert not any(f.metadata["ident"] for f in payload_fields(REGISTRY["reported"]) if f.name == "text")
    assert not any(f.metadata["ident"] for t in ("routed", "sla_started")
                   for f in payload_fields(REGISTRY[t]) if f.name == "policy_version")
    assert from_wire(wire("reported", text="张三说 13800138000 的楼道堆了垃圾")).text.startswith("张三")


@pytest.mark.parametrize("field, value", [("unit", "张三"), ("parent", "13800138000")])
def test_org_unit_ids_follow_the_rule_too(field, value):
    record = OrgUnit.from_record({"unit": "u-g1", "level": "grid", "parent": "u-c1", "name": "第1网格"}).to_record()
    with pytest.raises(ValidationError) as caught:
        codec.decode_org_unit(codec.pack(record | {field: value}))
    assert caught.value.field == field
