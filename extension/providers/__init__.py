"""Handover providers, one package each, found through the manifest (`handoverProviders[].factory`).

The generic runtime imports none of them; `extension.handover` is the seam they plug into.
"""
