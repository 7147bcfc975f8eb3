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
    // Who is in the room: the names the server listed (all of them in a
    // small room, the first ones in a big room) and how many there are.
    members: new Set(),
    memberCount: 0,
    upload: null, // { file, url } while a file waits in the preview
  };

  // --- panels ------------------------------------------------------------

  const panels = ["loading", "launcher", "login", "pick-nick", "room", "gone"];
  function show(id) {
    for (const p of panels) $(p).hidden = p !== id;
  }

  async function api(method, path, body) {
    return (await request(method, path, body)).data;
  }

  // request is api with the answer's headers (a page of history says in
  // X-Next-After where the next one starts).
  async function request(method, path, body) {
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
    return { data, headers: res.headers };
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
    setMembers(state.room.members || [], 0);
    if (state.room.destroy_at) startCountdown(state.room.destroy_at, "someone");
    connect();
    $("text").focus();
  }

  async function catchUp() {
    // Ask only for what this page missed; the first load takes the newest.
    const path = state.lastID > 0
      ? "/api/messages?after=" + state.lastID + "&limit=1000"
      : "/api/messages?limit=200";
    const first = state.lastID === 0;
    const { data: msgs, headers } = await request("GET", path);
    for (const m of msgs) addMessage(m, false);
    // A feed's link (#m42) shows that message.
    if (first && /^#m\d+$/.test(location.hash)) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView({ block: "center" });
    }
    // A page is bounded in bytes as well as count: follow it while the
    // server says more comes after it.
    if (!first && headers.get("X-Next-After")) return catchUp();
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws?nick=" + encodeURIComponent(state.nick));
    state.ws = ws;
    window.dispatchEvent(new CustomEvent("chatbox:socket", { detail: { ws, nick: state.nick } })); // push.js
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
      // The welcome (and, in a big or busy room, a summing-up) lists the
      // room; after it, joins, leaves and renames are deltas.
      case "presence":
        setMembers(ev.members || [], ev.count);
        break;
      case "join":
        state.members.add(ev.nick);
        state.memberCount = ev.count;
        renderMembers();
        if (ev.nick !== state.nick) systemLine(ev.nick + " joined");
        break;
      case "leave":
        state.members.delete(ev.nick);
        state.memberCount = ev.count;
        renderMembers();
        systemLine(ev.nick + " left");
        break;
      case "nick":
        state.members.delete(ev.from);
        state.members.add(ev.nick);
        state.memberCount = ev.count;
        renderMembers();
        systemLine(ev.from + " is now " + ev.nick);
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

  // setMembers replaces what the page knows of the room.
  function setMembers(members, count) {
    state.members = new Set(members);
    state.memberCount = count || 0;
    renderMembers();
  }

  // renderMembers shows who is in the room, in order. A big room lists
  // only some names; the count says how many people there are in all.
  function renderMembers() {
    const members = [...state.members].sort();
    const total = Math.max(state.memberCount, members.length);
    $("members-heading").textContent = "In the room (" + total + ")";
    const items = members.map((n) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "nick";
      b.textContent = n;
      b.title = "Ping " + n;
      b.addEventListener("click", () => fillPing(n));
      li.append(b);
      if (n === state.nick) li.classList.add("me");
      return li;
    });
    if (total > members.length) {
      const more = document.createElement("li");
      more.className = "more";
      more.textContent = "and " + (total - members.length) + " more";
      items.push(more);
    }
    $("members").replaceChildren(...items);
  }

  function systemLine(text) {
    const li = document.createElement("li");
    li.className = "msg system";
    li.textContent = text;
    appendScrolling(li);
  }

  const urlPattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  // appendText puts text into el as text nodes, with links made clickable.
  // Links to pictures already in this room are shown inline; nothing is
  // ever loaded from another site.
  function appendText(el, text) {
    let last = 0;
    const pictures = [];
    for (const m of text.matchAll(urlPattern)) {
      el.append(document.createTextNode(text.slice(last, m.index)));
      const a = document.createElement("a");
      a.href = m[0];
      a.textContent = m[0];
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      el.append(a);
      last = m.index + m[0].length;
      const id = roomFileID(m[0]);
      if (id) pictures.push({ id, href: m[0] });
    }
    el.append(document.createTextNode(text.slice(last)));
    for (const p of pictures.slice(0, 4)) {
      const a = pictureLink(p.href, "/files/" + p.id + "/thumb", "");
      // Not a picture (no thumbnail): keep just the link.
      a.firstChild.addEventListener("error", () => a.remove());
      el.append(a);
    }
  }

  const fileURLPattern = /^\/files\/([0-9a-f]{32})\/[^/]+$/;

  // roomFileID returns the upload id a link to this room's files points
  // at, or "" for any other link.
  function roomFileID(href) {
    let u;
    try { u = new URL(href); } catch { return ""; }
    if (u.origin !== location.origin) return "";
    const m = u.pathname.match(fileURLPattern);
    return m ? m[1] : "";
  }

  // pictureLink is a thumbnail that opens the full picture.
  function pictureLink(href, thumb, name) {
    const a = document.createElement("a");
    a.className = "picture";
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    const img = document.createElement("img");
    img.src = thumb;
    img.alt = name;
    img.loading = "lazy";
    a.append(img);
    return a;
  }

  function formatSize(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KB";
    return (n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0) + " MB";
  }

  // renderFile shows an uploaded file: a picture's thumbnail, or its name,
  // size and type as a download link.
  function renderFile(el, f) {
    if (!fileURLPattern.test(f.url)) return appendText(el, f.name);
    if (f.thumb) {
      // The thumbnail is made after the upload; if it cannot be made (a
      // damaged picture), the name below is link enough.
      const pic = pictureLink(f.url, f.thumb, f.name);
      pic.firstChild.addEventListener("error", () => pic.remove());
      el.append(pic);
    }
    const line = document.createElement("div");
    line.className = "file";
    const a = document.createElement("a");
    a.href = f.url;
    a.textContent = f.name;
    if (f.thumb) { a.target = "_blank"; a.rel = "noopener"; } else { a.download = f.name; }
    const info = document.createElement("span");
    info.className = "file-info";
    info.textContent = formatSize(f.size) + (f.type ? " · " + f.type : "");
    line.append(a, info);
    el.append(line);
  }

  const pgpBegin = "-----BEGIN PGP MESSAGE-----";
  function isPGP(text) {
    const t = text.trimStart();
    return t.startsWith(pgpBegin) && t.includes("-----END PGP MESSAGE-----");
  }

  // renderPGP shows an armored OpenPGP message folded, with a button that
  // copies it exactly as it was sent.
  function renderPGP(el, text) {
    const details = document.createElement("details");
    details.className = "pgp";
    const summary = document.createElement("summary");
    summary.textContent = "OpenPGP message (" + text.length + " characters)";
    const pre = document.createElement("pre");
    pre.textContent = text;
    details.append(summary, pre);
    const b = document.createElement("button");
    b.type = "button";
    b.className = "copy-pgp";
    b.textContent = "Copy";
    b.addEventListener("click", () => copy(text, "OpenPGP message"));
    el.append(details, b);
  }

  function addMessage(m, live) {
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    if (m.id > state.lastID) state.lastID = m.id;

    const li = document.createElement("li");
    li.className = "msg " + m.kind;
    li.dataset.id = m.id;
    li.id = "m" + m.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const nick = document.createElement("button");
    nick.type = "button";
    nick.className = "nick";
    nick.title = "Ping " + m.nick;
    nick.textContent = m.nick;
    nick.addEventListener("click", () => fillPing(m.nick));
    const time = document.createElement("time");
    time.dateTime = m.ts;
    const d = new Date(m.ts);
    time.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    time.title = d.toLocaleString();
    meta.append(nick, time);
    const body = document.createElement("div");
    body.className = "text";
    if (m.kind === "file" && m.file) renderFile(body, m.file);
    else if (isPGP(m.text)) renderPGP(body, m.text);
    else if (m.kind === "ping" && m.to) renderPing(body, m);
    else appendText(body, m.text);
    li.append(meta, body);
    if (m.kind === "ping" && m.to === state.nick) {
      li.classList.add("pinged");
      const mark = document.createElement("span");
      mark.className = "ping-mark";
      mark.textContent = "pinged you";
      meta.append(mark);
      // Only a ping that arrives now notifies; history never does.
      if (live && m.nick !== state.nick) notifyPing(m);
    }

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

  // newClientID names one send, so that sending it again (after a failure
  // whose answer was lost) can never store it twice. getRandomValues works
  // on plain HTTP too, where crypto.randomUUID does not.
  function newClientID() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // failedSend is the last send that failed: sent again unchanged, it keeps
  // its client id.
  let failedSend = null;

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
    const body = text.startsWith("//") ? text.slice(1) : text;
    const clientID = failedSend && failedSend.text === body ? failedSend.clientID : newClientID();
    // The words leave the box at once, so what is typed next is never
    // erased by this send's answer, and a second Enter sends nothing twice.
    box.value = "";
    autoGrow();
    try {
      const m = await api("POST", "/api/messages", { nick: state.nick, text: body, client_id: clientID });
      failedSend = null;
      if (m && m.kind === "ping") hint("Pinged " + m.to + ": they are in the room.");
    } catch (e) {
      failedSend = { text: body, clientID };
      if (box.value === "") {
        box.value = text;
        autoGrow();
        hint(e.message.replace(/\.?$/, ".") + " Your message is back in the box: press Enter to send it again.");
      } else {
        hint(e.message);
      }
    }
  }

  // renderPing shows "/ping bob lunch?" as "@bob lunch?", the name marked.
  function renderPing(body, m) {
    const to = document.createElement("span");
    to.className = "mention";
    to.textContent = "@" + m.to;
    body.append(to, document.createTextNode(" "));
    appendText(body, m.text.replace(/^\/ping\s+\S+\s*/, ""));
  }

  // fillPing starts a ping to nick in the message box.
  function fillPing(nick) {
    const box = $("text");
    box.value = "/ping " + nick + " ";
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    autoGrow();
  }

  // --- browser notifications for pings -------------------------------------

  function notifySupported() { return "Notification" in window; }

  function updateNotifyButton() {
    const b = $("notify-button");
    if (!notifySupported()) { b.hidden = true; return; }
    b.hidden = false;
    const labels = { granted: "Notifications on", denied: "Notifications blocked", default: "Notifications" };
    $("notify-label").textContent = labels[Notification.permission] || "Notifications";
    b.classList.toggle("on", Notification.permission === "granted");
  }

  // askNotifications asks for permission: only ever from a click.
  async function askNotifications() {
    if (!notifySupported()) return;
    if (Notification.permission === "default") {
      try { await Notification.requestPermission(); } catch { /* old browsers */ }
    }
    updateNotifyButton();
    const says = {
      granted: "You will get a notification when someone pings you.",
      denied: "Notifications are blocked for this site; allow them in the browser's site settings.",
      default: "Notifications stay off.",
    };
    hint(says[Notification.permission] || "");
  }

  function notifyPing(m) {
    if (!notifySupported() || Notification.permission !== "granted") return;
    const text = m.text.replace(/^\/ping\s+\S+\s*/, "");
    try {
      const n = new Notification(m.nick + " pinged you", { body: text.slice(0, 200), tag: "chatbox-ping-" + m.id });
      n.addEventListener("click", () => { window.focus(); n.close(); });
    } catch { /* some mobile browsers only notify from a service worker */ }
  }

  // --- sharing files -------------------------------------------------------

  // previewFile shows a chosen file before it is sent: a picture's own
  // preview (never uploaded until Share), or its name and size.
  function previewFile(file) {
    clearUpload();
    state.upload = { file, url: null };
    $("upload-name").textContent = file.name;
    $("upload-size").textContent = formatSize(file.size);
    const img = $("upload-thumb");
    if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
      state.upload.url = URL.createObjectURL(file);
      img.src = state.upload.url;
      img.hidden = false;
    } else {
      img.hidden = true;
    }
    const max = state.room && state.room.max_file_size;
    const tooBig = max && file.size > max;
    $("upload-error").textContent = tooBig ? "Too large: the room takes files up to " + formatSize(max) + "." : "";
    $("upload-send").disabled = !!tooBig;
    $("upload-preview").hidden = false;
    if (!tooBig) $("upload-send").focus();
  }

  function clearUpload() {
    if (state.upload && state.upload.url) URL.revokeObjectURL(state.upload.url);
    state.upload = null;
    $("upload-preview").hidden = true;
    $("upload-thumb").removeAttribute("src");
    $("file-input").value = "";
  }

  // sendUpload posts the previewed file, showing progress.
  function sendUpload() {
    const up = state.upload;
    if (!up) return;
    const form = new FormData();
    form.append("nick", state.nick);
    form.append("file", up.file, up.file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/files");
    xhr.withCredentials = true;
    $("upload-send").disabled = true;
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) $("upload-size").textContent = "uploading… " + Math.floor(ev.loaded * 100 / ev.total) + "%";
    });
    xhr.addEventListener("load", () => {
      if (state.upload !== up) return; // cancelled meanwhile
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) { clearUpload(); $("text").focus(); return; }
      $("upload-error").textContent = (data && data.error) || ("The upload failed (" + xhr.status + ").");
      $("upload-size").textContent = formatSize(up.file.size);
      $("upload-send").disabled = xhr.status === 413 || xhr.status === 422;
    });
    xhr.addEventListener("error", () => {
      if (state.upload !== up) return;
      $("upload-error").textContent = "The upload failed: the connection broke.";
      $("upload-send").disabled = false;
    });
    xhr.send(form);
  }

  function draggingFiles(ev) {
    return ev.dataTransfer && [...ev.dataTransfer.types].includes("Files");
  }

  function wireDropZone() {
    const room = $("room");
    let depth = 0;
    room.addEventListener("dragenter", (ev) => {
      if (!draggingFiles(ev)) return;
      ev.preventDefault();
      depth++;
      room.classList.add("dragging");
    });
    room.addEventListener("dragover", (ev) => {
      if (!draggingFiles(ev)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
    });
    room.addEventListener("dragleave", () => {
      if (--depth <= 0) { depth = 0; room.classList.remove("dragging"); }
    });
    room.addEventListener("drop", (ev) => {
      if (!draggingFiles(ev)) return;
      ev.preventDefault();
      depth = 0;
      room.classList.remove("dragging");
      const f = ev.dataTransfer.files[0];
      if (f) previewFile(f);
    });
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
    $("attach").addEventListener("click", () => $("file-input").click());
    $("file-input").addEventListener("change", () => {
      const f = $("file-input").files[0];
      if (f) previewFile(f);
    });
    $("upload-send").addEventListener("click", sendUpload);
    $("upload-cancel").addEventListener("click", clearUpload);
    $("upload-preview").addEventListener("keydown", (ev) => { if (ev.key === "Escape") clearUpload(); });
    $("text").addEventListener("paste", (ev) => {
      const f = ev.clipboardData && ev.clipboardData.files[0];
      if (f) { ev.preventDefault(); previewFile(f); }
    });
    wireDropZone();
    $("notify-button").addEventListener("click", askNotifications);
    updateNotifyButton();
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) { state.unread = 0; document.title = "chatbox"; }
    });
    $("nick").value = state.nick;
    start();
  });
})();
