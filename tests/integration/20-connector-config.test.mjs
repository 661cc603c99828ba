// Connector configuration (issue #3 part 1): examples validate against schemas/config.schema.json
// and load; --check-config prints the effective routes; bad configs name every error as
// file:line: key: problem.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import YAML from 'yaml';
import {REPO_ROOT, gatewayCommand, assertNoSanitizerReport} from './lib/gateway.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const ajv = new Ajv2020({allErrors: true, strict: false});
const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/config.schema.json'), 'utf8'));
const validate = ajv.compile(schema);
const bin = gatewayCommand().cmd;

function check(file) {
  const r = spawnSync(bin, ['-c', file, '--check-config'], {encoding: 'utf8', timeout: 10000});
  assertNoSanitizerReport(r.stderr, `cometgate --check-config -c ${file}`);
  return r;
}

function writeConfig(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-cfg-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, text);
  return file;
}

// Every YAML config in the repository meant as an example.
function exampleConfigs() {
  const out = [];
  for (const dir of ['examples', 'docker', 'docs']) {
    const d = path.join(REPO_ROOT, dir);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d, {recursive: true})) {
      if (!/\.ya?ml$/.test(f) || /compose/.test(f)) continue;
      const text = fs.readFileSync(path.join(d, f), 'utf8');
      if (/^(listen|kafka|mqtt|routes|bayeux|limits|demo):/m.test(text)) out.push(path.join(d, f));
    }
  }
  return out;
}

test('every example config validates against the schema and loads with --check-config', () => {
  const files = exampleConfigs();
  assert.ok(files.some((f) => f.endsWith('examples/kafka.yaml')), 'examples/kafka.yaml exists');
  assert.ok(files.some((f) => f.endsWith('examples/mqtt.yaml')), 'examples/mqtt.yaml exists');
  for (const f of files) {
    const doc = YAML.parse(fs.readFileSync(f, 'utf8'));
    const ok = validate(doc);
    assert.ok(ok, `${f}: ${JSON.stringify(validate.errors, null, 1)}`);
    const r = check(f);
    assert.equal(r.status, 0, `${f}: --check-config failed:\n${r.stderr}`);
    assert.match(r.stdout, /^routes:/m, `${f}: effective routes printed`);
  }
});

test('--check-config prints the effective routes with their defaults', () => {
  const r = check(path.join(REPO_ROOT, 'examples/kafka.yaml'));
  assert.equal(r.status, 0, r.stderr);
  const printed = YAML.parse(r.stdout);
  const prices = printed.routes.find((x) => x.name === 'prices');
  assert.equal(prices.kafka, 'prices');
  assert.equal(prices.channel, '/prices/{key}');
  assert.equal(prices.format, 'json');
  assert.equal(typeof prices.max_size, 'number');
  const out = printed.routes.find((x) => x.name === 'chat-out');
  assert.equal(out.to_kafka, 'chat');
  assert.equal(printed.kafka.start, 'latest');
});

const BAD = [
  ['unknown key in a route', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: /a\n    chanel: /b\n`,
    /bad\.yaml:6: routes\[0\]\.chanel: unknown key/],
  ['bad regex', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka_regex: "t(["\n    channel: /a\n`,
    /bad\.yaml:4: routes\[0\]\.kafka_regex: bad regex/],
  ['bad template: unknown placeholder', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{nope}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: bad template '\/a\/\{nope\}': unknown placeholder/],
  ['bad template: unclosed brace', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{key"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: bad template .*unclosed/],
  ['MQTT levels in a Kafka route', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{1}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: .*cannot be used here/],
  ['channel template not a channel', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/#"\n    channel: "/meta/{1}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: .*\/meta/],
  ['bad MQTT filter', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/#/b"\n    channel: "/x"\n`,
    /bad\.yaml:4: routes\[0\]\.mqtt: .*not an MQTT topic filter/],
  ['unknown librdkafka property', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  client:\n    fetch.wait.max.mss: "5"\n`,
    /bad\.yaml:4: kafka\.client\.fetch\.wait\.max\.mss: .*(No such configuration property|unknown)/i],
  ['missing bootstrap servers', `kafka:\n  start: earliest\n`, /bad\.yaml:2: kafka\.bootstrap_servers: required/],
  ['bad start position', `kafka:\n  bootstrap_servers: "x:1"\n  start: middle\n`, /bad\.yaml:3: kafka\.start: 'middle' is not one of/],
  ['route without its connector', `routes:\n  - mqtt: "a/+"\n    channel: /x\n`, /bad\.yaml:2: routes\[0\]: an MQTT source, but there is no mqtt section/],
  ['bad MQTT version', `mqtt:\n  uri: "tcp://h:1"\n  version: 4\n`, /bad\.yaml:3: mqtt\.version: '4' is not 3\.1\.1 or 5/],
  ['outbound without a target', `kafka:\n  bootstrap_servers: "x:1"\nroutes:\n  - publish: /chat/*\n`, /bad\.yaml:4: routes\[0\]: an outbound route needs exactly one of to_kafka, to_mqtt/],
];

for (const [what, text, re] of BAD) {
  test(`bad config is refused: ${what}`, () => {
    const file = writeConfig(text);
    const r = check(file);
    assert.equal(r.status, 2, `exit 2 expected; stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(validate(YAML.parse(text)) && what !== 'bad regex' && what !== 'bad template: unknown placeholder' &&
      what !== 'bad template: unclosed brace' && what !== 'MQTT levels in a Kafka route' && what !== 'channel template not a channel' &&
      what !== 'bad MQTT filter' && what !== 'unknown librdkafka property' && what !== 'route without its connector', false,
    'the schema refuses it too (where JSON Schema can tell)');
    fs.rmSync(path.dirname(file), {recursive: true, force: true});
  });
}

test('every error is named in one run, core and connector sections alike', () => {
  const file = writeConfig(`limits:\n  max_bodyy: 5\nkafka:\n  bootstrap_servers: "x:1"\n  colour: red\nroutes:\n  - kafka: t\n    channel: "/a/{x}"\n  - mqtt: "a"\n    channel: /b\n`);
  const r = check(file);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:2: limits\.max_bodyy: unknown key/);
  assert.match(r.stderr, /bad\.yaml:5: kafka\.colour: unknown key/);
  assert.match(r.stderr, /bad\.yaml:8: routes\[0\]\.channel: bad template/);
  assert.match(r.stderr, /bad\.yaml:9: routes\[1\]: an MQTT source, but there is no mqtt section/);
  fs.rmSync(path.dirname(file), {recursive: true, force: true});
});
