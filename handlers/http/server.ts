import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DrainOutcome {
  /** Requests still unanswered at the deadline, whose connections were closed. */
  forced: number;
}

export interface Listening {
  server: Server;
  url: string;
  /**
   * Graceful stop: refuses new connections at once, closes idle keep-alive sockets, answers the
   * requests in flight (and any already on an open connection) with `Connection: close`, and
   * resolves when every one of them has been answered and every connection is closed. At
   * `deadlineMs` the connections still open are closed and it resolves anyway.
   */
  drain(deadlineMs: number): Promise<DrainOutcome>;
}

/** The node:http server around the front, with JSON answers even for requests Node refuses itself. */
export async function listen(app: RequestListener, port: number, host: string): Promise<Listening> {
  // Responses whose handler has not ended them yet: what a graceful stop waits for.
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let settled: (() => void) | undefined;
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight.add(res);
    const done = () => {
      if (!inFlight.delete(res) || !draining) return;
      // The socket that served it may now be idle (a response already under way kept it alive).
      server.closeIdleConnections();
      if (inFlight.size === 0) settled?.();
    };
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const result = end(...args);
      done();
      return result;
    }) as typeof res.end;
    res.once('close', () => {
      // A connection lost before the handler answered: the handler still runs, so it is still in flight.
      if (res.writableEnded) done();
    });
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  });
  // Requests Node refuses before the app sees them (bad framing, oversized headers) still get a JSON detail.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({ detail: tooLarge ? 'Request header fields too large' : 'Bad request' });
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    server,
    url,
    drain: (deadlineMs) =>
      new Promise<DrainOutcome>((resolve) => {
        draining = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        let closed = false;
        let finish = () => undefined as void;
        const timer = setTimeout(() => {
          const forced = inFlight.size;
          server.closeAllConnections();
          inFlight.clear();
          finish = () => undefined;
          resolve({ forced });
        }, deadlineMs);
        finish = () => {
          if (!closed || inFlight.size > 0) return;
          clearTimeout(timer);
          resolve({ forced: 0 });
        };
        settled = () => finish();
        server.close(() => {
          closed = true;
          finish();
        });
        server.closeIdleConnections();
      }),
  };
}
