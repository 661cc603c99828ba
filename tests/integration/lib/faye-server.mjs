// A Faye server standing in for cometgate while the gateway is being written, and a sanity peer
// for the protocol-generic parts of the suite afterwards (COMETGATE_BIN=faye).
// CLI: node faye-server.mjs --listen HOST:PORT [-c CONFIG.json]
// Serves /healthz and Bayeux on /cometd; exits 0 on SIGTERM.
import http from 'node:http';
import fs from 'node:fs';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const faye = require('faye');

let listen = '127.0.0.1:8080';
let config = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--listen') listen = argv[++i];
  else if (argv[i] === '-c') {
    // The test helper writes the same config as JSON next to the YAML for this peer.
    const file = argv[++i].replace(/\.ya?ml$/, '.json');
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  }
}
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
const timeoutMs = config.bayeux?.timeout_ms ?? 30000;

const bayeux = new faye.NodeAdapter({mount: '/cometd', timeout: timeoutMs / 1000});
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, {'Content-Type': 'application/json'});
    res.end('{"status":"ok","server":"faye"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
bayeux.attach(server);
const sockets = new Set();
server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
server.listen(port, host, () => process.stderr.write(`faye-server listening on ${host}:${port}\n`));
process.on('SIGTERM', () => {
  bayeux.close();
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
