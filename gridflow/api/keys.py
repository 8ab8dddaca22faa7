"""API keys: one per upstream app, stored only as SHA-256 digests.

A key line names the app (it becomes the ``producer`` of every event the key publishes), its
scopes (``write``: POST requests and events; ``read``: GET requests when reads are keyed) and
the digest of the key: ``hotline-12345 write,read sha256:9f86d0…``. Lines come from
``GRIDFLOW_API_KEYS_PATH`` (a file, ``#`` comments) and ``GRIDFLOW_API_KEYS`` (``;`` between
lines). Keys are 32 random bytes, so a plain SHA-256 is as good as a slow hash here: nobody
can guess a key from its digest, and the digest alone opens nothing."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from events.identifiers import ID_RULE, is_identifier

SCOPES = ("write", "read")
KEY_PREFIX = "gf_"


class KeyFileError(ValueError):
    """A key line that cannot be read; names where it came from."""


@dataclass(frozen=True)
class AppKey:
    app: str  # the producer of the events this key publishes
    scopes: frozenset[str]


def digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_line(app: str, key: str, scopes: tuple[str, ...] = SCOPES) -> str:
    return f"{app} {','.join(scopes)} {digest(key)}"


class KeyRing:
    def __init__(self, keys: dict[str, AppKey]) -> None:
        self._by_digest = keys

    def __len__(self) -> int:
        return len(self._by_digest)

    def find(self, presented: str) -> AppKey | None:
        """The app a presented key belongs to, or None. Looked up by digest: the comparison
        never touches the key itself, so its timing says nothing about it."""
        return self._by_digest.get(digest(presented))

    @classmethod
    def parse(cls, text: str, source: str) -> "KeyRing":
        keys: dict[str, AppKey] = {}
        for number, raw in enumerate(text.replace(";", "\n").splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{source}, line {number}"
            parts = line.split()
            if len(parts) != 3:
                raise KeyFileError(f"{where}: expected '<app> <scopes> sha256:<hex>', got {len(parts)} words")
            app, scopes, hashed = parts
            if not is_identifier(app):
                raise KeyFileError(f"{where}: app: expected {ID_RULE}")
            wanted = frozenset(scopes.split(","))
            if not wanted or not wanted <= set(SCOPES):
                raise KeyFileError(f"{where}: scopes: expected a comma-separated subset of {','.join(SCOPES)}")
            hex_part = hashed.removeprefix("sha256:")
            if not hashed.startswith("sha256:") or len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
                raise KeyFileError(f"{where}: expected the key's digest as sha256:<64 lower-case hex digits>")
            if hashed in keys:
                raise KeyFileError(f"{where}: the same key is listed twice")
            keys[hashed] = AppKey(app, wanted)
        return cls(keys)

    def merged(self, other: "KeyRing") -> "KeyRing":
        return KeyRing({**self._by_digest, **other._by_digest})


def load(keys_text: str, keys_path: str) -> KeyRing:
    """Every key of the file and of the environment variable."""
    ring = KeyRing({})
    if keys_path:
        try:
            text = Path(keys_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(f"GRIDFLOW_API_KEYS_PATH {keys_path}: {exc.strerror}") from None
        ring = KeyRing.parse(text, keys_path)
    if keys_text:
        ring = ring.merged(KeyRing.parse(keys_text, "GRIDFLOW_API_KEYS"))
    return ring
