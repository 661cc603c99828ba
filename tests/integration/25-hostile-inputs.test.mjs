// Hostile inputs that are nothing out of the ordinary (issue #8, points 6 and 7): none of them may
// abort a sanitizer build or hold the exit.
//
// A. empty WebSocket frames (text, binary, an empty first fragment)  B. OPTIONS /cometd
// C. hostile msgpack from Kafka: headers declaring 2^32-1 elements or bytes, 10,000 levels of
//    nesting, truncation: each counted as a bad payload, the next valid message delivered
// D. SIGTERM 1 s after every broker went down, with a consumer and a producer route: exit 0
//    within 2 s.
// Each test stops its own gateway with stop(): exit 0 and no sanitizer report in its stderr.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {startGateway, testConfig, withLog, sleep, HOST, CLIENT_ID_RE, cleanupList} from './lib/gateway.mjs';
import {WsSession, assertServing} from './lib/raw.mjs';
import {startKafkaMock, kafkaProduce, msgpack, waitStats, connector} from './lib/brokers.mjs';

const cleanups = cleanupList(); // safety nets for a test that failed half-way

async function gateway(config) {
  const gw = await startGateway({config});
  cleanups.push(() => gw.kill());
  return gw;
}

async function kafkaMock(topics) {
  const mock = await startKafkaMock({topics});
  cleanups.push(() => mock.stop());
  return mock;
}

const errorReply = (s, error) => s.inbox.waitFor((m) => m.error === error, 3000, `a reply with error ${error}`);

test('A. empty WebSocket text and binary frames get an error reply; the socket and the gateway keep serving', async () => {
  const gw = await gateway(testConfig());
  await withLog(gw, async () => {
    const s = await WsSession.open(gw);
    try {
      s.sendRaw('');
      const r = await errorReply(s, '400::invalid json');
      assert.equal(r.successful, false);
      s.sendRaw(Buffer.alloc(0));
      await errorReply(s, '400::binary frames are not Bayeux');
      // An empty first fragment, then the message: one handshake.
      s.ws.send('', {fin: false});
      s.ws.send(JSON.stringify([{id: 'frag', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket']}]), {fin: true});
      const hs = await s.inbox.waitFor((m) => m.id === 'frag', 3000, 'the handshake reply');
      assert.equal(hs.successful, true, JSON.stringify(hs));
      assert.match(hs.clientId, CLIENT_ID_RE);
      // The same socket still speaks Bayeux after all of it.
      s.sendRaw('');
      await s.inbox.waitForCount((m) => m.error === '400::invalid json', 2, 3000, 'a second empty-frame reply');
      await s.handshake();
      const sub = await s.subscribe('/a/b');
      assert.equal(sub.successful, true);
    } finally {
      await s.close();
    }
    await assertServing(gw);
  })();
  await gw.stop();
});

function options(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: HOST, port, path, method: 'OPTIONS', headers, timeout: 3000}, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body}));
    });
    req.on('timeout', () => req.destroy(new Error('OPTIONS timed out')));
    req.on('error', reject);
    req.end();
  });
}

test('B. OPTIONS /cometd is answered 204, no sanitizer report', async () => {
  const gw = await gateway(testConfig());
  await withLog(gw, async () => {
    const r = await options(gw.port, '/cometd');
    assert.equal(r.status, 204, `OPTIONS /cometd: ${r.status} ${r.body.slice(0, 200)}`);
    assert.equal(r.body, '');
    const pre = await options(gw.port, '/cometd', {Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST'});
    assert.equal(pre.status, 204, `preflight OPTIONS /cometd: ${pre.status}`);
    await assertServing(gw);
  })();
  await gw.stop();
});

// Hostile msgpack: each a few bytes declaring far more than there is.
const repeat = (hex, n) => hex.repeat(n);
const HOSTILE = [
  ['array32 of 2^32-1 elements', 'ddffffffff'],
  ['map32 of 2^32-1 pairs', 'dfffffffff'],
  ['str32 of 4 GiB', 'dbffffffff41'],
  ['bin32 of 4 GiB', 'c6ffffffff00'],
  ['ext32 of 4 GiB', 'c9ffffffff0100'],
  ['array16 of 65535 elements', 'dcffffc0'],
  ['array32 of 2^31 inside a map', '81a161dd80000000c0c0'],
  ['10,000 nested arrays', repeat('91', 10000) + 'c0'],
  ['10,000 nested maps', repeat('81a0', 10000) + 'c0'],
  ['truncated map', msgpack({symbol: 'AAPL', price: 1.5}).subarray(0, 12).toString('hex')],
  ['never-used byte c1', 'c1'],
];

test('C. hostile msgpack from Kafka is counted as bad payloads; the gateway stays up and delivers the next valid message', async () => {
  const mock = await kafkaMock(['mp:1']);
  const gw = await gateway(testConfig({
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t25c-${process.pid}`, start: 'earliest',
      metadata_refresh_ms: 300, consumer: {'fetch.wait.max.ms': '10'}},
    routes: [{name: 'mp', kafka: 'mp', format: 'msgpack', channel: '/mp/{key}'}],
  }));
  await withLog(gw, async () => {
    await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions === 1, 15000, 'assignment');
    const s = await WsSession.open(gw);
    try {
      await s.handshake();
      assert.equal((await s.subscribe('/mp/*')).successful, true);
      const r = await kafkaProduce(mock.bootstrap, [
        ...HOSTILE.map(([, hex], i) => ({topic: 'mp', key: `bad${i}`, value_hex: hex})),
        {topic: 'mp', key: 'ok', value_hex: msgpack({n: 1, s: 'after the hostile ones'}).toString('hex')},
      ]);
      assert.equal(r.delivered, HOSTILE.length + 1);
      const [ok] = await s.waitDeliveries((m) => m.channel === '/mp/ok', 1, 10000);
      assert.deepEqual(ok.data.fields, {n: 1, s: 'after the hostile ones'});
      const st = await waitStats(gw, (x) => connector(x, 'kafka')?.routes?.mp?.delivered === 1, 5000, 'counters');
      const route = connector(st, 'kafka').routes.mp;
      assert.equal(route.bad_payload, HOSTILE.length, JSON.stringify(route));
      assert.equal(route.oversize ?? 0, 0);
      assert.equal(s.deliveries().length, 1, 'only the valid message is delivered');
      assert.match(gw.stderr(), /route mp: skipped mp \[0\] offset \d+: invalid msgpack \(4294967295 elements declared/);
    } finally {
      await s.close();
    }
    await assertServing(gw);
  })();
  await gw.stop();
});

test('D. SIGTERM 1 s after every broker went down (consumer and producer routes): exit 0 within 2 s', async (t) => {
  const mock = await kafkaMock(['feed:2', 'outq:1']);
  const gw = await gateway(testConfig({
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t25d-${process.pid}`, start: 'earliest',
      metadata_refresh_ms: 300, produce_timeout_ms: 30000,
      client: {'reconnect.backoff.max.ms': '500'}, consumer: {'fetch.wait.max.ms': '10'}},
    routes: [
      {name: 'feed', kafka: 'feed', channel: '/feed/{partition}'},
      {name: 'out', publish: '/out/*', to_kafka: 'outq'},
    ],
  }));
  await withLog(gw, async () => {
    await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions === 2, 15000, 'assignment');
    const s = await WsSession.open(gw);
    try {
      await s.handshake();
      // Consumed and handed over, so there are offsets to commit at stop.
      await kafkaProduce(mock.bootstrap, [0, 1, 2, 3].map((i) => ({topic: 'feed', key: `k${i}`, value: {i}})));
      await waitStats(gw, (x) => connector(x, 'kafka')?.routes?.feed?.delivered === 4, 10000, 'consumed');
      // A publish produced while the cluster answers, then one queued while it is gone.
      assert.equal((await s.publish('/out/a', {n: 1})).successful, true);
      for (const id of [1, 2, 3]) await mock.command(`down ${id}`);
      s.send({channel: '/out/a', data: {n: 2}});
      await sleep(200);
    } finally {
      await s.close(); // no live socket: the stop has no writes to drain
    }
    await sleep(800);
  })();
  const {ms} = await gw.stop({timeoutMs: 2000});
  t.diagnostic(`exit ${ms} ms after SIGTERM`);
  const log = gw.stderr();
  assert.ok(ms < 2000, `exit took ${ms} ms`);
  assert.match(log, /stop: consumer close abandoned after \d+ ms \(cluster unreachable\)/, gw.describe());
  assert.match(log, /stop: producer flush abandoned after \d+ ms: 1 unflushed messages failed/, gw.describe());
});

test('E. a stop while the cluster answers commits what was delivered: the next start with start: committed resumes after it', async (t) => {
  const mock = await kafkaMock(['cm:1']);
  const config = testConfig({
    log_level: 'debug', // the consumer's "closed" line
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t25e-${process.pid}`, start: 'committed',
      metadata_refresh_ms: 300, consumer: {'fetch.wait.max.ms': '10'}},
    routes: [{name: 'cm', kafka: 'cm', channel: '/cm/{partition}'}],
  });
  const gw1 = await gateway(config);
  await withLog(gw1, async () => {
    await waitStats(gw1, (s) => connector(s, 'kafka')?.assigned_partitions === 1, 15000, 'assignment');
    await sleep(500); // the fetch position settles at the end before anything is produced
    await kafkaProduce(mock.bootstrap, [0, 1, 2].map((i) => ({topic: 'cm', value: {i}})));
    await waitStats(gw1, (x) => connector(x, 'kafka')?.routes?.cm?.delivered === 3, 10000, 'consumed');
  })();
  const {ms} = await gw1.stop();
  t.diagnostic(`exit ${ms} ms after SIGTERM`);
  assert.match(gw1.stderr(), /consumer closed after \d+ ms/, gw1.describe());
  assert.doesNotMatch(gw1.stderr(), /abandoned/, gw1.describe());
  assert.ok(ms < 1500, `a stop with the cluster up took ${ms} ms`);
  // Produced while no gateway runs: the next one must start right after offset 2.
  await kafkaProduce(mock.bootstrap, [3, 4].map((i) => ({topic: 'cm', value: {i}})));
  const gw2 = await gateway(config);
  await withLog(gw2, async () => {
    // The route counts what it hands to the loop, subscribers or not: 2 from offset 3 on; 0 had
    // the commit been lost (no committed offset: start at the end), 5 had it restarted at 0.
    await waitStats(gw2, (x) => connector(x, 'kafka')?.routes?.cm?.delivered >= 2, 10000, 'resumed');
    await sleep(500);
    const st = await waitStats(gw2, () => true);
    assert.equal(connector(st, 'kafka').routes.cm.delivered, 2);
    assert.equal(connector(st, 'kafka').messages, 2);
  })();
  await gw2.stop();
});
