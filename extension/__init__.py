"""Genesys Cloud Open Messaging handover extension and its runtime."""

__version__ = "0.1.0"
