// chatbox's service worker. It keeps the page's own files (scripts,
// styles, icons: the same for every room, nothing of anyone's) for an
// instant start, answers a navigation with an offline screen when the box
// cannot be reached, and shows Web Push notifications. It never keeps
// API answers, files, feeds or the page itself: nothing of a private room
// is ever in its cache.
"use strict";

// The box names the cache after its page's files when it serves this
// worker: another version of the box is another worker and another cache.
const CACHE = "chatbox-static-v1";
// The box puts its stylesheet's Subresource Integrity here, for the
// offline screen (empty when the worker is read from the source).
const STYLE_INTEGRITY = "";
const PRECACHE = [
  "/static/app.js",
  "/static/push.js",
  "/static/push.css",
  "/static/style.css",
  "/static/icon.svg",
  "/static/icon-192.png",
  "/favicon.ico",
];

// cacheable says whether a request is for one of the page's own files.
function cacheable(req) {
  if (req.method !== "GET") return false;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search !== "") return false;
  return url.pathname.startsWith("/static/") || url.pathname === "/favicon.ico";
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file must not keep the worker from installing.
    await Promise.all(PRECACHE.map((u) => cache.add(u).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.mode === "navigate") {
    event.respondWith(fetch(req).catch(() => offlinePage()));
    return;
  }
  if (!cacheable(req)) return; // the network, as without a worker
  // The cached copy at once; a fresh one for next time.
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const cached = await cache.match(req);
    const fresh = fetch(req).then((res) => {
      if (res.ok && res.type === "basic") cache.put(req, res.clone());
      return res;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => {}));
      return cached;
    }
    return fresh;
  })());
});

// offlinePage is the screen shown instead of the room when the box
// cannot be reached.
function offlinePage() {
  const host = self.location.host.replace(/[<>&"]/g, "");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Offline — chatbox</title>
<link rel="stylesheet" href="/static/style.css" integrity="${STYLE_INTEGRITY}"></head>
<body><main id="app"><section id="offline" class="panel">
<h1>You are offline</h1>
<p>The room at ${host} cannot be reached from here right now: this device has no connection, or the box is down.</p>
<p>Nothing is lost: messages are kept on the box, and the room shows them when you are back.</p>
<p><a href="/">Try again</a></p>
</section></main></body></html>`;
  return new Response(html, {
    status: 503,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    },
  });
}

// roomPage says whether a window is a page of the room (not, say, a file).
function roomPage(client) {
  return new URL(client.url).pathname === "/";
}

// roomInFront says whether the person is looking at the room in one of
// the windows wins: a focused, visible page of it, which shows the message
// itself.
function roomInFront(wins) {
  return wins.some((c) => roomPage(c) && c.focused && c.visibilityState === "visible");
}

// Pushes are shown one after the other: two at once would each count the
// notification shown before either, and one would be lost from the count.
let showing = Promise.resolve();

self.addEventListener("push", (event) => {
  let p = {};
  try { p = event.data ? event.data.json() : {}; } catch { p = {}; }
  showing = showing.then(() => notify(p)).catch((e) => console.error("chatbox: a push showed no notification:", e));
  event.waitUntil(showing);
});

// notify shows the notification of the push p, unless a page of the room
// is in front of the person.
async function notify(p) {
  const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (roomInFront(wins)) return;
  let count = Number(p.count) || 1;
  let tag = p.tag || "chatbox-room";
  if (p.ping && count === 1) {
    // One ping keeps a notification of its own, under the tag the page
    // gives the same ping when it is open but hidden: it shows once.
    tag = "chatbox-ping-" + p.id;
  } else {
    // A notification of the room still shown is replaced by one that
    // counts both: one "5 new messages", not five notifications.
    for (const n of await self.registration.getNotifications({ tag })) {
      count += (n.data && Number(n.data.count)) || 0;
    }
  }
  let body = count > 1 ? count + " new messages" : String(p.body || "New message");
  if (count === 1 && p.sealed) body = (await sealedBody(p.sealed, Boolean(p.ping))) || body;
  await self.registration.showNotification(String(p.title || "chatbox"), {
    body,
    tag,
    renotify: true,
    icon: "/static/icon-192.png",
    badge: "/static/icon-192.png",
    data: { url: String(p.url || "/"), id: p.id, count },
  });
}

// --- an encrypted room's text, for a device that opted in -------------------
//
// A person may let this device's notifications show an encrypted room's
// text: the page then hands this worker the room key (a CryptoKey that
// cannot be read out), which it keeps in IndexedDB by room id. A push of
// an encrypted room carries the message's envelope beside "New message"
// (docs/ENCRYPTION.md); with the room's key kept, the notification shows
// the text instead. The envelope's format is the page's (js/crypto.js):
// a worker cannot import modules in every browser, so the few lines that
// open one are here, and a test holds both to the same worked example.

const KEY_DB = "chatbox-keys";
const KEY_STORE = "keys";

function keyDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(KEY_DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(KEY_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// keyTx runs fn on the key store and resolves with its request's result
// once the transaction is done.
async function keyTx(mode, fn) {
  const db = await keyDB();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(KEY_STORE, mode);
      const req = fn(tx.objectStore(KEY_STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// keepKey keeps room's key, and only it: a reset room's old key goes.
function keepKey(room, key) {
  return keyTx("readwrite", (s) => { s.clear(); return s.put(key, room); });
}

function forgetKeys() {
  return keyTx("readwrite", (s) => s.clear());
}

function keptKey(room) {
  return keyTx("readonly", (s) => s.get(room));
}

function unb64u(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  } catch { return null; }
}

// openSealed opens a push's sealed message {room, kind, nick, envelope}
// with key: its text, or null when it does not open.
async function openSealed(key, sealed) {
  let e;
  try { e = JSON.parse(sealed.envelope); } catch { return null; }
  const iv = e && e.v === 1 && unb64u(e.iv);
  const ct = e && unb64u(e.ct);
  if (!iv || iv.length !== 12 || !ct || ct.length < 16) return null;
  const ad = new TextEncoder().encode(["chatbox/v1", sealed.room, sealed.kind, sealed.nick].join("\n"));
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: ad, tagLength: 128 }, key, ct);
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch { return null; }
}

// sealedText is what a notification says of an opened message; pinged
// says the message is a ping to this device's person.
function sealedText(kind, nick, plain, pinged) {
  if (kind === "file") {
    let name = "";
    try { name = String(JSON.parse(plain).name || ""); } catch { /* a description that is not JSON */ }
    return nick + " sent " + (name || "a file");
  }
  const text = [...plain];
  return nick + (pinged ? " pinged you: " : ": ") + (text.length > 120 ? text.slice(0, 120).join("") + "…" : plain);
}

// sealedBody is the text of a push's sealed message where this device
// keeps its room's key, or "".
async function sealedBody(sealed, pinged) {
  if (!sealed || typeof sealed.room !== "string" || typeof sealed.envelope !== "string") return "";
  let key;
  try { key = await keptKey(sealed.room); } catch { return ""; }
  if (!key) return "";
  const plain = await openSealed(key, sealed);
  return plain === null ? "" : sealedText(String(sealed.kind), String(sealed.nick), plain, pinged);
}

// The page of an encrypted room keeps or forgets its key here, and asks
// whether it is kept (the answer goes back on the message's port).
self.addEventListener("message", (event) => {
  const d = event.data || {};
  const reply = (v) => event.ports && event.ports[0] && event.ports[0].postMessage(v);
  let work;
  switch (d.type) {
  case "chatbox:keep-key":
    work = d.key instanceof CryptoKey
      ? keepKey(String(d.room), d.key).then(() => true)
      : Promise.reject(new Error("not a key"));
    break;
  case "chatbox:forget-key":
    work = forgetKeys().then(() => false);
    break;
  case "chatbox:has-key":
    work = keptKey(String(d.room)).then((k) => Boolean(k));
    break;
  default:
    return;
  }
  event.waitUntil(work.then(reply, (e) => reply({ error: String(e && e.message || e) })));
});

// clickPlan says what a click on a notification whose data is data does,
// given the windows open on the box (the service worker's origin is
// origin): a page of the room already open is told to show the message
// and brought to the front (the focused one first, then a visible one);
// with none, the room opens at the message. It returns
// {open: client, message} or {url}, or null for a link off the box.
function clickPlan(data, origin, wins) {
  data = data || {};
  const url = new URL(data.url || "/", origin);
  if (url.origin !== origin) return null;
  const pages = wins.filter(roomPage);
  const open = pages.find((c) => c.focused) ||
    pages.find((c) => c.visibilityState === "visible") || pages[0];
  if (open) return { open, message: { type: "chatbox:open", id: data.id, hash: url.hash } };
  return { url: url.href };
}

// openAt opens the room at the message of notification: the page already
// open, or a new one.
async function openAt(notification) {
  const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const plan = clickPlan(notification.data, self.location.origin, wins);
  if (!plan) return;
  if (plan.open) {
    // The message first: the page shows it even where the browser does
    // not let the worker bring it to the front.
    plan.open.postMessage(plan.message);
    await plan.open.focus();
    return;
  }
  await self.clients.openWindow(plan.url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openAt(event.notification));
});
