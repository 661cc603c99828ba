// Headless Debian Chromium through playwright-core, for the browser tests (label browser).
//
// launchBrowser(): a persistent context on a fresh user-data-dir,
// with TMPDIR pointing at a private folder; close() removes both. openPage() records page errors
// (uncaught exceptions and console.error) so that a test can fail on them. screenshot() writes
// $CG_BUILD_DIR/screenshots/NAME.png for a human to look at.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {REPO_ROOT, HOST, gatewayCommand, toYaml, sleep} from '../../integration/lib/gateway.mjs';

export const CHROMIUM = process.env.CG_CHROMIUM || '/usr/bin/chromium';
export const SOURCE_DIR = process.env.CG_SOURCE_DIR ? path.resolve(process.env.CG_SOURCE_DIR) : REPO_ROOT;
export const BUILD_DIR = path.resolve(REPO_ROOT, process.env.CG_BUILD_DIR || 'build');
export const SCREENSHOT_DIR = path.join(BUILD_DIR, 'screenshots');
export const TRANSPORTS = ['websocket', 'long-polling', 'callback-polling', 'http-streaming'];

// The pages import web/node_modules/cometd: a missing install is a set-up error, not a page bug.
export function checkWebDeps() {
  const p = path.join(SOURCE_DIR, 'web', 'node_modules', 'cometd', 'cometd.js');
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run \`npm ci --prefix web\` first`);
}

// A private folder for one test file: TMPDIR of the browser, its user-data-dirs, config files.
export function privateTmp(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cg-browser-${tag}-`));
}

export async function launchBrowser(tmp, name = 'profile') {
  checkWebDeps();
  const userDataDir = path.join(tmp, name);
  const tmpdir = path.join(tmp, 'tmp');
  fs.mkdirSync(userDataDir, {recursive: true});
  fs.mkdirSync(tmpdir, {recursive: true});
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: {...process.env, TMPDIR: tmpdir},
    viewport: {width: 1100, height: 760},
  });
  context.setDefaultTimeout(15000);
  return context;
}

// Opens url in a new page of context and records what went wrong in it:
// - page.errors: uncaught exceptions, console.error from the page's scripts, a crash;
// - page.httpErrors: every response with status >= 400 to a request of the page (and
//   Chromium's "Failed to load resource: the server responded with a status of N" lines);
// - page.netErrors: requests that failed below HTTP (refused, reset, aborted: net::ERR_...).
// assertNoPageErrors() fails on all three. A test that provokes network failures on purpose
// (the unreachable-gateway test) opens its pages with {allowNetErrors: (text) => bool}: the
// network failures it matches are expected, any other one still fails; HTTP errors always fail.
// setup(page) runs before navigation (to attach listeners that must see the first requests).
export async function openPage(context, url, setup = null, {allowNetErrors = null} = {}) {
  const page = await context.newPage();
  if (setup) setup(page);
  page.errors = [];
  page.httpErrors = [];
  page.netErrors = [];
  page.allowNetErrors = allowNetErrors;
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.stack || e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const where = m.location()?.url ? ` (${m.location().url})` : '';
    if (/the server responded with a status of \d+/.test(text)) page.httpErrors.push(`console: ${text}${where}`);
    else if (/Failed to load resource|net::ERR_/.test(text)) page.netErrors.push(`console: ${text}${where}`);
    else page.errors.push(`console.error: ${text}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) page.httpErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    page.netErrors.push(`request failed: ${r.failure()?.errorText ?? '?'} ${r.method()} ${r.url()}`);
  });
  page.on('crash', () => page.errors.push('page crashed'));
  // Not 'load': callback-polling's held /meta/connect is a JSONP <script>, and a page whose
  // first connect starts before the load event would not fire it until that poll returns.
  // A loaded 2-core CI machine starting several Chromium instances can be slow to commit a
  // navigation: allow 30 s and one more try before calling it a failure.
  try {
    await page.goto(url, {waitUntil: 'domcontentloaded', timeout: 30000});
  } catch (e) {
    if (e.name !== 'TimeoutError') throw e;
    await page.goto(url, {waitUntil: 'domcontentloaded', timeout: 30000});
  }
  return page;
}

// Network failures a page was not allowed to have. Closing a page or navigating away aborts
// its pending requests (a held long-poll, an event stream): net::ERR_ABORTED is never a fault.
function unexpectedNetErrors(p) {
  return p.netErrors.filter((e) => !/net::ERR_ABORTED/.test(e) && !(p.allowNetErrors && p.allowNetErrors(e)));
}

export function assertNoPageErrors(...pages) {
  const errors = pages.flatMap((p) => [...p.errors, ...p.httpErrors, ...unexpectedNetErrors(p)].map((e) => `${p.url()}: ${e}`));
  assert.deepEqual(errors, [], `page errors:\n${errors.join('\n')}`);
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, {recursive: true});
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}

// Waits until the attribute of the first element matching selector satisfies pred.
export async function waitAttr(page, selector, attr, pred, {timeout = 15000, what} = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await page.locator(selector).first().getAttribute(attr, {timeout: 1000}).catch(() => undefined);
    if (last !== undefined && last !== null && pred(last)) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what || `${selector}[${attr}]`}; last value ${JSON.stringify(last)}`);
}

export async function stats(gw) {
  const r = await fetch(`${gw.baseUrl}/stats`, {cache: 'no-store'});
  assert.equal(r.status, 200);
  return r.json();
}

export async function waitFor(fn, {timeout = 15000, what = "condition", interval = 100} = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// The gateway on a given port (the restart test needs the same origin twice); integration's
// startGateway() always picks a fresh port. Returns {port, baseUrl, kill(signal), stopped, log()}.
export async function startGatewayAt(port, config, tmp) {
  const {cmd} = gatewayCommand();
  const file = path.join(tmp, `gateway-${port}.yaml`);
  fs.writeFileSync(file, toYaml(config));
  const proc = spawn(cmd, ['--listen', `${HOST}:${port}`, '-c', file], {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({code, signal})));
  let done = false;
  exited.then(() => (done = true));
  const gw = {
    port,
    baseUrl: `http://${HOST}:${port}`,
    log: () => log,
    running: () => !done,
    describe: () => `--- gateway log (tail) ---\n${log.slice(-4000)}\n--- end ---`,
    async kill(signal = 'SIGKILL') {
      if (!done) proc.kill(signal);
      return exited;
    },
    // SIGTERM, and a clean exit (code 0) within timeoutMs; SIGKILL otherwise.
    async stop(timeoutMs = 3000) {
      if (done) return exited;
      proc.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(timeoutMs).then(() => null)]);
      if (!r) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`gateway did not exit within ${timeoutMs} ms of SIGTERM\n${gw.describe()}`);
      }
      if (r.code !== 0) throw new Error(`gateway exited ${JSON.stringify(r)} after SIGTERM\n${gw.describe()}`);
      return r;
    },
  };
  await waitFor(async () => {
    if (done) throw new Error(`gateway exited at start-up:\n${log}`);
    const r = await fetch(`${gw.baseUrl}/healthz`, {signal: AbortSignal.timeout(500)});
    await r.text();
    return r.status === 200;
  }, {timeout: 10000, what: `gateway healthy on port ${port}`});
  return gw;
}

// Demo feed at 100 ms for speed; short long-poll holds so that a closed page's session is
// noticed quickly.
export function browserConfig(extra = {}) {
  return {
    static_dir: path.join(SOURCE_DIR, 'web'),
    bayeux: {timeout_ms: 5000, max_interval_ms: 5000},
    demo: {enabled: true, interval_ms: 100},
    ...extra,
  };
}

// For after() hooks: runs every step even when an earlier one throws (a left-over broker or
// gateway child would keep the test process alive), then rethrows the first error.
export async function cleanup(...steps) {
  let first;
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}
