/**
 * The benchmark's ceiling: a bare node:http server answering the same paths with the same bytes from a Map,
 * ETag and 304 included. Started as its own process by run.ts: `node --import tsx baseline.ts <files.ndjson> <port>`.
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const [file = '', port = '0'] = process.argv.slice(2);
// Bodies as Buffers: outside the JavaScript heap, so 100,000 phones' files fit, and sent as they are.
const files = new Map<string, { body: Buffer; etag: string; type: string }>();
for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
  if (line === '') continue;
  const { path, etag, type, body } = JSON.parse(line) as { path: string; etag: string; type: string; body: string };
  files.set(path, { body: Buffer.from(body, 'utf8'), etag, type });
}
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
