// How the web chat draws messages: DOM built from text only, so no message can become markup.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function clock(value) {
  const when = value ? new Date(value) : null;
  return when && !Number.isNaN(when.getTime())
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

export function message(kind, label, text, time, seq, extras = []) {
  const item = el("li", `msg ${kind}`);
  if (seq) item.dataset.seq = String(seq);
  if (label) item.append(el("span", "who", label));
  if (text) item.append(el("div", "text", text));
  for (const extra of extras) item.append(extra);
  if (time) item.append(el("time", "", clock(time)));
  return item;
}

export function safeUrl(raw) {
  // Only web links: a javascript: or data: URL from a message must never become clickable.
  if (typeof raw !== "string" || !raw) return null;
  try {
    const url = new URL(String(raw), location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

export function attachmentList(items) {
  const box = el("div", "attachments");
  for (const item of items) {
    const url = item && typeof item === "object" ? safeUrl(item.url) : null;
    if (!url) continue;
    const link = el("a");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    const name = typeof item.filename === "string" && item.filename ? item.filename : url;
    const image = item.mediaType === "Image" || (typeof item.mime === "string" && item.mime.startsWith("image/"));
    if (image) {
      const img = el("img");
      img.src = url;
      img.alt = name;
      link.append(img);
      link.className = "image";
    } else {
      link.textContent = name;
    }
    box.append(link);
  }
  return box;
}

export function quickReplies(items, pick) {
  const box = el("div", "quick");
  for (const item of items) {
    const title = item && (item.title || item.text);
    if (typeof title !== "string" || !title) continue;
    const button = el("button", "", title);
    button.type = "button";
    const payload = typeof item.payload === "string" ? item.payload : title;
    button.addEventListener("click", () => pick(title, payload));
    box.append(button);
  }
  return box;
}

// Agent content beyond text (docs/CONTRACT.md 6.3): `pick(title, type, payload)` sends a choice back.

function actionButtons(actions, pick) {
  const box = el("div", "actions");
  for (const action of Array.isArray(actions) ? actions : []) {
    if (!action || typeof action.text !== "string" || !action.text) continue;
    if (action.type === "Link") {
      const url = safeUrl(action.url);
      if (!url) continue;
      box.append(webLink(url, "action", action.text));
    } else {
      const button = el("button", "action", action.text);
      button.type = "button";
      button.addEventListener("click", () => pick(action.text, "Button", action.payload || action.text));
      box.append(button);
    }
  }
  return box;
}

function webLink(url, className, text) {
  // Opens in a new tab that gets no handle on this page.
  const link = el("a", className, text);
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

function cardHead(item, pick) {
  // The card's defaultAction makes its picture and text one link, or one choice, of their own.
  const action = item && item.defaultAction;
  const url = action && action.type === "Link" ? safeUrl(action.url) : null;
  if (url) return webLink(url, "card-default");
  if (action && action.type === "Postback" && typeof action.text === "string" && action.text) {
    const button = el("button", "card-default");
    button.type = "button";
    button.addEventListener("click", () => pick(action.text, "Button", action.payload || action.text));
    return button;
  }
  return el("div", "card-default");
}

export function card(item, pick) {
  const box = el("div", "card");
  const head = cardHead(item, pick);
  const image = safeUrl(item && item.image);
  if (image) {
    const img = el("img");
    img.src = image;
    img.alt = typeof item.title === "string" ? item.title : "";
    head.append(img);
  }
  if (item && item.title) head.append(el("span", "card-title", item.title));
  if (item && item.description) head.append(el("span", "card-text", item.description));
  box.append(head, actionButtons(item && item.actions, pick));
  return box;
}

export function cards(items, pick) {
  const box = el("div", "cards");
  for (const item of Array.isArray(items) ? items : []) box.append(card(item, pick));
  return box;
}

export function carousel(value, pick) {
  const box = el("div", "carousel");
  for (const item of value && Array.isArray(value.cards) ? value.cards : []) box.append(card(item, pick));
  return box;
}

export function listPicker(value, pick) {
  const box = el("div", "list-picker");
  for (const section of value && Array.isArray(value.sections) ? value.sections : []) {
    if (section.title) box.append(el("div", "section-title", section.title));
    const list = el("ul", "items");
    for (const item of Array.isArray(section.items) ? section.items : []) {
      if (!item || typeof item.title !== "string") continue;
      const row = el("li");
      const button = el("button", "item", item.title);
      button.type = "button";
      if (item.subtitle) button.append(el("span", "subtitle", item.subtitle));
      button.addEventListener("click", () => pick(item.title, "ListPicker", String(item.id || item.title)));
      row.append(button);
      list.append(row);
    }
    box.append(list);
  }
  return box;
}

export function datePicker(value, pick) {
  const box = el("form", "date-picker");
  if (value && value.title) box.append(el("div", "card-title", value.title));
  if (value && value.subtitle) box.append(el("div", "card-text", value.subtitle));
  const times = value && Array.isArray(value.availableTimes) ? value.availableTimes : [];
  let field;
  if (times.length) {
    field = el("select");
    for (const slot of times) {
      const when = new Date(slot.dateTime);
      if (Number.isNaN(when.getTime())) continue;
      const option = el("option", "", when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
      option.value = slot.dateTime;
      field.append(option);
    }
  } else {
    field = el("input");
    field.type = "date";
    const day = (raw) => (typeof raw === "string" && raw.length >= 10 ? raw.slice(0, 10) : "");
    if (day(value && value.dateMinimum)) field.min = day(value.dateMinimum);
    if (day(value && value.dateMaximum)) field.max = day(value.dateMaximum);
  }
  const button = el("button", "action", "Choose");
  button.type = "submit";
  box.append(field, button);
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!field.value) return;
    const shown = field.tagName === "SELECT" ? field.selectedOptions[0].textContent : field.value;
    pick(shown, "DatePicker", field.value);
  });
  return box;
}

export function notification(value, pick) {
  const box = el("div", "card notification");
  if (value && value.header && value.header.text) box.append(el("div", "card-title", value.header.text));
  if (value && value.body && value.body.text) box.append(el("div", "card-text", value.body.text));
  if (value && value.footer && value.footer.text) box.append(el("div", "card-foot", value.footer.text));
  // A template's QuickReply button goes back like a quick reply; a Url button is a link.
  const buttons = el("div", "actions");
  for (const item of value && Array.isArray(value.buttons) ? value.buttons : []) {
    if (!item || typeof item.text !== "string" || !item.text) continue;
    if (item.type === "Url") {
      const url = safeUrl(item.url);
      if (url) buttons.append(webLink(url, "action", item.text));
    } else if (item.type === "QuickReply") {
      const button = el("button", "action", item.text);
      button.type = "button";
      button.addEventListener("click", () => pick(item.text, "QuickReply", item.payload || item.text));
      buttons.append(button);
    }
  }
  if (buttons.childElementCount) box.append(buttons);
  return box;
}
