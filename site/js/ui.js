// Small DOM helpers and the shared building blocks of every page.
// Text always goes in as text nodes (never innerHTML), so API data cannot inject markup.
import { t, formatDate, formatDateTime, has } from './i18n.js';

/** h('p', {class: 'lead'}, 'text', child, [children]) → element. on* attributes take functions. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content (Element.replaceChildren is too new for old phones). */
export function replaceContent(el, ...children) {
  el.textContent = '';
  append(el, children);
}

export function fragment(...children) {
  const f = document.createDocumentFragment();
  append(f, children);
  return f;
}

/** Tell screen readers about a change that is not a page change (polite live region). */
export function announce(text) {
  const region = document.getElementById('announcer');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 60);
}

export function setTitle(text, { error = false } = {}) {
  document.title = `${error ? t('common.error_title_prefix') : ''}${text} – ${t('site.name')}`;
}

/** A link that looks like a link but is a comfortable target; href is a route like "#/book". */
export const link = (href, text, attrs = {}) => h('a', { href, class: 'link', ...attrs }, text);
export const buttonLink = (href, text, { secondary = false, ...attrs } = {}) =>
  h('a', { href, class: secondary ? 'button button--secondary' : 'button', ...attrs }, text);
export const button = (text, onclick, { secondary = false, ...attrs } = {}) =>
  h('button', { type: 'button', class: secondary ? 'button button--secondary' : 'button', onclick, ...attrs }, text);
export const backLink = (href) => h('a', { href, class: 'back-link' }, t('common.back'));

/** The frame of a page: optional back link and step, the h1 (focused after navigation), content. */
export function page({ title, back, step, error = false }, ...content) {
  setTitle(title, { error });
  return fragment(
    back ? backLink(back) : null,
    step ? h('p', { class: 'step' }, t('common.step', { current: step, total: 5 })) : null,
    h('h1', { tabindex: '-1' }, title),
    content,
  );
}

export const para = (text, attrs = {}) => h('p', attrs, text);

export function notice(kind, ...content) {
  return h('div', { class: `notice notice--${kind}` }, content);
}

// ---------- forms ----------

/**
 * A form's errors: [{ id, text }] where id is the input to link to.
 * Renders the GOV.UK-style summary (linked to the fields) that gets focus after a failed submit.
 */
export function errorSummary(errors) {
  if (!errors.length) return null;
  return h('div', { class: 'error-summary', tabindex: '-1', 'aria-labelledby': 'error-summary-title' },
    h('h2', { id: 'error-summary-title' }, t('errors.summary_title')),
    h('ul', {}, errors.map((e) => h('li', {}, e.id ? h('a', { href: `#${e.id}` }, e.text) : e.text))));
}

function fieldError(id, text) {
  return text ? h('p', { class: 'field-error', id: `${id}-error` },
    h('span', { class: 'visually-hidden' }, t('common.error_prefix')), ' ', text) : null;
}

const describedBy = (...ids) => ids.filter(Boolean).join(' ') || null;

/** Label, hint, inline error and input in one block. `state[name]` holds the value across re-renders. */
export function textField({ id, name, label, hint, error, state, type = 'text', width, ...attrs }) {
  const input = h('input', {
    id, name, type,
    class: `input${width ? ` input--${width}` : ''}`,
    value: state[name] || '',
    'aria-invalid': error ? 'true' : null,
    'aria-describedby': describedBy(hint && `${id}-hint`, error && `${id}-error`),
    oninput: (event) => { state[name] = event.target.value; },
    ...attrs,
  });
  return h('div', { class: `field${error ? ' field--error' : ''}` },
    h('label', { for: id, class: 'label' }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    fieldError(id, error),
    input);
}

/** Day / month / year as three numeric fields in a fieldset (easier than a date picker on old phones). */
export function dateField({ id, legend, hint, error, errorPart, state }) {
  const part = (key, autocomplete, width, maxlength) => {
    const partId = `${id}-${key}`;
    return h('div', { class: 'date-part' },
      h('label', { for: partId, class: 'label label--small' }, t(`common.date_${key}`)),
      h('input', {
        id: partId, name: partId, type: 'text', inputmode: 'numeric', autocomplete, maxlength,
        class: `input input--${width}`, value: state[key] || '',
        'aria-invalid': error && (!errorPart || errorPart === key) ? 'true' : null,
        oninput: (event) => { state[key] = event.target.value; },
      }));
  };
  return h('div', { class: `field${error ? ' field--error' : ''}` },
    h('fieldset', { class: 'fieldset', 'aria-describedby': describedBy(`${id}-hint`, error && `${id}-error`) },
      h('legend', { class: 'label' }, legend),
      h('p', { class: 'hint', id: `${id}-hint` }, hint),
      fieldError(id, error),
      h('div', { class: 'date-parts' },
        part('day', 'bday-day', 2, 2), part('month', 'bday-month', 2, 2), part('year', 'bday-year', 4, 4))));
}

/** {day, month, year} → {iso} or {error: message key, part}. */
export function parseDateParts({ day = '', month = '', year = '' }) {
  const [d, m, y] = [day, month, year].map((v) => String(v).trim());
  if (!d && !m && !y) return { error: 'birth_missing' };
  for (const [value, part] of [[d, 'day'], [m, 'month'], [y, 'year']]) {
    if (!/^\d+$/.test(value)) return { error: 'birth_incomplete', part };
  }
  if (y.length !== 4) return { error: 'birth_year', part: 'year' };
  const date = new Date(Date.UTC(+y, +m - 1, +d));
  if (date.getUTCFullYear() !== +y || date.getUTCMonth() !== +m - 1 || date.getUTCDate() !== +d) {
    return { error: 'birth_invalid' };
  }
  if (+y < 1890 || date > new Date()) return { error: 'birth_unlikely', part: 'year' };
  return { iso: `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}` };
}

/**
 * The submit flow every form page shares, so a view keeps only its fields, checks and API call.
 * - check() → { errors, ...whatever submit needs }; runs once per submit, so a retry sends the same.
 * - submit(checked): the API call, run through ctx.act (`kind` as there: "unavailable" shows the error page).
 * - apiErrors(error) → the errors to show with the form, or null to let ctx.act handle the error.
 * - render({ errors, errorFor, onsubmit }) → the page; errorFor(field) is that field's error ({ text, part }) or {}.
 * Errors are [{ field, id, text }] (see errorSummary). A second submit is ignored while one is under way.
 */
export function formFlow({ ctx, check, submit, apiErrors, render, kind }) {
  const show = (errors = []) => {
    const byField = {};
    errors.forEach((e) => { if (e.field) byField[e.field] = e; });
    let busy = false;
    const onsubmit = (event) => {
      event.preventDefault();
      if (busy) return;
      const checked = check();
      if (checked.errors.length) {
        ctx.show(show(checked.errors));
        return;
      }
      busy = true;
      announce(t('common.sending'));
      ctx.act(async () => {
        try {
          await submit(checked);
        } catch (error) {
          busy = false;
          const found = apiErrors(error);
          if (!found) throw error;
          ctx.show(show(found));
        }
      }, { kind });
    };
    return render({ errors, errorFor: (field) => byField[field] || {}, onsubmit });
  };
  return show();
}

/**
 * A button's action that must reach the API once: a second press while it is under way is ignored (a double
 * click must not cancel or rebook twice). send() is run through ctx.act (`kind` as there); the guard opens again
 * when it ends, so a refused or failed action can be sent again from the page it leaves in place.
 */
export function sendOnce(ctx, send, { kind = 'submit' } = {}) {
  let busy = false;
  return () => {
    if (busy) return;
    busy = true;
    announce(t('common.sending'));
    ctx.act(async () => {
      try {
        await send();
      } finally {
        busy = false;
      }
    }, { kind });
  };
}

/** Errors the API reported per field (400 invalid_request) → {fieldPath: text}, our words where we know the code. */
export function apiFieldErrors(error) {
  const details = error.details && error.details.length
    ? error.details
    : [{ field: error.field, code: error.code, message: error.apiMessage }];
  const result = {};
  for (const d of details) {
    const field = d.field || '';
    if (result[field]) continue;
    const leaf = field.split('.').pop();
    const ours = [`errors.api.${leaf}.${d.code}`, `errors.api.${d.code}`].find(has);
    result[field] = ours ? t(ours) : (d.message || t('errors.api.generic'));
  }
  return result;
}

// ---------- appointments ----------

/** "1. Impfung: Montag, 8. Februar 2021, 14:30 Uhr" for both doses of a slot / booking. */
export function doseLines(first, second, { year = true } = {}) {
  return [
    t('appointment.first', { when: when(first, { year }) }),
    second ? t('appointment.second', { when: when(second, { year }) }) : null,
  ].filter(Boolean);
}

// A start time with offset, or only a calendar date when the API gave no time.
const when = (value, { year = true } = {}) =>
  (String(value).length <= 10 ? formatDate(value, { year }) : formatDateTime(value, { year }));

/** The two dates of a bookable pair as a button; the whole text is the accessible name. */
export function slotButton(slot, onchoose, { year = false } = {}) {
  const second = slot.second_dose ? (slot.second_dose.start || slot.second_dose.date) : null;
  const lines = doseLines(slot.start, second, { year });
  return h('button', { type: 'button', class: 'slot', onclick: () => onchoose(slot) },
    lines.map((line) => h('span', { class: 'slot-line' }, line)));
}

/** A definition list with both appointments and the place. */
export function appointmentList({ first, second, center }) {
  const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, value)];
  return h('dl', { class: 'appointments' },
    row(t('appointment.first_label'), when(first)),
    second ? row(t('appointment.second_label'), when(second)) : null,
    center ? row(t('appointment.place_label'), h('span', { class: 'center-name' }, center.name),
      center.address ? h('br') : null, center.address || null) : null,
    center && center.hotline ? row(t('appointment.hotline_label'), phoneLink(center.hotline)) : null);
}

/** A phone number as a link that dials it. */
export function phoneLink(number) {
  return h('a', { class: 'phone-link', href: `tel:${number.replace(/[^\d+]/g, '')}` }, number);
}

/** The hotline to name: the one of the chosen centre's region (each region runs its own), else the general one. */
export function regionHotline(center) {
  return (center && center.hotline) || (window.VAXSLOT_CONFIG || {}).hotline || '';
}
