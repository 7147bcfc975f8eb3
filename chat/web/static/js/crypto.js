// Encrypted rooms, as docs/ENCRYPTION.md describes them: the key from the
// link's fragment, the envelopes of messages and reactions, the key check,
// and files in chunks. Web Crypto only; no DOM, so node --test runs it.

const subtle = () => globalThis.crypto.subtle;
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** The format's version, and the first line of every associated data. */
export const VERSION = 1;
const AD_HEAD = "chatbox/v1";
/** The key check's plaintext. */
export const KEY_CHECK_TEXT = "chatbox key check";
/** A file's chunk of plaintext, and the tag each chunk's ciphertext carries. */
export const CHUNK = 65536;
export const TAG = 16;
/** PBKDF2 for a room with a passphrase. */
export const KDF_NAME = "PBKDF2-SHA-256";
export const KDF_ITERATIONS = 600000;
/** A thumbnail's widest side, and the most bytes the box takes for one. */
export const THUMB_WIDTH = 300;
export const THUMB_MAX_BYTES = 256 * 1024;

/** DecryptError is a value that does not open with this key: the wrong
 * key, or bytes changed on the way. */
export class DecryptError extends Error {}

// --- base64url ------------------------------------------------------------------

/** b64u writes bytes as base64url without padding. */
export function b64u(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** unb64u reads base64url (padding allowed); null when it is not that. */
export function unb64u(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*=*$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) return null;
  const s = atob(text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function random(n) {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

// --- the key --------------------------------------------------------------------

/** newKey makes a room key: 32 random bytes. */
export function newKey() { return random(32); }

/**
 * fromFragment reads the key in a link's fragment ("#k=…", other
 * parameters allowed). It answers {key} with 32 bytes, {missing: true}
 * when the link has no key, or {bad: true} when k= is not a key.
 */
export function fromFragment(hash) {
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  const k = params.get("k");
  if (k === null || k === "") return { missing: true };
  const key = unb64u(k);
  if (!key || key.length !== 32) return { bad: true };
  return { key };
}

/** fragment is the "#k=…" of a key. */
export function fragment(key) { return "#k=" + b64u(key); }

/** newKdf is the kdf object of a new room with a passphrase: a fresh
 * 16-byte salt and 600,000 iterations. */
export function newKdf() {
  return { name: KDF_NAME, iterations: KDF_ITERATIONS, salt: b64u(random(16)) };
}

/**
 * deriveKey is the AES key's 32 bytes: the fragment key itself without a
 * kdf, else PBKDF2-HMAC-SHA-256 over fragment key || UTF-8(passphrase).
 */
export async function deriveKey(fragmentKey, passphrase, kdf) {
  if (!kdf) return new Uint8Array(fragmentKey);
  if (kdf.name !== KDF_NAME) throw new Error("unknown key derivation " + kdf.name);
  const salt = unb64u(kdf.salt);
  if (!salt || !(kdf.iterations > 0)) throw new Error("the room's key derivation is malformed");
  const pass = enc.encode(passphrase || "");
  const pw = new Uint8Array(fragmentKey.length + pass.length);
  pw.set(fragmentKey, 0);
  pw.set(pass, fragmentKey.length);
  const base = await subtle().importKey("raw", pw, "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle().deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: kdf.iterations }, base, 256);
  return new Uint8Array(bits);
}

/** aesKey makes the CryptoKey that seals and opens, from the AES key's
 * bytes. It cannot be read back out of the page. */
export function aesKey(raw) {
  return subtle().importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

// --- envelopes ------------------------------------------------------------------

/** ad is the associated data: lines joined by "\n", with no final newline. */
export function ad(roomID, kind, nick, ...more) {
  return enc.encode([AD_HEAD, roomID, kind, nick, ...more].join("\n"));
}

async function gcmSeal(key, iv, data, plain) {
  return new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, additionalData: data, tagLength: 128 }, key, plain));
}

async function gcmOpen(key, iv, data, ct) {
  try {
    return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv, additionalData: data, tagLength: 128 }, key, ct));
  } catch {
    throw new DecryptError("could not be decrypted");
  }
}

/** parseEnvelope reads an envelope string: {iv, ct} as bytes, or null when
 * it is not one (exactly v, iv and ct; v 1; a 12-byte iv; ct of 16 bytes
 * or more). */
export function parseEnvelope(text) {
  if (typeof text !== "string" || !text.startsWith("{")) return null;
  let o;
  try { o = JSON.parse(text); } catch { return null; }
  if (!o || typeof o !== "object" || Array.isArray(o)) return null;
  const keys = Object.keys(o).sort().join(",");
  if (keys !== "ct,iv,v" || o.v !== VERSION) return null;
  const iv = unb64u(o.iv);
  const ct = unb64u(o.ct);
  if (!iv || iv.length !== 12 || !ct || ct.length < TAG) return null;
  return { iv, ct };
}

/** isEnvelope says whether text is an envelope. */
export function isEnvelope(text) { return parseEnvelope(text) !== null; }

/**
 * seal encrypts plain (a string, as UTF-8, or bytes) for the room, as kind
 * from nick, and returns the envelope string. iv is for tests; otherwise
 * fresh.
 */
export async function seal(key, roomID, kind, nick, plain, iv = random(12)) {
  const bytes = typeof plain === "string" ? enc.encode(plain) : plain;
  const ct = await gcmSeal(key, iv, ad(roomID, kind, nick), bytes);
  return JSON.stringify({ v: VERSION, iv: b64u(iv), ct: b64u(ct) });
}

/** openBytes opens an envelope string; DecryptError when it does not. */
export async function openBytes(key, roomID, kind, nick, envelope) {
  const e = parseEnvelope(envelope);
  if (!e) throw new DecryptError("not an encrypted envelope");
  return gcmOpen(key, e.iv, ad(roomID, kind, nick), e.ct);
}

/** open opens an envelope string to its text. */
export async function open(key, roomID, kind, nick, envelope) {
  const b = await openBytes(key, roomID, kind, nick, envelope);
  try { return dec.decode(b); } catch { throw new DecryptError("not UTF-8"); }
}

/** makeKeyCheck is the room's key check: an envelope of kind keycheck,
 * with no nickname, of "chatbox key check". */
export function makeKeyCheck(key, roomID, iv) {
  return seal(key, roomID, "keycheck", "", KEY_CHECK_TEXT, iv);
}

/** keyOpens says whether key opens the room's key check. */
export async function keyOpens(key, roomID, keyCheck) {
  try {
    return (await open(key, roomID, "keycheck", "", keyCheck)) === KEY_CHECK_TEXT;
  } catch (e) {
    if (e instanceof DecryptError) return false;
    throw e;
  }
}

// --- files ------------------------------------------------------------------------

function chunkIV(prefix, i) {
  const iv = new Uint8Array(12);
  iv.set(prefix, 0);
  new DataView(iv.buffer).setUint32(8, i, false);
  return iv;
}

function chunkAD(roomID, nick, i, last) {
  return ad(roomID, "file-chunk", nick, String(i), last ? "1" : "0");
}

// BlobBuilder gathers parts into a Blob as it goes, so the parts' memory
// can go once they are in (a browser keeps big Blobs on disk).
class BlobBuilder {
  constructor(type) { this.type = type; this.blob = new Blob([], { type }); this.parts = []; this.bytes = 0; }
  push(part) {
    this.parts.push(part);
    this.bytes += part.byteLength;
    if (this.bytes >= 4 << 20) this.flush();
  }
  flush() {
    if (!this.parts.length) return;
    this.blob = new Blob([this.blob, ...this.parts], { type: this.type });
    this.parts = [];
    this.bytes = 0;
  }
  done() { this.flush(); return this.blob; }
}

/** How much of a file encryptFile reads at once (whole chunks): a read of
 * a File is a round trip to the browser, so not one per chunk. */
const READ_BYTES = 1 << 20;

/**
 * encryptFile encrypts a Blob (or File) for the room, as nick, in chunks,
 * reading about a megabyte at a time: it returns {blob, prefix} with the
 * prefix in base64url. onProgress(done, total) is told after each chunk.
 */
export async function encryptFile(key, roomID, nick, file, { chunk = CHUNK, prefix = random(8), onProgress } = {}) {
  const size = file.size;
  const count = Math.max(1, Math.ceil(size / chunk));
  const perRead = Math.max(1, Math.floor(READ_BYTES / chunk));
  const out = new BlobBuilder("application/octet-stream");
  for (let first = 0; first < count; first += perRead) {
    const from = first * chunk;
    const read = new Uint8Array(await file.slice(from, Math.min(size, from + perRead * chunk)).arrayBuffer());
    for (let i = first; i < Math.min(count, first + perRead); i++) {
      const at = (i - first) * chunk;
      const plain = read.subarray(at, Math.min(read.length, at + chunk));
      out.push(await gcmSeal(key, chunkIV(prefix, i), chunkAD(roomID, nick, i, i === count - 1), plain));
      if (onProgress) onProgress(Math.min(size, (i + 1) * chunk), size);
    }
  }
  return { blob: out.done(), prefix: b64u(prefix) };
}

/**
 * decryptFile decrypts a stored file: source is a ReadableStream of its
 * bytes (a fetch's body) or a Blob. It returns a Blob of type, or throws
 * DecryptError when a chunk is changed, missing, moved or added, or when
 * size (if given) is not the plaintext's size. onProgress(done, size) is
 * told after each chunk.
 */
export async function decryptFile(key, roomID, nick, source, { prefix, chunk = CHUNK, type = "", size, onProgress } = {}) {
  const pre = typeof prefix === "string" ? unb64u(prefix) : prefix;
  if (!pre || pre.length !== 8) throw new DecryptError("the file's description has no prefix");
  if (!(chunk > 0) || chunk > 16 << 20) throw new DecryptError("the file's description has a bad chunk size");
  const stream = typeof source.getReader === "function" ? source : source.stream();
  const reader = stream.getReader();
  const whole = chunk + TAG;
  const out = new BlobBuilder(type);
  // One chunk's ciphertext is gathered here from the pieces the stream
  // gives, whatever their size: no piece is copied but into it.
  const stage = new Uint8Array(whole);
  let fill = 0;
  let i = 0;
  let total = 0;
  const take = async (bytes, last) => {
    if (i > 0xffffffff) throw new DecryptError("the file has too many chunks");
    const plain = await gcmOpen(key, chunkIV(pre, i), chunkAD(roomID, nick, i, last), bytes);
    total += plain.length;
    out.push(plain);
    i++;
    if (onProgress) onProgress(total, size);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (let at = 0; at < value.length;) {
      // A whole chunk is known not to be the last once more bytes follow it.
      if (fill === whole) { await take(stage, false); fill = 0; }
      const n = Math.min(whole - fill, value.length - at);
      stage.set(value.subarray(at, at + n), fill);
      fill += n;
      at += n;
    }
  }
  if (fill < TAG) throw new DecryptError("the file is cut short");
  await take(stage.subarray(0, fill), true);
  if (size !== undefined && total !== size) throw new DecryptError("the file is not the size it says");
  return out.done();
}

/** encryptThumb encrypts a thumbnail's bytes: {bytes, iv} (iv base64url). */
export async function encryptThumb(key, roomID, nick, plain, iv = random(12)) {
  const bytes = await gcmSeal(key, iv, ad(roomID, "thumb", nick), new Uint8Array(plain));
  return { bytes, iv: b64u(iv) };
}

/** decryptThumb opens a thumbnail's bytes with its iv (base64url). */
export async function decryptThumb(key, roomID, nick, ct, iv) {
  const ivb = unb64u(iv);
  if (!ivb || ivb.length !== 12) throw new DecryptError("the thumbnail has no iv");
  return gcmOpen(key, ivb, ad(roomID, "thumb", nick), new Uint8Array(ct));
}

/**
 * readDescription checks a file's description (the text inside a file
 * message's envelope) and returns it, or throws DecryptError.
 */
export function readDescription(text) {
  let d;
  try { d = JSON.parse(text); } catch { throw new DecryptError("the file's description is not JSON"); }
  if (!d || typeof d.name !== "string" || typeof d.size !== "number" || typeof d.prefix !== "string") {
    throw new DecryptError("the file's description is incomplete");
  }
  return {
    name: d.name,
    type: typeof d.type === "string" ? d.type : "",
    size: d.size,
    prefix: d.prefix,
    chunk: d.chunk > 0 ? d.chunk : CHUNK,
    thumb: d.thumb && typeof d.thumb.iv === "string" ? d.thumb : null,
  };
}
