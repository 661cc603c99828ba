// Brokers for the connector tests (20-29): librdkafka's mock cluster through tests/tools/
// cg-kafka-mock, a real mosquitto on a free port, and a minimal MQTT 3.1.1 client.
// Each test file starts what it needs and stops it in after().
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {EventEmitter} from 'node:events';
import {REPO_ROOT, freePort, sleep} from './gateway.mjs';

export function toolPath(name = 'cg-kafka-mock') {
  const dirs = [process.env.CG_BUILD_DIR, path.join(REPO_ROOT, 'build')].filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, 'tests', 'tools', name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found under ${dirs.join(', ')}/tests/tools (build it)`);
}

function lines(stream) {
  const rl = readline.createInterface({input: stream});
  const queue = [];
  const waiters = [];
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return (timeoutMs = 10000) => {
    if (queue.length) return Promise.resolve(queue.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a line')), timeoutMs);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  };
}

// The mock cluster: {bootstrap, command(line), stop()}. topics: ['name:partitions', ...].
export async function startKafkaMock({brokers = 3, topics = []} = {}) {
  const args = ['serve', '--brokers', String(brokers)];
  for (const t of topics) args.push('--topic', t);
  const proc = spawn(toolPath(), args, {stdio: ['pipe', 'pipe', 'pipe']});
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const next = lines(proc.stdout);
  const first = await next(10000).catch((e) => {
    throw new Error(`cg-kafka-mock did not start: ${e.message}\n${stderr}`);
  });
  const m = /^BOOTSTRAP (\S+)$/.exec(first);
  if (!m) throw new Error(`cg-kafka-mock: unexpected output ${first}\n${stderr}`);
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    bootstrap: m[1],
    async command(line) {
      proc.stdin.write(line + '\n');
      const r = await next(10000);
      if (!r.startsWith('OK')) throw new Error(`cg-kafka-mock ${line}: ${r}`);
      return r;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.stdin.end();
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(3000).then(() => proc.kill('SIGKILL'))]);
    },
    stderr: () => stderr,
  };
}

// A streaming producer: send({topic,key,value|value_hex,partition}); end() resolves with
// {delivered, failed} once every message was acknowledged.
export function kafkaProducer(bootstrap) {
  const proc = spawn(toolPath(), ['produce', '-b', bootstrap], {stdio: ['pipe', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    send(msg) {
      proc.stdin.write(JSON.stringify(msg) + '\n');
    },
    async end() {
      proc.stdin.end();
      await exited;
      const m = /DELIVERED (\d+) FAILED (\d+)/.exec(out);
      if (!m) throw new Error(`producer: ${out} ${err}`);
      return {delivered: Number(m[1]), failed: Number(m[2]), stderr: err};
    },
    kill() {
      proc.kill('SIGKILL');
    },
  };
}

export async function kafkaProduce(bootstrap, messages) {
  const p = kafkaProducer(bootstrap);
  for (const m of messages) p.send(m);
  return p.end();
}

// Reads `topic` from the beginning: [{partition, offset, key, value}].
export function kafkaConsume(bootstrap, topic, {count = -1, waitMs = 3000} = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(toolPath(), ['consume', '-b', bootstrap, '-t', topic, '-c', String(count), '-w', String(waitMs)]);
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`consume exited ${code}: ${err}`));
      resolve(out.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    });
  });
}

// ---- mosquitto -------------------------------------------------------------------------------

export async function waitPort(port, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not accepting connections after ${timeoutMs} ms`);
}

// A real mosquitto on a free loopback port. restart() keeps the port.
export async function startMosquitto({port} = {}) {
  port = port || (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const broker = {port, uri: `tcp://127.0.0.1:${port}`, proc: null, log: ''};
  broker.start = async () => {
    broker.proc = spawn('mosquitto', ['-c', conf], {stdio: ['ignore', 'pipe', 'pipe']});
    broker.proc.stderr.on('data', (d) => (broker.log += d));
    broker.exited = new Promise((r) => broker.proc.on('exit', r));
    await waitPort(port);
  };
  broker.stop = async () => {
    if (!broker.proc || broker.proc.exitCode !== null) return;
    broker.proc.kill('SIGKILL');
    await broker.exited;
  };
  broker.cleanup = async () => {
    await broker.stop();
    fs.rmSync(dir, {recursive: true, force: true});
  };
  await broker.start();
  return broker;
}

// ---- a minimal MQTT 3.1.1 client (connect, publish QoS 0/1, subscribe) ------------------------

function encLen(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s) => {
  const b = Buffer.from(s, 'utf8');
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
};
const packet = (type, body) => Buffer.concat([Buffer.from([type]), encLen(body.length), body]);

export class MqttClient extends EventEmitter {
  static async connect(port, clientId = `t-${process.pid}-${Math.random().toString(36).slice(2)}`) {
    const c = new MqttClient();
    await c._connect(port, clientId);
    return c;
  }

  _connect(port, clientId) {
    this.nextId = 1;
    this.acks = new Map();
    this.buf = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      this.sock = net.connect(port, '127.0.0.1');
      this.sock.on('error', reject);
      this.sock.on('data', (d) => this._data(d));
      this.once('connack', (rc) => (rc === 0 ? resolve() : reject(new Error(`CONNACK ${rc}`))));
      const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60])]);
      this.sock.write(packet(0x10, Buffer.concat([vh, str(clientId)])));
    });
  }

  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      let len = 0;
      let mul = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buf.length) return;
        const b = this.buf[i++];
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (!(b & 0x80)) break;
      }
      if (this.buf.length < i + len) return;
      const type = this.buf[0];
      const body = this.buf.subarray(i, i + len);
      this.buf = this.buf.subarray(i + len);
      this._packet(type, body);
    }
  }

  _packet(type, body) {
    const t = type >> 4;
    if (t === 2) this.emit('connack', body[1]);
    else if (t === 4 || t === 9) {
      const id = body.readUInt16BE(0);
      const cb = this.acks.get(id);
      this.acks.delete(id);
      if (cb) cb(t === 9 ? body.subarray(2) : null);
    } else if (t === 3) {
      const qos = (type >> 1) & 3;
      const tl = body.readUInt16BE(0);
      const topic = body.subarray(2, 2 + tl).toString('utf8');
      let off = 2 + tl;
      if (qos > 0) {
        const id = body.readUInt16BE(off);
        off += 2;
        const ack = Buffer.alloc(2);
        ack.writeUInt16BE(id);
        this.sock.write(packet(0x40, ack));
      }
      this.emit('message', topic, body.subarray(off), {qos, retain: !!(type & 1)});
    }
  }

  publish(topic, payload, {qos = 0, retain = false} = {}) {
    const parts = [str(topic)];
    let id = 0;
    if (qos > 0) {
      id = this.nextId++;
      const b = Buffer.alloc(2);
      b.writeUInt16BE(id);
      parts.push(b);
    }
    parts.push(Buffer.isBuffer(payload) ? payload : Buffer.from(payload));
    this.sock.write(packet(0x30 | (qos << 1) | (retain ? 1 : 0), Buffer.concat(parts)));
    if (qos === 0) return Promise.resolve();
    return new Promise((resolve) => this.acks.set(id, resolve));
  }

  subscribe(filter, qos = 1) {
    const id = this.nextId++;
    const b = Buffer.alloc(2);
    b.writeUInt16BE(id);
    this.sock.write(packet(0x82, Buffer.concat([b, str(filter), Buffer.from([qos])])));
    return new Promise((resolve) => this.acks.set(id, resolve));
  }

  close() {
    try {
      this.sock.write(Buffer.from([0xe0, 0]));
    } catch {
      /* already gone */
    }
    this.sock.destroy();
  }
}

// msgpack encoder for test payloads (maps, arrays, strings, numbers, booleans, null, Buffers).
export function msgpack(v) {
  if (v === null || v === undefined) return Buffer.from([0xc0]);
  if (v === true) return Buffer.from([0xc3]);
  if (v === false) return Buffer.from([0xc2]);
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from([0xc4, v.length]), v]);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 128) return Buffer.from([v]);
    if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) {
      const b = Buffer.alloc(5);
      b[0] = 0xd2;
      b.writeInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    if (s.length < 32) return Buffer.concat([Buffer.from([0xa0 | s.length]), s]);
    return Buffer.concat([Buffer.from([0xd9, s.length]), s]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from([0x90 | v.length]), ...v.map(msgpack)]);
  const keys = Object.keys(v);
  return Buffer.concat([Buffer.from([0x80 | keys.length]), ...keys.flatMap((k) => [msgpack(k), msgpack(v[k])])]);
}

// Polls /stats until pred(stats) holds.
export async function waitStats(gw, pred, timeoutMs = 15000, what = 'stats condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${gw.baseUrl}/stats`);
      last = await r.json();
      if (pred(last)) return last;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last?.connectors)}`);
}

export const connector = (stats, name) => (stats.connectors || []).find((c) => c.name === name);
