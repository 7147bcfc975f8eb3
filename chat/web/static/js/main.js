// chatbox room page: wires the model, the socket, the API and the drawing
// together, and follows the room's real state from screen to screen.

import { EV, OUT, CODE, CLOSE_NICK_TAKEN, HISTORY_PAGE, TYPING_SHOW_MS, TYPING_SEND_MS, limits, nickProblem } from "./protocol.js";
import { api, request, sentence, ApiError } from "./api.js";
import { Socket } from "./socket.js";
import { Model, typingLine } from "./model.js";
import * as render from "./render.js";
import { parse, complete, HELP } from "./commands.js";
import { Uploads } from "./uploads.js";
import * as notify from "./notify.js";
import { storage, token as makeToken } from "./storage.js";
import * as c from "./crypto.js";
import { Vault, keep, kept, forget, sealUpload } from "./vault.js";

const $ = (id) => document.getElementById(id);

/** How often a screen that waits on the room asks for its state. */
const POLL_MS = 3000;
// Where a tab keeps the id of the encrypted room it was last in.
const LAST_ROOM = "chatbox.lastRoom";
/** Within this many pixels of the end, the view counts as at the bottom. */
const BOTTOM_SLACK = 48;

const state = {
  room: null,
  lim: limits(null),
  model: new Model(),
  socket: null,
  token: "",
  quitting: false,
  poll: null,
  countdown: null,
  // The view follows the conversation while this is true.
  stuck: true,
  newBelow: 0,
  loadingOlder: false,
  replyTo: 0,
  editing: 0,
  lastTypingSent: 0,
  typingTimer: null,
  nickError: null,
  wasConnected: false,
  bannerTimer: null,
  unread: new notify.Unread(),
  // The question "destroy the room?" while it is asked: { back }.
  askDestroy: null,
  // An encrypted room: the key this tab opens it with (null otherwise),
  // the key read from the link ({key} or {bad}), the room's password as
  // typed here (kept in memory only: it may be the key's passphrase), and
  // the room's events, opened in the order they came.
  vault: null,
  sawNoRoom: false, // this tab showed the launcher: a keyless room is not its to key
  linkKey: null,
  password: "",
  // Where that password was typed ("login" or "passphrase"), and how many
  // typed in the passphrase form did not open the key.
  passwordFrom: "",
  passphraseMisses: 0,
  // Why the passphrase form was first asked (PASSPHRASE's keys).
  passphraseWhy: "",
  // The encrypted room this tab was last in (its room id), even once it
  // is gone and across a reload: a room made again since is not this
  // tab's to give a key (see wasIn).
  lastRoomID: lastRoom(),
  keyNote: false,
  events: Promise.resolve(),
  busy: false,
};
state.model.nick = storage.get("nick") || "";

// --- screens -----------------------------------------------------------------

const screens = ["loading", "launcher", "ready", "nokey", "badkey", "remade", "passphrase", "login", "pick-nick", "room", "gone"];

function show(id) {
  for (const p of screens) $(p).hidden = p !== id;
  // The no-key and wrong-key screens share one field for a pasted link.
  if ((id === "nokey" || id === "badkey") && $("paste").parentElement.id !== id) {
    $(id).append($("paste"));
    $("paste-error").textContent = "";
  }
  if (id !== "room") { state.askDestroy = null; drawAskDestroy(); }
  // Only the launcher, the login and the "goodbye" wait on the room: they
  // ask for its state every few seconds, so they never contradict it.
  clearInterval(state.poll);
  state.poll = null;
  if (["launcher", "login", "gone", "loading", "nokey", "badkey", "remade", "passphrase"].includes(id)) {
    state.poll = setInterval(pollRoom, POLL_MS);
  }
}

function current() { return screens.find((p) => !$(p).hidden); }

async function fetchRoom() {
  state.room = await api("GET", "/api/room");
  state.lim = limits(state.room);
  return state.room;
}

// pollRoom moves a waiting screen on when the room changed under it.
async function pollRoom() {
  const was = state.room;
  if (state.busy) return;
  let room;
  try { room = await fetchRoom(); } catch { return; }
  if (state.busy) return;
  const screen = current();
  if (screen === "launcher" && room.exists && $("created").hidden) return start();
  if (screen === "login" && (!room.exists || room.authorized)) return start();
  if (screen === "loading") return start();
  if (screen === "gone" && !room.exists && was && was.exists) return start();
  if ((screen === "nokey" || screen === "badkey" || screen === "passphrase") && (!room.exists || !was || room.room_id !== was.room_id)) return start();
  // The room made again has its key now: this tab needs its link.
  if (screen === "remade" && (!room.exists || room.key_check || !was || room.room_id !== was.room_id)) return start();
}

async function start() {
  show("loading");
  try {
    await fetchRoom();
  } catch (e) {
    $("loading").firstElementChild.textContent = "The room cannot be reached (" + e.message + "). Trying again…";
    return;
  }
  const room = state.room;
  $("nick-rule").textContent = state.lim.nickRule;
  $("nick").maxLength = state.lim.nickMax;
  if (!room.exists) return showLauncher(room);
  if (!room.authorized) { show("login"); $("password").focus(); return; }
  if (room.encrypted) {
    if (!(await unlock(room))) return;
  } else {
    closeVault();
  }
  if (!state.model.nick || nickProblem(state.model.nick, state.lim)) {
    show("pick-nick");
    $("nick").focus();
    return;
  }
  enterRoom();
}

// --- launcher, login and nickname ---------------------------------------------

function showLauncher(room) {
  // A room that appears while this tab shows the launcher is someone
  // else's to make the key of (see unlock).
  state.sawNoRoom = true;
  // The room is gone: so is its key.
  if (state.vault) { forget(state.vault.roomID); closeVault(); }
  state.linkKey = null;
  const note = $("destroyed-note");
  if (room.destroyed_at) {
    note.textContent = "This room was destroyed by " + room.destroyed_by + " on " +
      new Date(room.destroyed_at).toLocaleString() + ".";
    note.hidden = false;
  } else {
    note.hidden = true;
  }
  $("created").hidden = true;
  $("create-buttons").hidden = false;
  $("launcher-error").textContent = "";
  show("launcher");
}

async function createRoom(priv) {
  $("launcher-error").textContent = "";
  const encrypted = $("create-encrypted").checked;
  // While the room and its key are made, no poll moves the screen on.
  state.busy = encrypted;
  try {
    const res = await api("POST", "/api/room", encrypted ? { private: priv, encrypted: true } : { private: priv });
    if (encrypted) {
      $("create-buttons").hidden = true;
      state.password = res.password || "";
      const room = await fetchRoom();
      if (room.encrypted && !room.key_check) { await makeKey(room, res.password || ""); return; }
      start();
      return;
    }
    if (res.password) {
      // One room now exists: no second create button stays on screen.
      $("create-buttons").hidden = true;
      $("created-password").textContent = res.password;
      $("created").hidden = false;
      $("enter-room").focus();
      return;
    }
    start();
  } catch (e) {
    // Someone may have made a room meanwhile: say so, and show its screen.
    let room = null;
    try { room = await fetchRoom(); } catch { /* unreachable: keep the words */ }
    if (room && room.exists) {
      await start();
      const where = room.authorized ? "hint" : "login-error";
      showError($(where), "Someone created a room here a moment ago" + (room.private ? ": it is private, ask them for the password." : "."));
      return;
    }
    showError($("launcher-error"), e.message);
  } finally {
    state.busy = false;
  }
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("POST", "/api/login", { password: $("password").value });
    // An encrypted private room's key may be made with this password.
    state.password = $("password").value;
    state.passwordFrom = "login";
    $("password").value = "";
    start();
  } catch (e) {
    // A wrong password is said as a sentence, and stays selected: typing
    // the right one replaces it.
    $("login-error").textContent = e.status === 401
      ? "That password does not open this room. Check it with whoever invited you, and type it again."
      : e.message;
    if (e.status === 401) { $("password").focus(); $("password").select(); }
  }
}

function pickNick(ev) {
  ev.preventDefault();
  const nick = $("nick").value.trim();
  const problem = nickProblem(nick, state.lim);
  if (problem) {
    showError($("nick-error"), problem);
    return;
  }
  $("nick-error").textContent = "";
  $("nick-suggest").hidden = true;
  setNick(nick);
  start();
}

function setNick(nick) {
  state.model.nick = nick;
  storage.set("nick", nick);
}

// nickTaken sends the person back to the nickname form with the reason
// and the server's suggestion.
function nickTaken(err) {
  stopSocket();
  show("pick-nick");
  $("nick").value = state.model.nick;
  showError($("nick-error"), (err && err.error) || state.model.nick + " is taken; choose another nickname.");
  const b = $("nick-suggest");
  if (err && err.suggest) {
    b.textContent = "Use " + err.suggest;
    b.hidden = false;
    b.onclick = () => { $("nick").value = err.suggest; b.hidden = true; $("nick").focus(); };
  } else {
    b.hidden = true;
  }
  $("nick").focus();
}

// --- the key of an encrypted room (docs/ENCRYPTION.md) -----------------------------

// takeFragment reads the key from the address bar's #k=, then takes it out
// of the address bar: it is never sent to the box, and should not linger.
function takeFragment() {
  const f = c.fromFragment(location.hash);
  if (f.missing) return false;
  state.linkKey = f;
  state.keyNote = true;
  history.replaceState(history.state, "", location.pathname + location.search);
  return true;
}

// openPasted opens the room with the whole link pasted on the no-key or
// the wrong-key screen: its key is taken as from the address bar, and
// never put there.
function openPasted(ev) {
  ev.preventDefault();
  const err = $("paste-error");
  const field = $("paste-link");
  const text = field.value.trim();
  let url = null;
  try { url = new URL(text, location.href); } catch { /* said below */ }
  if (!text || !url) {
    err.textContent = text ? "That is not a link: paste the whole link you were sent." : "Paste the whole link you were sent first.";
    return;
  }
  if (url.origin !== location.origin) {
    err.textContent = "That link is for another box (" + url.host + "): open it in the browser's address bar.";
    return;
  }
  const f = c.fromFragment(url.hash);
  if (f.missing) {
    err.textContent = "That link has no key either: the whole link ends with #k= and a long key. Ask whoever invited you for it.";
    return;
  }
  err.textContent = "";
  field.value = "";
  state.linkKey = f;
  state.keyNote = true;
  start();
}

// wasIn remembers, for this tab, the encrypted room it is in ("": none).
function wasIn(roomID) {
  state.lastRoomID = roomID;
  try { sessionStorage.setItem(LAST_ROOM, roomID); } catch { /* storage off: this page only */ }
}

function lastRoom() {
  try { return sessionStorage.getItem(LAST_ROOM) || ""; } catch { return ""; }
}

// showRemade says that a room with no key yet is for whoever made it to
// open first: the room this tab was in was made again (remade), or a room
// was just made while this tab showed the launcher.
function showRemade(remade) {
  $("remade-title").textContent = remade ? "This room was made again" : "A room was just made here";
  $("remade-text").textContent = remade
    ? "The room this tab was in is gone. The new one has no key yet: whoever made it again opens it first, which makes its key and a new link to share. If that is someone else, wait for their link and open it here."
    : "Someone made an encrypted room here a moment ago. It has no key yet: whoever made it opens it first, which makes its key and the link to share. Wait for their link and open it here.";
  show("remade");
}

function closeVault() {
  if (state.vault) state.vault.close();
  state.vault = null;
}

// unlock finds the key that opens the room (from the link, or kept by
// this tab) and answers true, or shows why it cannot and answers false.
async function unlock(room) {
  if (state.vault && state.vault.roomID === room.room_id && room.key_check) return true;
  // This tab was in the room, which was made again since (a reset).
  const remade = !!state.lastRoomID && state.lastRoomID !== room.room_id;
  closeVault();
  if (!room.key_check) {
    // The new room's key is made by whoever made it again, not by every
    // tab that was in the old one; this tab makes it when asked to.
    if (remade || state.sawNoRoom) { showRemade(remade); return false; }
    return makeKey(room, state.password);
  }
  const link = state.linkKey;
  const resetText = "This room was made again since this tab opened it, with a new key: the new room needs its new link. Ask whoever invited you for it, and open it here.";
  if (link && link.bad) {
    $("badkey-text").textContent = "The key in this link is damaged (after #k= it should have 43 letters, digits, - or _): the link may have been cut short. Ask whoever invited you to send it again.";
    show("badkey");
    return false;
  }
  if (!link) {
    const k = kept(room.room_id);
    const v = k && await Vault.unlock(room.room_id, room.key_check, k.aesRaw, k.fragKey);
    if (v) { state.vault = v; wasIn(room.room_id); return true; }
    if (remade) {
      $("badkey-text").textContent = resetText;
      show("badkey");
      return false;
    }
    show("nokey");
    return false;
  }
  let aesRaw = link.key;
  if (room.kdf) {
    if (!state.password) { askPassphrase("password"); return false; }
    setLoading("Opening the room's key…");
    aesRaw = await c.deriveKey(link.key, state.password, room.kdf);
  }
  const v = await Vault.unlock(room.room_id, room.key_check, aesRaw, link.key);
  if (!v) {
    if (room.kdf) {
      // The password the box took (typed at login, or the room's current
      // one) is not the key's: the room's password was changed since its
      // key was made, and the key still needs the first one.
      if (state.passwordFrom !== "passphrase") askPassphrase("first");
      else askPassphrase("miss", ++state.passphraseMisses);
      return false;
    }
    $("badkey-text").textContent = remade ? resetText
      : "The link's key is not this room's key: the room may have been made again since the link was made. Ask whoever invited you for the room's current link, and open it here.";
    show("badkey");
    return false;
  }
  keep(room.room_id, link.key, aesRaw);
  state.vault = v;
  wasIn(room.room_id);
  state.passphraseMisses = 0;
  state.passphraseWhy = "";
  return true;
}

function setLoading(text) {
  show("loading");
  // Making or opening a key takes a moment: no poll starts it again.
  clearInterval(state.poll);
  state.poll = null;
  $("loading").firstElementChild.textContent = text;
}

// PASSPHRASE is what the passphrase form says: [heading, label, help]
// for why it is asked.
const PASSPHRASE = {
  // The room's key needs a password and none was typed in this tab.
  password: ["Type the room's password", "Room password",
    "This room's messages are locked with its link and its password together."],
  // A room with no key yet: its key is made here with the password.
  newkey: ["Type the room's password", "Room password",
    "This encrypted room has no key yet: it is made here from a new link and the room's password together."],
  // The password that let this tab in does not open the key.
  first: ["Type the room's first password", "First password",
    "The password let you in, but it does not open the messages. If the room's password was changed after the room was made, its messages stay locked with the password it had at first: type that one. Otherwise this link is not the room's current one: ask whoever invited you for it."],
};

// askPassphrase asks for the key's password: why says which words
// (PASSPHRASE's keys, or "miss" when misses typed ones did not open it:
// the words it was asked with stay, and the miss is counted).
function askPassphrase(why, misses = 0) {
  if (why !== "miss" || !state.passphraseWhy) state.passphraseWhy = why === "miss" ? "first" : why;
  const asked = state.passphraseWhy;
  const [heading, label, help] = PASSPHRASE[asked];
  show("passphrase");
  $("passphrase-heading").textContent = heading;
  $("passphrase-label").textContent = label;
  $("passphrase-help").textContent = help;
  $("passphrase-error").textContent = why !== "miss" ? "" :
    (misses === 1 ? "That password does not open the room." : "That does not open the room either (" + misses + " tries).") +
    (asked === "password"
      ? " If the room's password was changed since it was made, type its first password; otherwise ask whoever runs the room for it, or for the room's new link."
      : " Check it with whoever runs the room; if the room was made again since your link, ask them for its new link.");
  $("passphrase-input").value = "";
  $("passphrase-input").focus();
}

function submitPassphrase(ev) {
  ev.preventDefault();
  state.password = $("passphrase-input").value;
  state.passwordFrom = "passphrase";
  $("passphrase-input").value = "";
  start();
}

// makeKey gives a room that has no key yet its key: made here, with the
// room's password as passphrase when the room is private. The link to
// share is shown; entering the room waits for the person.
async function makeKey(room, password) {
  if (room.private && !password) {
    askPassphrase("newkey");
    return false;
  }
  setLoading("Making the room's key…");
  const fragKey = c.newKey();
  const kdf = room.private ? c.newKdf() : null;
  const aesRaw = await c.deriveKey(fragKey, password, kdf);
  const key = await c.aesKey(aesRaw);
  const check = await c.makeKeyCheck(key, room.room_id);
  try {
    await api("PUT", "/api/room/key", { key_check: check, kdf });
  } catch (e) {
    // Another browser gave the room its key a moment ago: its link opens it.
    if (e.status === 409) { start(); return false; }
    $("loading").firstElementChild.textContent = "The room's key could not be set: " + e.message + " Reload the page to try again.";
    return false;
  }
  state.vault = new Vault(room.room_id, key, fragKey);
  wasIn(room.room_id);
  state.linkKey = { key: fragKey };
  keep(room.room_id, fragKey, aesRaw);
  await fetchRoom();
  showReady(room.private ? password : "");
  return false;
}

// showReady shows the link of a room whose key was just made, and (at
// creation) its password.
function showReady(password) {
  show("ready");
  $("ready-link").textContent = state.vault.link(location.origin);
  $("ready-password").hidden = !password;
  $("ready-text").textContent = state.room && state.room.kdf
    ? "Share this link with the people you invite, and the room's password apart from it: the two together read the room."
    : "Share this link with the people you invite: whoever has it reads the room.";
  $("ready-password-text").textContent = password;
  $("ready-error").textContent = "";
  $("copy-ready-link").focus();
}

function roomLink() {
  return state.vault ? state.vault.link(location.origin) : location.origin + "/";
}

// readable is a message as the page shows it (an encrypted room's opened).
function readable(msg) {
  return state.vault && msg ? state.vault.openMessage(msg) : Promise.resolve(msg);
}

function readableAll(list) {
  return state.vault ? Promise.all((list || []).map((m) => state.vault.openMessage(m))) : Promise.resolve(list);
}

// openEvent opens what an event of an encrypted room carries. An edit
// carries the new text; the sender and kind are the message's.
async function openEvent(ev) {
  const v = state.vault;
  if (!v) return ev;
  if (ev.message) {
    const known = state.model.messages.get(ev.message.id);
    const msg = ev.type === EV.edit && known ? { kind: known.kind, nick: known.nick, ...ev.message } : ev.message;
    return { ...ev, message: await v.openMessage(msg) };
  }
  if (ev.type === EV.react) return { ...ev, ...(await v.openReactions(ev.reactions)) };
  return ev;
}

// --- the room -------------------------------------------------------------------

function enterRoom() {
  show("room");
  state.quitting = false;
  state.model = Object.assign(new Model(), { nick: state.model.nick });
  state.model.setMembers(state.room.members || [], 0);
  $("messages").replaceChildren();
  $("outbox").replaceChildren();
  $("start-of-room").hidden = true;
  $("private-mark").hidden = !state.room.private;
  $("encrypted-mark").hidden = !state.vault;
  $("key-note").hidden = !(state.vault && state.keyNote);
  state.stuck = true;
  setNewBelow(0);
  renderMembers();
  if (state.room.destroy_at) startCountdown(state.room.destroy_at, "someone");
  else stopCountdown();
  const draft = storage.get("draft");
  if (draft && !$("text").value) $("text").value = draft;
  composerChanged(false);
  fitComposer();
  connect();
  $("text").focus();
}

function stopSocket() {
  if (state.socket) state.socket.stop();
  state.socket = null;
}

function connect() {
  stopSocket();
  state.token = state.lim.nickTokens ? makeToken() : "";
  const socket = new Socket({
    url: () => {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      let url = proto + "//" + location.host + "/ws?nick=" + encodeURIComponent(state.model.nick);
      if (state.token) url += "&token=" + encodeURIComponent(state.token);
      return url;
    },
    onOpen: opened,
    onClose: closed,
    // An encrypted room's events are opened first, one after another,
    // so they are drawn in the order they came.
    onEvent: (ev) => {
      if (!state.vault) { onEvent(ev); return; }
      state.events = state.events.then(() => openEvent(ev)).then(onEvent).catch((e) => console.error("event", ev.type, e));
    },
    // push.js (notifications when the page is closed) follows the socket.
    // An encrypted room's key goes with it, for a device that lets its
    // notifications show the text (push.js).
    onSocket: (ws) => window.dispatchEvent(new CustomEvent("chatbox:socket", { detail: {
      ws, nick: state.model.nick, token: state.token,
      vault: state.vault ? { room: state.vault.roomID, key: state.vault.key } : null,
    } })),
    beforeRetry: async () => {
      // The room may have been destroyed, made private or renamed
      // meanwhile: follow it rather than knock on a closed door.
      try {
        const room = await fetchRoom();
        if (!room.exists || !room.authorized || (state.vault && room.room_id !== state.vault.roomID)) { stopSocket(); start(); return false; }
        $("private-mark").hidden = !room.private;
      } catch { /* still down: try again */ }
      return true;
    },
  });
  state.socket = socket;
  setStatus("Connecting…");
  socket.start();
}

async function opened() {
  state.model.connected = true;
  $("room").classList.remove("offline");
  $("members-offline").hidden = true;
  setStatus("");
  if (state.wasConnected) banner("Back: connected again.", true);
  else $("banner").hidden = true;
  state.wasConnected = true;
  try {
    await catchUp();
  } catch (e) {
    showError($("hint"), "Could not load the conversation: " + e.message);
  }
  // Sends that failed because the link was down go again, with their ids.
  for (const p of [...state.model.pending.values()]) {
    if (p.state === "failed" && p.offline) retry(p.clientID);
  }
}

function closed(ev, retrying) {
  state.model.connected = false;
  if (ev.code === CLOSE_NICK_TAKEN) { nickTaken(state.nickError); return; }
  if (state.quitting || !retrying) return;
  if (ev.code === 1000 && ev.reason === "the room was destroyed") return;
  $("room").classList.add("offline");
  $("members-offline").hidden = false;
  setStatus("Offline");
  if (state.wasConnected) banner("Connection lost — reconnecting…", false);
}

function banner(text, fade) {
  const b = $("banner");
  clearTimeout(state.bannerTimer);
  b.textContent = text;
  b.className = "banner " + (fade ? "ok" : "down");
  b.hidden = false;
  if (fade) state.bannerTimer = setTimeout(() => { b.hidden = true; }, 4000);
}

function setStatus(text) { $("status").textContent = text; }

// catchUp loads what the page has not seen: the newest page on entering,
// and after a reconnect every page after the last message it has.
async function catchUp() {
  const m = state.model;
  if (m.lastID === 0) {
    const { data, headers } = await request("GET", "/api/messages?limit=" + HISTORY_PAGE);
    const reached = !headers.get("X-Next-Before");
    drawHistory(await readableAll(data), reached);
    if (/^#m\d+$/.test(location.hash)) {
      const target = $(location.hash.slice(1));
      if (target) { state.stuck = false; target.scrollIntoView({ block: "center" }); }
    }
    return;
  }
  for (let after = m.lastID; after;) {
    const { data, headers } = await request("GET", "/api/messages?after=" + after + "&limit=1000");
    for (const msg of await readableAll(data)) addMessage(msg, false);
    after = data.length ? Number(headers.get("X-Next-After")) || 0 : 0;
  }
}

// drawHistory draws the first page at once, in one fragment: O(n).
function drawHistory(page, reachedStart) {
  const m = state.model;
  const frag = document.createDocumentFragment();
  let prev = null;
  for (const msg of page) {
    const { change } = m.add(msg);
    if (change !== "append") continue;
    frag.append(render.message(msg, prev, ctx()));
    prev = msg;
  }
  $("messages").append(frag);
  if (reachedStart) m.reachedStart = true;
  $("start-of-room").hidden = !m.reachedStart;
  toBottom();
}

// loadOlder fetches the page before the first message shown and puts it
// above, keeping what is on screen exactly where it was.
async function loadOlder() {
  const m = state.model;
  if (state.loadingOlder || m.reachedStart || !m.firstID) return;
  state.loadingOlder = true;
  $("loading-older").hidden = false;
  try {
    const { data, headers } = await request("GET", "/api/messages?before=" + m.firstID + "&limit=" + HISTORY_PAGE);
    const firstBefore = m.messages.get(m.firstID);
    const fresh = m.addOlder(await readableAll(data), !headers.get("X-Next-Before"));
    const scroller = $("scroller");
    const list = $("messages");
    const oldHeight = scroller.scrollHeight;
    const oldTop = scroller.scrollTop;
    const frag = document.createDocumentFragment();
    let prev = null;
    for (const msg of fresh) {
      frag.append(render.message(msg, prev, ctx()));
      prev = msg;
    }
    list.prepend(frag);
    // The message that was first may now join a group or lose its day line.
    if (firstBefore) redraw(firstBefore.id);
    $("start-of-room").hidden = !m.reachedStart;
    $("loading-older").hidden = true;
    scroller.scrollTop = oldTop + (scroller.scrollHeight - oldHeight);
  } catch (e) {
    $("loading-older").hidden = true;
    showError($("hint"), "Could not load older messages: " + e.message);
  } finally {
    state.loadingOlder = false;
  }
}

// ctx is what drawing a message needs to know and to call.
function ctx() {
  const lim = state.lim;
  return {
    me: state.model.nick,
    features: { reply: lim.editWindow > 0 || lim.reactions.length > 0, react: lim.reactions.length > 0, edit: lim.editWindow > 0 },
    reactions: lim.reactions,
    lookup: (id) => state.model.messages.get(id),
    canChange: (msg) => Date.now() - new Date(msg.ts).getTime() < lim.editWindow * 1000,
    onNick: fillPing,
    onReply: startReply,
    onReact: react,
    onEdit: startEdit,
    onDelete: deleteMessage,
    onJump: jumpTo,
    copy,
    sealedThumb: (f) => state.vault ? state.vault.thumbURL(f) : Promise.reject(new Error("not encrypted")),
    onSealedFile: saveSealedFile,
  };
}

// addMessage keeps a stored message and draws it in its place.
function addMessage(msg, live) {
  const m = state.model;
  const { change, confirmed } = m.add(msg);
  if (confirmed) {
    const li = $("outbox").querySelector(`[data-client-id="${confirmed}"]`);
    if (li) li.remove();
  }
  if (change === "update") { redraw(msg.id); return; }
  // Whoever sent it has stopped typing it: the line goes at once, not
  // when its few seconds run out.
  if (m.spoke(msg.nick)) drawTyping();
  const li = render.message(msg, m.before(msg.id), ctx());
  if (change === "append") {
    $("messages").append(li);
  } else {
    const next = m.after(msg.id);
    const nextLi = next && $("m" + next.id);
    if (nextLi) nextLi.before(li); else $("messages").append(li);
    if (next) redraw(next.id);
  }
  if (!live) return;
  const mine = msg.nick === m.nick;
  if (!mine) {
    state.unread.arrived(msg.id);
    if (document.hidden) notify.chime();
    if (msg.kind === "ping" && msg.to === m.nick) notify.ping(msg);
    if (!state.stuck) setNewBelow(state.newBelow + 1);
  }
}

// redraw draws a known message again (an edit, a reaction, a neighbour).
function redraw(id) {
  const old = $("m" + id);
  const msg = state.model.messages.get(id);
  if (!old || !msg) return;
  const li = render.message(msg, state.model.before(id), ctx());
  if (old.classList.contains("first-unread")) li.classList.add("first-unread");
  const was = old.contains(document.activeElement) ? document.activeElement : null;
  old.replaceWith(li);
  if (was) refocus(li, msg, was);
}

// redrawWithReplies draws an edited or deleted message again, and the
// replies that quote it.
function redrawWithReplies(id) {
  redraw(id);
  for (const msg of state.model.messages.values()) if (msg.reply_to === id) redraw(msg.id);
}

// refocus puts the focus back where it was (was) in a message drawn again
// (li): on the same tool or reaction, else on the message, so a reaction
// made from the keyboard leaves the person where they were.
function refocus(li, msg, was) {
  render.tools(li, msg, ctx());
  // The message first: its tools are drawn only while it has the focus.
  li.tabIndex = -1;
  li.focus();
  const same = (sel, key) => [...li.querySelectorAll(sel)].find((b) => key(b) === key(was));
  let to = null;
  if (was.classList.contains("tool")) to = same(".tool", (b) => b.title);
  else if (was.classList.contains("reaction")) to = same(".reaction", (b) => b.querySelector(".emoji").textContent);
  if (to) to.focus();
}

function systemLine(text) {
  $("messages").append(render.systemLine(text));
}

// --- following the conversation ------------------------------------------------

function atBottom() {
  const s = $("scroller");
  return s.scrollHeight - s.scrollTop - s.clientHeight < BOTTOM_SLACK;
}

function toBottom() {
  const s = $("scroller");
  s.scrollTop = s.scrollHeight;
  state.stuck = true;
  setNewBelow(0);
}

function setNewBelow(n) {
  state.newBelow = n;
  const b = $("jump");
  b.hidden = n === 0;
  b.textContent = n === 1 ? "1 new message ↓" : n + " new messages ↓";
}

function wireScrolling() {
  const s = $("scroller");
  // Only a scroll up (a person reading back) lets go of the bottom: the
  // scroll event of the view's own follow can arrive after the content
  // grew again (a picture, then a message), and must not read as one.
  let last = s.scrollTop;
  s.addEventListener("scroll", () => {
    const up = s.scrollTop < last;
    last = s.scrollTop;
    if (up || !state.stuck) state.stuck = atBottom();
    if (state.stuck) setNewBelow(0);
    if (s.scrollTop < 400) loadOlder();
  }, { passive: true });
  // Whatever changes size — a picture loading, a long message, the phone's
  // keyboard shrinking the view — the view stays at the bottom if it was.
  const follow = () => { if (state.stuck) s.scrollTop = s.scrollHeight; };
  const ro = new ResizeObserver(follow);
  ro.observe(s);
  ro.observe($("messages"));
  ro.observe($("outbox"));
  if (window.visualViewport) window.visualViewport.addEventListener("resize", follow);
  $("jump").addEventListener("click", () => { toBottom(); $("text").focus(); });
}

// --- members ----------------------------------------------------------------------

function renderMembers() {
  const m = state.model;
  const names = [...m.members].sort((a, b) => a.localeCompare(b));
  const total = m.total;
  $("members-heading").textContent = "In the room (" + total + ")";
  $("members-count").textContent = String(total);
  const items = names.map((n) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "nick";
    b.textContent = n;
    b.title = "Ping " + n;
    b.addEventListener("click", () => { closeMembers(); fillPing(n); });
    li.append(b);
    if (n === m.nick) li.classList.add("me");
    return li;
  });
  if (total > names.length) {
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = "and " + (total - names.length) + " more";
    items.push(more);
  }
  $("members").replaceChildren(...items);
}

function openMembers() {
  $("members-panel").classList.add("open");
  $("members-button").setAttribute("aria-expanded", "true");
  $("members-close").focus();
}

function closeMembers(refocus) {
  if (!$("members-panel").classList.contains("open")) return;
  $("members-panel").classList.remove("open");
  $("members-button").setAttribute("aria-expanded", "false");
  if (refocus) $("members-button").focus();
}

// --- events from the room -----------------------------------------------------------

function onEvent(ev) {
  const m = state.model;
  switch (ev.type) {
    case EV.message:
      addMessage(ev.message, true);
      break;
    case EV.ack:
      if (ev.message) addMessage(ev.message, false);
      break;
    case EV.presence:
      m.setMembers(ev.members || [], ev.count);
      renderMembers();
      break;
    case EV.join:
      m.join(ev.nick, ev.count);
      renderMembers();
      if (ev.nick !== m.nick) systemLine(ev.nick + " joined");
      break;
    case EV.leave:
      m.leave(ev.nick, ev.count);
      renderMembers();
      drawTyping();
      systemLine(ev.nick + " left");
      break;
    case EV.nick: {
      const mine = ev.from === m.nick;
      m.rename(ev.from, ev.nick, ev.count);
      if (mine) { setNick(ev.nick); clearError($("hint")); }
      renderMembers();
      drawTyping();
      systemLine(ev.from + " is now " + ev.nick);
      break;
    }
    case EV.destroy:
      if (ev.cancelled) {
        stopCountdown();
        systemLine((ev.by || "Someone") + " cancelled the countdown: the room stays.");
        announce((ev.by || "Someone") + " cancelled the countdown.");
      } else if (ev.done) {
        stopCountdown();
        stopSocket();
        showLauncher({ destroyed_at: ev.at, destroyed_by: ev.by });
      } else {
        startCountdown(ev.at, ev.by);
      }
      break;
    case EV.typing:
      if (ev.nick && ev.nick !== m.nick) {
        m.typing(ev.nick, Date.now(), TYPING_SHOW_MS);
        drawTyping();
      }
      break;
    case EV.edit:
      if (ev.message && m.edit(ev.message)) redrawWithReplies(ev.message.id);
      break;
    case EV.delete:
      if (m.remove(ev.id)) redrawWithReplies(ev.id);
      break;
    case EV.react:
      if (m.react(ev.id, ev.reactions, ev.reactionEnvelopes)) redraw(ev.id);
      break;
    case EV.error:
      onError(ev);
      break;
  }
}

function onError(ev) {
  // On connecting, a close (4409) follows and the nickname form says it;
  // on a rename, the connection stays and the box says it.
  if (ev.code === CODE.nickTaken) state.nickError = ev;
  if (ev.client_id && state.model.pending.has(ev.client_id)) {
    sendFailed(state.model.pending.get(ev.client_id), new ApiError(ev.error, { code: ev.code, status: 400 }));
    return;
  }
  let text = ev.error;
  if (ev.suggest) text = sentence(text) + " Type /nick " + ev.suggest + " to take it.";
  showError($("hint"), text);
}

function drawTyping() {
  clearTimeout(state.typingTimer);
  const now = Date.now();
  const who = state.model.typers(now);
  $("typing").textContent = typingLine(who);
  if (who.length) {
    const next = Math.min(...who.map((n) => state.model.typingUntil.get(n))) - now;
    state.typingTimer = setTimeout(drawTyping, Math.max(50, next));
  }
}

// --- the destroy countdown -----------------------------------------------------------

function startCountdown(at, by) {
  stopCountdown();
  const end = new Date(at).getTime();
  const who = by === state.model.nick ? "You" : by;
  $("countdown").hidden = false;
  $("cancel-destroy").hidden = !state.lim.cancelDestroy;
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    $("countdown-text").textContent = who + " dropped the bomb: this room and everything in it will be destroyed in " + left + " s.";
  };
  tick();
  // Said once to a screen reader; the seconds are for the eyes.
  announce(who + " started a countdown: the room will be destroyed in " +
    Math.max(0, Math.ceil((end - Date.now()) / 1000)) + " seconds" +
    (state.lim.cancelDestroy ? ". Anyone can cancel it." : "."));
  state.countdown = setInterval(tick, 1000);
  // Someone else dropped the bomb first: the question is moot.
  if (state.askDestroy) answerDestroy(false);
}

function stopCountdown() {
  clearInterval(state.countdown);
  state.countdown = null;
  $("countdown").hidden = true;
}

function announce(text) {
  $("announce").textContent = text;
}

// askDestroy asks, in the page, whether to destroy the room; back is
// where focus returns when the question goes. The question is part of the
// page's state and is drawn from it: it goes by itself when the room
// moves on (a countdown starts, the room goes, the page leaves the room).
function askDestroy(back) {
  state.askDestroy = { back: back || $("text") };
  drawAskDestroy();
}

function drawAskDestroy() {
  const dlg = $("destroy-ask");
  const want = !!state.askDestroy && current() === "room" && !state.countdown;
  if (want && !dlg.open) {
    $("destroy-ask-text").textContent = "Everything said and shared here will be wiped for everyone" +
      (state.lim.cancelDestroy ? ", after a countdown that anyone in the room can cancel." : ", after a short countdown.");
    dlg.showModal();
    $("destroy-keep").focus();
  } else if (!want && dlg.open) {
    dlg.close();
  }
}

// answerDestroy settles the question: yes destroys the room.
function answerDestroy(yes) {
  const ask = state.askDestroy;
  state.askDestroy = null;
  drawAskDestroy();
  if (!ask) return;
  if (ask.back && ask.back.isConnected && ask.back.checkVisibility()) ask.back.focus();
  else if (current() === "room") $("text").focus();
  if (yes) destroyRoom();
}

async function destroyRoom() {
  try {
    await api("POST", "/api/destroy", withToken({ nick: state.model.nick }));
  } catch (e) {
    showError($("hint"), e.message);
  }
}

async function cancelDestroy() {
  try {
    await api("POST", "/api/destroy/cancel", withToken({ nick: state.model.nick }));
  } catch (e) {
    showError($("hint"), e.message);
  }
}

// --- sending ---------------------------------------------------------------------------

function withToken(body) {
  if (state.token) body.token = state.token;
  return body;
}

async function submit(ev) {
  if (ev) ev.preventDefault();
  const box = $("text");
  const line = box.value;
  if (state.editing) return finishEdit(line);
  const what = parse(line, state.lim);
  if (what.do === "nothing") return;
  clearError($("hint"));
  const clear = () => { box.value = ""; composerChanged(); };
  switch (what.do) {
    case "error": showError($("hint"), what.error); return;
    case "help": clear(); showNote(HELP.join(" · ")); return;
    case "quit": clear(); quit(); return;
    case "destroy": clear(); askDestroy($("text")); return;
    case "cancel": clear(); cancelDestroy(); return;
    case "nick":
      clear();
      if (!state.socket || !state.socket.send({ type: OUT.nick, nick: what.nick })) {
        showError($("hint"), "Not connected: try /nick again when the room is back.");
      }
      return;
  }
  // The words leave the box at once: what is typed next is never erased
  // by this send's answer, and a second Enter has nothing to send.
  const p = state.model.send(what.text);
  if (state.replyTo) { p.replyTo = state.replyTo; cancelReply(); }
  clear();
  $("outbox").append(render.pending(p, pendingCtx()));
  toBottom();
  deliver(p);
}

function pendingCtx() {
  return { me: state.model.nick, onRetry: retry, onDiscard: discard };
}

// sealedPost is what an encrypted room's box is sent for a line: a ping
// names its target in the clear, its words sealed; the rest is sealed
// whole.
async function sealedPost(text) {
  const ping = text.match(/^\/ping\s+(\S+)\s*([\s\S]*)$/);
  if (ping) return { text: await state.vault.seal("ping", state.model.nick, ping[2]), to: ping[1] };
  return { text: await state.vault.seal("text", state.model.nick, text) };
}

async function deliver(p) {
  const body = withToken({ nick: state.model.nick, text: p.text, client_id: p.clientID });
  if (p.replyTo) body.reply_to = p.replyTo;
  try {
    if (state.vault) Object.assign(body, await sealedPost(p.text));
    const msg = await readable(await api("POST", "/api/messages", body));
    addMessage(msg, false);
    if (msg && msg.kind === "ping") showNote("Pinged " + msg.to + ": they are in the room.");
  } catch (e) {
    sendFailed(p, e);
  }
}

// sendFailed says why a send failed, where it was. A send the link lost
// stays in the conversation with Retry; one the room refused comes back
// to the box (when empty) to be changed, with the reason beside it.
function sendFailed(p, e) {
  const li = $("outbox").querySelector(`[data-client-id="${p.clientID}"]`);
  if (e instanceof ApiError && !e.retryable) {
    state.model.drop(p.clientID);
    if (li) li.remove();
    const box = $("text");
    if (box.value === "") {
      box.value = p.text.startsWith("/") && !p.text.startsWith("/ping") ? "/" + p.text : p.text;
      composerChanged();
      showError($("hint"), sentence(e.message) + " Your message is back in the box.");
    } else {
      showError($("hint"), sentence(e.message) + " Not sent: " + render.excerpt({ text: p.text }));
    }
    return;
  }
  state.model.failed(p.clientID, sentence(e.message));
  p.offline = !(e instanceof ApiError) || e.status === 0;
  if (li) li.replaceWith(render.pending(p, pendingCtx()));
}

function retry(clientID) {
  const p = state.model.retrying(clientID);
  if (!p) return;
  const li = $("outbox").querySelector(`[data-client-id="${clientID}"]`);
  if (li) li.replaceWith(render.pending(p, pendingCtx()));
  deliver(p);
}

function discard(clientID) {
  state.model.drop(clientID);
  const li = $("outbox").querySelector(`[data-client-id="${clientID}"]`);
  if (li) li.remove();
  $("text").focus();
}

// --- replies, edits, deletes, reactions ----------------------------------------------------

function startReply(id) {
  const m = state.model.messages.get(id);
  if (!m) return;
  state.editing = 0;
  state.replyTo = id;
  $("reply-text").textContent = "Replying to " + m.nick + ": " + render.excerpt(m);
  $("reply-bar").hidden = false;
  $("text").focus();
}

function cancelReply() {
  state.replyTo = 0;
  if (state.editing) { state.editing = 0; $("text").value = ""; composerChanged(); }
  $("reply-bar").hidden = true;
}

function startEdit(id) {
  const m = state.model.messages.get(id);
  if (!m) return;
  state.replyTo = 0;
  state.editing = id;
  $("reply-text").textContent = "Editing your message (Escape to cancel)";
  $("reply-bar").hidden = false;
  $("text").value = m.text;
  composerChanged(false);
  $("text").focus();
}

async function finishEdit(text) {
  const id = state.editing;
  if (!text.trim()) return;
  try {
    const old = state.model.messages.get(id);
    const sealed = state.vault && old ? await state.vault.seal(old.kind === "ping" ? "ping" : "text", old.nick, text) : text;
    let m = await api("PATCH", "/api/messages/" + id, withToken({ nick: state.model.nick, text: sealed }));
    if (m && state.vault && old) m = await readable({ kind: old.kind, nick: old.nick, ...m });
    if (m && state.model.edit(m)) redrawWithReplies(id);
    state.editing = 0;
    $("reply-bar").hidden = true;
    $("text").value = "";
    composerChanged();
    clearError($("hint"));
  } catch (e) {
    showError($("hint"), e.message);
  }
}

async function deleteMessage(id) {
  try {
    await request("DELETE", "/api/messages/" + id, withToken({ nick: state.model.nick }));
    if (state.model.remove(id)) redrawWithReplies(id);
  } catch (e) {
    showError($("hint"), e.message);
  }
}

async function react(id, emoji, on) {
  try {
    let sent = emoji;
    if (state.vault) {
      // Taking one's reaction back sends the very envelope the box keeps.
      const msg = state.model.messages.get(id);
      sent = on ? await state.vault.seal("reaction", state.model.nick, emoji)
        : msg && msg.reactionEnvelopes && msg.reactionEnvelopes[emoji] && msg.reactionEnvelopes[emoji][state.model.nick];
      if (!sent) return;
    }
    const res = await api("POST", "/api/messages/" + id + "/reactions", withToken({ nick: state.model.nick, emoji: sent, on }));
    if (!res) return;
    const r = state.vault ? await state.vault.openReactions(res.reactions) : { reactions: res.reactions };
    if (state.model.react(id, r.reactions, r.reactionEnvelopes)) redraw(id);
  } catch (e) {
    showError($("hint"), e.message);
  }
}

// saveSealedFile decrypts a file of an encrypted room and hands it to the
// browser to save, under its own name.
async function saveSealedFile(f) {
  if (!state.vault) return;
  // A large file takes a while to come and be decrypted: the note says how
  // far it is, so it neither lingers unchanged nor goes away meanwhile.
  showNote("Decrypting " + f.name + "…");
  let shown = -1;
  try {
    const url = await state.vault.fileURL(f, (done, total) => {
      const pct = total ? Math.floor(done * 100 / total) : -1;
      if (pct !== shown && pct >= 0) { shown = pct; showNote("Decrypting " + f.name + "… " + pct + "%"); }
    });
    const a = document.createElement("a");
    a.href = url;
    a.download = f.name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    showNote(f.name + " decrypted.");
  } catch (e) {
    showError($("hint"), f.name + " could not be decrypted: " + (e instanceof c.DecryptError ? "it was changed or cut short on the box." : e.message));
  }
}

function jumpTo(id) {
  const li = $("m" + id);
  if (!li) { showNote("That message is further back: scroll up to load it."); return; }
  state.stuck = false;
  li.scrollIntoView({ block: "center" });
  li.classList.add("flash");
  setTimeout(() => li.classList.remove("flash"), 1500);
}

// --- the message box ---------------------------------------------------------------------

const touchQuery = matchMedia("(pointer: coarse)");
const narrowQuery = matchMedia("(max-width: 640px)");
function isTouch() { return touchQuery.matches; }

// fitComposer says what Return does on this device, and keeps the
// placeholder short enough to read on a phone.
function fitComposer() {
  const box = $("text");
  box.placeholder = narrowQuery.matches || isTouch() ? "Message" : "Message — /help for commands";
  box.setAttribute("enterkeyhint", isTouch() ? "enter" : "send");
}
touchQuery.addEventListener("change", fitComposer);
narrowQuery.addEventListener("change", fitComposer);

function composerChanged(save = true) {
  const box = $("text");
  box.style.height = "auto";
  box.style.height = box.scrollHeight + 2 + "px";
  const max = state.lim.maxMessageLength;
  const n = [...box.value].length;
  const counter = $("counter");
  if (max && n >= max * 0.8) {
    counter.hidden = false;
    counter.classList.toggle("over", n > max);
    counter.textContent = n > max ? (n - max) + " characters over the limit of " + max : (max - n) + " characters left";
  } else {
    counter.hidden = true;
  }
  if (save && !state.editing) {
    if (box.value) storage.set("draft", box.value); else storage.remove("draft");
  }
}

function onKey(ev) {
  const box = $("text");
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    // On a phone Return makes a new line; the Send button sends.
    if (isTouch()) return;
    ev.preventDefault();
    $("compose").requestSubmit();
    return;
  }
  if (ev.key === "Tab" && !ev.shiftKey && box.selectionStart === box.selectionEnd) {
    const done = complete(box.value, box.selectionStart, state.model.members);
    if (done) {
      ev.preventDefault();
      box.value = done.text;
      box.setSelectionRange(done.cursor, done.cursor);
      composerChanged();
    }
    return;
  }
  if (ev.key === "Escape" && (state.replyTo || state.editing)) {
    ev.preventDefault();
    cancelReply();
    return;
  }
  if (ev.key === "ArrowUp" && box.value === "" && state.lim.editWindow > 0) {
    const m = state.model;
    for (let i = m.ids.length - 1; i >= 0 && i >= m.ids.length - 50; i--) {
      const msg = m.messages.get(m.ids[i]);
      if (msg.nick === m.nick && msg.kind === "text" && ctx().canChange(msg)) {
        ev.preventDefault();
        startEdit(msg.id);
        return;
      }
    }
  }
}

function onInput() {
  composerChanged();
  clearError($("hint"));
  const v = $("text").value;
  const now = Date.now();
  if (state.lim.typing && v && !v.startsWith("/") && now - state.lastTypingSent > TYPING_SEND_MS && state.socket) {
    if (state.socket.send({ type: OUT.typing })) state.lastTypingSent = now;
  }
}

function fillPing(nick) {
  const box = $("text");
  box.value = "/ping " + nick + " ";
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  composerChanged();
}

// --- words for people ------------------------------------------------------------------

// showError puts a sentence beside what failed; it stays until resolved.
function showError(where, text) {
  where.textContent = text;
  where.classList.add("error");
  where.dataset.error = "1";
}

function clearError(where) {
  if (!where.dataset.error) return;
  where.textContent = "";
  delete where.dataset.error;
  if (where.id === "hint") where.classList.remove("error");
}

let noteTimer = null;
// showNote says something that went well, for a while.
function showNote(text) {
  const h = $("hint");
  delete h.dataset.error;
  h.classList.remove("error");
  h.textContent = text;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => { if (!h.dataset.error && h.textContent === text) h.textContent = ""; }, 8000);
}

// copiedTimers holds, by button, when its "Copied" gives way to its label.
const copiedTimers = new Map();

// copy puts text on the clipboard and says so: on the button pressed
// (a panel's, outside the room, where the room's note is not shown), or
// in the room's note.
async function copy(text, what, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    prompt("Copy " + what.toLowerCase() + ":", text);
    return;
  }
  if (!button) { showNote(what + " copied."); return; }
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = "Copied";
  clearTimeout(copiedTimers.get(button));
  copiedTimers.set(button, setTimeout(() => { button.textContent = button.dataset.label; }, 2500));
}

function quit() {
  state.quitting = true;
  if (state.socket) state.socket.send({ type: OUT.quit });
  stopSocket();
  $("gone-text").textContent = "You left the room. The others saw you go.";
  show("gone");
}

// --- menus and the picture viewer --------------------------------------------------------

function toggleMenu(open) {
  const menu = $("menu");
  const want = open ?? menu.hidden;
  if (!want && menu.hidden) return;
  menu.hidden = !want;
  $("menu-button").setAttribute("aria-expanded", String(want));
  if (want) menu.querySelector("button").focus();
}

function closeMenu(refocus) {
  if ($("menu").hidden) return;
  toggleMenu(false);
  if (refocus) $("menu-button").focus();
}

const viewer = { list: [], index: 0, opener: null };

function openViewer(link) {
  viewer.list = [...$("messages").querySelectorAll("a.picture")];
  viewer.index = Math.max(0, viewer.list.indexOf(link));
  viewer.opener = link;
  showPicture();
  $("viewer").showModal();
  $("viewer-close").focus();
}

function showPicture() {
  const a = viewer.list[viewer.index];
  if (!a) return;
  const img = $("viewer-img");
  img.alt = a.querySelector("img").alt || "picture";
  $("viewer-caption").textContent = (viewer.index + 1) + " of " + viewer.list.length + (img.alt !== "picture" ? " · " + img.alt : "");
  const sealed = a.dataset.sealed && state.model.messages.get(Number(a.dataset.sealed));
  if (sealed && sealed.file && state.vault) {
    // An encrypted picture is decrypted for the viewer; its thumbnail
    // shows meanwhile.
    const index = viewer.index;
    img.src = a.querySelector("img").src;
    $("viewer-open").removeAttribute("href");
    state.vault.fileURL(sealed.file).then((url) => {
      if (viewer.index !== index || !$("viewer").open) return;
      img.src = url;
      $("viewer-open").href = url;
    }, () => {
      if (viewer.index === index) $("viewer-caption").textContent += " · the picture could not be decrypted";
    });
  } else {
    img.src = a.href;
    $("viewer-open").href = a.href;
  }
  $("viewer-prev").disabled = viewer.index === 0;
  $("viewer-next").disabled = viewer.index === viewer.list.length - 1;
}

function stepViewer(d) {
  const i = viewer.index + d;
  if (i < 0 || i >= viewer.list.length) return;
  viewer.index = i;
  showPicture();
}

function wireViewer() {
  $("scroller").addEventListener("click", (ev) => {
    const a = ev.target.closest("a.picture");
    if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    openViewer(a);
  });
  const dlg = $("viewer");
  dlg.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowLeft") { ev.preventDefault(); stepViewer(-1); }
    if (ev.key === "ArrowRight") { ev.preventDefault(); stepViewer(1); }
  });
  dlg.addEventListener("close", () => {
    $("viewer-img").removeAttribute("src");
    const back = viewer.opener && viewer.opener.isConnected ? viewer.opener : $("text");
    back.focus();
  });
  dlg.addEventListener("click", (ev) => { if (ev.target === dlg) dlg.close(); });
  $("viewer-close").addEventListener("click", () => dlg.close());
  $("viewer-prev").addEventListener("click", () => stepViewer(-1));
  $("viewer-next").addEventListener("click", () => stepViewer(1));
}

// A message's own links and buttons join the Tab order only while the
// message has focus, so the message box is a few Tab presses away however
// long the conversation is. Arrow keys move between messages.
function wireMessageFocus() {
  const s = $("scroller");
  const inner = (li) => li.querySelectorAll("a, button, summary");
  const withTools = (li) => {
    const msg = li && li.dataset.id && state.model.messages.get(Number(li.dataset.id));
    if (msg) render.tools(li, msg, ctx());
  };
  s.addEventListener("pointerover", (ev) => withTools(ev.target.closest && ev.target.closest("li.msg")), { passive: true });
  s.addEventListener("focusin", (ev) => {
    const li = ev.target.closest("li.msg");
    withTools(li);
    if (li) for (const e of inner(li)) e.tabIndex = 0;
  });
  s.addEventListener("focusout", (ev) => {
    const li = ev.target.closest("li.msg");
    if (li && !li.contains(ev.relatedTarget)) for (const e of inner(li)) e.tabIndex = -1;
  });
  s.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const at = document.activeElement.closest ? document.activeElement.closest("li.msg") : null;
    let next;
    if (!at) next = ev.key === "ArrowUp" ? $("messages").lastElementChild : null;
    else next = ev.key === "ArrowUp" ? at.previousElementSibling : at.nextElementSibling;
    if (!next) return;
    ev.preventDefault();
    next.tabIndex = -1;
    next.focus();
  });
}

// --- wiring ----------------------------------------------------------------------------------

function wire() {
  $("create-public").addEventListener("click", () => createRoom(false));
  $("create-private").addEventListener("click", () => createRoom(true));
  $("copy-password").addEventListener("click", (ev) => copy($("created-password").textContent, "Password", ev.currentTarget));
  $("enter-room").addEventListener("click", start);
  $("login-form").addEventListener("submit", login);
  $("nick-form").addEventListener("submit", pickNick);
  $("compose").addEventListener("submit", submit);
  $("text").addEventListener("keydown", onKey);
  $("text").addEventListener("input", onInput);
  $("copy-link").addEventListener("click", () => { closeMenu(true); copy(roomLink(), "Room link"); });
  $("copy-ready-link").addEventListener("click", (ev) => copy($("ready-link").textContent, "Link", ev.currentTarget));
  $("copy-ready-password").addEventListener("click", (ev) => copy($("ready-password-text").textContent, "Password", ev.currentTarget));
  $("ready-enter").addEventListener("click", start);
  $("passphrase-form").addEventListener("submit", submitPassphrase);
  $("paste-form").addEventListener("submit", openPasted);
  // The person made the room again: this tab makes its key.
  $("remade-make").addEventListener("click", () => { wasIn(""); state.sawNoRoom = false; start(); });
  $("key-note-close").addEventListener("click", () => { state.keyNote = false; $("key-note").hidden = true; $("text").focus(); });
  // A link with a key opened in this tab: read it, then follow it.
  window.addEventListener("hashchange", () => { if (takeFragment()) { stopSocket(); start(); } });
  $("menu-button").addEventListener("click", () => toggleMenu());
  $("menu-nick").addEventListener("click", () => {
    closeMenu(false);
    fillLine("/nick ");
    showNote(state.lim.nickRule + " Type the new nickname and press Enter.");
  });
  $("menu-sound").addEventListener("click", () => {
    notify.setSound(!notify.soundOn());
    drawSound();
    // Turned on, it plays once: the person hears what it will sound like,
    // and the click lets the page play sound later.
    notify.chime();
  });
  $("menu-help").addEventListener("click", () => { closeMenu(false); showNote(HELP.join(" · ")); $("text").focus(); });
  $("menu-quit").addEventListener("click", () => { closeMenu(false); quit(); });
  $("menu-destroy").addEventListener("click", () => { closeMenu(false); askDestroy($("menu-button")); });
  $("destroy-keep").addEventListener("click", () => answerDestroy(false));
  $("destroy-go").addEventListener("click", () => answerDestroy(true));
  // Escape (the dialog's cancel) and any other close are a "no".
  $("destroy-ask").addEventListener("close", () => { if (state.askDestroy) answerDestroy(false); });
  // A click on a notification, in the page already open (push.js).
  window.addEventListener("chatbox:jump", (ev) => jumpTo(ev.detail.id));
  $("cancel-destroy").addEventListener("click", cancelDestroy);
  $("rejoin").addEventListener("click", start);
  $("attach").addEventListener("click", () => $("file-input").click());
  $("reply-cancel").addEventListener("click", () => { cancelReply(); $("text").focus(); });
  $("members-button").addEventListener("click", () => {
    if ($("members-panel").classList.contains("open")) closeMembers(true); else openMembers();
  });
  $("members-close").addEventListener("click", () => closeMembers(true));
  $("notify-button").addEventListener("click", async () => {
    const said = await notify.ask();
    drawNotify();
    showNote(said);
  });
  drawNotify();
  drawSound();
  const uploads = new Uploads({
    nick: () => state.model.nick,
    token: () => state.token,
    maxFileSize: () => state.lim.maxFileSize,
    seal: (nick, file, onProgress) => sealUpload(state.vault, nick, file, onProgress),
    encrypted: () => !!state.vault,
    onSent: () => { toBottom(); $("text").focus(); },
    onClose: () => $("text").focus(),
  });
  $("text").addEventListener("paste", (ev) => {
    const f = ev.clipboardData && ev.clipboardData.files[0];
    if (f) { ev.preventDefault(); uploads.preview(f); }
  });
  // Escape closes what opened, and focus goes back where it came from;
  // a click outside a menu closes it too.
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    if (!$("menu").hidden) { ev.preventDefault(); closeMenu(true); return; }
    if ($("members-panel").classList.contains("open")) { ev.preventDefault(); closeMembers(true); }
  });
  document.addEventListener("pointerdown", (ev) => {
    if (!$("menu").hidden && !$("menu").contains(ev.target) && !$("menu-button").contains(ev.target)) closeMenu(false);
    const panel = $("members-panel");
    if (panel.classList.contains("open") && !panel.contains(ev.target) && !$("members-button").contains(ev.target)) closeMembers(false);
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    const first = state.unread.count ? state.unread.firstID : 0;
    state.unread.seen();
    if (first) {
      for (const e of document.querySelectorAll(".first-unread")) e.classList.remove("first-unread");
      const li = $("m" + first);
      if (li) li.classList.add("first-unread");
    }
  });
  wireScrolling();
  wireViewer();
  wireMessageFocus();
  $("nick").value = state.model.nick;
}

function fillLine(text) {
  const box = $("text");
  box.value = text;
  box.focus();
  box.setSelectionRange(text.length, text.length);
  composerChanged();
}

function drawNotify() {
  const b = $("notify-button");
  if (!notify.notifySupported()) { b.hidden = true; return; }
  b.hidden = false;
  $("notify-label").textContent = notify.permissionLabel();
  b.classList.toggle("on", Notification.permission === "granted");
}

function drawSound() {
  const on = notify.soundOn();
  $("sound-label").textContent = on ? "Sound: on" : "Sound: off";
  $("menu-sound").setAttribute("aria-pressed", String(on));
}

takeFragment();
wire();
start();
