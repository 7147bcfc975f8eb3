// The wire protocol in one place: event names, the room's limits (read
// from GET /api/room, with the defaults an older server implies), and the
// rule for nicknames. Nothing else in the page spells these out.

/** Events the server sends on the WebSocket. */
export const EV = Object.freeze({
  message: "message",
  ack: "ack",
  presence: "presence",
  join: "join",
  leave: "leave",
  nick: "nick",
  destroy: "destroy",
  error: "error",
  typing: "typing",
  edit: "edit",
  delete: "delete",
  react: "react",
});

/** Events the page sends on the WebSocket. */
export const OUT = Object.freeze({
  message: "message",
  nick: "nick",
  quit: "quit",
  typing: "typing",
  cancelDestroy: "cancel_destroy",
});

/** Error codes the server names; some decide what the page does next. */
export const CODE = Object.freeze({
  invalid: "invalid",
  tooLong: "too_long",
  notPresent: "not_present",
  rateLimited: "rate_limited",
  nickTaken: "nick_taken",
  forbidden: "forbidden",
  tooLate: "too_late",
});

/** WebSocket close code for a nickname held by another browser. */
export const CLOSE_NICK_TAKEN = 4409;

const DEFAULT_NICK_MAX = 25;
const OLD_NICK_RULE = "A nickname is 1 to 25 letters or digits.";
const NEW_NICK_RULE = "A nickname is 1 to 25 letters or digits; -, _ or . may join them.";

/** How many messages a page of history asks for. */
export const HISTORY_PAGE = 100;

/** How long "typing…" stays after the last typing event, and how often
 * the page says it is typing. */
export const TYPING_SHOW_MS = 5000;
export const TYPING_SEND_MS = 3000;

/**
 * limits reads what the page needs from GET /api/room, and says which of
 * the newer features the server offers (so the page works before and
 * after they exist).
 */
export function limits(room) {
  const r = room || {};
  const nickMax = r.nick_max_length > 0 ? r.nick_max_length : DEFAULT_NICK_MAX;
  return {
    maxMessageLength: r.max_message_length > 0 ? r.max_message_length : 0,
    maxFileSize: r.max_file_size > 0 ? r.max_file_size : 0,
    nickMax,
    nickRule: r.nick_rule || (typeof r.nick_hold === "number" ? NEW_NICK_RULE : OLD_NICK_RULE).replace("25", String(nickMax)),
    // Nicknames held by a token, typing and cancelling a countdown came
    // together; edits, deletes and reactions together.
    nickTokens: typeof r.nick_hold === "number",
    typing: typeof r.nick_hold === "number",
    cancelDestroy: typeof r.nick_hold === "number",
    editWindow: typeof r.edit_window === "number" ? r.edit_window : 0,
    reactions: Array.isArray(r.reactions) ? r.reactions : [],
  };
}

/**
 * nickProblem returns the rule as a sentence when nick breaks it, or ""
 * when it is fine: letters and digits (and, where the server allows them,
 * -, _ or . inside). The server has the last word; this only spares a
 * round trip.
 */
export function nickProblem(nick, lim) {
  const l = lim || limits(null);
  const chars = [...nick];
  if (chars.length < 1 || chars.length > l.nickMax) return l.nickRule;
  const re = l.nickTokens
    ? /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}._-]*[\p{L}\p{N}\p{M}])?$/u
    : /^[\p{L}\p{N}][\p{L}\p{N}\p{M}]*$/u;
  return re.test(nick) ? "" : l.nickRule;
}
