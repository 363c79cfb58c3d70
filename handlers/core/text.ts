const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values (pages, mail, docs). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => htmlEntities[c]!);
}

/**
 * The first of `supported` that a list of language preferences asks for, by primary subtag
 * (`de-CH` matches `de`); `preferences` in order of preference. Undefined when none matches.
 */
export function matchLocale<L extends string>(preferences: ReadonlyArray<string | null | undefined>, supported: readonly L[]): L | undefined {
  for (const preference of preferences) {
    const primary = (preference ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
    if ((supported as readonly string[]).includes(primary)) return primary as L;
  }
  return undefined;
}

/** Accept-Language ranges by quality, highest first (ties keep their order); q=0 ranges dropped. */
export function acceptLanguageRanges(header: string | undefined): string[] {
  return (header ?? '')
    .slice(0, 512)
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      const quality = q === undefined ? 1 : Number(q);
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((r) => r.tag && r.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index)
    .map((r) => r.tag);
}
