// The command line: --version, --help, bad arguments, --check-config, and binding exactly the
// address asked for (with IPv6 on, lws 4.1 binds every address for an IPv4 iface).
import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {spawnSync} from 'node:child_process';
import {startGateway, gatewayCommand, testConfig, assertNoSanitizerReport} from './lib/gateway.mjs';

const {cmd} = gatewayCommand();
// Every short-lived run, like every gateway stopped with stop(), must be free of sanitizer reports.
const run = (...args) => {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 10000});
  assertNoSanitizerReport(r.stderr, `cometgate ${args.join(' ')}`);
  return r;
};
const gateways = [];
after(async () => {
  for (const g of gateways) await g.kill();
});

function connects(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({host, port});
    s.setTimeout(2000);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

test('--version and --help exit 0; unknown options and arguments exit 2 with usage', () => {
  const v = run('--version');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^cometgate \d+\.\d+\.\d+/);
  const h = run('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--check-config/);
  const bad = run('--frobnicate');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /usage: cometgate/);
  assert.equal(run('extra-arg').status, 2);
  const listen = run('--listen', 'nowhere', '--check-config');
  assert.equal(listen.status, 2);
  assert.match(listen.stderr, /not HOST:PORT/);
});

test('--check-config prints the effective built-in config, or every problem as file:line: key', () => {
  const ok = run('--check-config');
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /listen: "127\.0\.0\.1:8080"/);
  assert.match(ok.stdout, /timeout_ms: 30000/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-cli-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'bayeux:\n  timeout_ms: soon\nlimits:\n  max_body: 0\ncolour: red\n');
  const bad = run('--check-config', '-c', file);
  assert.equal(bad.status, 2);
  assert.ok(bad.stderr.includes(`${file}:2: bayeux.timeout_ms: 'soon' is not a duration`), bad.stderr);
  assert.ok(bad.stderr.includes(`${file}:4: limits.max_body: 0 is out of range`), bad.stderr);
  assert.ok(bad.stderr.includes(`${file}:5: colour: unknown key`), bad.stderr);
  const missing = run('-c', path.join(dir, 'nope.yaml'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot open/);
});

test('--check-config takes sizes with k/m/g and durations with ms/s/m/h, and prints them as numbers', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-cli-'));
  const file = path.join(dir, 'units.yaml');
  fs.writeFileSync(file, 'stats_interval_ms: 2s\nbayeux:\n  timeout_ms: 45s\n  ws_ping_s: 1m\n' +
    'limits:\n  max_body: 64k\n  max_ws_message: 2m\n  body_timeout_ms: 250ms\nhandoff:\n  max_bytes: 1g\n');
  const ok = run('--check-config', '-c', file);
  assert.equal(ok.status, 0, ok.stderr);
  for (const line of ['stats_interval_ms: 2000', 'timeout_ms: 45000', 'ws_ping_s: 60', 'max_body: 65536',
    'max_ws_message: 2097152', 'body_timeout_ms: 250', 'max_bytes: 1073741824'])
    assert.match(ok.stdout, new RegExp(`^\\s*${line}\\b`, 'm'), line);
  fs.writeFileSync(file, 'bootstrap.servers: "h:9092"\nbus:\n  max_messages: 5\n');
  const bad = run('--check-config', '-c', file);
  assert.equal(bad.status, 2);
  assert.ok(bad.stderr.includes(`${file}:1: bootstrap.servers: unknown key (a librdkafka property goes under kafka.client:`), bad.stderr);
  assert.ok(bad.stderr.includes(`${file}:2: bus: deprecated name, use handoff`), bad.stderr);
  fs.rmSync(dir, {recursive: true, force: true});
});

test('--listen 127.0.0.1:PORT binds that address only, not every interface', async () => {
  const gw = await startGateway({config: testConfig()});
  gateways.push(gw);
  assert.equal(await connects('127.0.0.1', gw.port), true);
  // 127.0.0.2 is loopback too: a wildcard bind would accept it
  assert.equal(await connects('127.0.0.2', gw.port), false, 'not listening on 127.0.0.2');
  assert.equal(await connects('::1', gw.port), false, 'not listening on ::1');
  await gw.stop();
});
