// The page's own storage: the nickname, its token, the draft, settings.
// Private modes without storage fall back to nothing kept.

export const storage = {
  get(k) { try { return localStorage.getItem("chatbox." + k); } catch { return null; } },
  set(k, v) { try { localStorage.setItem("chatbox." + k, v); } catch { /* private mode */ } },
  remove(k) { try { localStorage.removeItem("chatbox." + k); } catch { /* private mode */ } },
};

/** token returns this browser's nickname token, made once: 32 random
 * bytes as base64url (43 characters). */
export function token() {
  let t = storage.get("token");
  if (t && /^[A-Za-z0-9_-]{22,64}$/.test(t)) return t;
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  t = btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  storage.set("token", t);
  return t;
}
