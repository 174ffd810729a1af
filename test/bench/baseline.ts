/**
 * The benchmark's ceilings: a server answering the same paths with the same bytes from a Map, ETag and 304
 * included. `bare` is node:http alone, what this machine allows; `koa` is the same Map behind Koa and
 * @koa/router, what hotprov's given stack allows before hotprov does anything.
 * Started as its own process by run.ts: `node --import tsx baseline.ts <files.ndjson> <port> [bare|koa]`.
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import Router from '@koa/router';
import Koa from 'koa';

const [file = '', port = '0', kind = 'bare'] = process.argv.slice(2);
// Bodies as Buffers: outside the JavaScript heap, so 100,000 phones' files fit, and sent as they are.
const files = new Map<string, { body: Buffer; etag: string; type: string }>();
for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
  if (line === '') continue;
  const { path, etag, type, body } = JSON.parse(line) as { path: string; etag: string; type: string; body: string };
  files.set(path, { body: Buffer.from(body, 'utf8'), etag, type });
}

function koaApp(): Koa {
  const app = new Koa();
  const router = new Router({ strict: true });
  // Phones fetch at the root without credentials and under /prov/ with them: both as routes, as hotprov has them.
  router.get(['/:filename', '/prov/:filename'], (ctx) => {
    const hit = files.get(ctx.path);
    if (hit === undefined) return; // Koa's 404
    ctx.set('ETag', hit.etag);
    ctx.set('Cache-Control', 'no-cache');
    if (ctx.get('if-none-match') === hit.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = hit.type;
    ctx.body = hit.body;
  });
  app.use(router.routes());
  return app;
}

const server =
  kind === 'koa'
    ? createServer(koaApp().callback())
    : createServer((req, res) => {
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
