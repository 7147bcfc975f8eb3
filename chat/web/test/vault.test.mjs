// Unit tests for how the page opens an encrypted room's messages and
// reactions: run with node --test chat/web/test/.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as c from "../static/js/crypto.js";
import { Vault } from "../static/js/vault.js";

const ROOM = "q1w2e3r4t5y6u7i8o9p0aQ";

async function vault() {
  const raw = c.newKey();
  const check = await c.makeKeyCheck(await c.aesKey(raw), ROOM);
  const v = await Vault.unlock(ROOM, check, raw, raw);
  assert.ok(v, "the key opens its own key check");
  assert.equal(await Vault.unlock(ROOM, check, c.newKey(), raw), null, "another key does not");
  return v;
}

test("texts, pings and files open; a changed one is marked and shows nothing", async () => {
  const v = await vault();
  const text = { id: 1, kind: "text", nick: "alice", text: await v.seal("text", "alice", "hello, bob") };
  const ping = { id: 2, kind: "ping", nick: "alice", to: "bob", text: await v.seal("ping", "alice", "lunch?") };
  const desc = { name: "a.pdf", type: "application/pdf", size: 3, prefix: "AAECAwQFBgc", chunk: 65536 };
  const file = { id: 3, kind: "file", nick: "bob", text: await v.seal("file", "bob", JSON.stringify(desc)), file: { name: "encrypted", url: "/files/x/encrypted", size: 19 } };
  assert.equal((await v.openMessage(text)).text, "hello, bob");
  const p = await v.openMessage(ping);
  assert.equal(p.text, "lunch?");
  assert.equal(p.to, "bob");
  const f = await v.openMessage(file);
  assert.equal(f.file.name, "a.pdf");
  assert.equal(f.file.size, 3);
  assert.equal(f.file.url, "/files/x/encrypted");
  assert.equal(f.file.enc.nick, "bob");

  // The box swaps the sender, or the kind, or the bytes.
  for (const bad of [{ ...text, nick: "mallory" }, { ...text, kind: "ping" }, { ...file, nick: "alice" }, { ...text, text: "plain words" }]) {
    const o = await v.openMessage(bad);
    assert.equal(o.undecryptable, true, JSON.stringify(bad).slice(0, 60));
    assert.equal(o.text, "");
  }
  // What is not sealed stays as it is.
  const gone = { id: 4, kind: "deleted", nick: "alice", text: "" };
  assert.deepEqual(await v.openMessage(gone), gone);
});

test("reactions open by emoji, keep each person's envelope, and drop what does not open", async () => {
  const v = await vault();
  const a = await v.seal("reaction", "alice", "👍");
  const b = await v.seal("reaction", "bob", "👍");
  const h = await v.seal("reaction", "bob", "🎉");
  const forged = await v.seal("reaction", "carol", "👍");
  const r = await v.openReactions({ [a]: ["alice"], [b]: ["bob"], [h]: ["bob"], [forged]: ["dave"] });
  assert.deepEqual(r.reactions, { "👍": ["alice", "bob"], "🎉": ["bob"] });
  assert.equal(r.reactionEnvelopes["👍"].bob, b);
  assert.equal(r.reactionEnvelopes["👍"].alice, a);
  assert.equal(r.reactionEnvelopes["🎉"].bob, h);
  // In a message, with its text.
  const m = await v.openMessage({ id: 1, kind: "text", nick: "alice", text: await v.seal("text", "alice", "hi"), reactions: { [a]: ["alice"] } });
  assert.deepEqual(m.reactions, { "👍": ["alice"] });
});
