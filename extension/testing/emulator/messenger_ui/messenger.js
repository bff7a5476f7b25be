// The customer messenger of the Genesys Cloud emulator. It posts the customer's messages (and quick
// reply clicks) to /emulator/messenger/messages and long-polls /emulator/messenger/events: the same
// routes a test drives. The customer is inside Genesys: an Architect flow calls the bot first.
"use strict";

(() => {
  const API = "/emulator/messenger";
  const WAIT_S = 20;
  const RETRY_MS = 1000;
  const STATE_TEXT = {
    bot: "Talking to the bot", waiting: "Waiting for an agent", active: "With an agent",
    unrouted: "Not routed", ended: "Ended",
  };
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const integrationId = params.get("integration") || "";
  const storageKey = `emulator.messenger.customer.${integrationId}`;
  let customerId = sessionStorage.getItem(storageKey);
  if (!customerId) {
    customerId = `web-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
    sessionStorage.setItem(storageKey, customerId);
  }
  const nameInput = $("customer-name");
  nameInput.value = localStorage.getItem("emulator.messenger.name") || "";
  nameInput.addEventListener("change", () => localStorage.setItem("emulator.messenger.name", nameInput.value.trim()));

  let next = 0;
  let conversationId = null;
  let lastState = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(state, text) {
    const status = $("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function showError(message) {
    $("error").textContent = message || "";
    $("error").hidden = !message;
  }

  async function api(path, body) {
    const init = body === undefined ? { cache: "no-store" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  function base() {
    const body = { customerId, name: nameInput.value.trim() || undefined };
    if (integrationId) body.integrationId = integrationId;
    return body;
  }

  async function send(body) {
    showError("");
    try {
      await api(`${API}/messages`, { ...base(), ...body });
    } catch (error) {
      showError(error.message);
    }
  }

  function render(message) {
    const item = el("li", `msg ${message.sender}`);
    item.dataset.index = String(message.index);
    const who = message.sender === "customer" ? "You" : message.sender === "bot" ? "Bot" : message.name;
    item.append(el("span", "who", who));
    if (message.text) item.append(el("div", "text", message.text));
    if (message.quickReplies && message.quickReplies.length) {
      const box = el("div", "quick");
      for (const reply of message.quickReplies) {
        const button = el("button", "", reply.text);
        button.type = "button";
        button.addEventListener("click", () => {
          for (const other of box.querySelectorAll("button")) other.disabled = true;
          send({ quickReply: { text: reply.text, payload: reply.payload }, originatingMessageId: message.id });
        });
        box.append(button);
      }
      item.append(box);
    }
    return item;
  }

  function apply(data) {
    if (data.conversationId !== conversationId) {
      conversationId = data.conversationId;
      $("messages").replaceChildren();
      next = 0;
      lastState = null;
      if (data.messages.length && data.messages[0].index !== 0) return false;  // read it again from 0
    }
    const list = $("messages");
    for (const message of data.messages) {
      if (message.index < next) continue;
      list.append(render(message));
    }
    next = data.next;
    if (data.state && data.state !== lastState) {
      if (lastState && data.state !== "bot") list.append(el("li", "notice", STATE_TEXT[data.state] || data.state));
      lastState = data.state;
    }
    list.scrollTop = list.scrollHeight;
    $("agent-typing").hidden = !data.agentTyping;
    $("end").disabled = !conversationId || data.state === "ended";
    setStatus("online", conversationId ? (STATE_TEXT[data.state] || data.state) : "Say hello");
    return true;
  }

  async function poll() {
    for (;;) {
      const query = new URLSearchParams({ customerId, after: String(next), wait: String(WAIT_S) });
      if (integrationId) query.set("integrationId", integrationId);
      try {
        const data = await api(`${API}/events?${query}`);
        if (!apply(data)) continue;
        if (!data.conversationId || data.state === "ended") await new Promise((r) => setTimeout(r, RETRY_MS));
      } catch (error) {
        setStatus("offline", "offline");
        showError(error.message);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    send({ text });
  });

  $("end").addEventListener("click", async () => {
    try {
      await api(`${API}/end`, base());
    } catch (error) {
      showError(error.message);
    }
  });

  api(API).then(({ integrations }) => {
    const chosen = integrations.find((i) => i.id === integrationId) || integrations[0];
    $("integration").textContent = chosen ? `to ${chosen.name}` : "no Bot Connector integration configured";
  }).catch((error) => showError(error.message));
  poll();
})();
