// Drawing messages, by kind. Every text from the server is put on the page
// as text (textContent, text nodes), never as HTML.

import { dayKey, sameGroup } from "./model.js";

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** formatSize says a size in bytes the way people read it. */
export function formatSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KB";
  if (n < 1024 * 1024 * 1024) return (n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0) + " MB";
  return (n / 1024 / 1024 / 1024).toFixed(1) + " GB";
}

const kinds = {
  png: "PNG picture", jpg: "JPEG picture", jpeg: "JPEG picture", gif: "GIF picture", webp: "WebP picture",
  svg: "SVG drawing", pdf: "PDF document", txt: "Text file", md: "Text file", csv: "Spreadsheet (CSV)",
  zip: "ZIP archive", gz: "Compressed file", tgz: "Compressed archive", tar: "TAR archive", "7z": "7-Zip archive",
  doc: "Word document", docx: "Word document", odt: "Text document", xls: "Spreadsheet", xlsx: "Spreadsheet",
  ods: "Spreadsheet", ppt: "Slides", pptx: "Slides", odp: "Slides", mp3: "Audio", ogg: "Audio", wav: "Audio",
  m4a: "Audio", mp4: "Video", webm: "Video", mov: "Video", json: "JSON file", html: "Web page", asc: "OpenPGP file",
};

/** fileKind names what a file is, from its name (and type), for people. */
export function fileKind(name, type) {
  const ext = (String(name).match(/\.([A-Za-z0-9]{1,8})$/) || [])[1];
  if (ext && kinds[ext.toLowerCase()]) return kinds[ext.toLowerCase()];
  const t = String(type || "").split(";")[0].trim();
  if (t.startsWith("image/")) return "Picture";
  if (t.startsWith("text/")) return "Text file";
  if (t.startsWith("audio/")) return "Audio";
  if (t.startsWith("video/")) return "Video";
  return ext ? ext.toUpperCase() + " file" : "File";
}

// Formatters are made once: making one per message costs more than the
// rest of drawing it.
const timeFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat([], { dateStyle: "medium", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });

/** dayLabel names a day: Today, Yesterday, or the date. */
export function dayLabel(ts, now = new Date()) {
  const key = dayKey(ts);
  if (key === dayKey(now)) return "Today";
  const y = new Date(now);
  y.setDate(y.getDate() - 1);
  if (key === dayKey(y)) return "Yesterday";
  return dayFormat.format(new Date(ts));
}

const urlPattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
const fileURLPattern = /^\/files\/([0-9a-f]{32})\/[^/]+$/;

/** roomFileID returns the upload id a link to this room's files points at,
 * or "" for any other link. */
function roomFileID(href) {
  let u;
  try { u = new URL(href); } catch { return ""; }
  if (u.origin !== location.origin) return "";
  const m = u.pathname.match(fileURLPattern);
  return m ? m[1] : "";
}

/** pictureLink is a thumbnail that opens the picture in the viewer (and,
 * for a middle click, in a tab). */
export function pictureLink(href, thumb, name) {
  const a = el("a", "picture");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener";
  a.tabIndex = -1;
  const img = el("img");
  img.src = thumb;
  img.alt = name || "picture";
  img.loading = "lazy";
  img.decoding = "async";
  a.append(img);
  return a;
}

/** appendLinks puts plain text into e, links made clickable. Links to
 * pictures of this room show inline; nothing loads from another site. */
function appendLinks(e, text, pictures) {
  let last = 0;
  for (const m of text.matchAll(urlPattern)) {
    e.append(document.createTextNode(text.slice(last, m.index)));
    const a = el("a", "", m[0]);
    a.href = m[0];
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    a.tabIndex = -1; // reached through the message (see main.js)
    e.append(a);
    last = m.index + m[0].length;
    const id = roomFileID(m[0]);
    if (id) pictures.push({ id, href: m[0] });
  }
  e.append(document.createTextNode(text.slice(last)));
}

/**
 * appendText renders a message's text: ```fenced blocks``` and `code` in
 * monospace, links clickable, pictures of this room inline.
 */
export function appendText(e, text) {
  const pictures = [];
  const parts = text.split(/```/);
  // An odd count of fences leaves the last one as text.
  const closed = parts.length % 2 === 1 ? parts.length : parts.length - 1;
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < closed) {
      const pre = el("pre", "code");
      pre.textContent = part.replace(/^[\w+-]*\n/, "").replace(/\n$/, "");
      e.append(pre);
      return;
    }
    const raw = i % 2 === 1 ? "```" + part : part;
    const bits = raw.split(/(`[^`\n]+`)/);
    for (const bit of bits) {
      if (bit.length > 2 && bit.startsWith("`") && bit.endsWith("`")) e.append(el("code", "", bit.slice(1, -1)));
      else if (bit) appendLinks(e, bit, pictures);
    }
  });
  for (const p of pictures.slice(0, 4)) {
    const a = pictureLink(p.href, "/files/" + p.id + "/thumb", "");
    // Not a picture (no thumbnail): keep just the link.
    a.firstChild.addEventListener("error", () => a.remove());
    e.append(a);
  }
}

const pgpBegin = "-----BEGIN PGP MESSAGE-----";
function isPGP(text) {
  const t = text.trimStart();
  return t.startsWith(pgpBegin) && t.includes("-----END PGP MESSAGE-----");
}

function renderPGP(body, text, ctx) {
  const details = el("details", "pgp");
  const summary = el("summary", "", "OpenPGP message (" + text.length + " characters)");
  summary.tabIndex = -1;
  details.append(summary, el("pre", "", text));
  const b = el("button", "copy-pgp", "Copy");
  b.type = "button";
  b.tabIndex = -1;
  b.addEventListener("click", () => ctx.copy(text, "OpenPGP message"));
  body.append(details, b);
}

function renderFile(body, f) {
  if (!fileURLPattern.test(f.url)) return appendText(body, f.name);
  if (f.thumb) {
    // The thumbnail is made after the upload; if it cannot be made (a
    // damaged picture), the name below is link enough.
    const pic = pictureLink(f.url, f.thumb, f.name);
    pic.firstChild.addEventListener("error", () => pic.remove());
    body.append(pic);
  }
  const line = el("div", "file");
  const a = el("a", "", f.name);
  a.href = f.url;
  a.tabIndex = -1;
  if (f.thumb) { a.target = "_blank"; a.rel = "noopener"; } else { a.download = f.name; }
  line.append(a, el("span", "file-info", fileKind(f.name, f.type) + " · " + formatSize(f.size)));
  body.append(line);
}

/** What a message of an encrypted room that does not open says. */
export const UNREADABLE = "This message could not be decrypted.";

// renderSealedFile draws a file of an encrypted room: its thumbnail,
// decrypted when it comes (its place kept meanwhile), and its name, which
// decrypts the file and saves it.
function renderSealedFile(body, m, f, ctx) {
  const e = f.enc;
  if (e.thumb) {
    const a = el("a", "picture");
    a.href = "#m" + m.id;
    a.dataset.sealed = m.id;
    a.tabIndex = -1;
    const img = el("img");
    img.alt = f.name;
    if (e.thumb.w > 0 && e.thumb.h > 0) { img.width = e.thumb.w; img.height = e.thumb.h; }
    img.decoding = "async";
    a.append(img);
    body.append(a);
    ctx.sealedThumb(f).then((url) => { img.src = url; }, () => a.remove());
  }
  const line = el("div", "file");
  const a = el("a", "", f.name);
  a.href = "#m" + m.id;
  a.tabIndex = -1;
  a.title = "Decrypt and save " + f.name;
  a.addEventListener("click", (ev) => { ev.preventDefault(); ctx.onSealedFile(f); });
  line.append(a, el("span", "file-info", fileKind(f.name, f.type) + " · " + formatSize(f.size)));
  body.append(line);
}

function renderPing(body, m) {
  body.append(el("span", "mention", "@" + m.to), document.createTextNode(" "));
  appendText(body, m.text.replace(/^\/ping\s+\S+\s*/, ""));
}

/** excerpt is the start of a message, for a reply's quote. */
export function excerpt(m) {
  if (!m) return "an earlier message";
  if (m.kind === "deleted") return "a deleted message";
  if (m.undecryptable) return "a message that could not be decrypted";
  if (m.kind === "file" && m.file) return m.file.name;
  const t = (m.text || "").replace(/\s+/g, " ").trim();
  return t.length > 80 ? t.slice(0, 79) + "…" : t;
}

/**
 * message draws one stored message. prev is the message before it (for
 * grouping and the day line); ctx = {me, features, reactions, onNick,
 * onReply, onReact, onEdit, onDelete, onJump, copy, lookup}.
 */
export function message(m, prev, ctx) {
  const li = el("li", "msg " + m.kind);
  li.dataset.id = m.id;
  li.id = "m" + m.id;
  if (!prev || dayKey(prev.ts) !== dayKey(m.ts)) {
    const day = el("div", "day");
    day.setAttribute("role", "separator");
    day.append(el("span", "", dayLabel(m.ts)));
    li.append(day);
  }
  if (m.kind === "system") {
    li.append(el("div", "text", m.text));
    return li;
  }
  if (sameGroup(prev, m)) li.classList.add("grouped");
  if (m.nick === ctx.me) li.classList.add("mine");

  const meta = el("div", "meta");
  const nick = el("button", "nick", m.nick);
  nick.type = "button";
  nick.tabIndex = -1; // the member list and @name reach people; not every message
  nick.title = "Ping " + m.nick;
  nick.addEventListener("click", () => ctx.onNick(m.nick));
  const time = el("time");
  time.dateTime = m.ts;
  const d = new Date(m.ts);
  time.textContent = timeFormat.format(d);
  time.title = fullFormat.format(d);
  meta.append(nick, time);
  if (m.edited) meta.append(el("span", "edited", "edited"));
  li.append(meta);

  if (m.reply_to) {
    const q = el("button", "quote");
    q.type = "button";
    q.tabIndex = -1;
    const orig = ctx.lookup(m.reply_to);
    q.append(el("span", "quote-nick", orig ? orig.nick : "reply"), document.createTextNode(" " + excerpt(orig)));
    q.addEventListener("click", () => ctx.onJump(m.reply_to));
    li.append(q);
  }

  const body = el("div", "text");
  if (m.kind === "deleted") body.textContent = "This message was deleted.";
  else if (m.undecryptable) { body.textContent = UNREADABLE; li.classList.add("undecryptable"); }
  else if (m.kind === "file" && m.file && m.file.enc) renderSealedFile(body, m, m.file, ctx);
  else if (m.kind === "file" && m.file) renderFile(body, m.file);
  else if (isPGP(m.text)) renderPGP(body, m.text, ctx);
  else if (m.kind === "ping" && m.to) renderPing(body, m);
  else appendText(body, m.text);
  li.append(body);

  if (m.kind === "ping" && m.to === ctx.me) {
    li.classList.add("pinged");
    meta.append(el("span", "ping-mark", "pinged you"));
  }

  const reactions = m.reactions || {};
  const used = Object.keys(reactions).filter((e) => reactions[e] && reactions[e].length);
  if (used.length) {
    const row = el("div", "reactions");
    for (const emoji of used) {
      const who = reactions[emoji];
      const b = el("button", "reaction");
      b.type = "button";
      b.tabIndex = -1;
      const mine = who.includes(ctx.me);
      b.setAttribute("aria-pressed", String(mine));
      b.title = who.join(", ");
      b.append(el("span", "emoji", emoji), el("span", "count", String(who.length)));
      b.addEventListener("click", () => ctx.onReact(m.id, emoji, !mine));
      row.append(b);
    }
    li.append(row);
  }

  return li;
}

/**
 * tools adds a message's own buttons (reply, react, edit, delete) when a
 * pointer or focus first comes to it: most messages are never touched, and
 * drawing a history stays cheap.
 */
export function tools(li, m, ctx) {
  if (li.querySelector(".tools") || m.kind === "deleted" || m.kind === "system") return;
  if (!ctx.features.reply && !ctx.features.react) return;
  const reactions = m.reactions || {};
  const box = el("div", "tools");
  const tool = (label, title, fn) => {
    const b = el("button", "tool", label);
    b.type = "button";
    b.tabIndex = li.contains(document.activeElement) ? 0 : -1;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", fn);
    box.append(b);
  };
  if (ctx.features.reply) tool("↩", "Reply", () => ctx.onReply(m.id));
  if (ctx.features.react) {
    for (const emoji of ctx.reactions) tool(emoji, "React " + emoji, () => ctx.onReact(m.id, emoji, !(reactions[emoji] || []).includes(ctx.me)));
  }
  if (ctx.features.edit && m.nick === ctx.me && ctx.canChange(m)) {
    if (m.kind !== "file" && !m.undecryptable) tool("✎", "Edit", () => ctx.onEdit(m.id));
    tool("🗑", "Delete", () => ctx.onDelete(m.id));
  }
  li.append(box);
}

/**
 * pending draws a send on its way: "sending…", or why it failed with
 * Retry and Discard. ctx = {onRetry, onDiscard, me}.
 */
export function pending(p, ctx) {
  const li = el("li", "msg text mine pending " + p.state);
  li.dataset.clientId = p.clientID;
  const meta = el("div", "meta");
  meta.append(el("span", "nick", ctx.me));
  const state = el("span", "send-state", p.state === "failed" ? "Not sent" : "Sending…");
  meta.append(state);
  li.append(meta);
  const body = el("div", "text");
  appendText(body, p.text);
  li.append(body);
  if (p.state === "failed") {
    const row = el("div", "send-failed");
    row.setAttribute("role", "alert");
    row.append(el("span", "error", p.error));
    const retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => ctx.onRetry(p.clientID));
    const discard = el("button", "discard", "Discard");
    discard.type = "button";
    discard.addEventListener("click", () => ctx.onDiscard(p.clientID));
    row.append(retry, discard);
    li.append(row);
  }
  return li;
}

/** systemLine draws a line the page says (joins, leaves, renames). */
export function systemLine(text) {
  const li = el("li", "msg system");
  li.append(el("div", "text", text));
  return li;
}
