'use strict';
// Peer for telltale-bench: the classic `ws` broadcast server. Every message
// that arrives on any connection is sent to every connected client.
//
// Usage: node server.js [PORT] [HOST]   (PORT 0 or absent: any free port)
// Prints `listening on PORT` on stdout once it accepts connections.

const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 0);
const host = process.argv[3] || process.env.HOST || '127.0.0.1';

const wss = new WebSocketServer({ host, port, perMessageDeflate: false });

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });
});

wss.on('error', (err) => {
  console.error(`server error: ${err.message}`);
  process.exit(1);
});

wss.on('listening', () => {
  console.log(`listening on ${wss.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
