// Rebooking from the look-up page: choose a day, then a pair, confirm, and the API swaps the old pair
// for the new one in one step (contract §7). Until the API says so, nothing has changed; if the pair is
// gone, the old appointments stay and the API's alternatives are offered.
import { t, formatDate, formatTime, todayInBerlin } from '../i18n.js';
import { ApiError, getAvailability, getCampaigns, rebookBooking } from '../api.js';
import { state } from '../state.js';
import { freshBooking } from './manage.js';
import { bookingDetails } from './request.js';
import {
  h, page, para, button, link, slotButton, appointmentList, announce,
} from '../ui.js';

// The booking window if the campaign does not say (the API caps `days` at it anyway).
const DEFAULT_WINDOW_DAYS = 28;

function centerLine(center) {
  return h('p', { class: 'lead' }, h('span', { class: 'center-name' }, center.name), h('br'), center.address || '');
}

const asOf = (availability) =>
  para(t('slots.as_of', { time: formatTime(availability.generated_at || new Date().toISOString()) }), { class: 'hint' });

/** The booking to change, fresh from the API; only an active one can be rebooked. */
async function activeBooking(ctx) {
  const booking = await freshBooking(ctx);
  if (!booking) return null;
  if (booking.data.status !== 'active') {
    ctx.redirect('#/booking/view');
    return null;
  }
  state.rebook = state.rebook || { day: null, slot: null };
  return booking;
}

async function windowDays(campaignId) {
  const { campaigns = [] } = await getCampaigns();
  const campaign = campaigns.find((c) => c.id === campaignId);
  return (campaign && campaign.booking_window_days) || DEFAULT_WINDOW_DAYS;
}

export async function rebookDaysView(ctx) {
  const booking = await activeBooking(ctx);
  if (!booking) return null;
  const { data } = booking;
  const availability = await getAvailability(data.center.id, data.campaign_id, todayInBerlin(),
    await windowDays(data.campaign_id));
  const days = (availability.days || []).filter((d) => d.slots && d.slots.length);
  const current = h('section', { 'aria-labelledby': 'rebook-current' },
    h('h2', { id: 'rebook-current' }, t('rebook.current_heading')),
    appointmentList({ first: data.first.start, second: data.second && data.second.start }));

  if (!days.length) {
    return page({ title: t('rebook.title_none'), back: '#/booking/view' },
      centerLine(data.center),
      h('div', { class: 'notice notice--info' }, para(t('rebook.none'))),
      current,
      link('#/booking/view', t('rebook.keep')));
  }
  return page({ title: t('rebook.days_title'), back: '#/booking/view' },
    centerLine(data.center),
    para(t('rebook.lead')),
    current,
    asOf(availability),
    h('ul', { class: 'choices choices--grid' }, days.map((day) => h('li', {},
      h('button', {
        type: 'button', class: 'choice',
        onclick: () => {
          state.rebook.day = day.date;
          state.rebook.slot = null;
          ctx.go('#/booking/rebook/times');
        },
      },
      h('span', { class: 'choice-title' }, formatDate(day.date, { year: false })),
      h('span', { class: 'choice-detail' }, t('days.count', { count: day.slots.length })))))),
    link('#/booking/view', t('rebook.keep')));
}

export async function rebookTimesView(ctx) {
  const booking = await activeBooking(ctx);
  if (!booking) return null;
  if (!state.rebook.day) {
    ctx.redirect('#/booking/rebook');
    return null;
  }
  const { data } = booking;
  const availability = await getAvailability(data.center.id, data.campaign_id, state.rebook.day, 1);
  const day = (availability.days || []).find((d) => d.date === state.rebook.day);
  const slots = day ? day.slots : [];
  const title = t('times.title', { date: formatDate(state.rebook.day, { year: false }) });
  if (!slots.length) {
    return page({ title, back: '#/booking/rebook' },
      centerLine(data.center),
      h('div', { class: 'notice notice--info' }, para(t('times.gone'))),
      link('#/booking/rebook', t('times.other_day')));
  }
  return page({ title, back: '#/booking/rebook' },
    centerLine(data.center),
    para(t('times.lead')),
    asOf(availability),
    h('ul', { class: 'slots' }, slots.map((slot) => h('li', {}, slotButton(slot, (chosen) => {
      state.rebook.slot = chosen;
      ctx.go('#/booking/rebook/confirm');
    })))),
    link('#/booking/rebook', t('times.other_day')));
}

const secondOf = (slot) => (slot.second_dose ? (slot.second_dose.start || slot.second_dose.date) : null);

/** The pair was gone: the old appointments stay; offer what the API says can be booked instead. */
function takenView(ctx, booking, alternatives) {
  const { data } = booking;
  return page({ title: t('rebook.taken_title'), back: '#/booking/rebook', error: false },
    h('div', { class: 'notice notice--warning' }, para(t('rebook.taken_text'))),
    h('section', { 'aria-labelledby': 'rebook-current' },
      h('h2', { id: 'rebook-current' }, t('rebook.current_heading')),
      appointmentList({ first: data.first.start, second: data.second && data.second.start, center: data.center })),
    alternatives.length
      ? h('section', { 'aria-labelledby': 'rebook-alternatives' },
        h('h2', { id: 'rebook-alternatives' }, t('rebook.alternatives_heading')),
        h('ul', { class: 'slots' }, alternatives.map((slot) => h('li', {}, slotButton(slot, (chosen) => {
          state.rebook.slot = chosen;
          ctx.go('#/booking/rebook/confirm');
        }, { year: true })))))
      : para(t('rebook.no_alternatives')),
    link('#/booking/rebook', t('times.other_day')),
    link('#/booking/view', t('rebook.keep')));
}

/** Anything else the API refused (cancelled meanwhile, changed at the same moment, first dose begun). */
function refusedView(error) {
  const known = ['booking_cancelled', 'booking_changed', 'appointment_started'].indexOf(error.code) >= 0;
  return page({ title: t('rebook.refused_title'), back: '#/booking/view' },
    h('div', { class: 'notice notice--warning' },
      para(known ? t(`rebook.refused.${error.code}`) : (error.apiMessage || t('errors.api.generic'))),
      para(t('rebook.nothing_changed'))),
    link('#/booking/view', t('rebook.back_to_booking')));
}

export async function rebookConfirmView(ctx) {
  const booking = await activeBooking(ctx);
  if (!booking) return null;
  const chosen = state.rebook.slot;
  if (!chosen) {
    ctx.redirect('#/booking/rebook');
    return null;
  }
  const { data, code, birthDate } = booking;
  let busy = false;
  const confirm = () => {
    if (busy) return;
    busy = true;
    announce(t('common.sending'));
    ctx.act(async () => {
      try {
        const moved = await rebookBooking(code, birthDate, chosen.slot_id);
        state.booking.data = { ...state.booking.data, ...moved };
        state.rebook = null;
        ctx.go('#/booking/rebooked');
      } catch (error) {
        busy = false;
        if (!(error instanceof ApiError) || error.unavailable) throw error;
        if (error.status === 404) {
          state.booking = null;
          ctx.go('#/booking');
        } else if (error.code === 'slot_taken') {
          ctx.show(takenView(ctx, booking, (error.body && error.body.alternatives) || []));
          announce(t('rebook.taken_title'));
        } else {
          ctx.show(refusedView(error));
        }
      }
    }, { kind: 'submit' });
  };
  return page({ title: t('rebook.confirm_title'), back: '#/booking/rebook/times' },
    h('section', { 'aria-labelledby': 'rebook-new' },
      h('h2', { id: 'rebook-new' }, t('rebook.new_heading')),
      appointmentList({ first: chosen.start, second: secondOf(chosen), center: data.center })),
    h('section', { 'aria-labelledby': 'rebook-current' },
      h('h2', { id: 'rebook-current' }, t('rebook.current_heading')),
      appointmentList({ first: data.first.start, second: data.second && data.second.start })),
    h('div', { class: 'notice notice--info' }, para(t('rebook.confirm_text'))),
    h('div', { class: 'actions' },
      button(t('rebook.confirm_yes'), confirm),
      link('#/booking/view', t('rebook.keep'), { class: 'button button--secondary' })));
}

export async function rebookedView(ctx) {
  const booking = await activeBooking(ctx);
  if (!booking) return null;
  return page({ title: t('rebook.done_title') },
    h('div', { class: 'notice notice--success' }, para(t('rebook.done_text'))),
    bookingDetails(booking.data, { birthDate: booking.birthDate }),
    link('#/booking/view', t('rebook.back_to_booking')),
    link('#/', t('nav.home')));
}
