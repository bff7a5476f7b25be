"""Sample agent contents for the console: one of each type the SDK's ConversationMessageContent has
for agents (Card, Carousel, ListPicker, DatePicker, Notification), as Genesys would send them, and
sample files the emulator hosts behind its download API, and in public for a card's image."""

from __future__ import annotations

import base64
import copy
from typing import Any

# A sample file served without a token, as a card's image is on the web (downloads.py).
SAMPLE_PATH = "/emulator/samples/{kind}"

# (bytes, MIME type, file name) of the files the console's agent can send.
SAMPLE_FILES: dict[str, tuple[bytes, str, str]] = {
    "image": (base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGPQz7+HFTEMLQkA8yRfAbxQ"
        "d+cAAAAASUVORK5CYII="), "image/png", "blue-square.png"),
    "pdf": (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n", "application/pdf", "terms.pdf"),
}

SAMPLES: dict[str, dict[str, Any]] = {
    "card": {"contentType": "Card", "card": {
        "title": "Premium plan", "description": "Every feature, one monthly price",
        "defaultAction": {"type": "Link", "text": "Premium plan", "url": "https://example.com/premium"},
        "actions": [{"type": "Postback", "text": "Choose Premium", "payload": "plan-premium"},
                    {"type": "Link", "text": "Compare plans", "url": "https://example.com/plans"}]}},
    "carousel": {"contentType": "Carousel", "carousel": {"cards": [
        {"title": name, "description": text, "actions": [{"type": "Postback", "text": f"Choose {name}",
                                                          "payload": f"plan-{name.lower()}"}]}
        for name, text in (("Basic", "For one person"), ("Team", "Up to ten people"),
                           ("Premium", "Everything, unlimited"))]}},
    "listPicker": {"contentType": "ListPicker", "listPicker": {"id": "stores", "sections": [
        {"title": "Pick a store", "multipleSelection": False, "items": [
            {"id": "store-berlin", "title": "Berlin", "subtitle": "Mitte"},
            {"id": "store-munich", "title": "Munich", "subtitle": "Schwabing"},
            {"id": "store-hamburg", "title": "Hamburg", "subtitle": "Altona"}]}]}},
    "datePicker": {"contentType": "DatePicker", "datePicker": {
        "id": "callback", "title": "When shall we call you back?",
        "availableTimes": [{"dateTime": "2026-12-07T09:00:00.000Z", "duration": 1800},
                           {"dateTime": "2026-12-07T14:00:00.000Z", "duration": 1800}]}},
    "notification": {"contentType": "Notification", "template": {
        "id": "order-update", "language": "en", "header": {"type": "Text", "text": "Order update"},
        "body": {"text": "Your order {{1}} ships on {{2}}.",
                 "parameters": [{"name": "1", "text": "A-1027"}, {"name": "2", "text": "Monday"}]},
        "buttons": [{"type": "QuickReply", "text": "Change the date", "payload": "order-change-date"},
                    {"type": "Url", "text": "Track it", "url": "https://example.com/track/A-1027"}]}},
}


def sample(kind: str, base_url: str) -> dict[str, Any]:
    """One of SAMPLES as an agent sends it from the emulator at `base_url`: a card shows the
    emulator's sample image."""
    content = copy.deepcopy(SAMPLES[kind])
    if kind == "card":
        content["card"]["image"] = base_url.rstrip("/") + SAMPLE_PATH.format(kind="image")
    return content
