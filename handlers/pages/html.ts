import { escapeHtml } from '../core/text.ts';
/**
 * A tiny auto-escaping HTML template: `html\`<p>${text}</p>\`` escapes every interpolated value
 * unless it is itself `Html` (or an array of them). No other templating, no build step.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolation = Html | string | number | boolean | null | undefined | Interpolation[];


function render(value: Interpolation): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** A JSON data block for the page scripts (not executed, so CSP allows it); `<` is escaped. */
export function jsonBlock(id: string, data: unknown): Html {
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

export interface FieldOptions {
  id: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'tel';
  name?: string;
  autocomplete?: string;
  required?: boolean;
  hint?: string;
  inputmode?: 'numeric' | 'text' | 'email' | 'tel';
  maxlength?: number;
  pattern?: string;
  value?: string;
  /** Adds a show/hide toggle button (password fields): short visible text, full accessible names. */
  toggle?: { show: string; hide: string; showLabel: string; hideLabel: string };
  spellcheck?: boolean;
  autocapitalize?: 'none' | 'off' | 'words';
}

/**
 * A labelled input with its hint and an (initially empty) error slot, both referenced by
 * aria-describedby; the scripts fill the error and set aria-invalid.
 */
export function field(o: FieldOptions): Html {
  const describedBy = [o.hint ? `${o.id}-hint` : '', `${o.id}-error`].filter(Boolean).join(' ');
  const input = html`<input id="${o.id}" name="${o.name ?? o.id}" type="${o.type ?? 'text'}"${attr('autocomplete', o.autocomplete)}${attr('inputmode', o.inputmode)}${attr('maxlength', o.maxlength)}${attr('pattern', o.pattern)}${attr('value', o.value)}${attr('spellcheck', o.spellcheck === false ? 'false' : undefined)}${attr('autocapitalize', o.autocapitalize)}${o.required ? new Html(' required aria-required="true"') : ''} aria-describedby="${describedBy}">`;
  const control = o.toggle
    ? html`<div class="with-toggle">${input}<button type="button" class="toggle-password" aria-controls="${o.id}" aria-label="${o.toggle.showLabel}" data-show="${o.toggle.show}" data-hide="${o.toggle.hide}" data-show-label="${o.toggle.showLabel}" data-hide-label="${o.toggle.hideLabel}">${o.toggle.show}</button></div>`
    : input;
  return html`<div class="field">
<label for="${o.id}">${o.label}</label>
${o.hint ? html`<p class="hint" id="${o.id}-hint">${o.hint}</p>` : ''}
${control}
<p class="field-error" id="${o.id}-error"></p>
</div>`;
}

function attr(name: string, value: string | number | undefined): Html {
  return value === undefined ? new Html('') : html` ${new Html(name)}="${String(value)}"`;
}

export function checkbox(id: string, label: string, options: { checked?: boolean; name?: string } = {}): Html {
  return html`<div class="check"><input type="checkbox" id="${id}" name="${options.name ?? id}"${options.checked ? new Html(' checked') : ''}><label for="${id}">${label}</label></div>`;
}

/** The form-level error (role=alert: announced when filled) and status (role=status) slots. */
export function formMessages(prefix: string): Html {
  return html`<div class="form-error" id="${prefix}-error" role="alert" aria-atomic="true"></div>
<div class="form-status" id="${prefix}-status" role="status" aria-atomic="true"></div>`;
}
