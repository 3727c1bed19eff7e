// Rebooking from the look-up page: choose a day, then a pair, confirm, and the API swaps the old pair
// for the new one in one step (contract §7). Until the API says so, nothing has changed; if the pair is
// gone, the old appointments stay and the API's alternatives are offered.
import { t, formatDate, todayInBerlin } from '../i18n.js';
import { ApiError, getAvailability, getCampaigns, rebookBooking } from '../api.js';
import { state } from '../state.js';
import { freshBooking } from './manage.js';
import { bookingDetails } from './request.js';
import { centerLine, asOf, dayPageParts } from './slots.js';
import { openPage, DEFAULT_PAGE_DAYS } from '../paging.js';
import {
  h, page, para, button, link, slotButton, appointmentList, announce, sendOnce,
} from '../ui.js';

/** The booking to change, fresh from the API: an active one, or a cancelled one with a pair held for it (the
 * API swaps the held pair for the chosen one, so the person keeps it until the new one is booked). */
async function activeBooking(ctx) {
  const booking = await freshBooking(ctx);
  if (!booking) return null;
  if (booking.data.status !== 'active' && !booking.data.held) {
    ctx.redirect('#/booking/view');
    return null;
  }
  state.rebook = state.rebook || { day: null, slot: null, daysPage: null };
  return booking;
}

/** What the chosen pair replaces: the held pair of a centre-cancelled booking, else the booking's own. */
function currentSection(data, { center = false } = {}) {
  const pair = data.status === 'active' ? data : data.held;
  return h('section', { 'aria-labelledby': 'rebook-current' },
    h('h2', { id: 'rebook-current' }, t(data.status === 'active' ? 'rebook.current_heading' : 'manage.held.heading')),
    appointmentList({ first: pair.first.start, second: pair.second && pair.second.start, center: center ? data.center : null }));
}

const keepLabel = (data) => t(data.status === 'active' ? 'rebook.keep' : 'rebook.back_to_booking');

// How many days one availability answer covers (the API caps `days` at it anyway).
async function pageDays(campaignId) {
  const { campaigns = [] } = await getCampaigns();
  const campaign = campaigns.find((c) => c.id === campaignId);
  return (campaign && campaign.booking_window_days) || DEFAULT_PAGE_DAYS;
}

export async function rebookDaysView(ctx) {
  const booking = await activeBooking(ctx);
  if (!booking) return null;
  const { data } = booking;
  const today = todayInBerlin();
  const size = await pageDays(data.campaign_id);
  // The same paging through the campaign's horizon as the booking's days page (site/js/paging.js).
  const found = await openPage((from) => getAvailability(data.center.id, data.campaign_id, from, size),
    state.rebook.daysPage, `${booking.code} ${data.center.id} ${data.campaign_id}`, { today, size });
  state.rebook.daysPage = found.position();
  const { availability, days } = found;
  const current = currentSection(data);

  if (found.allTaken) {
    return page({ title: t('rebook.title_none'), back: '#/booking/view' },
      centerLine(data.center),
      h('div', { class: 'notice notice--info' }, para(t('rebook.none'))),
      current,
      link('#/booking/view', keepLabel(data)));
  }
  const parts = dayPageParts(found, {
    today,
    move: (from, direction) => {
      state.rebook.daysPage = found.position(from, direction);
      ctx.go('#/booking/rebook');
    },
    choose: (date) => {
      state.rebook.day = date;
      state.rebook.slot = null;
      ctx.go('#/booking/rebook/times');
    },
  });
  if (!days.length) {
    // Full from a later page to the end of the horizon (or the site stopped looking): the way back.
    return page({ title: t('days.title_none_here'), back: '#/booking/view' },
      centerLine(data.center),
      parts.range,
      h('div', { class: 'notice notice--info' }, para(t('days.none_here'))),
      current,
      asOf(availability),
      parts.actions,
      link('#/booking/view', keepLabel(data)));
  }
  return page({ title: t('rebook.days_title'), back: '#/booking/view' },
    centerLine(data.center),
    parts.skipped,
    para(t('rebook.lead')),
    current,
    parts.range,
    asOf(availability),
    parts.choices,
    parts.actions,
    link('#/booking/view', keepLabel(data)));
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
    currentSection(data, { center: true }),
    alternatives.length
      ? h('section', { 'aria-labelledby': 'rebook-alternatives' },
        h('h2', { id: 'rebook-alternatives' }, t('rebook.alternatives_heading')),
        h('ul', { class: 'slots' }, alternatives.map((slot) => h('li', {}, slotButton(slot, (chosen) => {
          state.rebook.slot = chosen;
          ctx.go('#/booking/rebook/confirm');
        }, { year: true })))))
      : para(t('rebook.no_alternatives')),
    link('#/booking/rebook', t('times.other_day')),
    link('#/booking/view', keepLabel(data)));
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
  const confirm = sendOnce(ctx, async () => {
    try {
      const moved = await rebookBooking(code, birthDate, chosen.slot_id);
      state.booking.data = { ...state.booking.data, ...moved };
      state.rebook = null;
      ctx.go('#/booking/rebooked');
    } catch (error) {
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
  });
  return page({ title: t('rebook.confirm_title'), back: '#/booking/rebook/times' },
    h('section', { 'aria-labelledby': 'rebook-new' },
      h('h2', { id: 'rebook-new' }, t('rebook.new_heading')),
      appointmentList({ first: chosen.start, second: secondOf(chosen), center: data.center })),
    currentSection(data),
    h('div', { class: 'notice notice--info' },
      para(t(data.status === 'active' ? 'rebook.confirm_text' : 'rebook.confirm_held_text'))),
    h('div', { class: 'actions' },
      button(t('rebook.confirm_yes'), confirm),
      link('#/booking/view', keepLabel(data), { class: 'button button--secondary' })));
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
