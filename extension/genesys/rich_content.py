"""Agent content beyond text and quick replies (the SDK's ConversationMessageContent), for the user.

Cards, carousels, list pickers, date pickers and notification templates become plain objects the
user side can render, with camelCase keys as Genesys writes them, bounded in size; a URL is kept
only when it is http(s), so no `javascript:` link reaches a page. Each also has a plain-text
fallback for clients that read only `text`. Content the user cannot be shown (a type not handled
here, reactions, a file without a URL, a known type that carries nothing) is named in `unknown`,
so the message is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 2000
MAX_ITEMS = 20
# Handled elsewhere (outbound.py): the message's text, its files and its quick replies.
PLAIN_TYPES = frozenset({"text", "attachment", "quickreply", "quickreplyv2"})


@dataclass(frozen=True)
class RichContent:
    """What a message carries beyond its text: `data` keys for the user, and a fallback text."""

    data: dict[str, Any] = field(default_factory=dict)
    fallback: str = ""
    unknown: tuple[str, ...] = ()
    # True when something offers the user a choice that goes back as a structured response.
    interactive: bool = False


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def _url(value: Any) -> str | None:
    text = _text(value)
    return text if text and text.lower().startswith(("https://", "http://")) else None


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value[:MAX_ITEMS] if isinstance(v, Mapping)] if isinstance(value, list) else []


def _field(obj: Mapping[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    folded = name.casefold()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.casefold() == folded), None)


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v not in (None, [], {})}


def _action(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = _text(_field(raw, "type")) or "Postback"
    text = _text(_field(raw, "text"))
    if not text:
        return None
    if kind.lower() == "link":
        url = _url(_field(raw, "url"))
        return {"type": "Link", "text": text, "url": url} if url else None
    return {"type": "Postback", "text": text, "payload": _text(_field(raw, "payload")) or text}


def _card(raw: Mapping[str, Any]) -> dict[str, Any]:
    default = _field(raw, "defaultAction")
    return _compact({
        "title": _text(_field(raw, "title")), "description": _text(_field(raw, "description")),
        "image": _url(_field(raw, "image")), "video": _url(_field(raw, "video")),
        "defaultAction": _action(default) if isinstance(default, Mapping) else None,
        "actions": [a for a in (_action(x) for x in _objects(_field(raw, "actions"))) if a],
    })


def _list_picker(raw: Mapping[str, Any]) -> dict[str, Any]:
    sections = []
    for section in _objects(_field(raw, "sections")):
        items = [_compact({"id": _text(_field(i, "id")), "title": _text(_field(i, "title")),
                           "subtitle": _text(_field(i, "subtitle")), "imageUrl": _url(_field(i, "imageUrl"))})
                 for i in _objects(_field(section, "items"))]
        items = [i for i in items if i.get("id") and i.get("title")]
        if items:
            sections.append(_compact({"title": _text(_field(section, "title")),
                                      "multipleSelection": _field(section, "multipleSelection") is True,
                                      "items": items}))
    return _compact({"id": _text(_field(raw, "id")), "sections": sections})


def _date_picker(raw: Mapping[str, Any]) -> dict[str, Any]:
    times = [_compact({"dateTime": _text(_field(t, "dateTime")), "duration": d if isinstance(
        d := _field(t, "duration"), int) and not isinstance(d, bool) else None})
        for t in _objects(_field(raw, "availableTimes"))]
    return _compact({
        "id": _text(_field(raw, "id")), "title": _text(_field(raw, "title")),
        "subtitle": _text(_field(raw, "subtitle")), "imageUrl": _url(_field(raw, "imageUrl")),
        "dateMinimum": _text(_field(raw, "dateMinimum")), "dateMaximum": _text(_field(raw, "dateMaximum")),
        "availableTimes": [t for t in times if t.get("dateTime")],
    })


def _filled(part: Any) -> str | None:
    """A template part's text with its `{{n}}` parameters filled in."""
    if not isinstance(part, Mapping):
        return None
    text = _text(_field(part, "text"))
    if text is None:
        return None
    for n, parameter in enumerate(_objects(_field(part, "parameters")), start=1):
        value = _text(_field(parameter, "text")) or ""
        name = _text(_field(parameter, "name"))
        text = text.replace(f"{{{{{n}}}}}", value)
        if name:
            text = text.replace(f"{{{{{name}}}}}", value)
    return text[:MAX_TEXT]


def _notification(raw: Mapping[str, Any]) -> dict[str, Any]:
    header = _field(raw, "header")
    return _compact({
        "id": _text(_field(raw, "id")), "language": _text(_field(raw, "language")),
        "header": _compact({"type": _text(_field(header, "type")), "text": _filled(header)})
        if isinstance(header, Mapping) else None,
        "body": _compact({"text": _filled(_field(raw, "body"))}),
        "footer": _compact({"text": _filled(_field(raw, "footer"))}),
        "buttons": [_compact({"type": _text(_field(b, "type")), "text": _text(_field(b, "text")),
                              "url": _url(_field(b, "url")), "payload": _text(_field(b, "payload"))})
                    for b in _objects(_field(raw, "buttons")) if _text(_field(b, "text"))],
    })


def _card_text(card: Mapping[str, Any]) -> str:
    head = ": ".join(str(card[k]) for k in ("title", "description") if card.get(k))
    options = ", ".join(str(a["text"]) for a in card.get("actions") or [])
    return "\n".join(p for p in (head, f"Options: {options}" if options else "") if p)


def _chooses(card: Mapping[str, Any]) -> bool:
    """Whether a card offers a choice that goes back as a structured response."""
    actions = [*(card.get("actions") or []), *([card["defaultAction"]] if card.get("defaultAction") else [])]
    return any(a["type"] == "Postback" for a in actions)


def rich_content(content: list[Any]) -> RichContent:
    """The rich parts of a message's `content[]`, their fallback text, and the types not understood."""
    data: dict[str, Any] = {}
    lines: list[str] = []
    unknown: list[str] = []
    interactive = False
    for entry in _objects(content):
        kind = _text(_field(entry, "contentType")) or ""
        key = kind[:1].lower() + kind[1:]
        raw = _field(entry, key)
        if kind.lower() == "notification":
            raw = _field(entry, "template") or raw
        if kind.lower() == "attachment":
            if not (isinstance(raw, Mapping) and _text(_field(raw, "url"))):
                unknown.append(f"{kind} without a url")  # outbound.py keeps only files with one
            continue
        if kind.lower() == "reactions":
            unknown.append(kind)  # nothing in a chat to attach them to
            continue
        if kind.lower() in PLAIN_TYPES:
            continue
        if not isinstance(raw, Mapping):
            unknown.append(kind or "(none)")
            continue
        if kind.lower() == "card":
            card = _card(raw)
            if not card:
                unknown.append(f"{kind} without content")
                continue
            data.setdefault("cards", []).append(card)
            lines.append(_card_text(card))
            interactive = interactive or _chooses(card)
        elif kind.lower() == "carousel":
            cards = [c for c in (_card(c) for c in _objects(_field(raw, "cards"))) if c]
            if not cards:
                unknown.append(f"{kind} without content")
                continue
            data["carousel"] = {"cards": cards}
            lines.extend(_card_text(c) for c in cards)
            interactive = interactive or any(_chooses(c) for c in cards)
        elif kind.lower() == "listpicker":
            picker = _list_picker(raw)
            titles = [str(i["title"]) for s in picker.get("sections") or [] for i in s["items"]]
            if not titles:
                unknown.append(f"{kind} without content")
                continue
            data["listPicker"] = picker
            lines.append("Choose: " + ", ".join(titles))
            interactive = True
        elif kind.lower() == "datepicker":
            picker = _date_picker(raw)
            if not picker:
                unknown.append(f"{kind} without content")
                continue
            data["datePicker"] = picker
            lines.append(": ".join(str(picker[k]) for k in ("title", "subtitle") if picker.get(k)) or "Pick a date")
            interactive = True
        elif kind.lower() == "notification":
            note = _notification(raw)
            if not any(note.get(k) for k in ("header", "body", "footer", "buttons")):
                unknown.append(f"{kind} without content")
                continue
            data["notification"] = note
            lines.append(str((note.get("body") or {}).get("text") or ""))
            interactive = interactive or any(b.get("type") == "QuickReply" for b in note.get("buttons") or [])
        else:
            unknown.append(kind)
    return RichContent(data, "\n".join(line for line in lines if line), tuple(unknown), interactive)
