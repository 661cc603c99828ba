// Fairness between clients (issue #8): per-peer handshake rate and session share, subscription
// memory per session, a stalled WebSocket that overflows is cut off without hurting the others,
// and keep-alive pings spread over time and sent only to idle sockets.
//
// F. per-peer limits and subscription memory  G. overflow closes the WebSocket  H. pings
// Each test has a gateway of its own (their configs differ, and F's limits are per address).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, withLog, sleep, withGateway} from './lib/gateway.mjs';
import {postBayeux, WsSession, reply} from './lib/raw.mjs';
import {postBayeuxFrom, getStats, serverHoldsConnection, pollUntil} from './lib/hostile.mjs';


const hsMsg = (id) => ({id, channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: ['long-polling']});

// "0-149 ok, 150-199 503::..., 200-999 429::..." for a list of handshake replies.
function runs(replies) {
  const label = (r) => (!r ? 'no reply' : r.successful ? 'ok' : `${r.error} reconnect=${r.advice?.reconnect}${r.error?.startsWith('429') ? ` interval=${r.advice?.interval}` : ''}`);
  const out = [];
  let start = 0;
  for (let i = 1; i <= replies.length; i++) {
    if (i === replies.length || label(replies[i]) !== label(replies[start])) {
      out.push(`${start}-${i - 1} ${label(replies[start])}`);
      start = i;
    }
  }
  return out;
}

// ---- F. per-peer limits ---------------------------------------------------------------------

const SHARE_ERROR = '503::too many sessions from this address';
const RATE_ERROR = '429::too many handshakes';

test('F. one address floods 1,000 handshakes: 150 succeed (share), 50 get 503, 800 get 429; another address still gets in; a disconnect frees the share', () =>
  withGateway(testConfig({
    limits: {peer_handshake_burst: 200, peer_handshake_rate: 10, peer_max_sessions: 150, max_sessions: 100000, max_batch: 1000},
  }), async (gw) => {
    // One POST from 127.0.0.1 carrying 1,000 handshakes, answered in order. It is processed in
    // well under 100 ms, so the bucket (burst 200, 10/s) earns no whole token meanwhile.
    const msgs = Array.from({length: 1000}, (_, i) => hsMsg(`flood-${i}`));
    const t0 = Date.now();
    const r = await postBayeux(gw, msgs, {timeoutMs: 10000});
    const ms = Date.now() - t0;
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.ok(Array.isArray(r.json), r.text.slice(0, 300));
    const replies = msgs.map((m) => r.json.find((x) => x.id === m.id && x.channel === '/meta/handshake'));
    const expected = [
      '0-149 ok',
      `150-199 ${SHARE_ERROR} reconnect=handshake`,
      `200-999 ${RATE_ERROR} reconnect=handshake interval=1000`,
    ];
    assert.deepEqual(runs(replies), expected, `replies to 1,000 handshakes in one POST (took ${ms} ms)`);
    const ids = replies.slice(0, 150).map((x) => x.clientId);
    assert.equal(new Set(ids).size, 150);

    // Another address is not affected by 127.0.0.1's bucket or share.
    const other = await postBayeuxFrom(gw.port, [hsMsg('from-127.0.0.2')], {localAddress: '127.0.0.2'});
    assert.equal(reply(other.json ?? [], '/meta/handshake')?.successful, true, `handshake from 127.0.0.2: ${other.status} ${other.text.slice(0, 300)}`);

    // With a token back but the share still full: the share error.
    await sleep(300);
    const full = reply((await postBayeux(gw, [hsMsg('still-full')])).json ?? [], '/meta/handshake');
    assert.equal(full?.successful, false, JSON.stringify(full));
    assert.equal(full.error, SHARE_ERROR, JSON.stringify(full));
    assert.equal(full.advice?.reconnect, 'handshake', JSON.stringify(full));

    // The flooding sessions leave: the share is free again once a token has come back.
    const d = await postBayeux(gw, ids.map((clientId, i) => ({id: `bye-${i}`, channel: '/meta/disconnect', clientId})), {timeoutMs: 10000});
    const byes = (d.json ?? []).filter((m) => m.channel === '/meta/disconnect');
    assert.equal(byes.filter((m) => m.successful).length, 150, `disconnects: ${d.text.slice(0, 300)}`);
    await sleep(300);
    const again = reply((await postBayeux(gw, [hsMsg('again')])).json ?? [], '/meta/handshake');
    assert.equal(again?.successful, true, `handshake from 127.0.0.1 after the disconnects: ${JSON.stringify(again)}`);
  }));

// ---- F. subscription memory -----------------------------------------------------------------

const SUB_BYTES = 16384;
const NAME_LEN = 200;
const COST = 128 + NAME_LEN; // 328
const FIT = Math.floor(SUB_BYTES / COST); // 49: the 50th would make 16,400 > 16,384

// A valid channel name of exactly NAME_LEN characters, different for each n.
const longName = (n) => {
  const head = `/mem/${String(n).padStart(5, '0')}/`;
  return head + 'x'.repeat(NAME_LEN - head.length);
};

test(`F. subscription memory: 200-char channels cost 328 bytes, ${FIT} fit in 16384, the next is 403; unsubscribing makes room`, () =>
  withGateway(testConfig({limits: {max_subscription_bytes: SUB_BYTES, max_subscriptions: 1000}}), async (gw) => {
    const w = await WsSession.open(gw);
    try {
      await w.handshake();
      let n = 0;
      for (let i = 0; i < FIT; i++) {
        const s = await w.subscribe(longName(n++));
        assert.equal(s.successful, true, `subscription ${i + 1} of ${FIT} (${(i + 1) * COST} bytes): ${JSON.stringify(s)}`);
      }
      const over = await w.subscribe(longName(n++));
      assert.equal(over.successful, false, `subscription ${FIT + 1} (${(FIT + 1) * COST} > ${SUB_BYTES} bytes) must be refused: ${JSON.stringify(over)}`);
      assert.equal(over.error, '403::subscription memory limit', JSON.stringify(over));

      // Five unsubscribed: exactly five new ones fit again.
      for (let i = 0; i < 5; i++) {
        const u = await w.unsubscribe(longName(i));
        assert.equal(u.successful, true, JSON.stringify(u));
      }
      for (let i = 0; i < 5; i++) {
        const s = await w.subscribe(longName(n++));
        assert.equal(s.successful, true, `new subscription ${i + 1} of 5 after unsubscribing 5: ${JSON.stringify(s)}`);
      }
      const over2 = await w.subscribe(longName(n++));
      assert.equal(over2.successful, false, JSON.stringify(over2));
      assert.equal(over2.error, '403::subscription memory limit', JSON.stringify(over2));
    } finally {
      await w.close();
    }
  }));

// ---- G. overflow closes the WebSocket -------------------------------------------------------

const BIG_COUNT = 2000;
const BIG = 'x'.repeat(8192);

test('G. stalled WebSockets overflow (queue_messages 20): a reader that resumes gets 409 then close 1008, one that never resumes is cut off, the others lose nothing', () =>
  withGateway(testConfig({bayeux: {timeout_ms: 30000}, limits: {queue_messages: 20}}), async (gw) => {
    const all = [];
    const open = async () => {
      const s = await WsSession.open(gw);
      all.push(s);
      await s.handshake();
      return s;
    };
    try {
      const [resumer, stalled, c1, c2, pub] = await Promise.all([open(), open(), open(), open(), open()]);
      for (const s of [resumer, stalled, c1, c2]) assert.equal((await s.subscribe('/big')).successful, true);
      await sleep(300); // the second connects are sent and held (timeout 30 s)
      resumer.ws._socket.pause();
      stalled.ws._socket.pause();
      const stalledPort = stalled.ws._socket.localPort;

      // Publisher: batches of 10, each sent once both readers have everything so far (so the
      // readers' queues never exceed 10 messages).
      const got = (s) => s.deliveries('/big').length;
      let sent = 0;
      let pubError = null;
      const publishing = (async () => {
        while (sent < BIG_COUNT) {
          if (!(await pollUntil(() => got(c1) >= sent && got(c2) >= sent, 10000, 2))) {
            throw new Error(`readers stuck at ${got(c1)} and ${got(c2)} of ${sent} for 10 s`);
          }
          const batch = Array.from({length: 10}, (_, i) => ({channel: '/big', data: {seq: sent + i, big: BIG}}));
          const msgs = pub.send(batch);
          sent += 10;
          await pub.inbox.waitFor((m) => m.id === msgs[9].id && m.channel === '/big' && 'successful' in m, 10000, 'publish ack');
        }
      })().catch((e) => (pubError = e));

      const s1 = await pollUntil(async () => (await getStats(gw)).sessions_overflowed >= 1, 10000, 100);
      assert.ok(s1, `sessions_overflowed still 0 10 s after publishing began (${sent} published)`);
      const tOverflow1 = Date.now();
      // Both stalled sessions overflow at about the same message; resume the first only once
      // its overflow is certain.
      const s2 = await pollUntil(async () => (await getStats(gw)).sessions_overflowed >= 2, 2500, 50);
      assert.ok(s2, `only one of the two stalled sessions overflowed within 2.5 s of the first (${sent} published)`);
      const tOverflow2 = Date.now();
      resumer.ws._socket.resume();
      assert.ok(Date.now() - tOverflow1 < 3000);

      // (1) The resumed reader: whatever was in flight, then the 409 connect reply, then 1008.
      const close = await Promise.race([resumer.closed, sleep(10000).then(() => null)]);
      const last = resumer.inbox.items.at(-1);
      const overflowReply = resumer.inbox.items.find((m) => m.channel === '/meta/connect' && m.successful === false);
      assert.ok(overflowReply, `resumed reader: no failed /meta/connect reply (last: ${JSON.stringify(last)?.slice(0, 300)})`);
      assert.equal(overflowReply.error, '409::queue_overflow', JSON.stringify(overflowReply));
      assert.equal(overflowReply.advice?.reconnect, 'handshake', JSON.stringify(overflowReply));
      assert.equal(last, overflowReply, `the 409 reply is the last message before the close (last: ${JSON.stringify(last)?.slice(0, 300)})`);
      assert.ok(close, 'resumed reader: no close within 10 s of resuming');
      assert.equal(close.code, 1008, `resumed reader close: ${JSON.stringify(close)}`);

      // (2) The reader that never resumes: the server lets go of its TCP connection within 10 s.
      const released = await pollUntil(() => !serverHoldsConnection(gw.proc.pid, gw.port, stalledPort), tOverflow2 + 10000 - Date.now(), 100);
      assert.ok(released, 'the gateway still holds the never-resumed reader\'s socket 10 s after its overflow');
      const st = await getStats(gw);
      assert.equal(st.sessions?.websocket, 3, `websocket sessions left (the two readers and the publisher): ${JSON.stringify(st.sessions)}`);
      stalled.ws._socket.resume();
      const stalledClose = await Promise.race([stalled.closed, sleep(5000).then(() => null)]);
      assert.ok(stalledClose, 'the never-resumed reader\'s socket did not close once it read again');

      // The other readers got everything, in order, and no overflow.
      await publishing;
      assert.equal(pubError, null, `publisher: ${pubError?.message}`);
      for (const [name, c] of [['reader 1', c1], ['reader 2', c2]]) {
        await c.waitDeliveries((m) => m.channel === '/big', BIG_COUNT, 10000);
        const seqs = c.deliveries('/big').map((m) => m.data.seq);
        assert.deepEqual(seqs, Array.from({length: BIG_COUNT}, (_, i) => i), `${name}: every message, in order`);
        assert.equal(c.inbox.filter((m) => m.error === '409::queue_overflow').length, 0, `${name} overflowed`);
      }
    } finally {
      for (const s of all) {
        s.ws._socket?.resume();
        s.ws.terminate();
      }
    }
  }));

// ---- H. pings -------------------------------------------------------------------------------

test('H. ws_ping_s 2: 300 idle WebSockets each get ≥ 2 pings in 6 s, spread in time; a busy one gets none', () =>
  withGateway(testConfig({bayeux: {ws_ping_s: 2, timeout_ms: 30000}}), async (gw) => {
    const N = 300;
    const idle = [];
    let busy;
    let ticker;
    let timer;
    try {
      // The sockets first, then every handshake + connect in one burst: a server that pings on
      // one timer, or on per-socket timers without spreading, sends all its pings at once.
      await Promise.all(Array.from({length: N}, async () => {
        const s = new WsSession(gw);
        idle.push(s);
        s.pings = [];
        s.ws.on('ping', () => s.pings.push(Date.now()));
        await s.opened;
      }));
      const t0 = Date.now();
      await Promise.all(idle.map((s) => s.handshake()));
      const setupMs = Date.now() - t0;
      assert.ok(setupMs <= 1000, `precondition: 300 clients handshook and connected within 1 s (took ${setupMs} ms)`);

      busy = await WsSession.open(gw);
      busy.pings = [];
      busy.ws.on('ping', () => busy.pings.push(Date.now()));
      await busy.handshake();
      assert.equal((await busy.subscribe('/tick')).successful, true);
      ticker = await WsSession.open(gw);
      await ticker.handshake();
      let n = 0;
      timer = setInterval(() => ticker.send({channel: '/tick', data: {n: n++}}), 300);

      const start = Date.now();
      await sleep(6000);
      const end = Date.now();
      clearInterval(timer);
      timer = null;

      const inWindow = (s) => s.pings.filter((t) => t >= start && t <= end);
      const few = idle.map((s, i) => [i, inWindow(s).length]).filter(([, c]) => c < 2);
      assert.equal(few.length, 0, `${few.length} of ${N} idle clients got fewer than 2 pings in 6 s (e.g. ${JSON.stringify(few.slice(0, 5))})`);

      const times = idle.flatMap(inWindow).sort((a, b) => a - b);
      let most = 0;
      let at = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i] - times[j] >= 100) j++;
        if (i - j + 1 > most) [most, at] = [i - j + 1, times[j] - start];
      }
      const hist = new Map();
      for (const t of times) hist.set(Math.floor((t - start) / 250) * 250, (hist.get(Math.floor((t - start) / 250) * 250) ?? 0) + 1);
      assert.ok(most <= 0.4 * times.length, `${most} of ${times.length} pings (${((100 * most) / times.length).toFixed(0)} %) fell in one 100 ms window ` +
        `(at +${at} ms; clients set up in ${setupMs} ms; pings per 250 ms from the start: ${JSON.stringify(Object.fromEntries(hist))})`);

      const busyGot = busy.deliveries('/tick').length;
      assert.ok(busyGot >= 15, `precondition: the busy client received a message every 300 ms (${busyGot} in 6 s)`);
      assert.equal(inWindow(busy).length, 0, `the busy client got ${inWindow(busy).length} pings`);
    } finally {
      if (timer) clearInterval(timer);
      await Promise.all([...idle, busy, ticker].filter(Boolean).map((s) => s.close()));
    }
  }));
