// Unit tests for the page's model: run with node --test chat/web/test/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Model, sameGroup, typingLine, newClientID, GROUP_GAP_MS } from "../static/js/model.js";

const msg = (id, nick = "alice", extra = {}) => ({ id, nick, ts: new Date(Date.UTC(2026, 0, 1, 12, 0, id)).toISOString(), kind: "text", text: "m" + id, ...extra });

test("messages appended in id order stay in order, and a repeat is an update", () => {
  const m = new Model();
  assert.equal(m.add(msg(1)).change, "append");
  assert.equal(m.add(msg(3)).change, "append");
  assert.equal(m.add(msg(2)).change, "insert");
  assert.equal(m.add(msg(2, "alice", { text: "again" })).change, "update");
  assert.deepEqual(m.ids, [1, 2, 3]);
  assert.equal(m.messages.get(2).text, "again");
  assert.equal(m.before(2).id, 1);
  assert.equal(m.after(2).id, 3);
  assert.equal(m.before(1), null);
  assert.equal(m.after(3), null);
});

test("older pages go in front, without doubles, and mark the start", () => {
  const m = new Model();
  for (const id of [10, 11, 12]) m.add(msg(id));
  const fresh = m.addOlder([msg(7), msg(8), msg(9), msg(10)], false);
  assert.deepEqual(fresh.map((x) => x.id), [7, 8, 9]);
  assert.deepEqual(m.ids, [7, 8, 9, 10, 11, 12]);
  assert.equal(m.reachedStart, false);
  m.addOlder([msg(5)], true);
  assert.deepEqual(m.ids, [5, 7, 8, 9, 10, 11, 12]);
  assert.equal(m.reachedStart, true);
});

test("a stored message with this page's client id settles its pending send", () => {
  const m = new Model();
  m.nick = "alice";
  const p = m.send("hello", "c1");
  assert.equal(p.state, "sending");
  m.failed("c1", "The room could not be reached.");
  assert.equal(m.pending.get("c1").state, "failed");
  m.retrying("c1");
  assert.equal(m.pending.get("c1").state, "sending");
  // Someone else's message with the same client id settles nothing.
  assert.equal(m.add(msg(1, "bob", { client_id: "c1" })).confirmed, "");
  assert.equal(m.pending.size, 1);
  assert.equal(m.add(msg(2, "alice", { client_id: "c1" })).confirmed, "c1");
  assert.equal(m.pending.size, 0);
});

test("adding 20,000 messages in order appends each one, never searching or shifting", () => {
  // Linear time without timing it: an add in order must take the append
  // path (a push), not the insert path (a binary search and a splice).
  const m = new Model();
  const changes = new Map();
  for (let i = 1; i <= 20000; i++) {
    const { change } = m.add(msg(i));
    changes.set(change, (changes.get(change) || 0) + 1);
  }
  assert.equal(m.ids.length, 20000);
  assert.deepEqual([...changes], [["append", 20000]]);
});

test("grouping joins one person's messages close in time, never across people, days or kinds", () => {
  const a = msg(1);
  assert.equal(sameGroup(a, msg(2)), true);
  assert.equal(sameGroup(a, msg(2, "bob")), false);
  assert.equal(sameGroup(a, { ...msg(2), kind: "system" }), false);
  const late = { ...msg(2), ts: new Date(new Date(a.ts).getTime() + GROUP_GAP_MS + 1).toISOString() };
  assert.equal(sameGroup(a, late), false);
  const nextDay = { ...msg(2), ts: new Date(new Date(a.ts).getTime() + 24 * 3600 * 1000).toISOString() };
  assert.equal(sameGroup(a, nextDay), false);
  assert.equal(sameGroup(a, { ...msg(2), reply_to: 1 }), false);
  assert.equal(sameGroup(null, a), false);
});

test("members follow joins, leaves and renames, and the count wins over the list", () => {
  const m = new Model();
  m.nick = "alice";
  m.setMembers(["alice", "bob"], 2);
  m.join("carol", 3);
  m.rename("bob", "robert", 3);
  m.leave("carol", 2);
  assert.deepEqual([...m.members].sort(), ["alice", "robert"]);
  m.rename("alice", "alicia", 2);
  assert.equal(m.nick, "alicia");
  m.setMembers(["a"], 500);
  assert.equal(m.total, 500);
});

test("typing fades, and never shows the person typing", () => {
  const m = new Model();
  m.nick = "alice";
  m.typing("bob", 0, 5000);
  m.typing("alice", 0, 5000);
  m.typing("carol", 1000, 5000);
  assert.deepEqual(m.typers(4000), ["bob", "carol"]);
  assert.deepEqual(m.typers(5500), ["carol"]);
  assert.deepEqual(m.typers(7000), []);
  assert.equal(typingLine(["bob"]), "bob is typing…");
  assert.equal(typingLine(["bob", "carol"]), "bob and carol are typing…");
  assert.equal(typingLine(["a", "b", "c"]), "Several people are typing…");
});

test("a message from someone typing ends their typing at once", () => {
  const m = new Model();
  m.nick = "alice";
  m.typing("bob", 0, 5000);
  m.typing("carol", 0, 5000);
  assert.equal(m.spoke("bob"), true);
  assert.deepEqual(m.typers(1000), ["carol"]);
  assert.equal(m.spoke("bob"), false, "bob's second message changes nothing");
});

test("edits, deletes and reactions change the stored message", () => {
  const m = new Model();
  m.add(msg(1, "alice", { file: { url: "/files/x/y" } }));
  m.edit({ id: 1, text: "fixed", edited: "2026-01-01T12:01:00Z" });
  assert.equal(m.messages.get(1).text, "fixed");
  m.react(1, { "👍": ["bob"] });
  assert.deepEqual(m.messages.get(1).reactions, { "👍": ["bob"] });
  m.remove(1);
  const t = m.messages.get(1);
  assert.equal(t.kind, "deleted");
  assert.equal(t.text, "");
  assert.equal(t.file, undefined);
  assert.equal(m.edit({ id: 99, text: "x" }), null);
});

test("client ids are 32 hex digits and differ", () => {
  let n = 0;
  const rand = (b) => { for (let i = 0; i < b.length; i++) b[i] = (n++ * 37) & 255; };
  const a = newClientID(rand), b = newClientID(rand);
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, b);
});
