"""User-facing routes: REST, long-poll, WebSocket, health and metrics."""
