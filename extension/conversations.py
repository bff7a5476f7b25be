"""The name `extension.sessions` had before: hosts that embed the runtime may still import it."""

from .sessions import SessionExists, SessionKept, Sessions, UserInput

Conversations = Sessions

__all__ = ["Conversations", "SessionExists", "SessionKept", "Sessions", "UserInput"]
