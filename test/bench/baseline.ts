/**
 * The benchmark's ceiling: a bare node:http server answering the same paths with the same bytes from a Map,
 * ETag and 304 included. Started as its own process by run.ts: `node --import tsx baseline.ts <files.json> <port>`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [file = '', port = '0'] = process.argv.slice(2);
const files = new Map<string, { body: string; etag: string; type: string }>(Object.entries(JSON.parse(readFileSync(file, 'utf8'))));
const server = createServer((req, res) => {
  const hit = files.get(req.url ?? '');
  if (hit === undefined) {
    res.writeHead(404).end();
    return;
  }
  if (req.headers['if-none-match'] === hit.etag) {
    res.writeHead(304, { ETag: hit.etag }).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': hit.type, ETag: hit.etag, 'Cache-Control': 'no-cache' }).end(hit.body);
});
server.listen(Number(port), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`);
});
