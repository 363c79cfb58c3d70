import { acceptLanguageRanges, matchLocale } from '../../core/text.ts';
import { en, type MessageKey, type Messages } from './en.ts';
import { de } from './de.ts';

export type { MessageKey, Messages };

/** One catalogue per locale; add a locale by adding a file and a line here. */
export const catalogues = { en, de } satisfies Record<string, Messages>;
export type PageLocale = keyof typeof catalogues;
export const defaultLocale: PageLocale = 'en';
export const pageLocales = Object.keys(catalogues) as PageLocale[];

/**
 * Picks the page locale: an explicit `?lang=` wins, then the Accept-Language ranges by quality
 * (`de-CH;q=0.8` matches `de`), then English.
 */
export function negotiateLocale(acceptLanguage: string | undefined, override?: unknown): PageLocale {
  const preferences = [typeof override === 'string' ? override : undefined, ...acceptLanguageRanges(acceptLanguage)];
  return matchLocale(preferences, pageLocales) ?? defaultLocale;
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function format(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole));
}

export function translator(locale: PageLocale): (key: MessageKey, vars?: Record<string, string | number>) => string {
  const messages = catalogues[locale];
  return (key, vars) => format(messages[key], vars);
}
