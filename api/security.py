"""API keys: accepted and revoked keys from settings, kept only as sha256 digests in memory.

Settings entries are either a key or `sha256:<64 hex>` (the key's digest), so a deployment can keep
hashes at rest. A caller is known by its key id: the first 12 hex digits of the digest, never the key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

HASH_PREFIX = "sha256:"
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class MissingKey(Exception):
    """No X-API-Key, or one this service does not know: 401."""


class RevokedKey(Exception):
    """A key on the revoked list: 403."""


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_id(digest: bytes) -> str:
    return "key_" + digest.hex()[:12]


def hash_entry(key: str) -> str:
    """The `sha256:<hex>` form of a key, to put in RISKMART_API_KEYS instead of the key itself."""
    return HASH_PREFIX + key_digest(key).hex()


def parse_key_list(value: str, setting: str) -> frozenset[bytes]:
    """Digests of a comma-separated list of keys and `sha256:<hex>` entries; empty entries are ignored."""
    digests = set()
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry.lower().startswith(HASH_PREFIX):
            hex_part = entry[len(HASH_PREFIX) :]
            if not _HEX_DIGEST.fullmatch(hex_part):
                raise ValueError(
                    f"{setting}: an entry starting with {HASH_PREFIX!r} must be followed by 64 hex digits "
                    f"(the sha256 of the key); got {len(hex_part)} characters"
                )
            digests.add(bytes.fromhex(hex_part))
        else:
            digests.add(key_digest(entry))
    return frozenset(digests)


@dataclass(frozen=True)
class KeyRing:
    accepted: frozenset[bytes]
    revoked: frozenset[bytes]

    @classmethod
    def from_settings(cls, api_keys: str, api_revoked_keys: str) -> KeyRing:
        return cls(
            parse_key_list(api_keys, "RISKMART_API_KEYS"),
            parse_key_list(api_revoked_keys, "RISKMART_API_REVOKED_KEYS"),
        )

    def authenticate(self, presented: str | None) -> str:
        """The caller's key id; raises MissingKey (401) or RevokedKey (403)."""
        if not presented:
            raise MissingKey("send your API key in the X-API-Key header")
        digest = key_digest(presented)
        if digest in self.revoked:
            raise RevokedKey(f"API key {key_id(digest)} has been revoked; ask the risk team for a new one")
        if digest not in self.accepted:
            raise MissingKey("the X-API-Key header does not hold a valid API key")
        return key_id(digest)


API_KEY_HEADER = "X-API-Key"
PROTECTED_PREFIXES = ("/v1/", "/metrics")
SCHEME_NAME = "ApiKey"
SECURITY_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": API_KEY_HEADER,
    "description": "API key issued by the risk team (RISKMART_API_KEYS).",
}


def is_protected(path: str) -> bool:
    """Everything but /health, /ready and the API's own documentation needs a key."""
    return path.startswith(PROTECTED_PREFIXES)
