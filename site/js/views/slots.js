// Step 3: days with bookable pairs. Step 4: the pairs of one day, fetched again on entry,
// so a citizen only ever sees what the API has just said is bookable.
import { t, formatDate, formatTime, todayInBerlin } from '../i18n.js';
import { getAvailability } from '../api.js';
import { state } from '../state.js';
import { h, page, para, button, link, slotButton } from '../ui.js';
import { addDays, openPage, DEFAULT_PAGE_DAYS } from '../paging.js';

export function centerLine(center = state.center) {
  return h('p', { class: 'lead' }, h('span', { class: 'center-name' }, center.name), h('br'), center.address || '');
}

export const asOf = (availability) =>
  para(t('slots.as_of', { time: formatTime(availability.generated_at || new Date().toISOString()) }), { class: 'hint' });

const SHORT = { weekday: false, year: false }; // "1. März": dates inside a sentence

// One page of the campaign's booking horizon (site/js/paging.js pages through it).
const fetchPage = (from) => getAvailability(state.center.id, state.campaign.id, from, state.campaign.booking_window_days);

/**
 * The parts of a page of days that the booking and the rebook pages share: the range shown, the notice that
 * full pages were skipped, the days as choices and the earlier/later buttons. `move(from, direction)` goes to
 * another page, `choose(date)` to the times of a day.
 */
export function dayPageParts(found, { today, move, choose }) {
  const { availability, days, skippedFrom } = found;
  const later = found.later
    ? button(t('days.later'), () => move(found.later, 1), { secondary: true })
    : null;
  const earlier = found.earlier
    ? button(t('days.earlier'), () => move(found.earlier, -1), { secondary: true })
    : null;
  return {
    range: para(t('days.range', {
      from: formatDate(days.length ? found.from : (skippedFrom || found.from), SHORT),
      until: formatDate(availability.until || found.from, SHORT),
    })),
    skipped: skippedFrom && days.length
      ? h('div', { class: 'notice notice--info' }, para(t('days.skipped', {
        from: formatDate(skippedFrom < today ? today : skippedFrom, SHORT),
        until: formatDate(addDays(days[0].date, -1), SHORT),
      })))
      : null,
    choices: h('ul', { class: 'choices choices--grid' }, days.map((day) => h('li', {},
      h('button', { type: 'button', class: 'choice', onclick: () => choose(day.date) },
        h('span', { class: 'choice-title' }, formatDate(day.date, { year: false })),
        h('span', { class: 'choice-detail' }, t('days.count', { count: day.slots.length })))))),
    actions: earlier || later ? h('div', { class: 'actions' }, earlier, later) : null,
  };
}

export async function daysView(ctx) {
  if (!state.center || !state.campaign) {
    ctx.redirect('#/book');
    return null;
  }
  const today = todayInBerlin();
  // The page the citizen was on (coming back from the times page), if it is for this centre and campaign.
  const found = await openPage(fetchPage, state.daysPage, `${state.center.id} ${state.campaign.id}`,
    { today, size: state.campaign.booking_window_days || DEFAULT_PAGE_DAYS });
  state.daysPage = found.position();
  const { availability, days } = found;

  // "All taken" only of the whole horizon: nothing free from today to its end. Pages later than an earlier free
  // day that are all taken are said to be so, with the way back.
  if (found.allTaken) {
    return page({ title: t('days.title_none'), back: '#/book/eligibility', step: 3 },
      centerLine(),
      h('div', { class: 'notice notice--info' }, para(t('days.none')),
        availability.bookable_until
          ? para(t('days.none_until', { date: formatDate(availability.bookable_until, SHORT) }))
          : null,
        para(t('days.none_next'))),
      asOf(availability),
      button(t('days.look_again'), () => { state.daysPage = null; ctx.go('#/book/days'); }),
      link('#/book/eligibility', t('days.other_center')));
  }

  const parts = dayPageParts(found, {
    today,
    move: (from, direction) => { state.daysPage = found.position(from, direction); ctx.go('#/book/days'); },
    choose: (date) => { state.day = date; state.slot = null; ctx.go('#/book/times'); },
  });
  if (!days.length) {
    // Full from a later page to the end of the horizon, or the site stopped looking (MAX_PAGES_SEARCHED).
    return page({ title: t('days.title_none_here'), back: '#/book/eligibility', step: 3 },
      centerLine(),
      parts.range,
      h('div', { class: 'notice notice--info' }, para(t('days.none_here'))),
      asOf(availability),
      parts.actions,
      link('#/book/eligibility', t('days.other_center')));
  }
  return page({ title: t('days.title'), back: '#/book/eligibility', step: 3 },
    centerLine(),
    parts.skipped,
    para(t('days.lead')),
    parts.range,
    asOf(availability),
    parts.choices,
    parts.actions,
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
