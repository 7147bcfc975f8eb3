// Web Push and the installable app: registers the service worker, tells
// the box whether this page is visible, and lets a person ask for
// notifications when the room is closed (per device: pings only, every
// message, or nothing). Notifications are asked for only from a click,
// never on load. Every text is put on the page with textContent.

const modeKey = "chatbox.push.mode";
// textKey says this device lets its notifications show an encrypted
// room's text: its service worker then keeps the room's key.
const textKey = "chatbox.push.text";
const state = {
  ws: null,
  nick: "",
  token: "",        // the browser's nickname token, when it has one
  info: null,       // GET /api/push
  reg: null,        // the service worker's registration
  problem: "",      // why notifications cannot work here, in a sentence
  untrusted: false, // the browser refused the worker for the box's certificate
  installPrompt: null,
  dialog: null,
  vault: null,      // an encrypted room's {room, key}, from the page
};

const local = {
  get: (k) => { try { return localStorage.getItem(k); } catch { return null; } },
  set: (k, v) => { try { localStorage.setItem(k, v); } catch { /* private mode */ } },
};

function nick() {
  return local.get("chatbox.nick") || state.nick;
}

// permission is the page's notification permission; iOS Safari has no
// Notification in a tab, only in a room added to the Home Screen.
function permission() {
  return "Notification" in window ? Notification.permission : "default";
}

function visible() {
  return document.visibilityState === "visible";
}

// tellVisible tells the box whether this page is visible: a person with a
// visible page gets no pushes.
function tellVisible() {
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "visible", visible: visible() }));
  }
}

// The room's page hands over each new connection (see js/main.js).
window.addEventListener("chatbox:socket", (ev) => {
  const { ws, nick: n, token, vault } = ev.detail || {};
  if (!ws) return;
  state.ws = ws;
  state.vault = vault || null;
  syncKey();
  state.nick = n || state.nick;
  state.token = token || state.token;
  ws.addEventListener("open", () => {
    tellVisible();
    resubscribe();
    swapButtons();
  });
});

document.addEventListener("visibilitychange", () => {
  tellVisible();
  if (visible()) clearNotifications();
});

async function clearNotifications() {
  if (!state.reg) return;
  try {
    for (const n of await state.reg.getNotifications()) n.close();
  } catch { /* not supported */ }
}

// --- the service worker ----------------------------------------------------

function ios() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

function standalone() {
  return window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) {
    state.problem = window.isSecureContext
      ? "This browser cannot show notifications for a web page."
      : "Notifications need the room to be opened over https://.";
    return;
  }
  try {
    state.reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (e) {
    // Browsers refuse a service worker from a site whose certificate they
    // do not trust, as on a box still on its own certificate authority:
    // problemText says so once the box has said which (GET /api/push).
    if (e && e.name === "SecurityError") state.untrusted = true;
    else state.problem = "Notifications are unavailable: " + (e && e.message ? e.message : String(e));
    return;
  }
  if (!("PushManager" in window) || !("Notification" in window)) {
    state.problem = ios() && !standalone()
      ? "On iPhone and iPad, notifications come only to the room on your Home Screen: tap Share, then Add to Home Screen, and open the room from there."
      : "This browser cannot receive push notifications.";
  }
}

// problemText says why notifications cannot work on this device, and how
// to fix it, or "" when they can.
function problemText() {
  if (state.untrusted) {
    const info = state.info || {};
    if (!info.local_ca) {
      return "Notifications need a certificate your browser trusts, and it does not trust this site's.";
    }
    return "Notifications need a certificate your browser trusts, and this box still has only one of its own " +
      "certificate authority, which browsers do not know. Its owner fixes that by giving the box a domain name " +
      "that points to it, so it gets a certificate from Let's Encrypt (chatbox status says why it has none)." +
      (info.trust_url ? " Or install the box's own certificate on this device from " + info.trust_url + " and reload the room." : "");
  }
  return state.problem;
}

navigator.serviceWorker && navigator.serviceWorker.addEventListener("message", (ev) => {
  const d = ev.data || {};
  if (d.type !== "chatbox:open") return;
  // The room shows the notification's message (js/main.js).
  if (/^#m\d+$/.test(d.hash || "") && d.hash === "#m" + d.id) {
    history.replaceState(null, "", d.hash);
    window.dispatchEvent(new CustomEvent("chatbox:jump", { detail: { id: Number(d.id) } }));
  }
  window.focus();
});

window.addEventListener("beforeinstallprompt", (ev) => {
  ev.preventDefault();
  state.installPrompt = ev;
  renderDialog();
});

// --- subscribing -----------------------------------------------------------

async function pushInfo() {
  if (!state.info) {
    const res = await fetch("/api/push", { credentials: "same-origin" });
    if (!res.ok) throw new Error("the box did not answer");
    state.info = await res.json();
  }
  return state.info;
}

function keyBytes(b64) {
  const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - b64.length % 4) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const res = await fetch("/api/push", {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    let msg = "the box refused (" + res.status + ")";
    try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(msg);
  }
}

// subscribeTimeout is how long the browser's push service has to give a
// subscription: it answers in a second or two where it works.
const subscribeTimeout = 15000;

// within resolves as promise does, or rejects with why after ms.
function within(ms, promise, why) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(why)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// subscribe makes (or reuses) this browser's subscription and stores it
// on the box with mode.
async function subscribe(mode) {
  const info = await pushInfo();
  if (!info.enabled) throw new Error(info.reason || "notifications are off on this box");
  let sub = await state.reg.pushManager.getSubscription();
  if (!sub) {
    // A browser whose push service cannot be reached (or has none, as
    // some builds of Chromium) never answers: give up with a sentence.
    const after = ", so it cannot show notifications while the room is closed; keep the room open in a tab, or try another browser";
    const asked = state.reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(info.public_key),
    }).catch((e) => { throw new Error("this browser's push service refused it (" + e.message + ")" + after); });
    sub = await within(subscribeTimeout, asked, "this browser's push service did not answer" + after);
  }
  const body = Object.assign(sub.toJSON(), { nick: nick(), mode });
  if (state.token) body.token = state.token;
  await send("POST", body);
}

async function unsubscribe() {
  const sub = state.reg && await state.reg.pushManager.getSubscription();
  if (!sub) return;
  await send("DELETE", { endpoint: sub.endpoint });
  await sub.unsubscribe();
}

// resubscribe sends this device's subscription again on each connection:
// the nickname may have changed, a password change or a restored box may
// have forgotten it, and the browser may have renewed it.
async function resubscribe() {
  const mode = local.get(modeKey);
  if (!mode || mode === "none" || !state.reg || permission() !== "granted") return;
  try { await subscribe(mode); } catch { /* tried again on the next connection */ }
}

async function choose(mode) {
  say("");
  try {
    if (mode === "none") {
      await unsubscribe();
      // Nothing to show: the room's key need not stay here.
      if (local.get(textKey) === "1") await chooseText(false);
    } else {
      if (permission() !== "granted") {
        const p = await Notification.requestPermission();
        if (p !== "granted") {
          say(p === "denied"
            ? "Notifications are blocked for this site; allow them in the browser's site settings."
            : "Notifications stay off.");
          renderDialog();
          return;
        }
      }
      say("Turning notifications on…");
      await subscribe(mode);
    }
    local.set(modeKey, mode);
    say({
      pings: "This device gets a notification when someone pings you and the room is closed.",
      all: "This device gets a notification for every message while the room is closed.",
      none: "This device gets no notifications.",
    }[mode]);
  } catch (e) {
    say("Could not change notifications: " + (e && e.message ? e.message : String(e)));
  }
  renderDialog();
}

// --- an encrypted room's text in notifications ---------------------------------

// worker asks the service worker msg and resolves with its answer.
async function worker(msg) {
  const reg = await within(5000, navigator.serviceWorker.ready, "the service worker is not running");
  return new Promise((resolve, reject) => {
    const ch = new MessageChannel();
    const timer = setTimeout(() => reject(new Error("the service worker did not answer")), 5000);
    ch.port1.onmessage = (ev) => {
      clearTimeout(timer);
      if (ev.data && ev.data.error) reject(new Error(ev.data.error));
      else resolve(ev.data);
    };
    reg.active.postMessage(msg, [ch.port2]);
  });
}

// syncKey gives the service worker this room's key where the person let
// this device show an encrypted room's text, and takes it back
// otherwise (a room that is not encrypted, or one that was reset).
async function syncKey() {
  if (!state.reg) return;
  const on = local.get(textKey) === "1" && state.vault;
  try {
    await worker(on ? { type: "chatbox:keep-key", room: state.vault.room, key: state.vault.key } : { type: "chatbox:forget-key" });
  } catch (e) {
    console.error("chatbox: the room's key for notifications:", e);
  }
}

async function chooseText(on) {
  local.set(textKey, on ? "1" : "0");
  try {
    await worker(on && state.vault
      ? { type: "chatbox:keep-key", room: state.vault.room, key: state.vault.key }
      : { type: "chatbox:forget-key" });
    say(on
      ? "Notifications on this device show what messages say. This browser now keeps the room's key."
      : "Notifications on this device say only \"New message\". This browser no longer keeps the room's key.");
  } catch (e) {
    say("Could not change this: " + (e && e.message ? e.message : String(e)));
  }
  renderDialog();
}

// --- the dialog --------------------------------------------------------------

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c);
  return e;
}

function say(text) {
  const s = document.getElementById("push-status");
  if (s) s.textContent = text;
}

function buildDialog() {
  const d = el("dialog", { id: "push-dialog", className: "push-dialog" });
  d.setAttribute("aria-labelledby", "push-title");
  d.append(
    el("h2", { id: "push-title", textContent: "Notifications on this device" }),
    el("p", { id: "push-problem", className: "note", hidden: true }),
    el("fieldset", { id: "push-modes" },
      el("legend", { textContent: "When the room is closed, tell me of" }),
      ...[["pings", "Pings to me"], ["all", "Every message"], ["none", "Nothing"]].map(([value, label]) =>
        el("label", {}, el("input", { type: "radio", name: "push-mode", value }), " " + label))),
    el("div", { id: "push-text-row", hidden: true },
      el("label", { className: "check" }, el("input", { type: "checkbox", id: "push-text" }), " Show what messages say"),
      el("p", { className: "hint", id: "push-text-hint", textContent:
        "This room is encrypted, so its notifications say only \"New message\". Ticked, this browser keeps the room's key " +
        "to show the text instead: anyone who can open this browser can then read the room. Leave it off on a shared device." })),
    el("p", { id: "push-status", className: "hint", role: "status" }),
    el("p", { id: "push-install-hint", className: "hint", hidden: true }),
    el("div", { className: "row" },
      el("button", { type: "button", id: "push-install", hidden: true, textContent: "Install the room as an app" }),
      el("button", { type: "button", id: "push-close", className: "primary", textContent: "Close" })));
  d.querySelector("#push-modes").addEventListener("change", (ev) => choose(ev.target.value));
  d.querySelector("#push-text").addEventListener("change", (ev) => chooseText(ev.target.checked));
  d.querySelector("#push-close").addEventListener("click", () => d.close());
  d.querySelector("#push-install").addEventListener("click", async () => {
    const p = state.installPrompt;
    if (!p) return;
    state.installPrompt = null;
    await p.prompt();
    renderDialog();
  });
  document.body.append(d);
  return d;
}

function renderDialog() {
  const d = state.dialog;
  if (!d) return;
  const problem = d.querySelector("#push-problem");
  const text = problemText();
  problem.hidden = !text;
  problem.textContent = text;
  const off = Boolean(text) || (state.info && !state.info.enabled);
  if (state.info && !state.info.enabled && !text) {
    problem.hidden = false;
    problem.textContent = state.info.reason || "Notifications are off on this box.";
  }
  d.querySelector("#push-modes").disabled = off;
  const mode = local.get(modeKey) || "none";
  for (const r of d.querySelectorAll("input[name=push-mode]")) {
    r.checked = r.value === (permission() === "granted" ? mode : "none");
  }
  const textRow = d.querySelector("#push-text-row");
  textRow.hidden = !state.vault || off || mode === "none" || permission() !== "granted";
  d.querySelector("#push-text").checked = local.get(textKey) === "1";
  d.querySelector("#push-text").setAttribute("aria-describedby", "push-text-hint");
  d.querySelector("#push-install").hidden = !state.installPrompt;
  const hint = d.querySelector("#push-install-hint");
  hint.hidden = !(ios() && !standalone());
  hint.textContent = "To put the room on your Home Screen: tap Share, then Add to Home Screen.";
}

async function openDialog() {
  if (!state.dialog) state.dialog = buildDialog();
  try { await pushInfo(); } catch { /* shown as unavailable */ }
  renderDialog();
  state.dialog.showModal();
}

// --- start -----------------------------------------------------------------

function themeColours() {
  for (const [media, colour] of [["(prefers-color-scheme: light)", "#2f6fde"], ["(prefers-color-scheme: dark)", "#14171c"]]) {
    const m = el("meta", { name: "theme-color", content: colour });
    m.media = media;
    document.head.append(m);
  }
}

// swapButtons shows the Alerts button where the box sends pushes, and
// lets it take over from the page's own ping notifications (which would
// show each ping a second time) where pushes work here; on a box with
// push turned off, the page's own button stays alone. It asks the box only
// once the page is in the room (a private room's /api/push wants the
// session).
async function swapButtons() {
  if (!state.ws) return;
  let on = false;
  try { on = (await pushInfo()).enabled; } catch { return; }
  const button = document.getElementById("push-button");
  if (button) button.hidden = !on;
  const old = document.getElementById("notify-button");
  if (old && on && !problemText()) old.hidden = true;
}

function start() {
  themeColours();
  const button = document.getElementById("push-button");
  if (button) button.addEventListener("click", openDialog);
  registerWorker().then(() => {
    swapButtons();
    if (visible()) clearNotifications();
    resubscribe();
  });
}

start();
