// An encrypted room's key, as this tab holds it, and what the page does
// with it: messages and reactions opened for the model and sealed for the
// box, files and thumbnails decrypted into object URLs (revoked when
// dropped). The format itself is crypto.js's; see docs/ENCRYPTION.md.

import * as c from "./crypto.js";

/** What a message that does not open says. */
export const UNREADABLE = "This message could not be decrypted.";

const KEPT = "chatbox.key.";
/** How many decrypted files stay ready (their object URLs alive). */
const KEEP_FILES = 4;

/**
 * keep remembers a room's keys for this tab (so a reload works): the
 * link's key and the AES key, by room id. sessionStorage ends with the tab.
 */
export function keep(roomID, fragKey, aesRaw) {
  try {
    sessionStorage.setItem(KEPT + roomID, JSON.stringify({ k: c.b64u(fragKey), a: c.b64u(aesRaw) }));
  } catch { /* storage off: a reload asks for the link again */ }
}

/** kept returns {fragKey, aesRaw} remembered for the room, or null. */
export function kept(roomID) {
  try {
    const o = JSON.parse(sessionStorage.getItem(KEPT + roomID) || "null");
    const fragKey = o && c.unb64u(o.k), aesRaw = o && c.unb64u(o.a);
    if (fragKey && fragKey.length === 32 && aesRaw && aesRaw.length === 32) return { fragKey, aesRaw };
  } catch { /* nothing kept */ }
  return null;
}

/** forget drops what keep remembered for the room. */
export function forget(roomID) {
  try { sessionStorage.removeItem(KEPT + roomID); } catch { /* storage off */ }
}

export class Vault {
  /** roomID binds every envelope; key is the AES CryptoKey; fragKey the
   * link's 32 bytes (for the link to share). */
  constructor(roomID, key, fragKey) {
    this.roomID = roomID;
    this.key = key;
    this.fragKey = fragKey;
    /** file URL -> Promise of the thumbnail's object URL */
    this.thumbs = new Map();
    /** file URL -> Promise of the whole file's object URL, oldest first */
    this.files = new Map();
  }

  /** unlock makes a vault from AES key bytes, or null when they do not
   * open the room's key check. */
  static async unlock(roomID, keyCheck, aesRaw, fragKey) {
    const key = await c.aesKey(aesRaw);
    if (!(await c.keyOpens(key, roomID, keyCheck))) return null;
    return new Vault(roomID, key, fragKey);
  }

  /** link is the room's link to share, with its key. */
  link(origin) { return origin + "/" + c.fragment(this.fragKey); }

  seal(kind, nick, text) { return c.seal(this.key, this.roomID, kind, nick, text); }

  /**
   * openMessage returns the message as the page shows it: its text opened
   * (a file's description read into file), its reactions by emoji. One
   * that does not open is marked undecryptable, and nothing of it shows.
   */
  async openMessage(m) {
    if (!m) return m;
    let out = m;
    if (m.kind === "text" || m.kind === "ping") {
      try {
        out = { ...m, text: await c.open(this.key, this.roomID, m.kind, m.nick, m.text) };
      } catch {
        out = { ...m, text: "", undecryptable: true };
      }
    } else if (m.kind === "file") {
      try {
        const d = c.readDescription(await c.open(this.key, this.roomID, "file", m.nick, m.text));
        const stored = m.file || {};
        out = { ...m, text: "", file: { name: d.name, type: d.type, size: d.size, url: stored.url, enc: { ...d, nick: m.nick, thumbURL: stored.thumb || "" } } };
      } catch {
        out = { ...m, text: "", file: null, undecryptable: true };
      }
    }
    if (m.reactions) out = { ...out, ...(await this.openReactions(m.reactions)) };
    return out;
  }

  /**
   * openReactions turns the box's reactions ({envelope: [nicks]}) into
   * {reactions: {emoji: [nicks]}, reactionEnvelopes: {emoji: {nick:
   * envelope}}}: what is shown, and what taking one back sends.
   */
  async openReactions(sealed) {
    const reactions = {};
    const reactionEnvelopes = {};
    await Promise.all(Object.entries(sealed || {}).map(async ([env, nicks]) => {
      for (const nick of nicks || []) {
        let emoji;
        try { emoji = await c.open(this.key, this.roomID, "reaction", nick, env); } catch { continue; }
        const who = (reactions[emoji] ||= []);
        if (!who.includes(nick)) who.push(nick);
        (reactionEnvelopes[emoji] ||= {})[nick] = env;
      }
    }));
    for (const nicks of Object.values(reactions)) nicks.sort();
    return { reactions, reactionEnvelopes };
  }

  /** thumbURL is a file's thumbnail, decrypted, as an object URL. */
  thumbURL(f) {
    const e = f.enc;
    if (!e || !e.thumb || !e.thumbURL) return Promise.reject(new Error("no thumbnail"));
    let p = this.thumbs.get(e.thumbURL);
    if (!p) {
      p = (async () => {
        const res = await fetch(e.thumbURL, { credentials: "same-origin" });
        if (!res.ok) throw new Error("the thumbnail could not be loaded (" + res.status + ")");
        const plain = await c.decryptThumb(this.key, this.roomID, e.nick, await res.arrayBuffer(), e.thumb.iv);
        return URL.createObjectURL(new Blob([plain], { type: e.thumb.type || "image/jpeg" }));
      })();
      p.catch(() => this.thumbs.delete(e.thumbURL));
      this.thumbs.set(e.thumbURL, p);
    }
    return p;
  }

  /**
   * fileURL is a whole file, fetched and decrypted chunk by chunk as it
   * arrives, as an object URL of its type. The last few stay ready; older
   * ones are revoked. onProgress(done, total) follows the decryption (of
   * the call that starts it).
   */
  fileURL(f, onProgress) {
    const e = f.enc;
    let p = this.files.get(f.url);
    if (p) {
      this.files.delete(f.url);
      this.files.set(f.url, p);
      return p;
    }
    p = (async () => {
      const res = await fetch(f.url, { credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error("the file could not be loaded (" + res.status + ")");
      const blob = await c.decryptFile(this.key, this.roomID, e.nick, res.body, { prefix: e.prefix, chunk: e.chunk, type: e.type, size: e.size, onProgress });
      return URL.createObjectURL(blob);
    })();
    p.catch(() => this.files.delete(f.url));
    this.files.set(f.url, p);
    while (this.files.size > KEEP_FILES) {
      const [old, op] = this.files.entries().next().value;
      this.files.delete(old);
      op.then((u) => URL.revokeObjectURL(u), () => {});
    }
    return p;
  }

  /** close revokes every object URL the vault made. */
  close() {
    for (const p of [...this.thumbs.values(), ...this.files.values()]) p.then((u) => URL.revokeObjectURL(u), () => {});
    this.thumbs.clear();
    this.files.clear();
  }
}

/**
 * thumbnail draws a picture at most 300 pixels wide on a canvas and
 * returns {blob, w, h}, or null when the browser cannot read the picture.
 * A picture that may be transparent keeps its transparency (WebP, or PNG
 * where WebP cannot be written); a photo becomes JPEG.
 */
export async function thumbnail(file) {
  if (!/^image\/(jpeg|png|gif|webp)$/.test(file.type)) return null;
  let bmp;
  try { bmp = await createImageBitmap(file); } catch { return null; }
  const w = Math.min(c.THUMB_WIDTH, bmp.width);
  const h = Math.max(1, Math.round(bmp.height * w / bmp.width));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.getContext("2d").drawImage(bmp, 0, 0, w, h);
  bmp.close();
  const toBlob = (type, q) => new Promise((resolve) => canvas.toBlob(resolve, type, q));
  let blob = file.type === "image/jpeg" ? await toBlob("image/jpeg", 0.82) : await toBlob("image/webp", 0.85);
  if (blob && blob.size > c.THUMB_MAX_BYTES) blob = await toBlob("image/jpeg", 0.7);
  if (!blob || blob.size > c.THUMB_MAX_BYTES) return null;
  return { blob, w, h };
}

/**
 * sealUpload encrypts a file to share: the file in chunks, its thumbnail
 * (for a picture) and its description. It returns {text, file, thumb}
 * (thumb null without one), ready for POST /api/files. onProgress(done,
 * total) follows the encryption.
 */
export async function sealUpload(vault, nick, file, onProgress) {
  const t = await thumbnail(file);
  let thumb = null, thumbDesc;
  if (t) {
    const sealed = await c.encryptThumb(vault.key, vault.roomID, nick, await t.blob.arrayBuffer());
    thumb = new Blob([sealed.bytes], { type: "application/octet-stream" });
    thumbDesc = { iv: sealed.iv, type: t.blob.type, w: t.w, h: t.h };
  }
  const { blob, prefix } = await c.encryptFile(vault.key, vault.roomID, nick, file, { onProgress });
  const desc = { name: file.name || "file", type: file.type || "", size: file.size, prefix, chunk: c.CHUNK };
  if (thumbDesc) desc.thumb = thumbDesc;
  const text = await vault.seal("file", nick, JSON.stringify(desc));
  return { text, file: blob, thumb };
}
