// What a line typed in the message box means. parse never touches the
// page or the network: main.js does what the answer says.

import { nickProblem } from "./protocol.js";

/** The commands, as /help lists them. */
export const HELP = [
  "/nick NAME — change your nickname",
  "/ping NICK message — ping someone",
  "/quit — leave the room",
  "/destroy — destroy the room (with a countdown)",
  "/cancel — stop a countdown to destroy the room",
  "/help — list these commands",
  "//text — send text that starts with a slash",
];

/**
 * parse turns a line into what to do:
 *   {do: "nothing"}                    blank
 *   {do: "send", text}                 a message (pings included: the server reads them)
 *   {do: "nick", nick} | {do: "quit"} | {do: "destroy"} | {do: "cancel"} | {do: "help"}
 *   {do: "error", error}               a mistake, in a sentence; nothing is sent
 * lim is protocol.limits(room), for the nickname rule.
 */
export function parse(line, lim) {
  if (!line.trim()) return { do: "nothing" };
  if (line.startsWith("//")) return { do: "send", text: line.slice(1) };
  if (!line.startsWith("/")) return { do: "send", text: line };
  const trimmed = line.trim();
  const space = trimmed.search(/\s/);
  const cmd = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const rest = space < 0 ? "" : trimmed.slice(space).trim();
  switch (cmd) {
    case "/nick": {
      if (!rest) return { do: "error", error: "Usage: /nick NAME. " + nickProblem("", lim) };
      const problem = nickProblem(rest, lim);
      if (problem) return { do: "error", error: problem };
      return { do: "nick", nick: rest };
    }
    case "/ping":
      if (!rest) return { do: "error", error: "Usage: /ping NICK message" };
      return { do: "send", text: line };
    case "/quit":
    case "/destroy":
    case "/cancel":
    case "/help":
      return { do: cmd.slice(1) };
    default:
      return { do: "error", error: "Unknown command " + cmd + ". Type /help for the list, or // to send a line that starts with /." };
  }
}

/**
 * complete finishes the nickname being typed before the cursor, for Tab:
 * it returns {text, cursor} with the name put in, or null when no name
 * fits. At the start of the line the name gets ": " after it.
 */
export function complete(text, cursor, names) {
  const before = text.slice(0, cursor);
  const m = before.match(/(^|\s)@?([\p{L}\p{N}._-]+)$/u);
  if (!m) return null;
  const part = m[2].toLowerCase();
  const found = [...names].sort().find((n) => n.toLowerCase().startsWith(part));
  if (!found) return null;
  const start = before.length - m[2].length;
  const atStart = start === 0;
  const insert = found + (atStart ? ": " : " ");
  const out = before.slice(0, start) + insert + text.slice(cursor);
  return { text: out, cursor: start + insert.length };
}
