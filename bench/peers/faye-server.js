// Faye 1.4.3 peer for cg-load: Bayeux at /cometd on a plain Node http server.
// usage: node bench/peers/faye-server.js [PORT] [HOST]   (loopback only)
'use strict';
const http = require('http');
const path = require('path');
const faye = require(path.join(__dirname, '..', 'node_modules', 'faye'));

const port = Number(process.argv[2] || 8090);
const host = process.argv[3] || '127.0.0.1';
if (!/^127\.|^::1$|^localhost$/.test(host)) {
  console.error('faye-server: refusing non-loopback host ' + host);
  process.exit(2);
}

const bayeux = new faye.NodeAdapter({ mount: '/cometd', timeout: 25 });
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
// long-polls are held up to 25 s; do not let node's own timeouts cut them
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.requestTimeout = 0;
bayeux.attach(server);
server.listen(port, host, () => {
  console.log(`faye listening on ${host}:${port} pid ${process.pid}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
