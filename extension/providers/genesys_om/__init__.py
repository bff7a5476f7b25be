"""The Genesys Cloud Open Messaging handover provider: joins the flow engine to Genesys Cloud."""
