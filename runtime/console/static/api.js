// The console's API client: JSON requests over one WebSocket (/api/ws), answered in
// order. `call(op, args)` resolves with the result or rejects with {code, message, field,
// issues}. Reconnects by itself; calls made while disconnected wait for the connection.

export function storedToken() {
  const fromStore = localStorage.getItem("cadenza.token");
  if (fromStore) return fromStore;
  const m = document.cookie.match(/(?:^|;\s*)cadenza_token=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}

export function withToken(url) {
  const token = storedToken();
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set("token", token);
  return u.href;
}

export class Api {
  constructor(onStatus = () => {}) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = withToken(`${scheme}://${location.host}/api/ws`);
    this.onStatus = onStatus;
    this.nextId = 1;
    this.waiting = new Map();
    this.queue = [];
    this.connect();
  }

  connect() {
    const ws = (this.ws = new WebSocket(this.url));
    ws.onopen = () => {
      this.onStatus("connected");
      for (const text of this.queue) ws.send(text);
      this.queue = [];
    };
    ws.onmessage = (e) => {
      const reply = JSON.parse(e.data);
      const pending = this.waiting.get(reply.id);
      if (!pending) return;
      this.waiting.delete(reply.id);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(reply.error);
    };
    ws.onclose = () => {
      this.onStatus("disconnected");
      for (const { reject } of this.waiting.values()) {
        reject({ code: "unavailable", message: "connection to the server lost" });
      }
      this.waiting.clear();
      setTimeout(() => this.connect(), 1000);
    };
  }

  call(op, args = {}) {
    const id = this.nextId++;
    const text = JSON.stringify({ id, op, ...args });
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
      else this.queue.push(text);
    });
  }
}
