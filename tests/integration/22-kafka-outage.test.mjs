// Kafka resilience (issue #3 part 3): the partition leader goes down for 10 s while messages are
// produced and comes back, then a leader moves: every message reaches the browser exactly once and
// in order per partition. A burst larger than the bus bound pauses consumption instead of losing
// messages. Brokers unreachable at start: the gateway serves clients and connects later.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, sleep, cleanupList} from './lib/gateway.mjs';
import {makeCometD, handshake, subscribe, disconnect} from './lib/cometd-client.mjs';
import {Inbox} from './lib/raw.mjs';
import {startKafkaMock, kafkaProducer, kafkaProduce, waitStats, connector} from './lib/brokers.mjs';

const cleanups = cleanupList(); // safety nets for a test that failed half-way

// Ends a test: its clients disconnect, then the gateway must exit cleanly (code 0 within 3 s,
// no sanitizer report): a crash or leak after the outage fails the test.
async function finish(gw, ...clients) {
  for (const c of clients) await disconnect(c);
  await gw.stop();
}

async function setup(topics, overrides = {}) {
  const mock = await startKafkaMock({topics});
  cleanups.push(() => mock.stop());
  const gw = await startGateway({config: testConfig({
    limits: {queue_messages: 100000, queue_bytes: 268435456},
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t22-${process.pid}-${cleanups.length}`, start: 'earliest',
      metadata_refresh_ms: 300,
      client: {'reconnect.backoff.max.ms': '500', 'topic.metadata.refresh.interval.ms': '1000'},
      consumer: {'fetch.wait.max.ms': '10'}},
    routes: [{name: topics[0].split(':')[0], kafka: topics[0].split(':')[0], channel: '/' + topics[0].split(':')[0] + '/{partition}'}],
    ...overrides,
  })});
  cleanups.push(() => gw.kill());
  return {mock, gw};
}

// CG_TEST_TRANSPORT picks the client transport. websocket by default: the client offers
// permessage-deflate, and these bursts followed by idle spells once crashed the gateway when a
// buffer deflate was still reading was freed (a regression test for that).
async function client(gw, channel) {
  const inbox = new Inbox();
  const c = makeCometD(gw.cometdUrl, {transport: process.env.CG_TEST_TRANSPORT || 'websocket'});
  await handshake(c);
  await subscribe(c, channel, (m) => inbox.push(m));
  return {inbox, c};
}

function checkExactlyOnceInOrder(msgs, expected) {
  const seen = new Set();
  const last = new Map();
  for (const m of msgs) {
    const {seq} = m.data.fields;
    const p = m.data.source.partition;
    assert.ok(!seen.has(seq), `seq ${seq} delivered twice`);
    seen.add(seq);
    assert.ok(seq > (last.get(p) ?? -1), `partition ${p}: ${seq} after ${last.get(p)}`);
    last.set(p, seq);
  }
  assert.equal(seen.size, expected);
}

test('leader down 10 s while producing, then a leader move: exactly once, in order per partition', async () => {
  const {mock, gw} = await setup(['ticks:2']);
  try {
    await mock.command('leader ticks 0 1');
    await mock.command('leader ticks 1 1');
    await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions === 2, 10000, 'assignment');
    const {inbox, c} = await client(gw, '/ticks/*');
    const prod = kafkaProducer(mock.bootstrap);
    let seq = 0;
    const send = (n) => {
      for (let i = 0; i < n; i++, seq++) prod.send({topic: 'ticks', key: `k${seq}`, partition: seq % 2, value: {seq}});
    };
    // Inbox sizes 3 s into the outage and at its end, and what was produced meanwhile.
    const outage = {};
    const phases = [
      [1500, null],
      [3000, 'down 1'],
      [7000, 'mark'],
      [0, 'up 1'],
      [1500, 'leader ticks 0 2'],
      [1500, null],
    ];
    for (const [ms, cmd] of phases) {
      if (cmd === 'mark') {
        outage.start = {received: inbox.items.length, sent: seq};
      } else if (cmd === 'up 1') {
        outage.end = {received: inbox.items.length, sent: seq};
      }
      if (cmd && cmd !== 'mark') await mock.command(cmd);
      const end = Date.now() + ms;
      while (Date.now() < end) {
        send(2);
        await sleep(20);
      }
    }
    // Precondition: the outage was real. With the leader of both partitions down nothing
    // reaches the browser, while messages kept being produced (and queued in the producer).
    assert.equal(outage.end.received, outage.start.received,
      `deliveries during the leader outage: ${JSON.stringify(outage)}`);
    assert.ok(outage.end.sent - outage.start.sent > 100, `produced during the outage: ${JSON.stringify(outage)}`);
    const r = await prod.end();
    assert.equal(r.failed, 0);
    assert.equal(r.delivered, seq);
    await inbox.waitForCount(() => true, seq, 40000, 'every tick').catch(async (e) => {
      const s = await waitStats(gw, () => true);
      e.message += '\nstats: ' + JSON.stringify(s).slice(0, 3000);
      throw e;
    });
    await sleep(500);
    checkExactlyOnceInOrder(inbox.items, seq);
    await finish(gw, c);
  } catch (e) {
    e.message += `\n${gw.describe()}`;
    throw e;
  }
});

test('a burst larger than the bus bound pauses consumption and loses nothing', async () => {
  // 3,000 messages through a bus of 32: ~100 pause/resume cycles, each one a fetch round trip
  // to the mock cluster, which is slow on a loaded 2-core machine.
  const {mock, gw} = await setup(['burst:2'], {handoff: {max_messages: 32, max_bytes: 65536}});
  await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions === 2, 10000, 'assignment');
  const {inbox, c} = await client(gw, '/burst/*');
  const N = 3000;
  const msgs = [];
  for (let i = 0; i < N; i++) msgs.push({topic: 'burst', key: `k${i}`, partition: i % 2, value: {seq: i, pad: 'x'.repeat(150)}});
  await kafkaProduce(mock.bootstrap, msgs);
  await inbox.waitForCount(() => true, N, 60000, 'the whole burst').catch(async (e) => {
    const s = await waitStats(gw, () => true);
    e.message += '\nstats: ' + JSON.stringify(s).slice(0, 3000);
    throw e;
  });
  await sleep(300);
  checkExactlyOnceInOrder(inbox.items, N);
  const s = await waitStats(gw, () => true);
  const k = connector(s, 'kafka');
  assert.ok(k.pauses > 0, `consumption was paused at least once: ${JSON.stringify(k)}`);
  assert.equal(k.paused, false);
  assert.equal(s.queue_drops, 0);
  await finish(gw, c);
});

test('brokers unreachable at start: the gateway serves clients, then connects when they appear', async () => {
  const mock = await startKafkaMock({topics: ['late:1']});
  cleanups.push(() => mock.stop());
  for (const id of [1, 2, 3]) await mock.command(`down ${id}`);
  const gw = await startGateway({config: testConfig({
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t22-late-${process.pid}`, start: 'earliest', metadata_refresh_ms: 300,
      client: {'reconnect.backoff.max.ms': '500'}},
    routes: [{kafka: 'late', channel: '/late/{key}'}],
  })});
  cleanups.push(() => gw.kill());
  const {inbox, c} = await client(gw, '/late/*');
  const s = await waitStats(gw, () => true);
  assert.equal(connector(s, 'kafka').state, 'connecting');
  await sleep(1000);
  assert.ok(gw.running());
  for (const id of [1, 2, 3]) await mock.command(`up ${id}`);
  await waitStats(gw, (x) => connector(x, 'kafka')?.assigned_partitions === 1, 15000, 'assignment after the brokers came up');
  await kafkaProduce(mock.bootstrap, [{topic: 'late', key: 'x', value: {ok: true}}]);
  const m = await inbox.waitFor((x) => x.channel === '/late/x', 15000);
  assert.equal(m.data.fields.ok, true);
  assert.match(gw.stderr(), /cannot read cluster metadata|ALL_BROKERS_DOWN|Connect to/);
  await finish(gw, c);
});
