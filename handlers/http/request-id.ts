import { randomUUID } from 'node:crypto';

const requestIdPattern = /^[A-Za-z0-9._:-]{8,128}$/;

/** Honour a caller's X-Request-ID when it is a sane token, so traces join up; otherwise mint one. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value && requestIdPattern.test(value) ? value : randomUUID();
}
