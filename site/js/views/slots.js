// Step 3: days with bookable pairs. Step 4: the pairs of one day, fetched again on entry,
// so a citizen only ever sees what the API has just said is bookable.
import { t, formatDate, formatTime, todayInBerlin } from '../i18n.js';
import { getAvailability } from '../api.js';
import { state } from '../state.js';
import { h, page, para, button, link, slotButton } from '../ui.js';

function centerLine() {
  return h('p', { class: 'lead' },
    h('span', { class: 'center-name' }, state.center.name), h('br'), state.center.address || '');
}

const asOf = (availability) =>
  para(t('slots.as_of', { time: formatTime(availability.generated_at || new Date().toISOString()) }), { class: 'hint' });

export async function daysView(ctx) {
  if (!state.center || !state.campaign) {
    ctx.redirect('#/book');
    return null;
  }
  // How far ahead one may book is the API's rule (the campaign's booking_window_days), not the site's.
  const availability = await getAvailability(state.center.id, state.campaign.id, todayInBerlin(),
    state.campaign.booking_window_days);
  const days = (availability.days || []).filter((d) => d.slots && d.slots.length);

  if (!days.length) {
    return page({ title: t('days.title_none'), back: '#/book/eligibility', step: 3 },
      centerLine(),
      h('div', { class: 'notice notice--info' }, para(t('days.none')), para(t('days.none_next'))),
      asOf(availability),
      button(t('days.look_again'), () => ctx.go('#/book/days')),
      link('#/book/eligibility', t('days.other_center')));
  }

  return page({ title: t('days.title'), back: '#/book/eligibility', step: 3 },
    centerLine(),
    para(t('days.lead')),
    asOf(availability),
    h('ul', { class: 'choices choices--grid' }, days.map((day) => h('li', {},
      h('button', {
        type: 'button', class: 'choice',
        onclick: () => {
          state.day = day.date;
          state.slot = null;
          ctx.go('#/book/times');
        },
      },
      h('span', { class: 'choice-title' }, formatDate(day.date, { year: false })),
      h('span', { class: 'choice-detail' }, t('days.count', { count: day.slots.length })))))),
    link('#/book/eligibility', t('days.other_center')));
}

export async function timesView(ctx) {
  if (!state.center || !state.campaign || !state.day) {
    ctx.redirect('#/book');
    return null;
  }
  const availability = await getAvailability(state.center.id, state.campaign.id, state.day, 1);
  const day = (availability.days || []).find((d) => d.date === state.day);
  const slots = day ? day.slots : [];
  const title = t('times.title', { date: formatDate(state.day, { year: false }) });

  if (!slots.length) {
    return page({ title, back: '#/book/days', step: 4 },
      centerLine(),
      h('div', { class: 'notice notice--info' }, para(t('times.gone'))),
      link('#/book/days', t('times.other_day')));
  }

  return page({ title, back: '#/book/days', step: 4 },
    centerLine(),
    para(t('times.lead')),
    asOf(availability),
    h('ul', { class: 'slots' }, slots.map((slot) => h('li', {}, slotButton(slot, (chosen) => {
      state.slot = chosen;
      ctx.go('#/book/details');
    })))),
    link('#/book/days', t('times.other_day')));
}
