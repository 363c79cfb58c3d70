import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs. Redaction is a safety net: code never logs bodies, but if a header or
 * token field ever reaches a log line it is censored.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.access_token',
  '*.refresh_token',
  '*.flow_token',
  '*.mfa_token',
  '*.token',
  '*.code',
  'password',
  'token',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: 'scaikey' }, redact: { paths: redactPaths, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination as never,
  );
}
