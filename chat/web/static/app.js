// chatbox room page. Plain JavaScript, no build step. Every text from the
// server is put on the page with textContent, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const store = {
    get: (k) => { try { return localStorage.getItem("chatbox." + k); } catch { return null; } },
    set: (k, v) => { try { localStorage.setItem("chatbox." + k, v); } catch { /* private mode */ } },
  };
  const nickPattern = /^[\p{L}\p{N}]{1,25}$/u;

  const state = {
    room: null,
    nick: store.get("nick") || "",
    lastID: 0,
    ws: null,
    backoff: 500,
    quitting: false,
    unread: 0,
    countdownTimer: null,
    seen: new Set(),
  };

  // --- panels ------------------------------------------------------------

  const panels = ["loading", "launcher", "login", "pick-nick", "room", "gone"];
  function show(id) {
    for (const p of panels) $(p).hidden = p !== id;
  }

  async function api(method, path, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    try { data = await res.json(); } catch { /* empty body */ }
    if (!res.ok) {
      const err = new Error((data && data.error) || res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  async function start() {
    show("loading");
    try {
      state.room = await api("GET", "/api/room");
    } catch (e) {
      $("loading").textContent = "The room cannot be reached: " + e.message;
      return;
    }
    const room = state.room;
    if (!room.exists) return showLauncher(room);
    if (!room.authorized) { show("login"); $("password").focus(); return; }
    if (!state.nick) { show("pick-nick"); $("nick").focus(); return; }
    enterRoom();
  }

  // --- launcher ----------------------------------------------------------

  function showLauncher(room) {
    const note = $("destroyed-note");
    if (room.destroyed_at) {
      note.textContent = "This room was destroyed by " + room.destroyed_by + " on " +
        new Date(room.destroyed_at).toLocaleString() + ".";
      note.hidden = false;
    } else {
      note.hidden = true;
    }
    $("created").hidden = true;
    show("launcher");
  }

  async function createRoom(priv) {
    try {
      const res = await api("POST", "/api/room", { private: priv });
      if (res.password) {
        $("created-password").textContent = res.password;
        $("created").hidden = false;
        return;
      }
      start();
    } catch (e) {
      alert(e.message);
      start();
    }
  }

  // --- login and nickname ------------------------------------------------

  async function login(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    try {
      await api("POST", "/api/login", { password: $("password").value });
      $("password").value = "";
      start();
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  }

  function pickNick(ev) {
    ev.preventDefault();
    const nick = $("nick").value.trim();
    if (!nickPattern.test(nick)) {
      $("nick-error").textContent = "Use 1 to 25 letters or digits.";
      return;
    }
    setNick(nick);
    start();
  }

  function setNick(nick) {
    state.nick = nick;
    store.set("nick", nick);
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "nick", nick }));
    }
  }

  // --- the room ----------------------------------------------------------

  function enterRoom() {
    show("room");
    state.quitting = false;
    $("messages").replaceChildren();
    state.seen.clear();
    state.lastID = 0;
    renderMembers(state.room.members || []);
    if (state.room.destroy_at) startCountdown(state.room.destroy_at, "someone");
    connect();
    $("text").focus();
  }

  async function catchUp() {
    // Ask only for what this page missed; the first load takes the newest.
    const path = state.lastID > 0
      ? "/api/messages?after=" + state.lastID + "&limit=1000"
      : "/api/messages?limit=200";
    const msgs = await api("GET", path);
    for (const m of msgs) addMessage(m, false);
    if (state.lastID > 0 && msgs.length === 1000) return catchUp();
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws?nick=" + encodeURIComponent(state.nick));
    state.ws = ws;
    setStatus("connecting…");
    ws.onopen = async () => {
      state.backoff = 500;
      setStatus("");
      try { await catchUp(); } catch (e) { hint("Could not load history: " + e.message); }
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      onEvent(msg);
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.ws = null;
      if (state.quitting) return;
      if (ev.code === 1000 && ev.reason === "the room was destroyed") return;
      setStatus("reconnecting…");
      setTimeout(async () => {
        // The room may have been destroyed or the password changed meanwhile.
        try {
          state.room = await api("GET", "/api/room");
          if (!state.room.exists || !state.room.authorized) return start();
        } catch { /* still down: try again */ }
        connect();
      }, state.backoff);
      state.backoff = Math.min(state.backoff * 2, 15000);
    };
  }

  function onEvent(ev) {
    switch (ev.type) {
      case "message":
        addMessage(ev.message, true);
        break;
      case "presence":
        renderMembers(ev.members || []);
        break;
      case "join":
        renderMembers(ev.members || []);
        if (ev.nick !== state.nick) systemLine(ev.nick + " joined");
        break;
      case "leave":
        renderMembers(ev.members || []);
        systemLine(ev.nick + " left");
        break;
      case "destroy":
        if (ev.done) {
          stopCountdown();
          showLauncher({ destroyed_at: ev.at, destroyed_by: ev.by });
        } else {
          startCountdown(ev.at, ev.by);
        }
        break;
      case "error":
        hint(ev.error);
        break;
    }
  }

  function setStatus(text) { $("status").textContent = text; }

  let hintTimer = null;
  function hint(text) {
    $("hint").textContent = text;
    clearTimeout(hintTimer);
    hintTimer = setTimeout(() => { $("hint").textContent = ""; }, 8000);
  }

  function renderMembers(members) {
    const ul = $("members");
    ul.replaceChildren(...members.map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      if (n === state.nick) li.classList.add("me");
      return li;
    }));
  }

  function systemLine(text) {
    const li = document.createElement("li");
    li.className = "msg system";
    li.textContent = text;
    appendScrolling(li);
  }

  const urlPattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  // appendText puts text into el as text nodes, with links made clickable.
  function appendText(el, text) {
    let last = 0;
    for (const m of text.matchAll(urlPattern)) {
      el.append(document.createTextNode(text.slice(last, m.index)));
      const a = document.createElement("a");
      a.href = m[0];
      a.textContent = m[0];
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      el.append(a);
      last = m.index + m[0].length;
    }
    el.append(document.createTextNode(text.slice(last)));
  }

  function addMessage(m, live) {
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    if (m.id > state.lastID) state.lastID = m.id;

    const li = document.createElement("li");
    li.className = "msg " + m.kind;
    li.dataset.id = m.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const nick = document.createElement("span");
    nick.className = "nick";
    nick.textContent = m.nick;
    const time = document.createElement("time");
    time.dateTime = m.ts;
    const d = new Date(m.ts);
    time.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    time.title = d.toLocaleString();
    meta.append(nick, time);
    const body = document.createElement("div");
    body.className = "text";
    appendText(body, m.text);
    li.append(meta, body);
    if (m.kind === "ping" && m.to === state.nick) li.classList.add("pinged");

    // Keep the list in id order even if an event arrives late.
    const list = $("messages");
    let before = null;
    for (let n = list.lastElementChild; n; n = n.previousElementSibling) {
      if (!n.dataset.id || Number(n.dataset.id) < m.id) break;
      before = n;
    }
    if (before) list.insertBefore(li, before); else appendScrolling(li);

    if (live && document.hidden) {
      state.unread++;
      document.title = "(" + state.unread + ") chatbox";
    }
  }

  function appendScrolling(li) {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  // --- destroy countdown -------------------------------------------------

  function startCountdown(at, by) {
    stopCountdown();
    const end = new Date(at).getTime();
    const box = $("countdown");
    box.hidden = false;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      box.textContent = by + " dropped the bomb: this room and everything in it will be destroyed in " + left + " s.";
    };
    tick();
    state.countdownTimer = setInterval(tick, 250);
  }

  function stopCountdown() {
    clearInterval(state.countdownTimer);
    state.countdownTimer = null;
    $("countdown").hidden = true;
  }

  async function destroyRoom() {
    if (!confirm("Destroy the room? Everything said and shared here will be wiped for everyone.")) return;
    try {
      await api("POST", "/api/destroy", { nick: state.nick });
    } catch (e) {
      hint(e.message);
    }
  }

  // --- input and slash commands -----------------------------------------

  const commands = {
    "/nick": "/nick NAME — change your nickname",
    "/ping": "/ping NICK message — ping someone",
    "/quit": "/quit — leave the room",
    "/destroy": "/destroy — destroy the room (with a countdown)",
    "/help": "/help — list these commands",
  };

  async function send(ev) {
    ev.preventDefault();
    const box = $("text");
    const text = box.value;
    if (!text.trim()) return;
    if (text.startsWith("/") && !text.startsWith("//")) {
      const [cmd, ...rest] = text.trim().split(/\s+/);
      switch (cmd) {
        case "/nick":
          if (!nickPattern.test(rest[0] || "")) { hint("Usage: /nick NAME (letters and digits, up to 25)"); return; }
          setNick(rest[0]);
          box.value = "";
          return;
        case "/quit":
          box.value = "";
          return quit();
        case "/destroy":
          box.value = "";
          return destroyRoom();
        case "/help":
          box.value = "";
          return hint(Object.values(commands).join(" · "));
        case "/ping":
          break; // the server turns it into a ping
        default:
          hint("Unknown command " + cmd + ". Type /help for the list.");
          return;
      }
    }
    try {
      await api("POST", "/api/messages", { nick: state.nick, text: text.startsWith("//") ? text.slice(1) : text });
      box.value = "";
      autoGrow();
    } catch (e) {
      hint(e.message);
    }
  }

  function quit() {
    state.quitting = true;
    if (state.ws) {
      state.ws.send(JSON.stringify({ type: "quit" }));
      state.ws.close(1000, "quit");
    }
    $("gone-text").textContent = "You left the room. The others saw you go.";
    show("gone");
  }

  function autoGrow() {
    const box = $("text");
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 200) + "px";
  }

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      hint(what + " copied.");
    } catch {
      prompt("Copy " + what.toLowerCase() + ":", text);
    }
  }

  function toggleMenu(open) {
    const menu = $("menu");
    const want = open ?? menu.hidden;
    menu.hidden = !want;
    $("menu-button").setAttribute("aria-expanded", String(want));
  }

  // --- wiring ------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("create-public").addEventListener("click", () => createRoom(false));
    $("create-private").addEventListener("click", () => createRoom(true));
    $("copy-password").addEventListener("click", () => copy($("created-password").textContent, "Password"));
    $("enter-room").addEventListener("click", start);
    $("login-form").addEventListener("submit", login);
    $("nick-form").addEventListener("submit", pickNick);
    $("compose").addEventListener("submit", send);
    $("text").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("compose").requestSubmit(); }
    });
    $("text").addEventListener("input", autoGrow);
    $("copy-link").addEventListener("click", () => copy(location.origin + "/", "Room link"));
    $("menu-button").addEventListener("click", () => toggleMenu());
    $("menu-nick").addEventListener("click", () => {
      toggleMenu(false);
      const n = prompt("New nickname (letters and digits, up to 25):", state.nick);
      if (n && nickPattern.test(n)) setNick(n); else if (n) hint("Use 1 to 25 letters or digits.");
    });
    $("menu-help").addEventListener("click", () => { toggleMenu(false); hint(Object.values(commands).join(" · ")); });
    $("menu-quit").addEventListener("click", () => { toggleMenu(false); quit(); });
    $("menu-destroy").addEventListener("click", () => { toggleMenu(false); destroyRoom(); });
    $("rejoin").addEventListener("click", start);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) { state.unread = 0; document.title = "chatbox"; }
    });
    $("nick").value = state.nick;
    start();
  });
})();
