// Look up a booking by code + birth date, and cancel it after a confirmation step (rebooking: rebook.js).
// A booking a centre-day cancel cancelled may come with a pair held for it (`held`): held.js, loaded only then.
import { t } from '../i18n.js';
import { ApiError, getBooking, cancelBooking } from '../api.js';
import { state } from '../state.js';
import { bookingDetails } from './request.js';
import {
  h, page, para, buttonLink, link, textField, dateField, parseDateParts, errorSummary, appointmentList, formFlow, sendOnce,
} from '../ui.js';

const normaliseCode = (code) => code.toUpperCase().replace(/\s+/g, '');

export async function lookupView(ctx) {
  const values = state.lookup;
  // The mails link here with the code only; the person types the birth date (it is in no link or URL).
  if (ctx.query && ctx.query.get('code') && !values.code) values.code = ctx.query.get('code');
  return formFlow({
    ctx,
    check: () => {
      const errors = [];
      const code = normaliseCode(values.code || '');
      if (!code) errors.push({ field: 'code', id: 'booking-code-input', text: t('errors.code_missing') });
      const birth = parseDateParts(values);
      if (birth.error) errors.push({ field: 'birth', id: `lookup-birth-${birth.part || 'day'}`, part: birth.part, text: t(`errors.${birth.error}`) });
      return { errors, code, birthDate: birth.iso };
    },
    submit: async ({ code, birthDate }) => {
      const data = await getBooking(code, birthDate);
      state.booking = { code, birthDate, data };
      ctx.go('#/booking/view');
    },
    apiErrors: (error) => {
      if (!(error instanceof ApiError) || error.unavailable) return null;
      const text = error.status === 404 ? t('errors.code_unknown') : (error.apiMessage || t('errors.api.generic'));
      return [{ field: 'code', id: 'booking-code-input', text }];
    },
    render: ({ errors, errorFor, onsubmit }) => page({ title: t('manage.title'), back: '#/', error: errors.length > 0 },
      para(t('manage.lead'), { class: 'lead' }),
      h('form', { novalidate: true, onsubmit },
        errorSummary(errors),
        textField({
          id: 'booking-code-input', name: 'code', state: values, label: t('manage.code_label'), hint: t('manage.code_hint'),
          error: errorFor('code').text, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', width: 'code',
        }),
        dateField({
          id: 'lookup-birth', legend: t('check.birth_legend'), hint: t('check.birth_hint'), state: values,
          error: errorFor('birth').text, errorPart: errorFor('birth').part,
        }),
        h('button', { type: 'submit', class: 'button' }, t('manage.submit')))),
  });
}

export async function freshBooking(ctx) {
  if (!state.booking) {
    ctx.redirect('#/booking');
    return null;
  }
  try {
    state.booking.data = await getBooking(state.booking.code, state.booking.birthDate);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      state.booking = null;
      ctx.redirect('#/booking');
      return null;
    }
    throw error;
  }
  return state.booking;
}

const personName = (data) => (data.person ? `${data.person.given_name} ${data.person.family_name}` : '');

export async function bookingView(ctx) {
  const booking = await freshBooking(ctx);
  if (!booking) return null;
  const { data, birthDate } = booking;
  const active = data.status === 'active';
  if (!active && data.held) return (await import('./held.js')).heldView(ctx, booking);
  return page({ title: t('manage.view_title'), back: '#/booking' },
    h('div', { class: `notice ${active ? 'notice--success' : 'notice--warning'}` },
      para(t(active ? 'manage.status_active' : 'manage.status_cancelled'))),
    data.person ? para(t('manage.name', { name: personName(data) })) : null,
    active
      ? bookingDetails(data, { birthDate })
      : [h('h2', {}, t('manage.was_booked')), appointmentList({ first: data.first.start, second: data.second && data.second.start, center: data.center })],
    active ? h('section', { class: 'no-print', 'aria-labelledby': 'rebook-heading' },
      h('h2', { id: 'rebook-heading' }, t('rebook.heading')),
      para(t('rebook.text')),
      buttonLink('#/booking/rebook', t('rebook.button'), { secondary: true })) : null,
    active ? h('section', { class: 'no-print', 'aria-labelledby': 'cancel-heading' },
      h('h2', { id: 'cancel-heading' }, t('manage.cancel_heading')),
      para(t('manage.cancel_text')),
      buttonLink('#/booking/cancel', t('manage.cancel_button'), { class: 'button button--warning' }))
      : buttonLink('#/book', t('start.book_button')));
}

export async function cancelView(ctx) {
  const booking = await freshBooking(ctx);
  if (!booking) return null;
  const { data, code, birthDate } = booking;
  if (data.status !== 'active') {
    ctx.redirect('#/booking/view');
    return null;
  }
  const confirm = sendOnce(ctx, async () => {
    await cancelBooking(code, birthDate);
    ctx.go('#/booking/cancelled');
  });
  return page({ title: t('manage.confirm_title'), back: '#/booking/view' },
    appointmentList({ first: data.first.start, second: data.second && data.second.start, center: data.center }),
    h('div', { class: 'notice notice--warning' }, para(t('manage.confirm_text'))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'button button--warning', onclick: confirm }, t('manage.confirm_yes')),
      link('#/booking/view', t('manage.confirm_no'), { class: 'button button--secondary' })));
}

export async function cancelledView(ctx) {
  if (!state.booking) {
    ctx.redirect('#/booking');
    return null;
  }
  return page({ title: t('manage.cancelled_title') },
    h('div', { class: 'notice notice--success' }, para(t('manage.cancelled_text'))),
    para(t('request.spam')),
    buttonLink('#/book', t('manage.book_again')),
    link('#/', t('nav.home')));
}
