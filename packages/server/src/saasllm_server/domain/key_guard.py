"""Refusing bad keys cheaply: a storm of wrong keys must cost no database work and must
not lock a valid key out.

* Unknown key hashes are remembered for a short while, so the same wrong key
  repeated is refused from memory.
* A client address whose keys keep failing gets one lookup per ``slow_interval_s``
  once it passes ``threshold`` failures in ``window_s``; other attempts meanwhile are
  refused with 429 and ``Retry-After``, before any query. A valid key from that
  address is never refused: the authenticator lets through, without a slot, any key
  it has cached or that is among the live keys it indexed (see ``KeyAuthenticator``).

The memory is per process (a defence, not a limit: each replica slows the clients it
sees), bounded, and any key change clears the remembered misses (a key created a
moment ago must work at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from saasllm_server.errors import RateLimited

_MAX_ENTRIES = 100_000


@dataclass(slots=True)
class _Strikes:
    since: float
    count: int
    next_lookup: float


class KeyGuard:
    def __init__(
        self,
        *,
        miss_ttl_s: float = 5.0,
        threshold: int = 20,
        window_s: float = 60.0,
        slow_interval_s: float = 1.0,
    ) -> None:
        self._miss_ttl_s = miss_ttl_s
        self._threshold = threshold
        self._window_s = window_s
        self._slow_interval_s = slow_interval_s
        self._misses: dict[str, float] = {}
        self._strikes: dict[str, _Strikes] = {}

    def known_miss(self, key_hash: str, now: float) -> bool:
        expires = self._misses.get(key_hash)
        if expires is None:
            return False
        if expires > now:
            return True
        del self._misses[key_hash]
        return False

    def lookup_slot(self, client: str | None, now: float) -> RateLimited | None:
        """None when this client may look a key up now (taking its slot), else the 429 to
        answer with unless the key is known to be valid."""
        if client is None:
            return None
        strikes = self._strikes.get(client)
        if strikes is None or strikes.count < self._threshold:
            return None
        if now - strikes.since > self._window_s:
            del self._strikes[client]
            return None
        if now < strikes.next_lookup:
            return RateLimited(
                "too many invalid API keys from this address",
                retry_after=strikes.next_lookup - now,
            )
        strikes.next_lookup = now + self._slow_interval_s
        return None

    def missed(self, key_hash: str, client: str | None, now: float) -> None:
        if len(self._misses) >= _MAX_ENTRIES:
            self._misses.clear()
        self._misses[key_hash] = now + self._miss_ttl_s
        if client is None:
            return
        strikes = self._strikes.get(client)
        if strikes is None or now - strikes.since > self._window_s:
            if len(self._strikes) >= _MAX_ENTRIES:
                self._strikes.clear()
            self._strikes[client] = _Strikes(since=now, count=1, next_lookup=now)
            return
        strikes.count += 1

    def forget_misses(self) -> None:
        self._misses.clear()
