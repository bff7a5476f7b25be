"""Handover nodes and the provider that joins the flow engine to Genesys Cloud."""
