// The room's WebSocket: connects, reconnects with growing waits, and hands
// each event to the handler of its type.

const MIN_WAIT = 500;
const MAX_WAIT = 15000;

/**
 * Socket keeps one connection open while started. Handlers: onOpen(),
 * onClose(closeEvent, willRetry), onEvent(event), beforeRetry() (an
 * async check that may return false to stop retrying), and onSocket(ws),
 * told of each new WebSocket as it is made.
 */
export class Socket {
  constructor({ url, onOpen, onClose, onEvent, beforeRetry, onSocket }) {
    this.url = url;
    this.onSocket = onSocket;
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.onEvent = onEvent;
    this.beforeRetry = beforeRetry;
    this.ws = null;
    this.wait = MIN_WAIT;
    this.stopped = true;
    this.timer = null;
  }

  get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** stop closes the connection and retries no more. */
  stop(code = 1000, reason = "") {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(code, reason); } catch { /* closing */ } }
  }

  /** send sends an event; false when not connected. */
  send(ev) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(ev));
    return true;
  }

  connect() {
    const ws = new WebSocket(this.url());
    this.ws = ws;
    if (this.onSocket) this.onSocket(ws);
    ws.onopen = () => {
      this.wait = MIN_WAIT;
      this.onOpen();
    };
    ws.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      if (ev && typeof ev.type === "string") this.onEvent(ev);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const retry = !this.stopped;
      this.onClose(e, retry);
      if (!retry || this.stopped) return;
      const wait = this.wait;
      this.wait = Math.min(this.wait * 2, MAX_WAIT);
      this.timer = setTimeout(async () => {
        if (this.stopped) return;
        let go = true;
        try { go = await this.beforeRetry(); } catch { go = true; }
        if (go && !this.stopped) this.connect();
      }, wait);
    };
  }
}
