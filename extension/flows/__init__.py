"""The flow engine: sessions, flows, node execution. Knows nothing of Genesys."""
