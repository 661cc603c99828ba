// Helpers for the hostile-network tests (13-hostile-http, 14-fairness, 15-shutdown-held):
// a raw HTTP/1.1 client over node:net that sees exactly the bytes the gateway sends (pipelined
// responses, bodies of HEAD answers, when the server closes), plus a few /proc readers to look at
// the gateway process from outside (CPU time, which sockets it still holds).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import {HOST, sleep} from './gateway.mjs';

const CRLF = '\r\n';

// A handshake message list as a JSON string (a valid long-polling handshake body).
export function handshakeBody(extra = {}) {
  return JSON.stringify([{
    id: String(Math.floor(Math.random() * 1e9)),
    channel: '/meta/handshake',
    version: '1.0',
    minimumVersion: '1.0',
    supportedConnectionTypes: ['long-polling', 'websocket'],
    ...extra,
  }]);
}

// The bytes of one HTTP/1.1 request. body: string/Buffer (Content-Length added unless
// headers already carry a Content-Length or Transfer-Encoding, or opts.noLength).
export function httpRequestBytes(method, path, {headers = {}, body = null, noLength = false} = {}) {
  const h = {Host: `${HOST}`, ...headers};
  const names = Object.keys(h).map((k) => k.toLowerCase());
  const b = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (b && !noLength && !names.includes('content-length') && !names.includes('transfer-encoding')) {
    h['Content-Length'] = String(b.length);
  }
  let head = `${method} ${path} HTTP/1.1${CRLF}`;
  for (const [k, v] of Object.entries(h)) {
    for (const one of Array.isArray(v) ? v : [v]) head += `${k}: ${one}${CRLF}`;
  }
  head += CRLF;
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}

export const postCometdBytes = (body, headers = {}) =>
  httpRequestBytes('POST', '/cometd', {headers: {'Content-Type': 'application/json', ...headers}, body});

// One raw TCP connection speaking HTTP/1.1. Every response the server sends is parsed in order
// (status, headers, body by Content-Length / chunked / until close) and queued; next() takes
// them one by one. The parser has to know which responses answer HEAD requests (no body):
// request()/write() record the method of each request written.
export class RawHttp {
  constructor(port, {host = HOST, localAddress} = {}) {
    this.port = port;
    this.sock = net.connect({port, host, ...(localAddress ? {localAddress} : {})});
    this.sock.setNoDelay(true);
    this.buf = Buffer.alloc(0);
    this.methods = []; // methods of requests written and not yet answered
    this.responses = [];
    this.waiters = [];
    this.ended = false; // the server sent FIN
    this.closedAt = null;
    this.error = null;
    this.received = 0; // total bytes received
    this.connected = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('error', (e) => (this.error = e));
    this.sock.on('data', (d) => {
      this.received += d.length;
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this._parse(false);
    });
    this.sock.on('end', () => {
      this.ended = true;
      this.endedAt = Date.now();
    });
    this.closed = new Promise((resolve) => {
      this.sock.once('close', (hadError) => {
        this.closedAt = Date.now();
        this._parse(true);
        resolve({at: this.closedAt, hadError, ended: this.ended});
        this._wake();
      });
    });
  }

  static async open(port, opts) {
    const c = new RawHttp(port, opts);
    await c.connected;
    return c;
  }

  get localPort() {
    return this.sock.localPort;
  }

  // Writes raw bytes; methods lists the request methods they contain, in order.
  write(bytes, methods = []) {
    this.methods.push(...methods);
    return new Promise((resolve, reject) => this.sock.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  request(method, path, opts = {}) {
    return this.write(httpRequestBytes(method, path, opts), [method]);
  }

  // Resolves with the next complete response; rejects after timeoutMs, or when the connection
  // closed without one.
  next(timeoutMs = 5000, what = 'response') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          if (this.responses.length) {
            done();
            resolve(this.responses.shift());
          } else if (this.closedAt !== null) {
            done();
            reject(new Error(`connection closed before the ${what} (unparsed bytes: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))})`));
          }
        },
      };
      const done = () => {
        clearTimeout(w.timer);
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      w.timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms (received ${this.received} bytes; unparsed: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))})`));
      }, timeoutMs);
      this.waiters.push(w);
      w.check();
    });
  }

  // Resolves true when the server closes the connection within timeoutMs, else false.
  async closedWithin(timeoutMs) {
    const r = await Promise.race([this.closed, sleep(timeoutMs).then(() => null)]);
    return r !== null;
  }

  // Bytes received but not part of any complete response.
  unparsed() {
    return this.buf;
  }

  destroy() {
    this.sock.destroy();
  }

  _wake() {
    for (const w of [...this.waiters]) w.check();
  }

  _parse(atClose) {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = this.buf.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
      if (!m) {
        // Not a status line: garbage where a response should start (e.g. a body sent for HEAD).
        this.garbage = this.buf.toString('latin1');
        break;
      }
      const status = Number(m[2]);
      const headers = new Map();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i <= 0) continue;
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        if (!headers.has(k)) headers.set(k, []);
        headers.get(k).push(v);
      }
      const hdr = (k) => (headers.has(k) ? headers.get(k).join(', ') : undefined);
      let pos = end + 4;
      if (status >= 100 && status < 200) {
        this.buf = this.buf.subarray(pos);
        continue;
      }
      const method = this.methods[0];
      let body;
      const te = hdr('transfer-encoding');
      const cl = hdr('content-length');
      if (method === 'HEAD' || status === 204 || status === 304) {
        body = Buffer.alloc(0);
      } else if (te && /chunked/i.test(te)) {
        const parts = [];
        let p = pos;
        let complete = false;
        for (;;) {
          const le = this.buf.indexOf('\r\n', p);
          if (le < 0) break;
          const size = parseInt(this.buf.subarray(p, le).toString('latin1'), 16);
          if (Number.isNaN(size)) {
            complete = true;
            break;
          }
          if (size === 0) {
            const te2 = this.buf.indexOf('\r\n\r\n', le);
            const simple = this.buf.length >= le + 4 && this.buf.subarray(le, le + 4).toString('latin1') === '\r\n\r\n';
            if (simple) {
              p = le + 4;
              complete = true;
            } else if (te2 >= 0) {
              p = te2 + 4;
              complete = true;
            }
            break;
          }
          if (this.buf.length < le + 2 + size + 2) break;
          parts.push(this.buf.subarray(le + 2, le + 2 + size));
          p = le + 2 + size + 2;
        }
        if (!complete) {
          if (!atClose) break;
          body = Buffer.concat(parts);
          pos = this.buf.length;
          this._push({status, headers, hdr, body, method, truncated: true});
          this.buf = Buffer.alloc(0);
          break;
        }
        body = Buffer.concat(parts);
        pos = p;
      } else if (cl !== undefined) {
        const n = Number(cl);
        if (this.buf.length < pos + n) {
          if (!atClose) break;
          this._push({status, headers, hdr, body: this.buf.subarray(pos), method, truncated: true});
          this.buf = Buffer.alloc(0);
          break;
        }
        body = this.buf.subarray(pos, pos + n);
        pos += n;
      } else {
        // Delimited by the close.
        if (!atClose) break;
        body = this.buf.subarray(pos);
        pos = this.buf.length;
      }
      this._push({status, headers, hdr, body, method});
      this.buf = this.buf.subarray(pos);
    }
    this._wake();
  }

  _push({status, headers, hdr, body, method, truncated = false}) {
    this.methods.shift();
    const text = body.toString('utf8');
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    this.responses.push({status, headers, header: hdr, body, text, json, method, truncated, at: Date.now()});
  }
}

// One request on a fresh connection; resolves with the response and the connection.
export async function rawRequest(port, method, path, opts = {}, {timeoutMs = 5000, localAddress} = {}) {
  const c = await RawHttp.open(port, {localAddress});
  try {
    await c.request(method, path, opts);
    const r = await c.next(timeoutMs, `${method} ${path} response`);
    return {...r, conn: c};
  } catch (e) {
    c.destroy();
    throw e;
  }
}

// node:http request, optionally from a given local address; resolves {status, headers, text, json}.
export function httpRequest(port, {method = 'GET', path = '/', headers = {}, body = null, localAddress, timeoutMs = 5000} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: HOST, port, method, path, headers, localAddress, agent: false, timeout: timeoutMs}, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({status: res.statusCode, headers: res.headers, text, json});
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body != null) req.write(body);
    req.end();
  });
}

// POSTs Bayeux messages from localAddress; resolves {status, text, json}.
export function postBayeuxFrom(port, msgs, {localAddress, headers = {}, timeoutMs = 10000} = {}) {
  const body = typeof msgs === 'string' ? msgs : JSON.stringify(msgs);
  return httpRequest(port, {
    method: 'POST',
    path: '/cometd',
    headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers},
    body,
    localAddress,
    timeoutMs,
  });
}

export async function getStats(gw) {
  const res = await fetch(`${gw.baseUrl}/stats`, {signal: AbortSignal.timeout(3000)});
  return res.json();
}

// utime+stime of a process in seconds (/proc/PID/stat, clock ticks of 1/100 s).
export function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(f[11]) + Number(f[12])) / 100;
}

// CPU seconds the process uses over an idle window of ms.
export async function cpuOver(pid, ms = 1000) {
  const a = cpuSeconds(pid);
  await sleep(ms);
  return cpuSeconds(pid) - a;
}

const hexPort = (p) => p.toString(16).toUpperCase().padStart(4, '0');

// Whether process pid still has an open file descriptor for the server side of the TCP
// connection serverPort <-> clientPort on loopback. False once the server has close()d it, even
// while the kernel still holds the socket (FIN_WAIT with unread data).
export function serverHoldsConnection(pid, serverPort, clientPort) {
  const rows = fs.readFileSync('/proc/net/tcp', 'latin1').split('\n').slice(1);
  const sp = hexPort(serverPort);
  const cp = hexPort(clientPort);
  const inodes = new Set();
  for (const row of rows) {
    const f = row.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [, local, remote] = f;
    if (local.endsWith(':' + sp) && remote.endsWith(':' + cp) && f[9] !== '0') inodes.add(f[9]);
  }
  if (!inodes.size) return false;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1])) return true;
  }
  return false;
}

// Polls fn until it returns a truthy value; resolves it, or null after timeoutMs.
export async function pollUntil(fn, timeoutMs, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) return null;
    await sleep(everyMs);
  }
}
