from __future__ import annotations

import stat

from events.identifiers import is_identifier
from gridflow.api.pseudonym import Contact, load_secret, reporter_id

SECRET = b"a-secret-of-the-server-1234"


def test_the_same_resident_gets_the_same_pseudonym_on_every_report():
    a = reporter_id(SECRET, Contact(email="Zhang.San@Example.com "), "app")
    assert a == reporter_id(SECRET, Contact(email="zhang.san@example.com"), "other-app")


def test_a_phone_number_counts_by_its_digits():
    assert reporter_id(SECRET, Contact(phone="138 0013-8000"), "a") == reporter_id(SECRET, Contact(phone="13800138000"), "a")


def test_the_pseudonym_is_an_identifier_that_shows_nothing_of_the_contact():
    rid = reporter_id(SECRET, Contact(phone="13800138000"), "app")
    assert is_identifier(rid) and rid.startswith("r-") and "13800138000" not in rid


def test_another_secret_gives_another_pseudonym():
    contact = Contact(email="a@b.c")
    assert reporter_id(SECRET, contact, "app") != reporter_id(b"another-secret-0000000", contact, "app")


def test_account_and_device_ids_are_scoped_by_app():
    contact = Contact(account_id="42")
    assert reporter_id(SECRET, contact, "app-a") != reporter_id(SECRET, contact, "app-b")


def test_a_missing_secret_file_is_created_private_and_then_reused(tmp_path):
    path = tmp_path / "api" / "secret"
    first = load_secret("", str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret("", str(path)) == first and len(first) >= 32


def test_a_secret_from_the_environment_wins(tmp_path):
    assert load_secret("from-env-secret-xyz", str(tmp_path / "unused")) == b"from-env-secret-xyz"
    assert not (tmp_path / "unused").exists()
