// The demo web chat. Every event of a session carries an increasing `seq`: the page remembers the
// last one it showed, reconnects with `after=<that seq>` when the socket drops, and ignores any
// event at or below it, so nothing is lost or shown twice. Each message the user sends carries an
// id and stays pending (in localStorage too) until the runtime acknowledges it; pending messages
// are sent again on every new socket, and the runtime applies an id only once. The session token
// (from the runtime, on the session's first message) is kept with the ids: without it the runtime
// lets the page only start a new session.
import {
  attachmentList, cards, carousel, datePicker, listPicker, message, notification, quickReplies,
} from "./webchat-render.js";

(() => {
  const token = document.body.dataset.urlToken;
  const prefix = `genesys-om.webchat.${token}`;
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const conn = $("conn");
  const banner = $("handover");
  const typing = $("typing");
  const input = $("text");
  const LABELS = { bot: "Bot", agent: "Agent", system: "System" };
  // status -> [banner state, banner text, line in the log]
  const HANDOVER = {
    queue: ["queue", "Queued: waiting for an agent…", "You are in the queue for an agent."],
    active: ["active", "Chatting with an agent", "An agent joined the conversation."],
    completed: ["back", "Back with the bot", "The agent ended the conversation. You are back with the bot."],
    cancelled: ["back", "Back with the bot", "The handover was cancelled. You are back with the bot."],
    error: ["back", "Back with the bot", "No agent could be reached. You are back with the bot."],
  };
  const MAX_SENT = 200;
  const TYPING_SHOWN_MS = 6000;
  const TYPING_EVERY_MS = 3000;

  let ids = loadIds();
  let generation = 0; // bumped by "New conversation" so answers for the old session are dropped
  let lastSeq = 0;
  let replaying = false;
  let sent = []; // the user's own messages: the server's event log holds only bot/agent/system
  let pending = []; // message frames not acknowledged yet, oldest first
  let shownSent = 0;
  let socket = null;
  let attempts = 0;
  let reconnectTimer = null;
  let typingTimer = null;
  let lastTypingSent = 0;
  let handoverState = "bot";

  function randomId(kind) {
    // getRandomValues also works where randomUUID does not (plain http on a LAN address).
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return kind + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function loadIds() {
    try {
      const saved = JSON.parse(localStorage.getItem(`${prefix}.ids`) || "null");
      if (saved && typeof saved.userId === "string" && typeof saved.sessionId === "string") {
        if (typeof saved.sessionToken !== "string") delete saved.sessionToken;
        return saved;
      }
    } catch (_) { /* a corrupt entry is replaced below */ }
    return saveIds({ userId: randomId("u-"), sessionId: randomId("s-") });
  }

  function saveIds(value) {
    localStorage.setItem(`${prefix}.ids`, JSON.stringify(value));
    return value;
  }

  const sentKey = () => `${prefix}.sent.${ids.sessionId}`;
  const pendingKey = () => `${prefix}.pending.${ids.sessionId}`;

  function loadPending() {
    try {
      const saved = JSON.parse(localStorage.getItem(pendingKey()) || "[]");
      return Array.isArray(saved) ? saved.filter((f) => f && f.type === "message" && typeof f.id === "string") : [];
    } catch (_) {
      return [];
    }
  }

  function savePending() {
    if (pending.length) localStorage.setItem(pendingKey(), JSON.stringify(pending));
    else localStorage.removeItem(pendingKey());
  }

  function saveSent() {
    localStorage.setItem(sentKey(), JSON.stringify(sent));
  }

  function loadSent() {
    try {
      const saved = JSON.parse(localStorage.getItem(sentKey()) || "[]");
      return Array.isArray(saved) ? saved.filter((m) => m && typeof m.text === "string") : [];
    } catch (_) {
      return [];
    }
  }

  function remember(entry) {
    sent.push(entry);
    if (sent.length > MAX_SENT) sent = sent.slice(-MAX_SENT);
    shownSent = sent.length;
    saveSent();
  }

  function userBubble(entry) {
    const extras = Array.isArray(entry.files) && entry.files.length ? [attachmentList(entry.files)] : [];
    const item = bubble("user", "You", entry.text, entry.time, undefined, extras);
    if (entry.id) item.dataset.id = entry.id;
    if (entry.failed) item.classList.add("failed");
    else if (pending.some((f) => f.id === entry.id)) item.classList.add("pending");
    return item;
  }

  const userBubbleOf = (id) => Array.from(log.querySelectorAll(".msg.user")).find((n) => n.dataset.id === id);

  function acknowledged(id) {
    pending = pending.filter((f) => f.id !== id);
    savePending();
    const item = userBubbleOf(id);
    if (item) item.classList.remove("pending");
  }

  function refused(id, error) {
    // The runtime looked at this frame and said no: sending it again would not help.
    pending = pending.filter((f) => f.id !== id);
    savePending();
    const entry = sent.find((m) => m.id === id);
    if (entry) {
      entry.failed = true;
      saveSent();
    }
    const item = userBubbleOf(id);
    if (item) {
      item.classList.remove("pending");
      item.classList.add("failed");
    }
    bubble("notice", "", `Not sent: ${error}`);
  }

  function bubble(...args) {
    const item = message(...args);
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  const clearQuick = () => log.querySelectorAll(".quick").forEach((box) => box.remove());

  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function setBanner(state, text) {
    banner.dataset.state = state;
    banner.textContent = text;
  }

  function renderOutput(event) {
    const source = LABELS[event.source] ? event.source : "system";
    const data = event.data && typeof event.data === "object" ? event.data : {};
    const extras = [];
    if (Array.isArray(data.attachments) && data.attachments.length) extras.push(attachmentList(data.attachments));
    if (Array.isArray(data.quickReplies) && data.quickReplies.length) extras.push(quickReplies(data.quickReplies,
      // The choice goes back with the id of the message that offered it (for the agent's Genesys flow).
      (title, payload) => send(title, { quickReply: { payload, messageId: event.id } })));
    // Cards, pickers and templates: a choice goes back as a structured response to that message.
    const pick = (title, type, payload) => send(title, { buttonResponse: { type, payload, messageId: event.id } });
    if (Array.isArray(data.cards) && data.cards.length) extras.push(cards(data.cards, pick));
    if (data.carousel && typeof data.carousel === "object") extras.push(carousel(data.carousel, pick));
    if (data.listPicker && typeof data.listPicker === "object") extras.push(listPicker(data.listPicker, pick));
    if (data.datePicker && typeof data.datePicker === "object") extras.push(datePicker(data.datePicker, pick));
    if (data.notification && typeof data.notification === "object") extras.push(notification(data.notification, pick));
    if (source === "agent") hideTyping();
    // The text made from the content says what it draws: shown only when nothing is drawn.
    const text = data.textFromContent && extras.length ? null : event.text;
    bubble(source, LABELS[source], text, event.time, event.seq, extras);
  }

  function waitText(seconds) {
    return seconds < 60 ? "under a minute" : `about ${Math.round(seconds / 60)} min`;
  }

  function renderHandover(event) {
    const entry = HANDOVER[event.status];
    if (!entry) return;
    if (event.status === "queue" && typeof event.estimatedWaitSeconds === "number") {
      // A refreshed estimate while queued: the banner says it, the log stays as it was.
      if (handoverState === "queue") setBanner("queue", `${entry[1]} Estimated wait: ${waitText(event.estimatedWaitSeconds)}.`);
      return;
    }
    handoverState = event.status === "queue" || event.status === "active" ? event.status : "bot";
    setBanner(entry[0], entry[1]);
    if (event.status !== "queue") clearQuick();
    if (event.status !== "active") hideTyping();
    bubble("notice", "", entry[2], null, event.seq);
  }

  function flushSent(before) {
    // Put the user's own messages back between the events they came after.
    while (shownSent < sent.length && sent[shownSent].after < before) {
      clearQuick();
      userBubble(sent[shownSent]);
      shownSent += 1;
    }
  }

  function handle(event) {
    if (!event || typeof event !== "object") return;
    if (event.type === "session") {
      if (typeof event.sessionToken === "string") ids = saveIds({ ...ids, sessionToken: event.sessionToken });
      return;
    }
    if (event.type === "ack") {
      if (typeof event.id === "string") acknowledged(event.id);
      return;
    }
    if (event.type === "error") {
      if (typeof event.id === "string") refused(event.id, event.error);
      else bubble("notice", "", `Not sent: ${event.error}`);
      return;
    }
    if (typeof event.seq !== "number" || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    flushSent(event.seq);
    if (event.type === "output") renderOutput(event);
    else if (event.type === "handover") renderHandover(event);
    else if (event.type === "typing" && !replaying) showTyping();
  }

  function setConn(state, text) {
    conn.dataset.state = state;
    conn.textContent = text;
  }

  function transmit(frames) {
    // A frame written just before a drop may never arrive: it stays pending until its ack.
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) socket.send(JSON.stringify(frame));
  }

  function send(text, data) {
    clearQuick();
    const frame = { type: "message", id: randomId("m-"), text };
    if (data) frame.data = data;
    pending.push(frame);
    savePending();
    const entry = { after: lastSeq, text, time: new Date().toISOString(), id: frame.id };
    if (data && Array.isArray(data.attachments)) entry.files = data.attachments;
    remember(entry);
    userBubble(entry);
    transmit([frame]);
  }

  function connect(gen) {
    clearTimeout(reconnectTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = sessionQuery({ after: String(lastSeq) });
    const ws = new WebSocket(`${scheme}//${location.host}/${encodeURIComponent(token)}/socket?${query}`);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      if (gen !== generation) return;
      opened = true;
      attempts = 0;
      setConn("online", "online");
      transmit(pending);
    };
    ws.onmessage = (message) => {
      if (gen !== generation) return;
      try {
        handle(JSON.parse(message.data));
      } catch (_) { /* not an event of ours */ }
    };
    ws.onclose = (closed) => {
      if (socket !== ws || gen !== generation) return;
      if (closed.code === 4401 || (!opened && !ids.sessionToken)) {
        // A session the runtime knows but whose token we lost (the socket dropped just after the
        // first message): go on in a new session, with the messages still pending.
        ids = saveIds({ userId: ids.userId, sessionId: randomId("s-") });
        savePending();
      } else if (!opened) {
        // Refused before it opened: if the runtime no longer takes our token, go on in a new session.
        fetch(`/${encodeURIComponent(token)}/events?${sessionQuery({ after: String(lastSeq), wait: "0" })}`,
          { cache: "no-store" }).then((response) => {
          if (response.status === 401 && gen === generation) {
            ids = saveIds({ userId: ids.userId, sessionId: randomId("s-") });
            savePending();
          }
        }).catch(() => {});
      }
      socket = null;
      attempts += 1;
      setConn("reconnecting", "reconnecting…");
      reconnectTimer = setTimeout(() => connect(gen), Math.min(5000, 250 * 2 ** Math.min(attempts, 5)));
    };
  }

  async function loadHistory(gen) {
    // The REST long-poll (wait=0) says where the stored history ends; the socket then goes on from there.
    replaying = true;
    try {
      for (let page = 0; page < 100; page += 1) {
        if (!ids.sessionToken) return; // a session not started yet has no history
        const query = sessionQuery({ after: String(lastSeq), wait: "0" });
        const response = await fetch(`/${encodeURIComponent(token)}/events?${query}`, { cache: "no-store" });
        if (response.status === 401 && gen === generation) {
          // The token does not open this session any more: a new one starts with the next message.
          ids = saveIds({ userId: ids.userId, sessionId: randomId("s-") });
          return;
        }
        if (!response.ok || gen !== generation) return;
        const body = await response.json();
        if (gen !== generation || !Array.isArray(body.events) || body.events.length === 0) return;
        body.events.forEach(handle);
      }
    } finally {
      replaying = false;
    }
  }

  function start() {
    const gen = generation;
    sent = loadSent();
    pending = loadPending();
    shownSent = 0;
    setConn("connecting", "connecting…");
    loadHistory(gen).catch(() => {}).finally(() => {
      if (gen !== generation) return;
      if (lastSeq === 0 && sent.length) {
        // The runtime no longer knows this session (a new demo run): drop what it cannot match,
        // but keep the messages still to be delivered.
        sent = sent.filter((m) => pending.some((f) => f.id === m.id));
        saveSent();
      }
      flushSent(Infinity);
      connect(gen);
    });
  }

  $("composer").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  // A file goes in two steps: uploaded to the runtime (checked there: an image or a PDF, within its
  // size limit), then sent as a message whose data.attachments holds the reference it answered.
  const fileInput = $("file");
  $("attach").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) sendFile(file);
  });

  async function sendFile(file) {
    const gen = generation;
    const query = new URLSearchParams({ userId: ids.userId, sessionId: ids.sessionId, filename: file.name });
    const headers = { "Content-Type": file.type || "application/octet-stream" };
    if (ids.sessionToken) headers["X-Session-Token"] = ids.sessionToken;
    let response;
    let answer = {};
    try {
      response = await fetch(`/${encodeURIComponent(token)}/attachments?${query}`,
        { method: "POST", body: file, headers, cache: "no-store" });
      answer = await response.json().catch(() => ({}));
    } catch (_) {
      bubble("notice", "", `Not sent: ${file.name} (the chat service cannot be reached)`);
      return;
    }
    if (gen !== generation) return;
    if (!response.ok || !answer.attachment) {
      const why = !ids.sessionToken && (response.status === 401 || response.status === 404)
        ? "say something first, then send the file" : answer.error || `error ${response.status}`;
      bubble("notice", "", `Not sent: ${file.name}: ${why}`);
      return;
    }
    const text = input.value.trim();
    input.value = "";
    send(text || null, { attachments: [answer.attachment] });
  }

  input.addEventListener("input", () => {
    // Typing only matters to a human agent, and the runtime forwards at most one per 5 s anyway.
    if (handoverState === "bot" || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastTypingSent < TYPING_EVERY_MS) return;
    lastTypingSent = Date.now();
    socket.send(JSON.stringify({ type: "typing" }));
  });

  function sessionQuery(extra) {
    const query = new URLSearchParams({ userId: ids.userId, sessionId: ids.sessionId, ...extra });
    if (ids.sessionToken) query.set("sessionToken", ids.sessionToken);
    return query;
  }

  function newSession() {
    generation += 1;
    clearTimeout(reconnectTimer);
    if (socket) socket.close();
    socket = null;
    localStorage.removeItem(sentKey());
    localStorage.removeItem(pendingKey());
    ids = saveIds({ userId: ids.userId, sessionId: randomId("s-") });
    lastSeq = 0;
    pending = [];
    log.replaceChildren();
    hideTyping();
    handoverState = "bot";
    setBanner("bot", "Chatting with the bot");
    start();
  }

  $("reset").addEventListener("click", newSession);

  start();
  input.focus();
})();
