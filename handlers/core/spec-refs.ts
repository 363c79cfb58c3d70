/* Pure (no Node built-ins): the browser build of the mocks imports it. */

/** Follows local `#/…` references (repeatedly) to the object they name; other values are returned as they are. */
export function resolveLocalRef<T>(spec: unknown, value: T): T {
  let current: unknown = value;
  const seen = new Set<string>();
  while (typeof current === 'object' && current !== null && typeof (current as { $ref?: unknown }).$ref === 'string') {
    const ref = (current as { $ref: string }).$ref;
    if (!ref.startsWith('#/') || seen.has(ref)) throw new Error(`Unsupported or circular $ref ${ref}`);
    seen.add(ref);
    let target: unknown = spec;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[key] : undefined;
    }
    if (target === undefined) throw new Error(`Unresolved $ref ${ref}`);
    current = target;
  }
  return current as T;
}
