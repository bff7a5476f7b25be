"""Issued OAuth bearer tokens, with expiry read from the emulator's clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .ids import token as new_token


@dataclass
class IssuedToken:
    """A bearer token and whom it was issued to."""

    value: str
    client_id: str
    expires_at: float
    revoked: bool = False


class TokenStore:
    """Issued tokens; expiry is read from the injected clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, client_id: str, lifetime: int) -> IssuedToken:
        """A fresh token for this client."""
        issued = IssuedToken(new_token(), client_id, self._clock() + lifetime)
        self._tokens[issued.value] = issued
        return issued

    def check(self, value: str) -> IssuedToken | None:
        """The token when it is known, unrevoked and unexpired; None otherwise."""
        issued = self._tokens.get(value)
        if issued is None or issued.revoked or issued.expires_at <= self._clock():
            return None
        return issued

    def revoke(self, value: str | None = None, client_id: str | None = None) -> int:
        """Revoke one token, a client's tokens, or (no argument) all; returns how many."""
        count = 0
        for issued in self._tokens.values():
            if value is not None and issued.value != value:
                continue
            if client_id is not None and issued.client_id != client_id:
                continue
            if not issued.revoked:
                issued.revoked = True
                count += 1
        return count

    def issued(self) -> list[str]:
        """Every token value handed out, revoked and expired ones included."""
        return list(self._tokens)

    def valid(self) -> list[IssuedToken]:
        """Tokens that would be accepted now."""
        return [t for t in self._tokens.values() if self.check(t.value) is not None]
