// Telling a person something happened while they looked away: browser
// notifications for pings (asked for only from a click), the unread count
// in the title, and a sound (off unless turned on).

import { storage } from "./storage.js";

export const notifySupported = () => "Notification" in window;

/** permissionLabel is the notification button's label. */
export function permissionLabel() {
  if (!notifySupported()) return "";
  return { granted: "Notifications on", denied: "Notifications blocked" }[Notification.permission] || "Notifications";
}

/** ask asks for permission (only ever from a click) and says the outcome. */
export async function ask() {
  if (!notifySupported()) return "This browser cannot show notifications.";
  if (Notification.permission === "default") {
    try { await Notification.requestPermission(); } catch { /* old browsers */ }
  }
  return {
    granted: "You will get a notification when someone pings you.",
    denied: "Notifications are blocked for this site; allow them in the browser's site settings.",
    default: "Notifications stay off.",
  }[Notification.permission] || "";
}

/** ping shows a notification for a ping that arrived now. */
export function ping(m) {
  if (!notifySupported() || Notification.permission !== "granted") return;
  const text = m.text.replace(/^\/ping\s+\S+\s*/, "");
  try {
    const n = new Notification(m.nick + " pinged you", { body: text.slice(0, 200), tag: "chatbox-ping-" + m.id });
    n.addEventListener("click", () => { window.focus(); n.close(); });
  } catch { /* some mobile browsers only notify from a service worker */ }
}

/** soundOn says whether the page chimes for new messages while hidden. */
export const soundOn = () => storage.get("sound") === "on";
export const setSound = (on) => storage.set("sound", on ? "on" : "off");

let audio = null;

/** chime plays a short soft tone, when the sound is on. */
export function chime() {
  if (!soundOn()) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch { /* no audio */ }
}

/** Unread counts messages that arrived while the page was hidden. */
export class Unread {
  constructor() {
    this.count = 0;
    this.firstID = 0;
  }
  arrived(id) {
    if (!document.hidden) return;
    if (!this.count) this.firstID = id;
    this.count++;
    document.title = "(" + this.count + ") chatbox";
  }
  seen() {
    this.count = 0;
    document.title = "chatbox";
  }
}
