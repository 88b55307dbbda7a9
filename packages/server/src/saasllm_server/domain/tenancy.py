"""Who is calling: virtual keys, the team behind them, and what that team may use."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "sk-"
DISPLAY_PREFIX_LENGTH = 8


def hash_key(secret: str) -> str:
    """Keys are long random strings, so one SHA-256 is enough and keeps lookups O(1)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_PREFIX_LENGTH]


@dataclass(frozen=True, slots=True)
class Principal:
    """A resolved virtual key: everything the hot path needs without another query."""

    key_id: str
    team_id: str
    organization_id: str
    team_status: str
    budget_mode: str
    credits_per_job: int
    default_model_group: str | None
    allowed_groups: frozenset[str]
    rpm_limit: int | None
    max_concurrent_streams: int | None
    tokens_per_credit: int = 1000
    credits_per_dollar: float = 100.0
    markup_percent: float = 0.0
    overdraft_limit: int = 0
    # Seconds since the epoch; checked on every request, so a cached key still expires on time.
    key_expires_at: float | None = None
    # The key's own allow-list (within the team's), or None for all of the team's groups.
    key_groups: frozenset[str] | None = None

    @property
    def suspended(self) -> bool:
        return self.team_status != "active"

    def may_use(self, group: str) -> bool:
        """The team may use the group, and the key is not limited to others."""
        if self.key_groups is not None and group not in self.key_groups:
            return False
        return group in self.allowed_groups or group == self.default_model_group
