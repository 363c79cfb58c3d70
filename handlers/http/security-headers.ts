import helmet from 'helmet';

/** Helmet's headers for the API (no content at all may load), computed once instead of per request. */
export function apiSecurityHeaders(): Array<[string, string]> {
  return headersSetBy(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
}

/** The headers a middleware sets when it only ever sets fixed ones (helmet with a static policy). */
function headersSetBy(middleware: (req: never, res: never, next: (error?: unknown) => void) => void): Array<[string, string]> {
  const headers = new Map<string, [string, string]>();
  const recorder = {
    setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), [name, String(value)]),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
    getHeader: (name: string) => headers.get(name.toLowerCase())?.[1],
  };
  let finished = false;
  middleware({ headers: {}, method: 'GET', url: '/' } as never, recorder as never, (error) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('security header middleware did not finish synchronously');
  return [...headers.values()];
}
