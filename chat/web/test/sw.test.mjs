// Unit tests for the service worker's decisions: run with node --test
// chat/web/test/. sw.js is a classic worker script, so it is run here as
// one, in a context of its own with the few globals it touches at load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import * as c from "../static/js/crypto.js";

const origin = "https://chat.example.com";

function loadWorker() {
  const listeners = {};
  const self = {
    location: new URL(origin + "/sw.js"),
    addEventListener: (type, fn) => { listeners[type] = fn; },
  };
  const ctx = vm.createContext({ self, URL, Response, Promise, console, crypto, TextEncoder, TextDecoder, atob });
  vm.runInContext(readFileSync(new URL("../sw.js", import.meta.url), "utf8"), ctx);
  return { ctx, listeners };
}

const { ctx, listeners } = loadWorker();
// plain copies what the worker's realm made into this one, for deepEqual.
const plain = (v) => JSON.parse(JSON.stringify(v));
const win = (path, focused = false, visibilityState = "hidden") => ({ url: origin + path, focused, visibilityState });

test("the worker handles pushes and clicks", () => {
  for (const type of ["install", "activate", "fetch", "push", "notificationclick"]) {
    assert.equal(typeof listeners[type], "function", type);
  }
});

test("a click with no page of the room open opens the room at the message", () => {
  const data = { url: "/#m42", id: 42 };
  assert.deepEqual(plain(ctx.clickPlan(data, origin, [])), { url: origin + "/#m42" });
  // A file or a feed of the box open in a window is not the room.
  assert.deepEqual(plain(ctx.clickPlan(data, origin, [win("/files/3/a.png", true, "visible"), win("/rss/all.xml")])), { url: origin + "/#m42" });
});

test("a click with the room open tells that page, the focused one first", () => {
  const data = { url: "/#m42", id: 42 };
  const hidden = win("/");
  const visible = win("/", false, "visible");
  const focused = win("/", true, "visible");
  const message = { type: "chatbox:open", id: 42, hash: "#m42" };
  assert.deepEqual(plain(ctx.clickPlan(data, origin, [hidden])), { open: hidden, message });
  assert.equal(ctx.clickPlan(data, origin, [hidden]).open, hidden);
  assert.equal(ctx.clickPlan(data, origin, [hidden, visible]).open, visible);
  assert.equal(ctx.clickPlan(data, origin, [hidden, visible, focused]).open, focused);
  // A page of the room at another message is still the room.
  assert.equal(ctx.clickPlan(data, origin, [win("/#m7")]).open.url, origin + "/#m7");
});

test("a click never leads off the box", () => {
  assert.equal(ctx.clickPlan({ url: "https://evil.example/#m1", id: 1 }, origin, [win("/")]), null);
  assert.equal(ctx.clickPlan({ url: "//evil.example/", id: 1 }, origin, []), null);
  // A notification without data opens the room.
  assert.deepEqual(plain(ctx.clickPlan(undefined, origin, [])), { url: origin + "/" });
});

test("a push shows nothing only while a page of the room is focused and visible", () => {
  assert.equal(ctx.roomInFront([]), false);
  assert.equal(ctx.roomInFront([win("/")]), false);
  assert.equal(ctx.roomInFront([win("/", false, "visible")]), false);
  assert.equal(ctx.roomInFront([win("/", true, "hidden")]), false);
  assert.equal(ctx.roomInFront([win("/healthz", true, "visible")]), false);
  assert.equal(ctx.roomInFront([win("/healthz", true, "visible"), win("/#m3", true, "visible")]), true);
});

// The worker opens an encrypted room's envelope with code of its own (it
// cannot import the page's modules in every browser): it must agree with
// js/crypto.js on the worked example of docs/ENCRYPTION.md and on what
// the page seals.
test("the worker opens what the page seals, and nothing altered", async () => {
  const ROOM = "q1w2e3r4t5y6u7i8o9p0aQ";
  const frag = c.fromFragment("#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  const key = await c.aesKey(await c.deriveKey(frag.key, "", null));
  const example = `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`;
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "text", nick: "alice", envelope: example }), "hello, bob");
  const ping = await c.seal(key, ROOM, "ping", "alice", "lunch? 🍜");
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "ping", nick: "alice", envelope: ping }), "lunch? 🍜");
  // Another sender, kind or room is other associated data; a changed
  // byte, a bad envelope, another key: none opens.
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "text", nick: "mallory", envelope: example }), null);
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "ping", nick: "alice", envelope: example }), null);
  assert.equal(await ctx.openSealed(key, { room: "x" + ROOM, kind: "text", nick: "alice", envelope: example }), null);
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "text", nick: "alice", envelope: example.replace("jn0", "jn1") }), null);
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "text", nick: "alice", envelope: "hello" }), null);
  assert.equal(await ctx.openSealed(key, { room: ROOM, kind: "text", nick: "alice", envelope: `{"v":2,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}` }), null);
  const other = await c.aesKey(new Uint8Array(32));
  assert.equal(await ctx.openSealed(other, { room: ROOM, kind: "text", nick: "alice", envelope: example }), null);
});

test("a notification of an opened message says who, and the start of the text", () => {
  assert.equal(ctx.sealedText("text", "alice", "hello, bob", false), "alice: hello, bob");
  assert.equal(ctx.sealedText("ping", "alice", "lunch?", true), "alice pinged you: lunch?");
  assert.equal(ctx.sealedText("ping", "alice", "lunch?", false), "alice: lunch?");
  assert.equal(ctx.sealedText("file", "alice", JSON.stringify({ name: "holiday.jpg", size: 3 }), false), "alice sent holiday.jpg");
  assert.equal(ctx.sealedText("file", "alice", "not json", false), "alice sent a file");
  const long = "🍜".repeat(130);
  assert.equal(ctx.sealedText("text", "bob", long, false), "bob: " + "🍜".repeat(120) + "…");
});
