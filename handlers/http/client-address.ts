import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** The client address used by rate limits and audit, with express's `trust proxy` semantics. */
export function clientAddress(setting: boolean | number | string): (req: IncomingMessage) => string {
  if (setting === false) return (req) => req.socket.remoteAddress || 'unknown';
  const trust = compileTrust(setting);
  return (req) => proxyAddr(req, trust) || 'unknown';
}

/**
 * Whether the request reached us over HTTPS: a TLS socket, or (only when TRUST_PROXY trusts the
 * peer) `X-Forwarded-Proto: https` from the proxy that terminated TLS; express's `req.protocol`.
 */
export function requestIsHttps(setting: boolean | number | string): (req: IncomingMessage) => boolean {
  const trust = setting === false ? () => false : compileTrust(setting);
  return (req) => {
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!trust(req.socket.remoteAddress ?? '', 0)) return false;
    const header = req.headers['x-forwarded-proto'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
    return first === 'https';
  };
}

function compileTrust(setting: true | number | string): (address: string, hop: number) => boolean {
  if (setting === true) return () => true;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting.split(',').map((part) => part.trim()).filter(Boolean));
}
