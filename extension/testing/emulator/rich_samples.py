"""Sample agent contents for the console: one of each type the SDK's ConversationMessageContent has
for agents (Card, Carousel, ListPicker, DatePicker, Notification), as Genesys would send them, and
sample files the emulator hosts behind its download API."""

from __future__ import annotations

import base64
from typing import Any

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
                 "parameters": [{"name": "1", "text": "A-1027"}, {"name": "2", "text": "Monday"}]}}},
}
