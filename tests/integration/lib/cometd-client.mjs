// The stock CometD JavaScript client (npm `cometd`) in Node, one cookie jar per client.
//
// cometd-nodejs-client's adapt() installs `window` with setTimeout, console and the `ws`
// WebSocket, and its XMLHttpRequest. That XMLHttpRequest has two traps for tests:
// every client in the process shares one cookie jar (server cookies are
// stored in a jar fixed at adapt() time; the per-transport `context.cookieStore` is only read,
// never written), and it appends each raw chunk to responseText on its own, which corrupts a
// UTF-8 character split across two reads. So after adapt() we install IsolatedXHR: the same
// minimal XMLHttpRequest contract CometD's LongPollingTransport uses, decoding the body as a
// stream (setEncoding) and taking its cookie jar from the transport context that
// LongPollingTransport copies into every XHR (`xhr.context = transport.context`).
import http from 'node:http';
import {adapt} from 'cometd-nodejs-client';
import {CometD} from 'cometd';
import {CookieJar, Inbox} from './raw.mjs';

const agent = new http.Agent({keepAlive: true});
const fallbackJar = new CookieJar();

export class IsolatedXHR {
  static UNSENT = 0;
  static OPENED = 1;
  static HEADERS_RECEIVED = 2;
  static LOADING = 3;
  static DONE = 4;

  constructor() {
    this.readyState = IsolatedXHR.UNSENT;
    this.responseText = '';
    this.status = 0;
    this.statusText = '';
    this.onload = null;
    this.onerror = null;
    this.onabort = null;
    this.context = null;
    this.withCredentials = false;
  }

  open(method, uri) {
    this._url = new URL(uri);
    this._method = method;
    this._headers = {};
    this.readyState = IsolatedXHR.OPENED;
  }

  setRequestHeader(name, value) {
    this._headers[name] = value;
  }

  send(body) {
    const jar = (this.context && this.context.jar) || fallbackJar;
    const headers = {...this._headers};
    const cookie = jar.header();
    if (cookie) headers.Cookie = headers.Cookie ? `${headers.Cookie}; ${cookie}` : cookie;
    let finished = false;
    const fail = (msg) => {
      if (finished) return;
      finished = true;
      this.readyState = IsolatedXHR.DONE;
      if (msg) this.statusText = msg;
      if (this.onerror) this.onerror();
    };
    this._req = http.request({
      hostname: this._url.hostname,
      port: this._url.port,
      path: this._url.pathname + this._url.search,
      method: this._method,
      headers,
      agent,
    }, (res) => {
      this.status = res.statusCode;
      this.statusText = res.statusMessage;
      this.readyState = IsolatedXHR.HEADERS_RECEIVED;
      jar.store(res.headers['set-cookie']);
      res.setEncoding('utf8'); // StringDecoder: multi-byte characters may span chunks
      res.on('data', (chunk) => {
        this.readyState = IsolatedXHR.LOADING;
        this.responseText += chunk;
      });
      res.on('end', () => {
        if (finished) return;
        finished = true;
        this.readyState = IsolatedXHR.DONE;
        if (this.onload) this.onload();
      });
      res.on('error', (e) => fail(e.message));
      res.on('close', () => fail(this.statusText || 'connection closed'));
    });
    this._req.on('error', (e) => fail(e.message));
    this._req.end(body);
  }

  abort() {
    if (this._req) {
      this._req.destroy();
      this.statusText = 'abort';
    }
  }
}

adapt();
window.XMLHttpRequest = IsolatedXHR;

// Creates a CometD client restricted to one transport ('websocket' or 'long-polling').
// jar: a CookieJar; clients created without one get their own (a distinct "browser").
export function makeCometD(url, {transport = 'websocket', jar = new CookieJar(), config = {}} = {}) {
  const cometd = new CometD();
  for (const t of cometd.getTransportTypes()) {
    if (t !== transport) cometd.unregisterTransport(t);
  }
  if (cometd.getTransportTypes().join() !== transport) {
    throw new Error(`cannot force transport ${transport}: have ${cometd.getTransportTypes()}`);
  }
  // maxSendBayeuxMessageSize: the client refuses to send more than 8 KiB by default.
  cometd.configure({url, logLevel: process.env.COMETD_LOG || 'warn', maxNetworkDelay: 5000, maxSendBayeuxMessageSize: 4 * 1024 * 1024, ...config});
  const lp = cometd.findTransport('long-polling');
  if (lp) lp.context = {jar};
  cometd.jar = jar;
  // Every /meta/connect reply, for tests that look at advice.
  cometd.connects = new Inbox();
  cometd.addListener('/meta/connect', (m) => cometd.connects.push(m));
  return cometd;
}

const brief = (x) => {
  const s = JSON.stringify(x);
  return s.length > 800 ? s.slice(0, 800) + '...' : s;
};

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

// Handshakes and waits for the first successful /meta/connect.
export function handshake(cometd, timeoutMs = 5000) {
  const connected = cometd.connects.waitFor((m) => m.successful === true, timeoutMs, 'first successful /meta/connect');
  const hs = new Promise((resolve, reject) => {
    cometd.handshake((reply) => (reply.successful ? resolve(reply) : reject(new Error(`handshake failed: ${brief(reply)}`))));
  });
  return withTimeout(Promise.all([hs, connected]).then(([r]) => r), timeoutMs, 'handshake');
}

// Subscribes; resolves with the subscription handle once the server acknowledged it.
// onMessage receives every message; the returned promise rejects on an unsuccessful reply.
export function subscribe(cometd, channel, onMessage, timeoutMs = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    const sub = cometd.subscribe(channel, onMessage, (reply) => {
      if (reply.successful) resolve(sub);
      else reject(Object.assign(new Error(`subscribe ${channel} failed: ${brief(reply)}`), {reply}));
    });
  }), timeoutMs, `subscribe ${channel}`);
}

export function unsubscribe(cometd, sub, timeoutMs = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    cometd.unsubscribe(sub, (reply) => (reply.successful ? resolve(reply) : reject(new Error(`unsubscribe failed: ${brief(reply)}`))));
  }), timeoutMs, 'unsubscribe');
}

export function publish(cometd, channel, data, timeoutMs = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    cometd.publish(channel, data, (reply) => (reply.successful ? resolve(reply) : reject(Object.assign(new Error(`publish ${channel} failed: ${brief(reply)}`), {reply}))));
  }), timeoutMs, `publish ${channel}`);
}

// Disconnects; resolves with the reply (or null when the server did not answer in time).
export function disconnect(cometd, timeoutMs = 3000) {
  if (cometd.isDisconnected()) return Promise.resolve(null);
  return withTimeout(new Promise((resolve) => cometd.disconnect((reply) => resolve(reply))), timeoutMs, 'disconnect').catch(() => null);
}

export {CometD, CookieJar};
