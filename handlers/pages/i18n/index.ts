import { en, type MessageKey, type Messages } from './en.ts';
import { de } from './de.ts';

export type { MessageKey, Messages };

/** One catalogue per locale; add a locale by adding a file and a line here. */
export const catalogues = { en, de } satisfies Record<string, Messages>;
export type PageLocale = keyof typeof catalogues;
export const defaultLocale: PageLocale = 'en';
export const pageLocales = Object.keys(catalogues) as PageLocale[];

function isPageLocale(value: string): value is PageLocale {
  return Object.hasOwn(catalogues, value);
}

/**
 * Picks the page locale: an explicit `?lang=` wins, then the Accept-Language ranges by quality
 * (`de-CH;q=0.8` matches `de`), then English.
 */
export function negotiateLocale(acceptLanguage: string | undefined, override?: unknown): PageLocale {
  if (typeof override === 'string') {
    const wanted = override.trim().toLowerCase().split(/[-_]/)[0] ?? '';
    if (isPageLocale(wanted)) return wanted;
  }
  const ranges = (acceptLanguage ?? '')
    .slice(0, 512)
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      const quality = q === undefined ? 1 : Number(q);
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((r) => r.tag && r.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const range of ranges) {
    const primary = range.tag.split('-')[0] ?? '';
    if (isPageLocale(primary)) return primary;
  }
  return defaultLocale;
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function format(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole));
}

export function translator(locale: PageLocale): (key: MessageKey, vars?: Record<string, string | number>) => string {
  const messages = catalogues[locale];
  return (key, vars) => format(messages[key], vars);
}
