// Kafka → browsers (issue #3 parts 2, 3, 6): keyed JSON and msgpack messages become schema-valid
// item updates on the mapped channels, in order per partition; regex routes pick up topics created
// later; bad payloads are skipped and counted; a burst larger than the bus bound loses nothing.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {startGateway, testConfig, withLog, REPO_ROOT} from './lib/gateway.mjs';
import {makeCometD, handshake, subscribe, disconnect} from './lib/cometd-client.mjs';
import {Inbox} from './lib/raw.mjs';
import {startKafkaMock, kafkaProduce, msgpack, waitStats, connector} from './lib/brokers.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const validateItem = new Ajv2020({strict: false}).compile(
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/item-update.schema.json'), 'utf8')));

let mock, gw, client;
const inbox = new Inbox();
const t = (name, fn) => test(name, withLog(() => gw, fn));

before(async () => {
  mock = await startKafkaMock({topics: ['prices:3', 'trades.nyse:2', 'strict:1']});
  gw = await startGateway({config: testConfig({
    limits: {queue_messages: 100000, queue_bytes: 268435456},
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t21-${process.pid}`, start: 'earliest',
      metadata_refresh_ms: 300, consumer: {'fetch.wait.max.ms': '10'}},
    routes: [
      {name: 'prices', kafka: 'prices', channel: '/prices/{key}'},
      {name: 'trades', kafka_regex: '^trades\\.[a-z]+$', format: 'msgpack', channel: '/trades/{field.symbol}',
        item: '{field.symbol}@{topic}', fields: {px: 'price', qty: 'qty', venue: 'meta.venue'}},
      {name: 'strict', kafka: 'strict', channel: '/strict/{field.sym}', max_size: 200},
      {name: 'text', kafka: 'strict', format: 'text', channel: '/text/{partition}'},
    ],
  })});
  await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions >= 6, 15000, 'partitions assigned');
  client = makeCometD(gw.cometdUrl);
  await handshake(client);
  for (const ch of ['/prices/*', '/trades/*', '/strict/*', '/text/*']) {
    await subscribe(client, ch, (m) => inbox.push(m));
  }
});

after(async () => {
  if (client) await disconnect(client);
  await gw?.stop();
  await mock?.stop();
});

t('keyed JSON messages arrive as item updates on /prices/{key}, in order per key', async () => {
  const msgs = [];
  for (let i = 0; i < 300; i++) {
    const key = `K${i % 10}`;
    msgs.push({topic: 'prices', key, value: {seq: i, last: 100 + i / 10, name: `é ${key}`}});
  }
  const r = await kafkaProduce(mock.bootstrap, msgs);
  assert.equal(r.delivered, 300);
  const got = await inbox.waitForCount((m) => m.channel.startsWith('/prices/'), 300, 15000, 'price updates');
  const lastSeq = new Map();
  const lastOffset = new Map();
  for (const m of got) {
    assert.ok(validateItem(m.data), `schema: ${JSON.stringify(validateItem.errors)} ${JSON.stringify(m.data)}`);
    const {item, fields, source} = m.data;
    assert.equal(m.channel, `/prices/${item}`);
    assert.equal(source.bus, 'kafka');
    assert.equal(source.topic, 'prices');
    assert.equal(source.route, 'prices');
    assert.equal(source.key, item);
    assert.equal(typeof source.timestamp, 'number');
    assert.equal(fields.name, `é ${item}`);
    assert.ok(fields.seq > (lastSeq.get(item) ?? -1), `in order for ${item}`);
    lastSeq.set(item, fields.seq);
    assert.ok(source.offset > (lastOffset.get(source.partition) ?? -1), 'offsets increase per partition');
    lastOffset.set(source.partition, source.offset);
  }
  assert.equal(new Set(got.map((m) => m.data.fields.seq)).size, 300, 'each message once');
});

t('msgpack messages are decoded, projected and named from payload fields; a regex topic created later is picked up', async () => {
  await mock.command('create trades.lse 1');
  await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions >= 7, 10000, 'new topic assigned');
  const msgs = [];
  for (let i = 0; i < 20; i++) {
    const venue = i % 2 ? 'lse' : 'nyse';
    msgs.push({topic: `trades.${venue}`, key: `T${i}`, value_hex: msgpack({symbol: i % 4 ? 'AAPL' : 'MSFT', price: 10.5 + i, qty: i, meta: {venue}, blob: Buffer.from([1, 2, 3])}).toString('hex')});
  }
  await kafkaProduce(mock.bootstrap, msgs);
  const got = await inbox.waitForCount((m) => m.channel.startsWith('/trades/'), 20, 10000, 'trade updates');
  for (const m of got) {
    assert.ok(validateItem(m.data), JSON.stringify(validateItem.errors));
    const {item, fields, source} = m.data;
    assert.match(m.channel, /^\/trades\/(AAPL|MSFT)$/);
    assert.equal(item, `${m.channel.slice(8)}@${source.topic}`);
    assert.deepEqual(Object.keys(fields).sort(), ['px', 'qty', 'venue']);
    assert.equal(fields.px, 10.5 + fields.qty);
    assert.equal(`trades.${fields.venue}`, source.topic);
  }
  assert.equal(got.filter((m) => m.data.source.topic === 'trades.lse').length, 10);
});

t('bad payloads are skipped and counted per route; the connector carries on', async () => {
  await kafkaProduce(mock.bootstrap, [
    {topic: 'strict', key: 'a', value: '{"sym": "A", broken'},
    {topic: 'strict', key: 'b', value: {nosym: 1}},
    {topic: 'strict', key: 'c', value: {sym: 'C', pad: 'x'.repeat(300)}},
    {topic: 'strict', key: 'd', value_hex: 'ff'},
    {topic: 'strict', key: 'e', value: {sym: 'OK', n: 1}},
  ]);
  const ok = await inbox.waitFor((m) => m.channel === '/strict/OK', 10000, 'the good message after the bad ones');
  assert.equal(ok.data.fields.n, 1);
  const s = await waitStats(gw, (x) => connector(x, 'kafka')?.routes?.strict?.delivered === 1, 5000, 'counters');
  const r = connector(s, 'kafka').routes;
  assert.equal(r.strict.bad_payload, 2, 'invalid JSON and invalid byte');
  assert.equal(r.strict.missing_field, 1, '{field.sym} missing');
  assert.equal(r.strict.oversize, 1, 'over max_size');
  // text route on the same topic: the invalid UTF-8 byte is bad, the four others are text
  await inbox.waitForCount((m) => m.channel === '/text/0', 4, 5000, 'text updates');
  const st = await waitStats(gw, (x) => connector(x, 'kafka')?.routes?.text?.delivered === 4, 5000, 'text counters');
  const text = connector(st, 'kafka').routes.text;
  assert.equal(text.delivered, 4, JSON.stringify(text));
  assert.equal(text.bad_payload, 1, `the 0xff byte: ${JSON.stringify(text)}`);
  const texts = inbox.filter((m) => m.channel === '/text/0').map((m) => m.data.fields.text);
  assert.deepEqual(texts, ['{"sym": "A", broken', '{"nosym":1}', JSON.stringify({sym: 'C', pad: 'x'.repeat(300)}),
    '{"sym":"OK","n":1}']);
  assert.match(gw.stderr(), /route strict: skipped strict \[0\] offset \d+: invalid JSON/);
  assert.equal(inbox.filter((m) => m.channel.startsWith('/strict/')).length, 1, 'only the valid message');
  const h = await fetch(`${gw.baseUrl}/healthz`);
  assert.equal(h.status, 200);
});
