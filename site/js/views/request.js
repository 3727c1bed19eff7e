// The waiting page (polls GET /v1/booking-requests/{id}) and its two results: booked or rejected.
// "Booked" is shown only when the API says so.
import { t, tList, formatNumber, formatTime, has } from '../i18n.js';
import { ApiError, getBookingRequest, downloadCalendar, nextPollDelay, retryAfterOf } from '../api.js';
import { state } from '../state.js';
import { sendBookingRequest } from '../booking.js';
import {
  h, page, para, button, buttonLink, link, appointmentList, slotButton, doseLines, announce, errorSummary, replaceContent,
} from '../ui.js';

const FIRST_DELAY = 1000;
const SOON_MAX = 2000; // poll every 1-2 s at first …
const LATER_MAX = 5000; // … then back off when it takes long
const SOON_MS = 60000;
const ANNOUNCE_EVERY_MS = 20000;

export async function requestView(ctx) {
  const id = decodeURIComponent(ctx.params[0]);
  const local = state.requests[id] || {};
  let first = null;
  if (local.final) return result(local.final, local, ctx); // e.g. after switching the language
  if (state.requests[id]) {
    // Sent from this tab a moment ago: the 202 said "queued"; show that at once and poll.
    first = { status: 'queued' };
  } else {
    // Opened from a link or reloaded: ask first, so we never claim a request we do not know.
    try {
      first = await getBookingRequest(id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return notFound();
      if (!(error instanceof ApiError && error.unavailable)) throw error;
    }
    if (first && first.status !== 'queued') return result(first, local, ctx);
  }

  const view = waiting(first, local, !first);
  const started = Date.now();
  let delay = FIRST_DELAY;
  let timer = null;
  let lastAnnounced = 0;
  ctx.onLeave(() => clearTimeout(timer));

  const poll = async () => {
    if (!ctx.isCurrent()) return;
    try {
      const answer = await getBookingRequest(id);
      if (!ctx.isCurrent()) return;
      if (answer.status !== 'queued') {
        if (state.requests[id]) state.requests[id].final = answer;
        ctx.show(result(answer, local, ctx));
        announce(t(answer.status === 'booked' ? 'request.announce_booked' : 'request.announce_rejected'));
        return;
      }
      view.update(answer, false);
      if (answer.position != null && Date.now() - lastAnnounced > ANNOUNCE_EVERY_MS) {
        lastAnnounced = Date.now();
        announce(positionText(answer.position));
      }
      const scheduled = Math.min(delay * 1.25, Date.now() - started < SOON_MS ? SOON_MAX : LATER_MAX);
      delay = nextPollDelay(delay, { retryAfter: retryAfterOf(answer), maxMs: scheduled }); // Retry-After wins
    } catch (error) {
      if (!ctx.isCurrent()) return;
      if (error instanceof ApiError && error.status === 404) {
        ctx.show(notFound());
        return;
      }
      view.update(null, true);
      delay = error.retryAfter != null ? Math.max(1, error.retryAfter) * 1000 : Math.min(delay * 2, 15000);
    }
    timer = setTimeout(poll, delay);
  };
  timer = setTimeout(poll, delay);
  return view.node;
}

// `position` is the queue's length (requests waiting, this one included), not an exact place: said as such.
function positionText(position) {
  return position === 1 ? t('request.position_one') : t('request.position', { position: formatNumber(position) });
}

function waiting(answer, local, trouble) {
  const position = h('p', { class: 'position', id: 'queue-position' });
  const checked = h('p', { class: 'hint', id: 'last-checked' });
  const troubleNote = h('div', { class: 'notice notice--warning', hidden: true }, para(t('request.trouble')));

  const update = (data, hasTrouble) => {
    if (data) {
      position.hidden = data.position == null;
      position.textContent = data.position == null ? '' : positionText(data.position);
      checked.textContent = t('request.last_checked', { time: formatTime(new Date().toISOString(), { seconds: true }) });
    }
    if (hasTrouble && troubleNote.hidden) announce(t('request.trouble'));
    troubleNote.hidden = !hasTrouble;
  };
  update(answer || { position: null }, trouble);

  const second = local.slot && local.slot.second_dose ? (local.slot.second_dose.start || local.slot.second_dose.date) : null;
  const node = page({ title: t('request.title') },
    h('div', { class: 'notice notice--info' },
      para(t('request.safe')),
      position),
    para(t('request.not_yet')),
    para(local.email ? t('request.close_ok_email', { email: local.email }) : t('request.close_ok')),
    para(t('request.spam')),
    troubleNote,
    para(t('request.auto')),
    checked,
    local.slot ? h('section', { 'aria-labelledby': 'asked-for' },
      h('h2', { id: 'asked-for' }, t('request.asked_for')),
      h('ul', { class: 'bullets' }, doseLines(local.slot.start, second).map((line) => h('li', {}, line))),
      local.center ? para(local.center.name) : null) : null);
  return { node, update };
}

function notFound() {
  return page({ title: t('request.not_found_title'), error: true },
    para(t('request.not_found')),
    buttonLink('#/booking', t('start.manage_link')),
    buttonLink('#/', t('nav.home'), { secondary: true }));
}

function result(answer, local, ctx) {
  return answer.status === 'booked' ? booked(answer.booking, local) : rejected(answer, local, ctx);
}

async function copyText(text, codeElement) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(codeElement);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand && document.execCommand('copy');
  }
}

/** Code, both appointments, place, calendar, print, what to bring. Also used by the look-up page. */
export function bookingDetails(booking, { birthDate, fallbackCenter } = {}) {
  const center = booking.center || fallbackCenter || null;
  const codeEl = h('p', { class: 'code', id: 'booking-code' }, booking.code);
  const copied = h('p', { class: 'hint copy-result', hidden: true });
  const copyButton = button(t('booked.copy'), async () => {
    const ok = await copyText(booking.code, codeEl);
    copied.textContent = t(ok ? 'booked.copied' : 'booked.copy_failed');
    copied.hidden = false;
    announce(copied.textContent);
  }, { secondary: true, class: 'button button--secondary no-print' });

  return [
    h('section', { class: 'code-box', 'aria-labelledby': 'code-label' },
      h('h2', { id: 'code-label' }, t('booked.code_label')),
      codeEl,
      para(t('booked.code_hint')),
      copyButton,
      copied),
    h('section', { 'aria-labelledby': 'your-appointments' },
      h('h2', { id: 'your-appointments' }, t('booked.appointments')),
      appointmentList({ first: booking.first.start, second: booking.second && booking.second.start, center })),
    h('div', { class: 'actions no-print' },
      birthDate ? button(t('booked.calendar'), () => downloadCalendar(booking.code, birthDate).catch(() => {
        announce(t('booked.calendar_failed'));
      }), { secondary: true }) : null,
      button(t('booked.print'), () => window.print(), { secondary: true })),
    h('section', { 'aria-labelledby': 'bring' },
      h('h2', { id: 'bring' }, t('booked.bring_heading')),
      h('ul', { class: 'bullets' }, tList('booked.bring').map((item) => h('li', {}, item))),
      para(t('booked.forms'))),
  ];
}

function booked(booking, local) {
  return page({ title: t('booked.title') },
    h('div', { class: 'notice notice--success' }, para(t('booked.lead'))),
    bookingDetails(booking, { birthDate: state.birthDate, fallbackCenter: local.center || state.center }),
    h('section', { class: 'no-print', 'aria-labelledby': 'mail' },
      h('h2', { id: 'mail' }, t('booked.mail_heading')),
      para(local.email ? t('booked.mail_to', { email: local.email }) : t('booked.mail')),
      para(t('request.spam'))),
    h('div', { class: 'no-print' }, link('#/booking', t('start.manage_link'))));
}

function rejected(answer, local, ctx) {
  const reason = has(`rejected.reason.${answer.reason}`) ? `rejected.reason.${answer.reason}` : 'rejected.reason.other';
  const alternatives = answer.reason === 'slot_taken' ? (answer.alternatives || []) : [];
  const canResend = Boolean(state.campaign && state.center && state.birthDate && state.person.email);
  const errorSlot = h('div');

  const choose = (slot) => {
    state.slot = slot;
    sendBookingRequest(ctx, slot, (error) => {
      replaceContent(errorSlot, errorSummary([{ id: null, text: error.apiMessage || t('errors.booking.other') }]));
      errorSlot.firstChild.focus();
    });
  };

  const node = page({ title: t('rejected.title') },
    h('div', { class: 'notice notice--warning' }, para(t(reason))),
    errorSlot,
    alternatives.length && canResend ? h('section', { 'aria-labelledby': 'alternatives' },
      h('h2', { id: 'alternatives' }, t('rejected.alternatives_heading')),
      para(t('rejected.alternatives_hint')),
      h('ul', { class: 'slots' }, alternatives.map((slot) => h('li', {}, slotButton(slot, choose, { year: false }))))) : null,
    // not_processed: nothing was booked and asking again is safe, so offer the same slot again in one step.
    answer.reason === 'not_processed' && canResend && state.slot
      ? h('div', { class: 'actions' }, button(t('rejected.try_again'), () => choose(state.slot)))
      : null,
    answer.reason === 'already_booked'
      ? buttonLink('#/booking', t('start.manage_link'))
      : buttonLink(state.center && state.campaign ? '#/book/days' : '#/book', t('rejected.search_again'), { secondary: alternatives.length > 0 }),
    h('h2', {}, t('start.phone_heading')),
    para(t('eligibility.no_phone')));
  return node;
}
