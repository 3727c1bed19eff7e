// Messages and formatting. Every user-facing text lives in i18n/<lang>.json;
// code refers to it by key. Dates and times are always shown in Europe/Berlin.
// The site's JavaScript stays within what 2018 phones run (Safari 12, Chrome 70): no ?. or ??,
// no replaceChildren; newer Intl parts only with a fallback.

export const LANGUAGES = ['de', 'en'];
const LOCALES = { de: 'de-DE', en: 'en-GB' };
const TIME_ZONE = 'Europe/Berlin';

let lang = 'de';
let messages = {};

export function currentLang() {
  return lang;
}

export function detectLanguage() {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (LANGUAGES.includes(fromUrl)) return fromUrl;
  for (const tag of navigator.languages || [navigator.language || '']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'de';
}

export async function loadLanguage(code) {
  const response = await fetch(`i18n/${code}.json`);
  if (!response.ok) throw new Error(`messages for ${code}: HTTP ${response.status}`);
  messages = await response.json();
  lang = code;
  document.documentElement.lang = code;
}

function lookup(key) {
  return key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), messages);
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The message for `key`, with {placeholders} filled; objects with one/other are plurals by params.count. */
export function t(key, params = {}) {
  let value = lookup(key);
  if (value && typeof value === 'object' && !Array.isArray(value) && 'other' in value) {
    const n = Number(params.count);
    const rule = Intl.PluralRules ? new Intl.PluralRules(LOCALES[lang]).select(n) : (n === 1 ? 'one' : 'other');
    value = rule in value ? value[rule] : value.other;
  }
  if (typeof value !== 'string') {
    console.warn(`missing message: ${lang}.${key}`);
    return key;
  }
  return fill(value, { ...params, count: params.count != null ? formatNumber(params.count) : undefined });
}

/** A list of messages (e.g. bullet points); each string has its {placeholders} filled. */
export function tList(key, params = {}) {
  const value = lookup(key);
  if (!Array.isArray(value)) {
    console.warn(`missing list: ${lang}.${key}`);
    return [];
  }
  return value.map((item) => (typeof item === 'string' ? fill(item, params) : item));
}

/** True if a message exists (used to prefer our own text over the API's for known codes). */
export function has(key) {
  return typeof lookup(key) === 'string';
}

export function formatNumber(n) {
  return new Intl.NumberFormat(LOCALES[lang]).format(n);
}

/** "A, B und C" (type 'conjunction') or "A oder B" ('disjunction'); plain commas on browsers before 2021. */
export function formatList(items, type = 'conjunction') {
  if (!Intl.ListFormat) return items.join(', ');
  return new Intl.ListFormat(LOCALES[lang], { style: 'long', type }).format(items);
}

// A calendar date "YYYY-MM-DD" has no time zone: format it as the same day everywhere.
function calendarDate(isoDate) {
  const [y, m, d] = isoDate.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d, 12));
}

/** "Montag, 8. Februar 2021" for a calendar date "2021-02-08". */
export function formatDate(isoDate, { weekday = true, year = true } = {}) {
  return new Intl.DateTimeFormat(LOCALES[lang], {
    timeZone: 'UTC',
    weekday: weekday ? 'long' : undefined,
    day: 'numeric',
    month: 'long',
    year: year ? 'numeric' : undefined,
  }).format(calendarDate(isoDate));
}

/** The day of an instant, in Berlin: "Montag, 8. Februar 2021". */
export function formatDay(isoDateTime, { year = true } = {}) {
  return new Intl.DateTimeFormat(LOCALES[lang], {
    timeZone: TIME_ZONE,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: year ? 'numeric' : undefined,
  }).format(new Date(isoDateTime));
}

/** "14:30 Uhr" / "14:30" in Berlin time. */
export function formatTime(isoDateTime, { seconds = false } = {}) {
  const time = new Intl.DateTimeFormat(LOCALES[lang], {
    timeZone: TIME_ZONE,
    hour: 'numeric',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
  }).format(new Date(isoDateTime));
  return t('common.time', { time });
}

/** "Montag, 8. Februar 2021, 14:30 Uhr". */
export function formatDateTime(isoDateTime, { year = true } = {}) {
  return t('common.date_time', { date: formatDay(isoDateTime, { year }), time: formatTime(isoDateTime) });
}

/** Today's calendar date in Berlin, "YYYY-MM-DD". */
export function todayInBerlin() {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
  }).formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}
