// Honest error pages: say what happened, what it means for the booking, and retry by ourselves.
import { t, formatTime } from '../i18n.js';
import { h, page, para, button, buttonLink } from '../ui.js';

const DEFAULT_WAIT = 10; // seconds, when the API gave no Retry-After (e.g. no connection)
const MAX_WAIT = 300;
let failuresInARow = 0; // backs off the automatic retry while there is no answer at all

function hotline() {
  return (window.VAXSLOT_CONFIG || {}).hotline || '';
}

/**
 * The API did not answer, or answered 429 / 5xx. `kind`: 'start' (the start page), 'load' (a later page),
 * 'submit' (a booking was being sent).
 * Shows when we try again (Retry-After, or a growing pause) and counts down; "try now" is always offered.
 */
export function unavailableView(error, kind, { retry, onLeave }) {
  const busy = error.status === 429 || error.status === 503;
  failuresInARow += 1;
  const fallback = DEFAULT_WAIT * Math.min(6, failuresInARow);
  const wait = Math.max(1, Math.min(MAX_WAIT, error.retryAfter != null ? error.retryAfter : fallback));
  const due = Date.now() + wait * 1000;

  let outcome = null; // what this means for the citizen's booking or entries
  if (kind === 'submit') outcome = error.status === 0 ? 'errors.unavailable.submit_unknown' : 'errors.unavailable.submit_not_sent';
  else if (kind === 'load') outcome = 'errors.unavailable.nothing_lost';

  const countdown = h('p', { class: 'countdown' }, t('errors.unavailable.retry_in', { count: wait }));
  const tick = setInterval(() => {
    const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    countdown.textContent = t('errors.unavailable.retry_in', { count: left });
  }, 1000);
  const timer = setTimeout(retry, wait * 1000);
  onLeave(() => { clearInterval(tick); clearTimeout(timer); });

  const node = page({ title: t(busy ? 'errors.unavailable.title_busy' : 'errors.unavailable.title_down'), error: true },
    para(t(busy ? 'errors.unavailable.text_busy' : 'errors.unavailable.text_down')),
    outcome ? para(t(outcome)) : null,
    h('div', { class: 'notice notice--info', 'data-retry-after': String(wait) },
      countdown,
      para(t('errors.unavailable.retry_at', { time: formatTime(new Date(due).toISOString(), { seconds: true }) }))),
    button(t('errors.unavailable.retry_now'), retry),
    h('h2', {}, t('errors.unavailable.phone_heading')),
    para(t('errors.unavailable.phone_text')),
    h('a', { class: 'phone-link', href: `tel:${hotline().replace(/[^\d+]/g, '')}` }, hotline()));
  return node;
}

/** Called when the API answered normally again. */
export function resetFailures() {
  failuresInARow = 0;
}

export function notFoundView() {
  return page({ title: t('errors.not_found.title') },
    para(t('errors.not_found.text')),
    buttonLink('#/', t('nav.home')));
}

/** An answer we did not expect (a bug on either side): say so plainly, offer the start page and the phone. */
export function problemView(error) {
  return page({ title: t('errors.problem.title'), error: true },
    para(t('errors.problem.text')),
    error && error.apiMessage ? para(error.apiMessage, { class: 'api-message' }) : null,
    para(t('errors.unavailable.phone_text')),
    h('a', { class: 'phone-link', href: `tel:${hotline().replace(/[^\d+]/g, '')}` }, hotline()),
    buttonLink('#/', t('nav.home'), { secondary: true }));
}
