// The room's HTTP API. Every failure becomes an ApiError whose message is
// a sentence a person understands.

/** ApiError is a refused or failed request. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "", suggest = "", retryAfter = 0 } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.suggest = suggest;
    this.retryAfter = retryAfter;
  }

  /** retryable is true for a failure that sending again may cure: the
   * network, the server's own trouble, or too many posts. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** offline is the sentence for a request that never got an answer. */
export const OFFLINE = "The room could not be reached: check your connection.";

/** request sends a JSON request and returns {data, headers}. */
export async function request(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(OFFLINE);
  }
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (!res.ok) {
    const retryAfter = Number(res.headers.get("Retry-After")) || 0;
    let msg = data && data.error;
    if (!msg) {
      msg = res.status >= 500
        ? "The room had a problem (" + res.status + "); try again in a moment."
        : "The room refused this (" + res.status + ").";
    }
    if (res.status === 429 && retryAfter) msg = sentence(msg) + " Try again in " + retryAfter + " s.";
    throw new ApiError(msg, {
      status: res.status, code: (data && data.code) || "", suggest: (data && data.suggest) || "", retryAfter,
    });
  }
  return { data, headers: res.headers };
}

/** api is request's data alone. */
export async function api(method, path, body) {
  return (await request(method, path, body)).data;
}

/** sentence ends text with a full stop (its first letter stays as it
 * is: it may be a nickname). */
export function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  return /[.!?…]$/.test(t) ? t : t + ".";
}
