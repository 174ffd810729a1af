import { createServer, type Server } from 'node:net';

/**
 * An Asterisk manager interface on loopback that accepts one secret and records the endpoints it is asked to
 * NOTIFY (`PJSIPNotify`), answering as Asterisk does.
 */
export function fakeAsterisk(secret: string): Promise<{ server: Server; port: number; endpoints: string[] }> {
  const endpoints: string[] = [];
  const server = createServer((socket) => {
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    socket.on('data', (chunk) => {
      for (const block of chunk.toString().split('\r\n\r\n')) {
        const id = /ActionID: (\S+)/.exec(block)?.[1];
        if (/Action: Login/.test(block))
          socket.write(
            `Response: ${block.includes(`Secret: ${secret}\r\n`) || block.endsWith(`Secret: ${secret}`) ? 'Success' : 'Error'}\r\nActionID: ${id}\r\n\r\n`,
          );
        if (/Action: PJSIPNotify/.test(block)) {
          endpoints.push(/Endpoint: (\S+)/.exec(block)?.[1] ?? '');
          socket.write(`Response: Success\r\nActionID: ${id}\r\nMessage: NOTIFY sent\r\n\r\n`);
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, endpoints })));
}
