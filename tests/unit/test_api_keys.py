from __future__ import annotations

import pytest

from gridflow.api.keys import KeyFileError, KeyRing, digest, key_line, load, new_key


def test_a_key_line_stores_the_digest_and_never_the_key():
    key = new_key()
    line = key_line("hotline-12345", key)
    assert key not in line and digest(key) in line
    assert KeyRing.parse(line, "env").find(key).app == "hotline-12345"


def test_an_unknown_key_finds_no_app():
    assert KeyRing.parse(key_line("a", new_key()), "env").find(new_key()) is None


def test_scopes_come_from_the_line():
    key = new_key()
    found = KeyRing.parse(key_line("dashboard", key, ("read",)), "env").find(key)
    assert found.scopes == frozenset({"read"})


def test_new_keys_are_long_random_and_distinct():
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50 and all(k.startswith("gf_") and len(k) > 40 for k in keys)


@pytest.mark.parametrize("line, says", [
    ("app write", "expected '<app> <scopes> sha256:<hex>'"),
    ("张三 write sha256:" + "0" * 64, "app: expected an identifier"),
    ("app admin sha256:" + "0" * 64, "scopes"),
    ("app write md5:abc", "sha256:<64 lower-case hex digits>"),
])
def test_a_bad_key_line_is_refused_naming_the_line(line, says):
    with pytest.raises(KeyFileError, match="keys.txt, line 2") as caught:
        KeyRing.parse("# comment\n" + line, "keys.txt")
    assert says in str(caught.value)


def test_keys_come_from_the_file_and_the_environment(tmp_path):
    file_key, env_key = new_key(), new_key()
    path = tmp_path / "keys"
    path.write_text(key_line("from-file", file_key) + "\n")
    ring = load(key_line("from-env", env_key) + ";", str(path))
    assert ring.find(file_key).app == "from-file" and ring.find(env_key).app == "from-env"


def test_a_missing_key_file_is_named():
    with pytest.raises(KeyFileError, match="GRIDFLOW_API_KEYS_PATH /nowhere"):
        load("", "/nowhere")


def test_api_settings_that_cannot_work_are_refused_at_start():
    from gridflow.settings import Settings

    for bad in ({"GRIDFLOW_API_READ_ACCESS": "maybe"}, {"GRIDFLOW_API_RATE_PER_SECOND": "0"},
                {"GRIDFLOW_API_MAX_BODY_BYTES": "10"}):
        with pytest.raises(ValueError, match="api_"):
            Settings.from_env(bad)
