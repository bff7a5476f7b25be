// The agent console of the Genesys Cloud emulator. It polls /emulator/conversations and posts each
// click to /emulator/conversations/{id}/<action>: the same routes a test drives, nothing more.
"use strict";

(() => {
  const API = "/emulator/conversations";
  const POLL_MS = 1000;
  const TYPING_EVERY_MS = 3000;
  const CUSTOMER_TYPING_MS = 6000;
  const STATES = ["waiting", "active", "bot", "unrouted", "ended"];
  const STATE_TEXT = {
    waiting: "Waiting in queue", active: "Active", bot: "With the bot (Architect flow)",
    unrouted: "Not routed (no flow linked)", ended: "Ended",
  };
  const $ = (id) => document.getElementById(id);
  const agentName = $("agent-name");
  const replyText = $("reply-text");

  let selected = null;
  let current = null;
  let lastListJson = "";
  let lastDetailJson = "";
  let lastTyping = 0;
  let timer = null;
  let busy = false;
  let again = false;

  agentName.value = localStorage.getItem("emulator.console.agent") || agentName.value;
  agentName.addEventListener("change", () => {
    localStorage.setItem("emulator.console.agent", agentName.value.trim() || "Anna");
  });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(raw) {
    // Attribute values come from the customer side: only web links may become clickable.
    try {
      const url = new URL(String(raw));
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function link(url, text, className) {
    const anchor = el("a", className, text);
    anchor.href = url;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    return anchor;
  }

  function clock(value) {
    const when = value ? new Date(value) : null;
    return when && !Number.isNaN(when.getTime()) ? when.toLocaleTimeString() : "";
  }

  async function api(path, body) {
    const init = body === undefined ? { cache: "no-store" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  function setStatus(state, text) {
    const status = $("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function renderList(conversations) {
    const json = JSON.stringify([conversations, selected]);
    if (json === lastListJson) return;
    lastListJson = json;
    for (const state of STATES) {
      const items = conversations.filter((c) => c.state === state);
      $(`${state}-count`).textContent = String(items.length);
      // The newest ended conversations are the interesting ones; keep the list short.
      const shown = state === "ended" ? items.slice(-10).reverse() : items;
      $(state).replaceChildren(...shown.map(listItem));
    }
  }

  function customerName(customer) {
    // Without a profile Genesys only knows the opaque end-user id: say "Customer" and a short tag.
    const id = customer.id || "";
    return customer.name && customer.name !== id ? customer.name : `Customer ${id.slice(-6)}`.trim();
  }

  function listItem(conversation) {
    const button = el("button", "conv");
    button.type = "button";
    button.dataset.id = conversation.id;
    if (conversation.id === selected) button.classList.add("selected");
    const customer = conversation.customer || {};
    button.append(
      el("span", "name", customerName(customer)),
      el("span", "last", conversation.lastMessage || ""),
      el("span", "queue", [conversation.queue && conversation.queue.name, conversation.agent].filter(Boolean).join(" · ")),
    );
    button.addEventListener("click", () => select(conversation.id));
    const item = el("li");
    item.append(button);
    return item;
  }

  function attachmentsOf(entry) {
    const box = el("div", "attachments");
    for (const item of entry.content || []) {
      const attachment = item && item.attachment;
      const url = attachment ? safeUrl(attachment.url) : null;
      if (url) box.append(link(url, attachment.filename || url));
      const quick = item && item.quickReply;
      if (quick && quick.text) box.append(el("span", "chip", quick.text));
    }
    return box;
  }

  function transcriptItem(entry) {
    const item = el("li", `entry ${entry.sender}`);
    const head = el("div", "head");
    const who = entry.sender === "customer" ? customerName({ id: (current.customer || {}).id, name: entry.name }) : entry.name;
    head.append(el("span", "who", who || entry.sender), el("time", "", clock(entry.time)));
    if (entry.delivery) head.append(el("span", `delivery ${entry.delivery}`, entry.delivery));
    item.append(head);
    if (entry.text) item.append(el("div", "text", entry.text));
    if (entry.content && entry.content.length) item.append(attachmentsOf(entry));
    return item;
  }

  function attributeRows(attributes) {
    const rows = [];
    for (const key of Object.keys(attributes).sort()) {
      const value = String(attributes[key]);
      const url = safeUrl(value);
      const dd = el("dd");
      if (url && key === "copilotUrl") dd.append(link(url, "Open the Copilot view", "copilot"));
      else if (url) dd.append(link(url, value));
      else dd.textContent = value;
      rows.push(el("dt", "", key), dd);
    }
    return rows;
  }

  function renderDetail(detail) {
    const json = JSON.stringify(detail);
    if (json !== lastDetailJson) {
      lastDetailJson = json;
      current = detail;
      const customer = detail.customer || {};
      $("d-customer").textContent = customerName(customer);
      $("d-meta").textContent = [detail.queue && `queue ${detail.queue.name}`, detail.agent && `agent ${detail.agent}`,
        detail.ringingAgent && `ringing at ${detail.ringingAgent}`,
        `since ${clock(detail.created)}`].filter(Boolean).join(" · ");
      const state = $("d-state");
      state.dataset.state = detail.state;
      state.textContent = STATE_TEXT[detail.state] || detail.state;
      $("accept").disabled = detail.state !== "waiting";
      $("ring").disabled = detail.state !== "waiting" || Boolean(detail.ringingAgent);
      $("ring-timeout").disabled = !detail.ringingAgent;
      for (const id of ["transfer", "transfer-to", "end", "send", "typing", "reply-text", "attach", "attach-url", "attach-name",
                        "content-kind", "content-send", "file-image", "file-pdf"]) {
        $(id).disabled = detail.state !== "active";
      }
      const transcript = $("transcript");
      transcript.replaceChildren(...(detail.transcript || []).map(transcriptItem));
      transcript.scrollTop = transcript.scrollHeight;
      $("attributes").replaceChildren(...attributeRows(detail.customAttributes || {}));
      $("participants").replaceChildren(...(detail.participants || []).map(
        (p) => el("li", "", `${p.purpose}: ${p.name || p.userId || ""} (${p.state})`)));
      const turns = detail.botTurns || [];
      $("bot-turns-head").hidden = turns.length === 0;
      $("bot-turns").replaceChildren(...turns.map((t) => el("li", t.problem ? "problem" : "",
        `${clock(t.time)} ${t.outcome}${t.status ? ` (HTTP ${t.status})` : ""}${t.problem ? `: ${t.problem}` : ""}`)));
    }
    const typingAt = detail.customerTypingAt ? Date.parse(detail.customerTypingAt) : NaN;
    $("customer-typing").hidden = !(detail.state === "active" && Date.now() - typingAt < CUSTOMER_TYPING_MS);
  }

  async function poll() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    clearTimeout(timer);
    try {
      const { conversations } = await api(API);
      setStatus("online", `${conversations.length} conversation(s)`);
      if (!selected) {
        // A newcomer's first conversation opens by itself.
        const waiting = conversations.filter((c) => c.state === "waiting");
        if (waiting.length) select(waiting[waiting.length - 1].id, false);
      }
      renderList(conversations);
      if (selected) renderDetail(await api(`${API}/${encodeURIComponent(selected)}`));
    } catch (error) {
      setStatus("offline", `emulator unreachable (${error.message})`);
    } finally {
      busy = false;
      if (again) {
        again = false;
        poll();
      } else {
        timer = setTimeout(poll, POLL_MS);
      }
    }
  }

  function select(id, refresh = true) {
    selected = id;
    lastDetailJson = "";
    showError("");
    $("empty").hidden = true;
    $("detail").hidden = false;
    if (refresh) poll();
  }

  async function act(action, body = {}) {
    if (!selected) return;
    showError("");
    try {
      renderDetail(await api(`${API}/${encodeURIComponent(selected)}/${action}`, body));
    } catch (error) {
      showError(`${action} failed: ${error.message}`);
    }
    poll();
  }

  const agent = () => agentName.value.trim() || "Anna";

  function baseName(url) {
    const last = new URL(url).pathname.split("/").pop() || "";
    try {
      return decodeURIComponent(last) || url;
    } catch (_) {
      return last || url;
    }
  }

  $("accept").addEventListener("click", () => act("accept", { agent: current && current.ringingAgent || agent() }));
  $("ring").addEventListener("click", () => act("ring", { agent: agent() }));
  $("ring-timeout").addEventListener("click", () => act("ring-timeout"));
  $("end").addEventListener("click", () => act("end"));
  $("typing").addEventListener("click", () => act("typing"));
  $("transfer").addEventListener("click", () => {
    const to = $("transfer-to").value.trim();
    if (!to) return showError("Name the agent to transfer to.");
    $("transfer-to").value = "";
    return act("transfer", { agent: to });
  });

  $("reply-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const text = replyText.value.trim();
    if (!text) return;
    replyText.value = "";
    act("reply", { text });
  });

  replyText.addEventListener("input", () => {
    // Like the Genesys UI: typing in the reply box tells the customer, at most every few seconds.
    if (!current || current.state !== "active" || Date.now() - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = Date.now();
    api(`${API}/${encodeURIComponent(selected)}/typing`, {}).catch(() => {});
  });

  $("attach-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const url = safeUrl($("attach-url").value.trim());
    if (!url) return showError("The attachment needs an http(s) URL.");
    const name = $("attach-name").value.trim() || baseName(url);
    const image = /\.(png|jpe?g|gif|webp|svg)$/i.exec(new URL(url).pathname);
    const attachment = image
      ? { url, filename: name, mediaType: "Image", mime: `image/${{ jpg: "jpeg", svg: "svg+xml" }[image[1].toLowerCase()] || image[1].toLowerCase()}` }
      : { url, filename: name, mediaType: "Link" };
    $("attach-url").value = "";
    $("attach-name").value = "";
    return act("reply", { attachments: [attachment] });
  });

  $("file-image").addEventListener("click", () => act("file", { kind: "image" }));
  $("file-pdf").addEventListener("click", () => act("file", { kind: "pdf" }));

  $("content-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    return act("content", { kind: $("content-kind").value });
  });

  poll();
})();
