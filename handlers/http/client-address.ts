import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** The client address used by rate limits and audit, with express's `trust proxy` semantics. */
export function clientAddress(setting: boolean | number | string): (req: IncomingMessage) => string {
  if (setting === false) return (req) => req.socket.remoteAddress || 'unknown';
  const trust = compileTrust(setting);
  return (req) => proxyAddr(req, trust) || 'unknown';
}

function compileTrust(setting: true | number | string): (address: string, hop: number) => boolean {
  if (setting === true) return () => true;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting.split(',').map((part) => part.trim()).filter(Boolean));
}
