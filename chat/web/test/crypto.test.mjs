// Unit tests for encrypted rooms' format: run with node --test chat/web/test/.
// The worked example of docs/ENCRYPTION.md is checked byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as c from "../static/js/crypto.js";

const range = (from, n) => Uint8Array.from({ length: n }, (_, i) => from + i);
const ROOM = "q1w2e3r4t5y6u7i8o9p0aQ";

test("the worked example: the key, the text envelope and the key check", async () => {
  const frag = c.fromFragment("#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  assert.deepEqual(frag.key, range(0, 32));
  const key = await c.aesKey(await c.deriveKey(frag.key, "", null));

  assert.equal(new TextDecoder().decode(c.ad(ROOM, "text", "alice")), "chatbox/v1\nq1w2e3r4t5y6u7i8o9p0aQ\ntext\nalice");
  const env = await c.seal(key, ROOM, "text", "alice", "hello, bob", range(0xa0, 12));
  assert.equal(env, `{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`);
  assert.equal(await c.open(key, ROOM, "text", "alice", env), "hello, bob");

  const check = await c.makeKeyCheck(key, ROOM, range(0xb0, 12));
  assert.equal(check, `{"v":1,"iv":"sLGys7S1tre4ubq7","ct":"-j07346iw38sne6CrjXtoe9aefTGUIL1PbSkbZuMu47c"}`);
  assert.equal(await c.keyOpens(key, ROOM, check), true);
});

test("the worked example: the passphrase's key", async () => {
  const kdf = { name: "PBKDF2-SHA-256", iterations: 600000, salt: "wMHCw8TFxsfIycrLzM3Ozw" };
  assert.deepEqual(c.unb64u(kdf.salt), range(0xc0, 16));
  const raw = await c.deriveKey(range(0, 32), "abcde-fghjk", kdf);
  assert.equal(c.b64u(raw), "0RBavXaULnphTsM-olfE3PyGGhy1zAVkLFQQxddi50c");
  // Another passphrase is another key, and the key check says so.
  const other = await c.deriveKey(range(0, 32), "abcde-fghjj", kdf);
  const check = await c.makeKeyCheck(await c.aesKey(raw), ROOM);
  assert.equal(await c.keyOpens(await c.aesKey(other), ROOM, check), false);
});

test("a new kdf has a fresh 16-byte salt and 600,000 iterations", () => {
  const a = c.newKdf(), b = c.newKdf();
  assert.equal(a.name, "PBKDF2-SHA-256");
  assert.equal(a.iterations, 600000);
  assert.equal(c.unb64u(a.salt).length, 16);
  assert.notEqual(a.salt, b.salt);
});

test("the fragment: a key, no key, or not a key", () => {
  const key = c.newKey();
  assert.equal(key.length, 32);
  const f = c.fragment(key);
  assert.match(f, /^#k=[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(c.fromFragment(f).key, key);
  assert.deepEqual(c.fromFragment(f + "&m=4").key, key);
  assert.deepEqual(c.fromFragment(""), { missing: true });
  assert.deepEqual(c.fromFragment("#m42"), { missing: true });
  assert.deepEqual(c.fromFragment("#k="), { missing: true });
  assert.deepEqual(c.fromFragment("#k=AAEC"), { bad: true });
  assert.deepEqual(c.fromFragment("#k=" + "*".repeat(43)), { bad: true });
});

test("a fresh iv for every envelope, and the envelope's shape", async () => {
  const key = await c.aesKey(c.newKey());
  const a = await c.seal(key, ROOM, "text", "bob", "same");
  const b = await c.seal(key, ROOM, "text", "bob", "same");
  assert.notEqual(JSON.parse(a).iv, JSON.parse(b).iv);
  assert.deepEqual(Object.keys(JSON.parse(a)), ["v", "iv", "ct"]);
  assert.equal(JSON.parse(a).iv.length, 16);
  assert.ok(c.isEnvelope(a));
  assert.ok(!c.isEnvelope("hello"));
  assert.ok(!c.isEnvelope(`{"v":2,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`));
  assert.ok(!c.isEnvelope(`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4","x":1}`));
  assert.ok(!c.isEnvelope(`{"v":1,"iv":"oKGio6Slpqeo","ct":"jn0QQSrnIt0NB0n_Ti6oEF7FkQQ81-hTtM4"}`));
  assert.ok(!c.isEnvelope(`{"v":1,"iv":"oKGio6Slpqeoqaqr","ct":"jn0Q"}`));
});

test("a changed ct, sender, kind or room does not open", async () => {
  const key = await c.aesKey(range(0, 32));
  const env = await c.seal(key, ROOM, "text", "alice", "hello, bob", range(0xa0, 12));
  const o = JSON.parse(env);
  const ct = c.unb64u(o.ct);
  ct[0] ^= 1;
  const tampered = JSON.stringify({ v: 1, iv: o.iv, ct: c.b64u(ct) });
  await assert.rejects(c.open(key, ROOM, "text", "alice", tampered), c.DecryptError);
  await assert.rejects(c.open(key, ROOM, "text", "mallory", env), c.DecryptError);
  await assert.rejects(c.open(key, ROOM, "ping", "alice", env), c.DecryptError);
  await assert.rejects(c.open(key, "AAAAAAAAAAAAAAAAAAAAAA", "text", "alice", env), c.DecryptError);
  await assert.rejects(c.open(await c.aesKey(c.newKey()), ROOM, "text", "alice", env), c.DecryptError);
  await assert.rejects(c.open(key, ROOM, "text", "alice", "hello, bob"), c.DecryptError);
  assert.equal(await c.keyOpens(await c.aesKey(c.newKey()), ROOM, await c.makeKeyCheck(key, ROOM)), false);
});

test("OpenPGP armor goes through an envelope unchanged", async () => {
  const key = await c.aesKey(c.newKey());
  const armor = "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1234\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n";
  assert.equal(await c.open(key, ROOM, "text", "bob", await c.seal(key, ROOM, "text", "bob", armor)), armor);
});

// Splits stored bytes into a stream of uneven pieces, as a network would.
function streamOf(bytes, piece = 7777) {
  let at = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.length) { ctl.close(); return; }
      ctl.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

async function bytesOf(blob) { return new Uint8Array(await blob.arrayBuffer()); }

test("files: chunks round-trip at every size near a chunk's edge", async () => {
  const key = await c.aesKey(c.newKey());
  for (const size of [0, 1, 1000, c.CHUNK - 1, c.CHUNK, c.CHUNK + 1, 3 * c.CHUNK, 3 * c.CHUNK + 5]) {
    const plain = new Uint8Array(size);
    for (let i = 0; i < size; i++) plain[i] = (i * 31 + 7) & 0xff;
    const { blob, prefix } = await c.encryptFile(key, ROOM, "alice", new Blob([plain]));
    const chunks = Math.max(1, Math.ceil(size / c.CHUNK));
    assert.equal(blob.size, size + chunks * c.TAG, "stored size of " + size);
    assert.equal(c.unb64u(prefix).length, 8);
    const stored = await bytesOf(blob);
    const back = await c.decryptFile(key, ROOM, "alice", streamOf(stored), { prefix, type: "image/png", size });
    assert.equal(back.type, "image/png");
    assert.deepEqual(await bytesOf(back), plain, "round trip of " + size);
    // From a Blob too, and from a stream of pieces larger than a chunk.
    assert.deepEqual(await bytesOf(await c.decryptFile(key, ROOM, "alice", blob, { prefix })), plain);
    assert.deepEqual(await bytesOf(await c.decryptFile(key, ROOM, "alice", streamOf(stored, 2 * c.CHUNK + 99), { prefix })), plain);
  }
});

test("files: a file larger than one read is encrypted chunk by chunk across reads", async () => {
  const key = await c.aesKey(c.newKey());
  const size = (1 << 20) + 3 * c.CHUNK + 17;
  const plain = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 16)) & 0xff);
  const { blob, prefix } = await c.encryptFile(key, ROOM, "alice", new Blob([plain]));
  assert.equal(blob.size, size + Math.ceil(size / c.CHUNK) * c.TAG);
  const told = [];
  const back = await c.decryptFile(key, ROOM, "alice", streamOf(await bytesOf(blob), 100000), { prefix, size, onProgress: (done, total) => told.push([done, total]) });
  assert.deepEqual(await bytesOf(back), plain);
  // Progress is told after each chunk, up to the whole size.
  assert.equal(told.length, Math.ceil(size / c.CHUNK));
  assert.deepEqual(told[told.length - 1], [size, size]);
  assert.deepEqual(told[0], [c.CHUNK, size]);
});

test("files: the chunk layout is the document's (iv = prefix || counter, the last flagged)", async () => {
  const raw = range(0, 32);
  const key = await c.aesKey(raw);
  const prefix = range(0x10, 8);
  const plain = new Uint8Array(c.CHUNK + 3).fill(0x61);
  const { blob } = await c.encryptFile(key, ROOM, "alice", new Blob([plain]), { prefix });
  const stored = await bytesOf(blob);
  // Chunk 1 by hand: iv prefix||00000001, associated data ending "1\n1".
  const iv = new Uint8Array(12);
  iv.set(prefix);
  iv[11] = 1;
  const data = new TextEncoder().encode("chatbox/v1\n" + ROOM + "\nfile-chunk\nalice\n1\n1");
  const last = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: data }, key, stored.slice(c.CHUNK + c.TAG)));
  assert.deepEqual(last, plain.slice(c.CHUNK));
});

test("files: a cut, reordered, grown or moved file fails", async () => {
  const key = await c.aesKey(c.newKey());
  const plain = new Uint8Array(3 * c.CHUNK + 100).map((_, i) => i & 0xff);
  const { blob, prefix } = await c.encryptFile(key, ROOM, "alice", new Blob([plain]));
  const stored = await bytesOf(blob);
  const whole = c.CHUNK + c.TAG;
  const fails = (bytes, nick = "alice", extra = {}) =>
    assert.rejects(c.decryptFile(key, ROOM, nick, streamOf(bytes), { prefix, ...extra }), c.DecryptError);

  await fails(stored.slice(0, 2 * whole)); // the tail cut at a chunk's edge
  await fails(stored.slice(0, stored.length - 1)); // a byte short
  await fails(stored.slice(0, 5)); // shorter than a tag
  const swapped = new Uint8Array(stored);
  swapped.set(stored.slice(whole, 2 * whole), 0);
  swapped.set(stored.slice(0, whole), whole);
  await fails(swapped); // two chunks swapped
  const grown = new Uint8Array(stored.length + whole);
  grown.set(stored);
  grown.set(stored.slice(0, whole), stored.length);
  await fails(grown); // a chunk repeated at the end
  const flipped = new Uint8Array(stored);
  flipped[whole + 5] ^= 0x80;
  await fails(flipped); // one bit changed
  await fails(stored, "mallory"); // another sender
  await fails(stored, "alice", { size: plain.length + 1 }); // not the size described
});

test("thumbnails are sealed with their own iv and kind", async () => {
  const key = await c.aesKey(c.newKey());
  const pixels = range(1, 200);
  const { bytes, iv } = await c.encryptThumb(key, ROOM, "bob", pixels);
  assert.equal(bytes.length, pixels.length + c.TAG);
  assert.deepEqual(await c.decryptThumb(key, ROOM, "bob", bytes, iv), pixels);
  await assert.rejects(c.decryptThumb(key, ROOM, "alice", bytes, iv), c.DecryptError);
});

test("a file's description is read strictly", () => {
  const d = c.readDescription(JSON.stringify({ name: "a.pdf", type: "application/pdf", size: 3, prefix: "AAECAwQFBgc", chunk: 65536 }));
  assert.equal(d.name, "a.pdf");
  assert.equal(d.thumb, null);
  assert.throws(() => c.readDescription("{}"), c.DecryptError);
  assert.throws(() => c.readDescription("not json"), c.DecryptError);
});
