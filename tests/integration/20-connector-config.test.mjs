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

// [what, config, expected stderr, whether JSON Schema can tell too]
const BAD = [
  ['unknown key in a route', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: /a\n    chanel: /b\n`,
    /bad\.yaml:6: routes\[0\]\.chanel: unknown key/, true],
  ['bad regex', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka_regex: "t(["\n    channel: /a\n`,
    /bad\.yaml:4: routes\[0\]\.kafka_regex: bad regex/, false],
  ['bad template: unknown placeholder', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{nope}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: bad template '\/a\/\{nope\}': unknown placeholder/, false],
  ['bad template: unclosed brace', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{key"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: bad template .*unclosed/, false],
  ['MQTT levels in a Kafka route', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: "/a/{1}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: .*cannot be used here/, false],
  ['channel template not a channel', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/#"\n    channel: "/meta/{1}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: .*\/meta/, false],
  ['bad MQTT filter', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/#/b"\n    channel: "/x"\n`,
    /bad\.yaml:4: routes\[0\]\.mqtt: .*not an MQTT topic filter/, false],
  ['unknown librdkafka property', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  client:\n    fetch.wait.max.mss: "5"\n`,
    /bad\.yaml:4: kafka\.client\.fetch\.wait\.max\.mss: .*(No such configuration property|unknown)/i, false],
  ['missing bootstrap servers', `kafka:\n  start: earliest\n`, /bad\.yaml:2: kafka\.bootstrap_servers: required/, true],
  ['bad start position', `kafka:\n  bootstrap_servers: "x:1"\n  start: middle\n`, /bad\.yaml:3: kafka\.start: 'middle' is not one of latest, earliest, committed/, true],
  ['route without its connector', `routes:\n  - mqtt: "a/+"\n    channel: /x\n`, /bad\.yaml:2: routes\[0\]: an MQTT source, but there is no mqtt section/, false],
  ['bad MQTT version', `mqtt:\n  uri: "tcp://h:1"\n  version: 4\n`, /bad\.yaml:3: mqtt\.version: '4' is not one of 3\.1\.1, 5, 5\.0/, true],
  ['outbound without a target', `kafka:\n  bootstrap_servers: "x:1"\nroutes:\n  - publish: /chat/*\n`, /bad\.yaml:4: routes\[0\]: an outbound route needs exactly one of to_kafka, to_mqtt/, true],
  // issue #9: mistakes --check-config used to pass, which then failed on every message
  ['{5} in a template for a two-level MQTT filter', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "sensors/+"\n    channel: "/s/{2}"\n    item: "{5}"\n`,
    /bad\.yaml:6: routes\[0\]\.item: \{5\}: the topic filter 'sensors\/\+' has only 2 levels/, false],
  ['{3} in the channel of a two-level MQTT filter', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/b"\n    channel: "/s/{3}"\n`,
    /bad\.yaml:5: routes\[0\]\.channel: \{3\}: the topic filter 'a\/b' has only 2 levels/, false],
  ['{field.id} on a format: bytes route', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    format: bytes\n    channel: "/b/{field.id}"\n`,
    /bad\.yaml:6: routes\[0\]\.channel: \{field\.id\}: a bytes route's payload has only the field 'bytes'/, false],
  ['{field.id} on a format: text route', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/+"\n    format: text\n    channel: "/t/{2}"\n    item: "{field.id}"\n`,
    /bad\.yaml:7: routes\[0\]\.item: \{field\.id\}: a text route's payload has only the field 'text'/, false],
  ['a projection on a format: text route', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - mqtt: "a/+"\n    format: text\n    channel: "/t/{2}"\n    fields: [id]\n`,
    /bad\.yaml:4: routes\[0\]: fields: 'id': a text route's payload has only the field 'text'/, false],
  ['an outbound topic with more wildcards than its channel pattern', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - publish: "/chat/*"\n    to_kafka: "chat-{3}"\n`,
    /bad\.yaml:5: routes\[0\]\.to_kafka: \{3\}: the channel pattern '\/chat\/\*' has only 2 levels/, false],
  ['an outbound key with more wildcards than its channel pattern', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - publish: "/chat/*"\n    to_kafka: chat\n    key: "{2}/{4}"\n`,
    /bad\.yaml:6: routes\[0\]\.key: \{4\}: the channel pattern '\/chat\/\*' has only 2 levels/, false],
  ['an outbound MQTT topic with more wildcards than its channel pattern', `mqtt:\n  uri: "tcp://127.0.0.1:1"\nroutes:\n  - publish: "/cmd/*"\n    to_mqtt: "cmd/{2}/{4}"\n`,
    /bad\.yaml:5: routes\[0\]\.to_mqtt: \{4\}: the channel pattern '\/cmd\/\*' has only 2 levels/, false],
  ['a consumer-only librdkafka property under kafka.client', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  client:\n    fetch.wait.max.ms: "50"\n`,
    /bad\.yaml:4: kafka\.client\.fetch\.wait\.max\.ms: a consumer property: put it under kafka\.consumer:/, false],
  ['a producer-only librdkafka property under kafka.consumer', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  consumer:\n    linger.ms: "5"\n`,
    /bad\.yaml:4: kafka\.consumer\.linger\.ms: a producer property: put it under kafka\.producer:/, false],
  ['an unknown property under kafka.producer', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  producer:\n    linger.mss: "5"\n`,
    /bad\.yaml:4: kafka\.producer\.linger\.mss: .*No such configuration property/i, false],
  ['bootstrap.servers as a top-level key', `bootstrap.servers: "127.0.0.1:9092"\n`,
    /bad\.yaml:1: bootstrap\.servers: unknown key \(a librdkafka property goes under kafka\.client:, kafka\.consumer: or kafka\.producer:\)/, true],
  ['bootstrap.servers inside kafka:', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\n  bootstrap.servers: "127.0.0.1:9092"\n`,
    /bad\.yaml:3: kafka\.bootstrap\.servers: unknown key \(a librdkafka property goes under kafka\.client:, kafka\.consumer: or kafka\.producer:\)/, true],
  ['a size that is not one', `kafka:\n  bootstrap_servers: "127.0.0.1:1"\nroutes:\n  - kafka: t\n    channel: /a\n    max_size: 1x\n`,
    /bad\.yaml:6: routes\[0\]\.max_size: '1x' is not a size/, true],
  ['a duration in seconds that is not whole', `mqtt:\n  uri: "tcp://127.0.0.1:1"\n  keepalive_s: 1500ms\n`,
    /bad\.yaml:3: mqtt\.keepalive_s: '1500ms' is not a duration \(seconds/, true],
];

for (const [what, text, re, schemaTells] of BAD) {
  test(`bad config is refused: ${what}`, () => {
    const file = writeConfig(text);
    const r = check(file);
    assert.equal(r.status, 2, `exit 2 expected; stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.match(r.stderr, re);
    if (schemaTells) assert.equal(validate(YAML.parse(text)), false, 'the schema refuses it too');
    fs.rmSync(path.dirname(file), {recursive: true, force: true});
  });
}

test('sizes and durations with units are accepted wherever a size or a duration is', () => {
  const file = writeConfig(`kafka:
  bootstrap_servers: "127.0.0.1:1"
  metadata_refresh_ms: 2s
  produce_timeout_ms: 1m
  consumer:
    fetch.wait.max.ms: "50"
  producer:
    linger.ms: "5"
mqtt:
  uri: "tcp://127.0.0.1:1"
  keepalive_s: 1m
  connect_timeout_s: 10s
  reconnect_max_s: 5000ms
  publish_timeout_ms: 2500ms
routes:
  - name: big
    kafka: t
    channel: /a
    max_size: 1m
  - name: small
    mqtt: "a/#"
    channel: "/m/{2}/{7}"
    max_size: 64k
  - name: deep
    publish: "/x/**"
    to_mqtt: "x/{5}"
`);
  assert.ok(validate(YAML.parse(fs.readFileSync(file, 'utf8'))), JSON.stringify(validate.errors));
  const r = check(file);
  assert.equal(r.status, 0, r.stderr);
  const printed = YAML.parse(r.stdout);
  assert.equal(printed.kafka.metadata_refresh_ms, 2000);
  assert.equal(printed.kafka.produce_timeout_ms, 60000);
  assert.equal(printed.kafka.consumer['fetch.wait.max.ms'], '50');
  assert.equal(printed.kafka.producer['linger.ms'], '5');
  assert.equal(printed.mqtt.keepalive_s, 60);
  assert.equal(printed.mqtt.connect_timeout_s, 10);
  assert.equal(printed.mqtt.reconnect_max_s, 5);
  assert.equal(printed.mqtt.publish_timeout_ms, 2500);
  assert.equal(printed.routes.find((x) => x.name === 'big').max_size, 1048576);
  assert.equal(printed.routes.find((x) => x.name === 'small').max_size, 65536);
  fs.rmSync(path.dirname(file), {recursive: true, force: true});
});

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
