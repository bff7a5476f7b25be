"""The Genesys Bot Connector endpoint (docs/CONTRACT.md 12): the flow as the bot of an Architect flow.

Genesys Cloud calls the endpoint for each customer message ("Call Digital Bot Connector"); the flow
answers the turn, and completes with an intent when it is done or hands back to an agent.
"""
