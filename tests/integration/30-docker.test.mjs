// docker/: no Docker engine runs here, so this checks what can be checked without one: the
// compose file parses and wires the services together, every config it mounts passes
// `cometgate --check-config`, the Dockerfile builds with the same command CI uses, and every
// Debian package the images install exists. The compose stack itself is not run by CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = process.env.CG_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.resolve(root, process.env.COMETGATE_BIN || 'build/cometgate');
const dockerDir = path.join(root, 'docker');
const compose = YAML.parse(readFileSync(path.join(dockerDir, 'docker-compose.yml'), 'utf8'));

test('compose file defines kafka (KRaft), mosquitto, cometgate and a producer', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['cometgate', 'kafka', 'mosquitto', 'producer']);
  assert.match(s.kafka.image, /^apache\/kafka:/);
  assert.equal(s.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller', 'KRaft mode');
  assert.match(s.mosquitto.image, /^eclipse-mosquitto:/);
  assert.equal(s.cometgate.build.dockerfile, 'docker/Dockerfile');
  assert.ok(s.cometgate.ports.includes('8080:8080'));
  assert.equal(s.cometgate.depends_on.kafka.condition, 'service_healthy');
  // every bind-mounted file exists
  for (const [name, svc] of Object.entries(s)) {
    for (const v of svc.volumes || []) {
      const src = v.split(':')[0];
      assert.ok(existsSync(path.join(dockerDir, src)), `${name}: ${src} exists`);
    }
  }
});

test('every cometgate config the stack mounts passes --check-config and routes both buses', () => {
  const svc = compose.services.cometgate;
  const mounted = svc.volumes.map((v) => v.split(':')).filter(([, dst]) => dst.endsWith('.yaml'));
  assert.ok(mounted.length >= 1);
  for (const [src, dst] of mounted) {
    assert.ok(svc.command.includes(dst), `the command uses ${dst}`);
    const file = path.join(dockerDir, src);
    const r = spawnSync(bin, ['--check-config', '-c', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${src}: ${r.stderr}`);
    assert.match(r.stdout, /kafka/);
    assert.match(r.stdout, /mqtt/);
    const cfg = YAML.parse(readFileSync(file, 'utf8'));
    assert.ok(cfg.routes.some((x) => x.kafka), 'a Kafka topic is routed');
    assert.ok(cfg.routes.some((x) => x.mqtt), 'an MQTT tree is routed');
    // the brokers it names are the compose services
    assert.match(cfg.kafka.bootstrap_servers, /^kafka:9092$/);
    assert.match(cfg.mqtt.uri, /mosquitto:1883/);
  }
  // the image's default config is the same file
  const df = readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');
  assert.match(df, /COPY docker\/cometgate\.yaml \/etc\/cometgate\/cometgate\.yaml/);
});

test('the Dockerfile builds with the build command CI runs', () => {
  const df = readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');
  const ci = readFileSync(path.join(root, 'scripts/test.sh'), 'utf8');
  const runs = [...df.matchAll(/^RUN (scripts\/build\.sh[^\n]*)$/gm)].map((m) => m[1]);
  assert.equal(runs.length, 1, 'one build step, through scripts/build.sh');
  assert.match(ci, /^scripts\/build\.sh build$/m, 'CI builds through scripts/build.sh too');
  // multi-stage, Debian 12, non-root, health check on /healthz
  assert.match(df, /^FROM debian:12 AS build$/m);
  assert.match(df, /^FROM debian:12-slim$/m);
  assert.match(df, /^USER cometgate$/m);
  assert.match(df, /HEALTHCHECK[\s\S]*\/healthz/);
});

test('the Debian packages both images install exist, and the build stage matches deps.sh', () => {
  const pkgs = new Set();
  for (const f of ['Dockerfile', 'producer.Dockerfile']) {
    const df = readFileSync(path.join(dockerDir, f), 'utf8');
    // "apt-get install [flags] pkg pkg \ ... &&": every word that is not a flag
    for (const m of df.matchAll(/apt-get install([^&]*)&&/g)) {
      for (const w of m[1].replace(/\\\n/g, ' ').split(/\s+/)) {
        if (/^[a-z0-9][a-z0-9.+-]+$/.test(w)) pkgs.add(w);
      }
    }
  }
  assert.ok(pkgs.has('libwebsockets17') && pkgs.has('librdkafka-dev') && pkgs.has('kcat'), [...pkgs].join(' '));
  const r = spawnSync('apt-cache', ['show', '--no-all-versions', ...pkgs], { encoding: 'utf8' });
  const found = new Set([...r.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
  const missing = [...pkgs].filter((p) => !found.has(p));
  assert.deepEqual(missing, [], `apt-cache knows every package (${r.stderr.trim()})`);
  const deps = readFileSync(path.join(root, 'scripts/deps.sh'), 'utf8');
  for (const p of ['libwebsockets-dev', 'librdkafka-dev', 'libpaho-mqtt-dev', 'libmsgpack-dev', 'libev-dev']) {
    assert.ok(pkgs.has(p) && deps.includes(p), `${p} in both the image and deps.sh`);
  }
});

test('the producer script is valid shell and publishes to what the config routes', () => {
  execFileSync('sh', ['-n', path.join(dockerDir, 'producer.sh')]);
  const sh = readFileSync(path.join(dockerDir, 'producer.sh'), 'utf8');
  assert.match(sh, /kcat -P -b "\$KAFKA" -t prices/);
  assert.match(sh, /sensors\/site1\/\$dev\/temperature/);
});
