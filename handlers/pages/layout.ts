import { html, jsonBlock, type Html } from './html.ts';
import { catalogues, pageLocales, translator, type PageLocale } from './i18n/index.ts';
import { assetUrl } from './assets.ts';

export interface ShellOptions {
  locale: PageLocale;
  /** Shown in the tab title, before the brand. */
  title: string;
  /** The brand line at the top (tenant name, or the portal's name). */
  brand: string;
  /** Page module under assets/ (without extension), loaded with `<script type="module">`. */
  script?: string;
  /** Read by the page scripts from `#page-data`, with the locale's catalogue added. */
  data?: Record<string, unknown>;
  /** The current path and query, for the language links (which keep the query). */
  path: string;
  query: Record<string, unknown>;
  wide?: boolean;
  body: Html;
  /** A tenant's logo (an https URL, checked by the caller) shown before the brand line. */
  brandLogo?: string;
  /** A same-origin stylesheet after app.css (a tenant's colours). */
  stylesheet?: string;
  /** False for pages that work without JavaScript (default: the notice that a script is needed). */
  noScriptNotice?: boolean;
}

/**
 * The HTML shell shared by every page: no inline script or style, one stylesheet, one module per
 * page, a skip link, a landmark structure and language links.
 */
export function shell(o: ShellOptions): string {
  const t = translator(o.locale);
  const languageLinks = pageLocales.map((locale) => {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query)) if (typeof v === 'string' && k !== 'lang') query.set(k, v);
    query.set('lang', locale);
    const name = catalogues[locale]['meta.lang_name'];
    return locale === o.locale
      ? html`<li><a href="?${query.toString()}" lang="${locale}" aria-current="true">${name}</a></li>`
      : html`<li><a href="?${query.toString()}" lang="${locale}" hreflang="${locale}">${name}</a></li>`;
  });
  const page = html`<!doctype html>
<html lang="${o.locale}" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${o.title} · ${o.brand}</title>
<link rel="stylesheet" href="${assetUrl('app.css')}">
${o.stylesheet ? html`<link rel="stylesheet" href="${o.stylesheet}">` : ''}
${o.script ? html`<script type="module" src="${assetUrl(`${o.script}.js`)}"></script>` : ''}
</head>
<body>
<a class="skip-link" href="#main">${t('common.skip')}</a>
<header class="brand-bar">${o.brandLogo ? html`<img class="brand-logo" src="${o.brandLogo}" alt="" height="32">` : ''}<p class="brand">${o.brand}</p></header>
<main id="main" tabindex="-1" class="${o.wide ? 'wide' : 'narrow'}">
${o.noScriptNotice === false ? '' : html`<noscript><p class="form-error">${t('common.no_script')}</p></noscript>`}
${o.body}
</main>
<footer class="page-footer">
<nav aria-label="${t('common.language')}"><ul class="languages">${languageLinks}</ul></nav>
<p>${t('common.powered_by')}</p>
</footer>
${jsonBlock('page-data', { locale: o.locale, messages: catalogues[o.locale], ...o.data })}
</body>
</html>
`;
  return page.value;
}
