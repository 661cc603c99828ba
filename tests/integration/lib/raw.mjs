// Raw Bayeux clients (no CometD library): fetch for HTTP, `ws` for WebSocket.
// They let tests see exactly what goes over the wire: status codes, every reply, close codes.
import {WebSocket} from 'ws';
import {HOST, sleep} from './gateway.mjs';

let nextId = 1;
export const newId = () => String(nextId++);

// Collects items and lets a test wait for those matching a predicate.
export class Inbox {
  constructor() {
    this.items = [];
    this._waiters = [];
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this._waiters]) w.check();
  }

  // Resolves with the first item (after `from`) matching pred; rejects after timeoutMs.
  waitFor(pred, timeoutMs = 5000, what = 'message') {
    return this.waitForCount(pred, 1, timeoutMs, what).then((a) => a[0]);
  }

  // Resolves with the matching items once there are at least count of them.
  waitForCount(pred, count, timeoutMs = 5000, what = 'messages') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const m = this.items.filter(pred);
          if (m.length >= count) {
            clearTimeout(w.timer);
            this._waiters.splice(this._waiters.indexOf(w), 1);
            resolve(m);
          }
        },
      };
      w.timer = setTimeout(() => {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        const got = this.items.filter(pred).length;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${what}, got ${got}; ` +
          `last items: ${JSON.stringify(this.items.slice(-5)).slice(0, 1500)}`));
      }, timeoutMs);
      this._waiters.push(w);
      w.check();
    });
  }

  filter(pred) {
    return this.items.filter(pred);
  }
}

// One browser's cookies (name → value), fed from Set-Cookie headers.
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  store(setCookie) {
    if (!setCookie) return;
    const list = Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const sc of list) {
      const nv = sc.split(';')[0].trim();
      const eq = nv.indexOf('=');
      if (eq > 0) this.cookies.set(nv.slice(0, eq), nv.slice(eq + 1));
    }
  }

  get(name) {
    return this.cookies.get(name);
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function baseOf(target) {
  return typeof target === 'number' ? `http://${HOST}:${target}` : target.baseUrl ?? target;
}

// POSTs Bayeux messages (or a raw string body) and returns {status, headers, text, json}.
// json is null when the body is not JSON. opts.jar sends and stores cookies.
export async function postBayeux(target, msgs, opts = {}) {
  const {headers = {}, path = '/cometd', jar, timeoutMs = 15000, raw = false} = opts;
  const body = raw || typeof msgs === 'string' || Buffer.isBuffer(msgs) ? msgs : JSON.stringify(msgs);
  const h = {'Content-Type': 'application/json', ...headers};
  if (jar && jar.header()) h.Cookie = jar.header();
  const res = await fetch(baseOf(target) + path, {
    method: 'POST',
    headers: h,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (jar) jar.store(res.headers.getSetCookie());
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return {status: res.status, headers: res.headers, text, json};
}

// GET /cometd?jsonp=NAME&message=... ; returns {status, headers, text, callback, json}.
export async function getJsonp(target, msgs, opts = {}) {
  const {callback = 'cb_' + Math.floor(Math.random() * 1e6), jar, timeoutMs = 15000} = opts;
  const url = `${baseOf(target)}/cometd?jsonp=${encodeURIComponent(callback)}&message=${encodeURIComponent(JSON.stringify(msgs))}`;
  const h = {};
  if (jar && jar.header()) h.Cookie = jar.header();
  const res = await fetch(url, {headers: h, signal: AbortSignal.timeout(timeoutMs)});
  if (jar) jar.store(res.headers.getSetCookie());
  const text = await res.text();
  let json = null;
  const m = /^\s*(?:\/\*\*\/\s*)?([A-Za-z_$][\w$.]*)\(([\s\S]*)\)\s*;?\s*$/.exec(text);
  if (m && m[1] === callback) {
    try {
      json = JSON.parse(m[2]);
    } catch {
      /* bad payload */
    }
  }
  return {status: res.status, headers: res.headers, text, callback, json};
}

export const byChannel = (ch) => (m) => m.channel === ch;
export const reply = (replies, channel) => replies.find((r) => r.channel === channel);

// A long-polling (or other HTTP) session spoken by hand.
export class HttpSession {
  constructor(target, {jar = new CookieJar(), connectionType = 'long-polling'} = {}) {
    this.target = target;
    this.jar = jar;
    this.connectionType = connectionType;
    this.clientId = null;
    this.delivered = new Inbox(); // non-meta messages received in any reply
  }

  async send(msgs, opts = {}) {
    const list = (Array.isArray(msgs) ? msgs : [msgs]).map((m) => ({
      id: newId(),
      ...(this.clientId && m.channel !== '/meta/handshake' ? {clientId: this.clientId} : {}),
      ...m,
    }));
    const r = await postBayeux(this.target, list, {jar: this.jar, ...opts});
    if (Array.isArray(r.json)) for (const m of r.json) if (!m.channel?.startsWith('/meta/')) this.delivered.push(m);
    return r;
  }

  async handshake(types = [this.connectionType], extra = {}) {
    const r = await this.send({channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: types, ...extra});
    const hs = Array.isArray(r.json) ? reply(r.json, '/meta/handshake') : null;
    if (!hs || !hs.successful) throw new Error(`handshake failed: HTTP ${r.status} ${r.text.slice(0, 500)}`);
    this.clientId = hs.clientId;
    this.handshakeReply = hs;
    return hs;
  }

  // Sends a /meta/connect; resolves with {reply, messages, all, ms, status}.
  async connect(opts = {}) {
    const t0 = Date.now();
    const r = await this.send({channel: '/meta/connect', connectionType: this.connectionType}, opts);
    const all = Array.isArray(r.json) ? r.json : [];
    return {
      status: r.status,
      reply: reply(all, '/meta/connect'),
      messages: all.filter((m) => !m.channel?.startsWith('/meta/')),
      all,
      ms: Date.now() - t0,
      text: r.text,
    };
  }

  async subscribe(subscription) {
    const r = await this.send({channel: '/meta/subscribe', subscription});
    return reply(r.json || [], '/meta/subscribe') ?? {successful: false, error: `HTTP ${r.status} ${r.text.slice(0, 200)}`};
  }

  async unsubscribe(subscription) {
    const r = await this.send({channel: '/meta/unsubscribe', subscription});
    return reply(r.json || [], '/meta/unsubscribe') ?? {successful: false, error: `HTTP ${r.status}`};
  }

  async publish(channel, data, extra = {}) {
    const r = await this.send({channel, data, ...extra});
    return (r.json || []).find((m) => m.channel === channel && 'successful' in m) ?? {successful: false, error: `HTTP ${r.status} ${r.text.slice(0, 200)}`};
  }

  async disconnect() {
    const r = await this.send({channel: '/meta/disconnect'});
    return reply(r.json || [], '/meta/disconnect');
  }
}

// A WebSocket session spoken by hand. Every received message (frames flattened) goes to inbox.
// With autoConnect (default) it behaves like a client: after each successful /meta/connect
// reply it sends the next /meta/connect, so the session is never swept.
export class WsSession {
  constructor(target, {autoConnect = true, path = '/cometd', protocols, wsOptions = {}} = {}) {
    const port = typeof target === 'number' ? target : target.port;
    this.url = `ws://${HOST}:${port}${path}`;
    this.autoConnect = autoConnect;
    this.inbox = new Inbox();
    this.frames = []; // raw frame texts
    this.clientId = null;
    this.closing = false;
    this.ws = new WebSocket(this.url, protocols, {perMessageDeflate: false, ...wsOptions});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({code, reason: reason.toString()}));
    });
    this.ws.on('message', (data) => {
      const text = data.toString('utf8');
      this.frames.push(text);
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.inbox.push({__invalid: text});
        return;
      }
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        this.inbox.push(m);
        if (this.autoConnect && !this.closing && m.channel === '/meta/connect' && m.successful &&
            m.advice?.reconnect !== 'none' && this.ws.readyState === WebSocket.OPEN) {
          this._sendConnect();
        }
      }
    });
  }

  static async open(target, opts) {
    const s = new WsSession(target, opts);
    await s.opened;
    return s;
  }

  sendRaw(data) {
    this.ws.send(data);
  }

  send(msgs) {
    const list = (Array.isArray(msgs) ? msgs : [msgs]).map((m) => ({
      id: newId(),
      ...(this.clientId && m.channel !== '/meta/handshake' ? {clientId: this.clientId} : {}),
      ...m,
    }));
    this.ws.send(JSON.stringify(list));
    return list;
  }

  // Sends msgs and waits for the reply to the first one (matched by id).
  async request(msg, timeoutMs = 5000) {
    const [sent] = this.send(msg);
    return this.inbox.waitFor((m) => m.id === sent.id && m.channel === sent.channel, timeoutMs, `reply to ${sent.channel}`);
  }

  // Remembers the id of the latest /meta/connect sent: the one the server may be holding.
  _sendConnect() {
    const [m] = this.send({channel: '/meta/connect', connectionType: 'websocket'});
    this.lastConnectId = m.id;
  }

  // Handshake plus the first /meta/connect (answered at once by the server).
  async handshake(extra = {}) {
    const hs = await this.request({channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: ['websocket'], ...extra});
    if (!hs.successful) throw new Error(`ws handshake failed: ${JSON.stringify(hs)}`);
    this.clientId = hs.clientId;
    this.handshakeReply = hs;
    const before = this.inbox.items.length;
    this._sendConnect();
    const c = await this.inbox.waitFor((m) => m.channel === '/meta/connect' && this.inbox.items.indexOf(m) >= before, 5000, 'first connect reply');
    if (!c.successful) throw new Error(`ws first connect failed: ${JSON.stringify(c)}`);
    return hs;
  }

  subscribe(subscription, timeoutMs) {
    return this.request({channel: '/meta/subscribe', subscription}, timeoutMs);
  }

  unsubscribe(subscription, timeoutMs) {
    return this.request({channel: '/meta/unsubscribe', subscription}, timeoutMs);
  }

  publish(channel, data, extra = {}, timeoutMs) {
    return this.request({channel, data, ...extra}, timeoutMs);
  }

  // Data messages (not meta, not publish acks) received on channel (or on any channel).
  deliveries(channel) {
    return this.inbox.filter((m) => !m.channel?.startsWith('/meta/') && 'data' in m && (!channel || m.channel === channel));
  }

  waitDeliveries(pred, count, timeoutMs = 5000) {
    return this.inbox.waitForCount((m) => !m.channel?.startsWith('/meta/') && 'data' in m && pred(m), count, timeoutMs, 'deliveries');
  }

  async close() {
    this.closing = true;
    if (this.ws.readyState === WebSocket.OPEN && this.clientId) {
      try {
        this.send({channel: '/meta/disconnect'});
        await Promise.race([this.inbox.waitFor((m) => m.channel === '/meta/disconnect', 1000), this.closed]);
      } catch {
        /* best effort */
      }
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await Promise.race([this.closed, sleep(1000)]);
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

// Checks the gateway still serves: /healthz 200 and a websocket publish/subscribe round trip.
export async function assertServing(target, channel = '/healthcheck/roundtrip') {
  const res = await fetch(`${baseOf(target)}/healthz`, {signal: AbortSignal.timeout(3000)});
  await res.text();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  const a = await WsSession.open(target);
  const b = await WsSession.open(target);
  try {
    await a.handshake();
    await b.handshake();
    const s = await a.subscribe(channel);
    if (!s.successful) throw new Error(`bystander subscribe failed: ${JSON.stringify(s)}`);
    const token = `rt-${Date.now()}-${Math.random()}`;
    const p = await b.publish(channel, {token});
    if (!p.successful) throw new Error(`bystander publish failed: ${JSON.stringify(p)}`);
    await a.waitDeliveries((m) => m.channel === channel && m.data?.token === token, 1, 3000);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

// Reads a text/event-stream body, decoding UTF-8 as a stream; yields {comment} or {data} events.
export async function* sseEvents(body) {
  const decoder = new TextDecoder('utf-8', {fatal: true});
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, {stream: true});
    let idx;
    while ((idx = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + (buf[idx] === '\r' ? 4 : 2));
      const data = [];
      const comments = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) comments.push(line.slice(1));
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield {data: data.join('\n'), lines: data.length};
      else yield {comment: comments.join('\n')};
    }
  }
  buf += decoder.decode();
  if (buf.trim()) yield {trailing: buf};
}
