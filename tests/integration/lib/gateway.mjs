// Starts and stops the real gateway binary for integration tests.
//
// startGateway({config}) spawns `cometgate --listen 127.0.0.1:PORT [-c FILE]` on a free port,
// waits for /healthz, and returns a handle; handle.stop() sends SIGTERM and asserts exit code 0
// within 3 s. COMETGATE_BIN picks the binary (default build/cometgate under the repo root);
// COMETGATE_BIN=faye runs lib/faye-server.mjs instead, a Faye peer used to check the
// protocol-generic tests (gateway-specific checks are expected to fail against it).
import {test, before, after} from 'node:test';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const HOST = '127.0.0.1';

export function gatewayCommand() {
  const bin = process.env.COMETGATE_BIN || 'build/cometgate';
  if (bin === 'faye') return {cmd: process.execPath, args: [path.join(here, 'faye-server.mjs')], faye: true};
  return {cmd: path.resolve(REPO_ROOT, bin), args: [], faye: false};
}

export const isFaye = () => gatewayCommand().faye;

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Minimal YAML writer for nested maps of scalars (all the gateway config needs).
export function toYaml(obj, indent = '') {
  let out = '';
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out += `${indent}${k}:\n${toYaml(v, indent + '  ')}`;
    } else if (Array.isArray(v)) {
      out += `${indent}${k}: [${v.map((x) => JSON.stringify(x)).join(', ')}]\n`;
    } else {
      out += `${indent}${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}\n`;
    }
  }
  return out;
}

// The first line of a sanitizer report (ASan, LSan, UBSan) in a gateway's stderr, or null.
// UBSan without halt_on_error reports and carries on, and LeakSanitizer reports at exit: the
// exit code alone does not show them.
const SANITIZER_RE = /^.*(?:ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer|MemorySanitizer).*$/m;
export function sanitizerReport(text) {
  const m = SANITIZER_RE.exec(text ?? '');
  return m ? m[0] : null;
}

// Throws when text (a gateway's stderr) holds a sanitizer report.
export function assertNoSanitizerReport(text, what = 'gateway') {
  const line = sanitizerReport(text);
  if (line) {
    const at = text.indexOf(line);
    throw new Error(`${what}: sanitizer report in stderr: ${line}\n${text.slice(Math.max(0, at - 200), at + 3000)}`);
  }
}

function tail(s, n = 4000) {
  return s.length > n ? '...' + s.slice(-n) : s;
}

class Gateway {
  constructor(proc, port, tmpdir) {
    this.proc = proc;
    this.port = port;
    this.host = HOST;
    this.baseUrl = `http://${HOST}:${port}`;
    this.cometdUrl = `${this.baseUrl}/cometd`;
    this.wsUrl = `ws://${HOST}:${port}/cometd`;
    this.tmpdir = tmpdir;
    this._stderr = '';
    this._stdout = '';
    proc.stderr.setEncoding('utf8');
    proc.stdout.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      this._stderr += d;
      if (process.env.COMETGATE_VERBOSE) process.stderr.write(d);
    });
    proc.stdout.on('data', (d) => (this._stdout += d));
    // 'close', not 'exit': it comes after stderr has been read to its end, so stop() sees a
    // sanitizer report written at exit.
    this.exited = new Promise((resolve) => {
      proc.on('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({code, signal});
      });
    });
  }

  stderr() {
    return this._stderr;
  }

  stdout() {
    return this._stdout;
  }

  running() {
    return this.exitCode === undefined && this.exitSignal === undefined;
  }

  // Sends SIGTERM and asserts a clean exit within timeoutMs: code 0 and no sanitizer report
  // anywhere in its stderr.
  async stop({timeoutMs = 3000} = {}) {
    if (!this.running()) {
      const {code, signal} = await this.exited;
      this._cleanup();
      if (code !== 0) throw new Error(`gateway had already exited (code ${code}, signal ${signal})\n${this.describe()}`);
      assertNoSanitizerReport(this._stderr);
      return {code, signal, ms: 0};
    }
    const t0 = Date.now();
    this.proc.kill('SIGTERM');
    const timer = sleep(timeoutMs).then(() => 'timeout');
    const r = await Promise.race([this.exited, timer]);
    const ms = Date.now() - t0;
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
      this._cleanup();
      throw new Error(`gateway did not exit within ${timeoutMs} ms of SIGTERM\n${this.describe()}`);
    }
    this._cleanup();
    if (r.code !== 0) {
      throw new Error(`gateway exited with code ${r.code} signal ${r.signal} after SIGTERM\n${this.describe()}`);
    }
    assertNoSanitizerReport(this._stderr);
    return {...r, ms};
  }

  // For after() hooks only, as a safety net behind stop(): never leaves a process behind, even
  // when a test already failed. It asserts nothing; a test that ends with kill() alone never
  // checks the gateway's exit.
  async kill() {
    if (this.running()) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    this._cleanup();
  }

  describe() {
    return `--- gateway stderr (tail) ---\n${tail(this._stderr)}\n--- end ---`;
  }

  _cleanup() {
    if (this.tmpdir) {
      fs.rmSync(this.tmpdir, {recursive: true, force: true});
      this.tmpdir = null;
    }
  }
}

async function waitHealthy(gw, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (!gw.running()) {
      throw new Error(`gateway exited during start-up (code ${gw.exitCode}, signal ${gw.exitSignal})\n${gw.describe()}`);
    }
    try {
      const res = await fetch(`${gw.baseUrl}/healthz`, {signal: AbortSignal.timeout(500)});
      await res.text();
      if (res.status === 200) return;
      lastErr = new Error(`/healthz answered ${res.status}`);
    } catch (e) {
      lastErr = e;
    }
    await sleep(50);
  }
  throw new Error(`gateway not healthy after ${deadlineMs} ms: ${lastErr?.message}\n${gw.describe()}`);
}

// config: object written as YAML and passed with -c; null/undefined → built-in config (no -c).
export async function startGateway({config = undefined, args = [], env = {}} = {}) {
  const {cmd, args: baseArgs, faye} = gatewayCommand();
  if (!faye && !fs.existsSync(cmd)) {
    throw new Error(`gateway binary not found: ${cmd} (build it, or set COMETGATE_BIN)`);
  }
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let tmpdir = null;
    const argv = [...baseArgs, '--listen', `${HOST}:${port}`];
    if (config) {
      tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cometgate-it-'));
      const file = path.join(tmpdir, 'cometgate.yaml');
      fs.writeFileSync(file, toYaml(config));
      fs.writeFileSync(path.join(tmpdir, 'cometgate.json'), JSON.stringify(config));
      argv.push('-c', file);
    }
    argv.push(...args);
    const proc = spawn(cmd, argv, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}});
    const gw = new Gateway(proc, port, tmpdir);
    proc.on('error', (e) => (gw._stderr += `spawn error: ${e.message}\n`));
    try {
      await waitHealthy(gw, 10000);
      return gw;
    } catch (e) {
      lastErr = e;
      await gw.kill();
      // Another process may have taken the port between freePort() and bind: retry.
      if (!/address already in use|EADDRINUSE|bind/i.test(gw.stderr())) break;
    }
  }
  throw lastErr;
}

// A config with the demo feed off and short waits, for tests that count messages.
export function testConfig(overrides = {}) {
  const base = {
    bayeux: {timeout_ms: 3000, interval_ms: 0, max_interval_ms: 10000, multiple_clients_interval_ms: 2000},
    demo: {enabled: false},
  };
  return deepMerge(base, overrides);
}

function deepMerge(a, b) {
  const out = {...a};
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? deepMerge(a[k], v) : v;
  }
  return out;
}

// Wraps a test body so that a failure carries the tail of the gateway's stderr.
export function withLog(getGw, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const gw = typeof getGw === 'function' ? getGw() : getGw;
      if (gw && e && typeof e === 'object') {
        try {
          e.message = `${e.message}\n${gw.describe()}`;
        } catch {
          /* read-only message */
        }
      }
      throw e;
    }
  };
}

// clientId format from docs/protocol.md; relaxed only for the Faye stand-in (its ids are longer).
export const CLIENT_ID_RE = isFaye() ? /^[a-z0-9]+$/ : /^[A-Za-z0-9_-]{24}$/;

// One gateway for a whole test file: started (with `startArgs`, as for startGateway) before the
// first test and stopped after the last; `onStart` receives it. Returns `t`, a test() whose
// failures carry the tail of that gateway's log.
export function gatewayForFile(startArgs, onStart) {
  let gw;
  before(async () => {
    gw = await startGateway(startArgs);
    onStart(gw);
  });
  after(async () => {
    await gw?.stop();
  });
  return (name, fn) => test(name, withLog(() => gw, fn));
}

// Runs fn(gw) against a gateway of its own, then stops it (exit 0, no sanitizer report).
export async function withGateway(config, fn) {
  const gw = await startGateway({config});
  try {
    await withLog(gw, () => fn(gw))();
    await gw.stop();
  } finally {
    await gw.kill();
  }
}

// Safety nets for tests that may fail half-way: cleanup.push(fn) registers a step (kill a
// gateway, stop a mock cluster); every step runs after the file's tests, last first, and the
// first error is rethrown, not swallowed. A test that passes has already stopped its gateway.
export function cleanupList() {
  const cleanups = [];
  after(async () => {
    let first;
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  });
  return cleanups;
}
