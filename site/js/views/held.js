// The look-up page of a booking a centre-day cancel cancelled, while a new pair is held for it (`held` in the
// look-up answer): keep the pair in one step (a rebook naming its first slot, contract: Booking.held), or choose
// other appointments through the rebook flow (rebook.js), which keeps the held pair until the new one is taken. Loaded by manage.js only for such a booking, so a first visit does not carry it.
import { t, formatDateTime } from '../i18n.js';
import { ApiError, rebookBooking } from '../api.js';
import { state } from '../state.js';
import { bookingDetails } from './request.js';
import {
  h, page, para, button, buttonLink, link, appointmentList, announce, sendOnce,
} from '../ui.js';

const personName = (data) => (data.person ? `${data.person.given_name} ${data.person.family_name}` : '');

const heldAppointments = (held, center) =>
  appointmentList({ first: held.first.start, second: held.second && held.second.start, center });

/** Another pair than the held one: the rebook flow (rebook.js), which swaps the held pair for the chosen one in
 * one step (the API gives the held seats back in the same write), so the person keeps it until then. */
const otherAppointments = () => h('section', { class: 'no-print', 'aria-labelledby': 'held-other-heading' },
  h('h2', { id: 'held-other-heading' }, t('rebook.button')),
  para(t('manage.held.other_text')),
  buttonLink('#/booking/rebook', t('rebook.button'), { secondary: true }));

/** The hold has lapsed: the booking is cancelled without a pair, so a new booking (new code) is the way. */
const newBooking = () => h('section', { class: 'no-print', 'aria-labelledby': 'held-other-heading' },
  h('h2', { id: 'held-other-heading' }, t('start.book_button')),
  para(t('manage.held.lapsed_other_text')),
  buttonLink('#/book', t('start.book_button'), { secondary: true }));

export function heldView(ctx, booking) {
  const { data, code, birthDate } = booking;
  const { held } = data;
  const keep = sendOnce(ctx, async () => {
    try {
      // The API confirms the hold when the rebook names its first slot (contract: Booking.held).
      const kept = await rebookBooking(code, birthDate, held.first.slot_id);
      const confirmed = { ...state.booking.data, ...kept };
      delete confirmed.held;
      state.booking.data = confirmed;
      ctx.show(keptView(state.booking));
      announce(t('rebook.done_title'));
    } catch (error) {
      if (!(error instanceof ApiError) || error.unavailable) throw error;
      if (error.status === 404) {
        state.booking = null;
        ctx.go('#/booking');
      } else if (error.status === 409) {
        ctx.show(lapsedView());
        announce(t('manage.held.lapsed_title'));
      } else {
        throw error;
      }
    }
  });
  return page({ title: t('manage.view_title'), back: '#/booking' },
    h('div', { class: 'notice notice--warning' }, para(t('manage.held.status'))),
    data.person ? para(t('manage.name', { name: personName(data) })) : null,
    h('section', { 'aria-labelledby': 'held-heading' },
      h('h2', { id: 'held-heading' }, t('manage.held.heading')),
      para(t('manage.held.lead', { until: formatDateTime(held.until) })),
      heldAppointments(held, data.center),
      para(t('manage.held.keep_text')),
      h('div', { class: 'actions' }, button(t('manage.held.keep'), keep))),
    otherAppointments(),
    h('section', { 'aria-labelledby': 'held-was-heading' },
      h('h2', { id: 'held-was-heading' }, t('manage.was_booked')),
      appointmentList({ first: data.first.start, second: data.second && data.second.start })));
}

function keptView(booking) {
  return page({ title: t('rebook.done_title') },
    h('div', { class: 'notice notice--success' }, para(t('manage.status_active')), para(t('rebook.done_text'))),
    bookingDetails(booking.data, { birthDate: booking.birthDate }),
    link('#/', t('nav.home')));
}

// Shown in place of the look-up page (same address), so it has no back link to it.
function lapsedView() {
  return page({ title: t('manage.held.lapsed_title') },
    h('div', { class: 'notice notice--warning' }, para(t('manage.held.lapsed_text'))),
    newBooking(),
    link('#/', t('nav.home')));
}
