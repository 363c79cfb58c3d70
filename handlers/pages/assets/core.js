// Shared helpers for the hosted pages: messages, the JSON API client, accessible form errors.
// Plain ES module, no build step; loaded by each page's own module.

const dataElement = document.getElementById('page-data');
/** What the server put in the page: locale, message catalogue, tenant, redirect_uri. */
export const page = dataElement ? JSON.parse(dataElement.textContent || '{}') : { messages: {} };

export function has(key) {
  return Object.prototype.hasOwnProperty.call(page.messages, key);
}

/** The message for `key` in the page's locale, with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const template = has(key) ? page.messages[key] : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole));
}

export function $(id) {
  return document.getElementById(id);
}

/** Builds an element: el('li', { class: 'x', text: 'y' }, child, …). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'class') node.className = String(value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export class ApiError extends Error {
  constructor(status, detail, issues = [], retryAfter = null) {
    super(detail || `HTTP ${status}`);
    this.name = 'ApiError';
    /** 0 when the server could not be reached. */
    this.status = status;
    /** The stable `detail` message (string), or null. */
    this.detail = detail;
    /** FastAPI-shaped validation issues from a 422: [{ loc, msg, type, ctx }]. */
    this.issues = issues;
    /** Seconds from Retry-After (429), or null. */
    this.retryAfter = retryAfter;
  }
}

/** Calls the public JSON API on this origin. Resolves with the parsed body; rejects with ApiError. */
export async function api(method, path, { body, token, query } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
    url += `?${params.toString()}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.ok) return json;
  const detail = json && json.detail;
  const retryAfter = Number(response.headers.get('retry-after')) || null;
  throw new ApiError(response.status, typeof detail === 'string' ? detail : null, Array.isArray(detail) ? detail : [], retryAfter);
}

export function minutesText(seconds) {
  const n = Math.max(1, Math.ceil(seconds / 60));
  return n === 1 ? t('common.minutes_one') : t('common.minutes_other', { n });
}

/** A sentence for the user about a failed call, in the page's language. */
export function messageFor(error) {
  if (!(error instanceof ApiError)) return t('common.unexpected_error');
  if (error.status === 0) return t('common.network_error');
  if (error.status === 429) return error.retryAfter ? t('common.too_many_retry', { minutes: minutesText(error.retryAfter) }) : t('common.too_many');
  if (error.detail && has(`errors.${error.detail}`)) return t(`errors.${error.detail}`);
  if (error.detail && error.status < 500) return error.detail;
  if (error.issues.length > 0) return t('common.form_has_errors');
  return t('common.unexpected_error');
}

/** A sentence for one 422 issue (the server's wording is English only). */
export function issueMessage(issue, fieldName) {
  const msg = String(issue.msg || '').replace(/^Value error, /, '');
  const ctx = issue.ctx || {};
  if (issue.type === 'missing') return t('common.field_required');
  let match = /at least (\d+) characters/.exec(msg);
  if (match && /password/i.test(fieldName)) return t('validation.password_min', { min: ctx.min_length || match[1] });
  match = /at most (\d+) characters/.exec(msg);
  if (match && /password/i.test(fieldName)) return t('validation.password_max', { max: ctx.max_length || match[1] });
  if (/too common/i.test(msg)) return t('validation.password_common');
  if (/must not contain your email/i.test(msg)) return t('validation.password_email');
  if (issue.type === 'string_pattern_mismatch' && has(`validation.${fieldName}`)) return t(`validation.${fieldName}`);
  if (issue.type === 'string_too_long') return t('validation.too_long');
  if (/valid email/i.test(msg)) return t('common.email_invalid');
  return msg || t('common.field_invalid');
}

/**
 * One form's messages: a form-level alert (role=alert, announced), a status line (role=status),
 * and per-field errors tied to their inputs with aria-describedby and aria-invalid.
 */
export class FormMessages {
  constructor(form, prefix) {
    this.form = form;
    this.errorElement = $(`${prefix}-error`);
    this.statusElement = $(`${prefix}-status`);
    this.busy = false;
  }

  clear() {
    if (this.errorElement) this.errorElement.textContent = '';
    if (this.statusElement) this.statusElement.textContent = '';
    if (!this.form) return;
    for (const input of this.form.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute('aria-invalid');
    for (const slot of this.form.querySelectorAll('.field-error')) slot.textContent = '';
  }

  error(message) {
    if (this.statusElement) this.statusElement.textContent = '';
    // Re-setting the same text would not be announced again: clear first, then fill a moment later.
    const element = this.errorElement;
    if (element.textContent === message) {
      element.textContent = '';
      window.setTimeout(() => {
        element.textContent = message;
      }, 50);
    } else {
      element.textContent = message;
    }
  }

  status(message) {
    if (this.statusElement) this.statusElement.textContent = message;
  }

  fieldError(id, message) {
    const input = $(id);
    const slot = $(`${id}-error`);
    if (input) input.setAttribute('aria-invalid', 'true');
    if (slot) slot.textContent = message;
  }

  /** Checks required and email fields; marks them and focuses the first problem. */
  validate(fields) {
    let first = null;
    for (const id of fields) {
      const input = $(id);
      if (!input || input.closest('[hidden]')) continue;
      let message = null;
      if (input.required && input.value.trim() === '') message = t('common.field_required');
      else if (input.type === 'email' && input.value && (input.validity.typeMismatch || !/^[^\s@]+@[^\s@]+$/.test(input.value.trim()))) message = t('common.email_invalid');
      if (message) {
        this.fieldError(id, message);
        first ??= input;
      }
    }
    if (first) {
      this.error(t('common.form_has_errors'));
      first.focus();
      return false;
    }
    return true;
  }

  /**
   * Shows an API error: 422 issues on their fields (`fieldIds` maps body field names to input
   * ids), everything else as the form-level alert. Returns the first invalid input, if any.
   */
  apiError(error, fieldIds = {}) {
    let first = null;
    if (error instanceof ApiError && error.issues.length > 0) {
      for (const issue of error.issues) {
        const name = Array.isArray(issue.loc) ? String(issue.loc[1] ?? '') : '';
        const id = fieldIds[name] ?? (name && $(name) ? name : null);
        if (id && $(id)) {
          this.fieldError(id, issueMessage(issue, name));
          first ??= $(id);
        }
      }
    }
    this.error(first ? t('common.form_has_errors') : messageFor(error));
    if (first) first.focus();
    return first;
  }

  /** Runs `work` once at a time, marking the submit button busy (aria-disabled keeps its focus). */
  async run(work) {
    if (this.busy) return;
    this.busy = true;
    const buttons = this.form ? [...this.form.querySelectorAll('button[type="submit"]')] : [];
    for (const b of buttons) b.setAttribute('aria-disabled', 'true');
    if (this.form) this.form.setAttribute('aria-busy', 'true');
    try {
      await work();
    } finally {
      this.busy = false;
      for (const b of buttons) b.removeAttribute('aria-disabled');
      if (this.form) this.form.removeAttribute('aria-busy');
    }
  }
}

/** Wires a form: clears messages and runs `handler` on submit. */
export function onSubmit(form, prefix, handler) {
  const messages = new FormMessages(form, prefix);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (messages.busy) return;
    messages.clear();
    messages.run(() => handler(messages)).catch((error) => {
      messages.apiError(error);
    });
  });
  return messages;
}

/** Show/hide buttons next to password fields. */
export function wirePasswordToggles(root = document) {
  for (const button of root.querySelectorAll('.toggle-password')) {
    button.addEventListener('click', () => {
      const input = $(button.getAttribute('aria-controls'));
      const showing = input.type === 'text';
      input.type = showing ? 'password' : 'text';
      button.textContent = showing ? button.dataset.show : button.dataset.hide;
      button.setAttribute('aria-label', showing ? button.dataset.showLabel : button.dataset.hideLabel);
    });
  }
}

/** Shows one step (section) of a multi-step page and moves focus to `focusTarget` or its heading. */
export function showStep(stepId, allSteps, focusTarget) {
  for (const id of allSteps) $(id).hidden = id !== stepId;
  const target = focusTarget || $(stepId).querySelector('h1, h2');
  if (target) target.focus();
}

export function formatDate(value) {
  if (!value) return t('common.never');
  try {
    return new Intl.DateTimeFormat(page.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(value));
  } catch {
    return String(value);
  }
}

/** "Chrome on Linux": a short label for a browser, from a user agent string. */
export function describeUserAgent(ua = navigator.userAgent) {
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : null;
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /Android/.test(ua)
      ? 'Android'
      : /iPhone|iPad|iPod/.test(ua)
        ? 'iOS'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  if (browser && os) return `${browser} · ${os}`;
  return browser || os || ua.slice(0, 60) || '—';
}

/** Only http(s) URLs are followed (never javascript: or data:). */
export function safeRedirect(value) {
  if (typeof value !== 'string' || value === '') return null;
  try {
    const url = new URL(value, window.location.origin);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : null;
  } catch {
    return null;
  }
}

wirePasswordToggles();
