// The room as the page knows it: messages in a Map by id (and their ids in
// order), the sends still on their way, who is in the room, and the state
// of the connection. The DOM is drawn from this; nothing reads the DOM
// back. No DOM and no network here, so node --test can run it.

/** Messages from one person closer together than this are one group. */
export const GROUP_GAP_MS = 5 * 60 * 1000;

/** dayKey names the local calendar day of a timestamp. */
export function dayKey(ts) {
  const d = new Date(ts);
  return d.getFullYear() + "-" + (d.getMonth() + 1) + "-" + d.getDate();
}

/** sameGroup says whether b, right after a, continues a's group. */
export function sameGroup(a, b) {
  if (!a || !b) return false;
  const talk = (m) => m.kind === "text" || m.kind === "file" || m.kind === "ping";
  if (!talk(a) || !talk(b) || a.nick !== b.nick) return false;
  if (b.reply_to) return false;
  const gap = new Date(b.ts) - new Date(a.ts);
  return gap >= 0 && gap < GROUP_GAP_MS && dayKey(a.ts) === dayKey(b.ts);
}

/** newClientID names one send (32 hex digits); getRandomValues works on
 * plain HTTP too, where crypto.randomUUID does not. */
export function newClientID(rand = (b) => crypto.getRandomValues(b)) {
  const b = new Uint8Array(16);
  rand(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class Model {
  constructor() {
    /** @type {Map<number, object>} stored messages by id */
    this.messages = new Map();
    /** ids of this.messages, ascending */
    this.ids = [];
    /** sends not yet stored, by client id, in the order they were made */
    this.pending = new Map();
    this.members = new Set();
    this.memberCount = 0;
    this.nick = "";
    this.connected = false;
    /** true once the first message of the room is loaded */
    this.reachedStart = false;
    /** nick -> time (ms) when their "typing" fades */
    this.typingUntil = new Map();
  }

  get lastID() { return this.ids.length ? this.ids[this.ids.length - 1] : 0; }
  get firstID() { return this.ids.length ? this.ids[0] : 0; }

  /** indexOf finds id's place in this.ids (binary search): its index, or
   * -(insertion point) - 1 when absent. */
  indexOf(id) {
    let lo = 0, hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.ids[mid];
      if (v === id) return mid;
      if (v < id) lo = mid + 1; else hi = mid - 1;
    }
    return -lo - 1;
  }

  /** before returns the message just before id, or null. */
  before(id) {
    const i = this.indexOf(id);
    const at = i >= 0 ? i : -i - 1;
    return at > 0 ? this.messages.get(this.ids[at - 1]) : null;
  }

  /** after returns the message just after id, or null. */
  after(id) {
    const i = this.indexOf(id);
    const at = i >= 0 ? i + 1 : -i - 1;
    return at < this.ids.length ? this.messages.get(this.ids[at]) : null;
  }

  /**
   * add keeps a stored message. It answers what changed: "append" (the
   * newest), "insert" (somewhere before the newest), or "update" (known
   * already: replaced). confirmed is the client id of this page's pending
   * send the message settles, if any. Appending is O(1), so a history of
   * n messages costs O(n).
   */
  add(m) {
    let confirmed = "";
    if (m.client_id && m.nick === this.nick && this.pending.has(m.client_id)) {
      this.pending.delete(m.client_id);
      confirmed = m.client_id;
    }
    if (this.messages.has(m.id)) {
      this.messages.set(m.id, { ...this.messages.get(m.id), ...m });
      return { change: "update", confirmed };
    }
    this.messages.set(m.id, m);
    if (!this.ids.length || m.id > this.lastID) {
      this.ids.push(m.id);
      return { change: "append", confirmed };
    }
    this.ids.splice(-this.indexOf(m.id) - 1, 0, m.id);
    return { change: "insert", confirmed };
  }

  /**
   * addOlder keeps a page of older history (oldest first), and returns the
   * messages that were new, in order. done says the room has no older ones.
   */
  addOlder(page, done) {
    const fresh = [];
    for (const m of page) {
      if (this.messages.has(m.id)) continue;
      this.messages.set(m.id, m);
      fresh.push(m);
    }
    fresh.sort((a, b) => a.id - b.id);
    if (fresh.length && this.ids.length && fresh[fresh.length - 1].id < this.firstID) {
      this.ids = fresh.map((m) => m.id).concat(this.ids);
    } else {
      for (const m of fresh) this.ids.splice(-this.indexOf(m.id) - 1, 0, m.id);
    }
    if (done) this.reachedStart = true;
    return fresh;
  }

  /** send records a send on its way and returns it. */
  send(text, clientID = newClientID()) {
    const p = { clientID, text, state: "sending", error: "", ts: new Date().toISOString() };
    this.pending.set(clientID, p);
    return p;
  }

  /** failed marks a pending send as failed, with why. */
  failed(clientID, error) {
    const p = this.pending.get(clientID);
    if (!p) return null;
    p.state = "failed";
    p.error = error;
    return p;
  }

  /** retrying marks a failed send as on its way again (same client id). */
  retrying(clientID) {
    const p = this.pending.get(clientID);
    if (!p) return null;
    p.state = "sending";
    p.error = "";
    return p;
  }

  /** drop forgets a pending send. */
  drop(clientID) { return this.pending.delete(clientID); }

  /** edit replaces a message's text (an edit event's message). */
  edit(m) {
    const old = this.messages.get(m.id);
    if (!old) return null;
    const next = { ...old, ...m };
    this.messages.set(m.id, next);
    return next;
  }

  /** remove turns a message into a tombstone. */
  remove(id) {
    const old = this.messages.get(id);
    if (!old) return null;
    const next = { id, ts: old.ts, nick: old.nick, kind: "deleted", text: "" };
    this.messages.set(id, next);
    return next;
  }

  /** react sets a message's whole set of reactions (and, in an encrypted
   * room, the envelopes that take them back). */
  react(id, reactions, envelopes) {
    const old = this.messages.get(id);
    if (!old) return null;
    const next = { ...old, reactions: reactions || {} };
    if (envelopes) next.reactionEnvelopes = envelopes;
    this.messages.set(id, next);
    return next;
  }

  /** setMembers replaces who is in the room (a presence event). */
  setMembers(names, count) {
    this.members = new Set(names);
    this.memberCount = count || 0;
  }

  join(nick, count) { this.members.add(nick); this.memberCount = count; }
  leave(nick, count) { this.members.delete(nick); this.memberCount = count; this.typingUntil.delete(nick); }
  rename(from, nick, count) {
    this.members.delete(from);
    this.members.add(nick);
    this.memberCount = count;
    if (from === this.nick) this.nick = nick;
    this.typingUntil.delete(from);
  }

  /** total is how many are in the room (a big room lists only some). */
  get total() { return Math.max(this.memberCount, this.members.size); }

  /** typing notes that nick is typing, as of now (ms). */
  typing(nick, now, showMs) { this.typingUntil.set(nick, now + showMs); }

  /** spoke notes that nick's message arrived: they are no longer typing
   * it. It says whether the typing line changes. */
  spoke(nick) { return this.typingUntil.delete(nick); }

  /** typers lists who is typing now, other than this page's person. */
  typers(now) {
    const out = [];
    for (const [nick, until] of this.typingUntil) {
      if (until <= now) this.typingUntil.delete(nick);
      else if (nick !== this.nick) out.push(nick);
    }
    return out.sort();
  }
}

/** typingLine says who is typing, in words. */
export function typingLine(nicks) {
  if (!nicks.length) return "";
  if (nicks.length === 1) return nicks[0] + " is typing…";
  if (nicks.length === 2) return nicks[0] + " and " + nicks[1] + " are typing…";
  return "Several people are typing…";
}
