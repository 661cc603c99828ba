// docker/: no Docker engine runs here, so this checks what can be checked without one: the
// compose file parses and wires the services together, every config it mounts passes
// `cometgate --check-config`, the Dockerfile's build-stage compile step (its `RUN scripts/build.sh`
// line, executed as written on a copy of the build context) yields a working binary, and every
// Debian package the images install exists. Not run: `docker build` itself, the apt-get steps
// (the packages are checked with apt-cache instead), `npm ci` (needs the network), and the
// compose stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, cpSync, rmSync } from 'node:fs';
import os from 'node:os';
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

// The build context as `COPY . .` sees it: the source tree minus .dockerignore. Only the
// pattern forms .dockerignore uses are understood (DIR/, PREFIX-*/, **/NAME/); anything else
// fails the test rather than being copied wrongly.
function copyBuildContext(dest) {
  const rules = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#')).map((l) => {
      let m;
      if ((m = /^\*\*\/([\w.-]+)\/$/.exec(l))) return (rel, base) => base === m[1];
      if ((m = /^([\w.-]+)-\*\/$/.exec(l))) return (rel) => !rel.includes('/') && rel.startsWith(m[1] + '-');
      if ((m = /^([\w.-]+)\/$/.exec(l))) return (rel) => rel === m[1];
      throw new Error(`.dockerignore pattern this test does not understand: ${l}`);
    });
  cpSync(root, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src);
      return rel === '' || !rules.some((r) => r(rel, path.basename(rel)));
    },
  });
}

test('the Dockerfile\'s build-stage compile step runs as written on a copy of the build context and yields a working binary', () => {
  const df = readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');
  const ci = readFileSync(path.join(root, 'scripts/test.sh'), 'utf8');
  const buildStage = df.split(/^FROM /m).find((st) => st.startsWith('debian:12 AS build'));
  assert.ok(buildStage, 'a build stage FROM debian:12 AS build');
  assert.match(buildStage, /^WORKDIR \/src$/m);
  assert.match(buildStage, /^COPY \. \.$/m);
  const runs = [...buildStage.matchAll(/^RUN (scripts\/build\.sh[^\n]*)$/gm)].map((m) => m[1]);
  assert.equal(runs.length, 1, 'one build step, through scripts/build.sh');
  assert.match(ci, /^scripts\/build\.sh build$/m, 'CI builds through scripts/build.sh too');
  // multi-stage, Debian 12, non-root, health check on /healthz
  assert.match(df, /^FROM debian:12-slim$/m);
  assert.match(df, /^USER cometgate$/m);
  assert.match(df, /HEALTHCHECK[\s\S]*\/healthz/);
  const copied = /^COPY --from=build \/src\/(\S+) \/usr\/local\/bin\/cometgate$/m.exec(df);
  assert.ok(copied, 'the runtime stage copies the binary from the build stage');

  // Run the step: WORKDIR /src is the copied context; the command line is the Dockerfile's.
  const src = mkdtempSync(path.join(os.tmpdir(), 'cg-docker-src-'));
  try {
    copyBuildContext(src);
    assert.ok(!existsSync(path.join(src, 'build')), 'build/ is not part of the context');
    const r = spawnSync('sh', ['-c', runs[0]], { cwd: src, encoding: 'utf8', timeout: 280000 });
    assert.equal(r.status, 0, `${runs[0]} failed (${r.signal ?? ''}):\n${(r.stdout + r.stderr).slice(-3000)}`);
    const built = path.join(src, copied[1]);
    assert.ok(existsSync(built), `${copied[1]} (what the runtime stage copies) was built`);
    const v = spawnSync(built, ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^cometgate \d+\.\d+\.\d+/);
    // The image's default config loads in the binary the image would ship.
    const c = spawnSync(built, ['--check-config', '-c', path.join(src, 'docker', 'cometgate.yaml')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
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
