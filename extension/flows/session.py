"""A conversation session: its key, node pointer, context and profile."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

PROFILE_KEYS = ("firstName", "lastName", "email", "nickname")
# What a session keeps of its conversation, for handovers and the Copilot page: the newest
# messages, at most this many and this many characters of text (the newest one always, whole).
# The bound keeps a session's document small to encode and decode on every turn.
TRANSCRIPT_LIMIT = 100
TRANSCRIPT_CHARS = 100_000


@dataclass(frozen=True)
class SessionKey:
    """A session is identified by (urlToken, userId, sessionId)."""

    url_token: str
    user_id: str
    session_id: str

    @property
    def id(self) -> str:
        """A stable, unambiguous string form, used as the store key."""
        return json.dumps([self.url_token, self.user_id, self.session_id], separators=(",", ":"))

    @classmethod
    def from_id(cls, value: str) -> SessionKey:
        token, user, session = json.loads(value)
        return cls(token, user, session)


@dataclass
class Session:
    """The stored state of one session."""

    key: SessionKey
    pointer: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, str] = field(default_factory=dict)
    handover: dict[str, Any] | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return {
            "urlToken": self.key.url_token, "userId": self.key.user_id,
            "sessionId": self.key.session_id, "pointer": self.pointer, "context": self.context,
            "profile": self.profile, "handover": self.handover, "transcript": self.transcript,
            "created": self.created, "updated": self.updated,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Session:
        return cls(
            key=SessionKey(doc["urlToken"], doc["userId"], doc["sessionId"]),
            pointer=doc.get("pointer"), context=dict(doc.get("context") or {}),
            profile=dict(doc.get("profile") or {}), handover=doc.get("handover"),
            transcript=list(doc.get("transcript") or []),
            created=float(doc.get("created", time.time())),
            updated=float(doc.get("updated", time.time())),
        )

    def record(self, role: str, text: str | None, when: float | None = None) -> None:
        """Keep the newest messages (user, bot, agent, system) within TRANSCRIPT_LIMIT and TRANSCRIPT_CHARS."""
        if not text:
            return
        self.transcript.append({"role": role, "text": text, "time": when or time.time()})
        del self.transcript[:-TRANSCRIPT_LIMIT]
        chars = sum(len(str(entry.get("text") or "")) for entry in self.transcript)
        while chars > TRANSCRIPT_CHARS and len(self.transcript) > 1:
            chars -= len(str(self.transcript.pop(0).get("text") or ""))

    def update_profile(self, data: Any) -> None:
        """Take firstName/lastName/email/nickname from an input's `data.profile` object."""
        if not isinstance(data, dict) or not isinstance(data.get("profile"), dict):
            return
        for k in PROFILE_KEYS:
            v = data["profile"].get(k)
            if isinstance(v, str):
                self.profile[k] = v
