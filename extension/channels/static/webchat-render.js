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
