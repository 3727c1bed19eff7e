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

// A booking horizon of a year is 14 pages of 28 days: the site looks through that many on its own, no more.
const MAX_PAGES_SEARCHED = 15;
const SHORT = { weekday: false, year: false }; // "1. März": dates inside a sentence

function addDays(isoDate, n) {
  const day = new Date(`${isoDate}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + n);
  return day.toISOString().slice(0, 10);
}

// One page of the campaign's booking horizon. How far ahead one may book and how much one answer covers are
// the API's rules (the answer's next_from, the campaign's booking_window_days), not the site's.
async function fetchPage(from) {
  const availability = await getAvailability(state.center.id, state.campaign.id, from,
    state.campaign.booking_window_days);
  const days = (availability.days || []).filter((d) => d.slots && d.slots.length);
  return { availability, days, from: availability.from || from };
}

// The nearest page with a free day, looking later (direction 1) or earlier (-1) from `from`. Earlier pages that
// are all full lead back to the first free one from today. "All taken" is only ever said of the whole horizon.
async function findPage(from, direction) {
  const today = todayInBerlin();
  const size = state.campaign.booking_window_days || 28;
  let page = await fetchPage(from);
  let searched = 1;
  while (!page.days.length && searched < MAX_PAGES_SEARCHED) {
    let next = null;
    if (direction > 0) next = page.availability.next_from || null;
    else if (page.from > today) next = [addDays(page.from, -size), today].sort()[1];
    else return findPage(today, 1);
    if (!next) break;
    page = await fetchPage(next);
    searched += 1;
  }
  return { ...page, searchedFrom: from, skippedFrom: searched > 1 && direction > 0 ? from : null };
}

export async function daysView(ctx) {
  if (!state.center || !state.campaign) {
    ctx.redirect('#/book');
    return null;
  }
  const today = todayInBerlin();
  // The page the citizen was on (coming back from the times page), if it is for this centre and campaign.
  const kept = state.daysPage;
  const here = kept && kept.centerId === state.center.id && kept.campaignId === state.campaign.id;
  const start = here ? kept : { from: today, direction: 1 };
  const found = await findPage(start.from, start.direction);
  const { availability, days } = found;
  // Coming back to a page the site had skipped ahead to: the days before it are still known to be taken.
  const skippedFrom = found.skippedFrom || (here && found.from === kept.from ? kept.skippedFrom : null);
  const remember = (from, direction, skipped = null) => {
    state.daysPage = { centerId: state.center.id, campaignId: state.campaign.id, from, direction, skippedFrom: skipped };
  };
  remember(found.from, 1, skippedFrom);

  // "All taken" only of the whole horizon: nothing free from today to its end. Pages later than an earlier free
  // day that are all taken are said to be so, with the way back.
  if (!days.length && !availability.next_from && found.searchedFrom <= today) {
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

  const later = availability.next_from
    ? button(t('days.later'), () => { remember(availability.next_from, 1); ctx.go('#/book/days'); }, { secondary: true })
    : null;
  // Nothing earlier to show when every day from today up to this page was just found taken.
  const earlierKnownFull = skippedFrom && skippedFrom <= today;
  const earlier = found.from > today && !earlierKnownFull
    ? button(t('days.earlier'), () => {
      remember([addDays(found.from, -(state.campaign.booking_window_days || 28)), today].sort()[1], -1);
      ctx.go('#/book/days');
    }, { secondary: true })
    : null;
  const range = para(t('days.range', {
    from: formatDate(days.length ? found.from : (skippedFrom || found.from), SHORT),
    until: formatDate(availability.until || found.from, SHORT),
  }));

  if (!days.length) {
    // Full from a later page to the end of the horizon, or the site stopped looking (MAX_PAGES_SEARCHED).
    return page({ title: t('days.title_none_here'), back: '#/book/eligibility', step: 3 },
      centerLine(),
      range,
      h('div', { class: 'notice notice--info' }, para(t('days.none_here'))),
      asOf(availability),
      h('div', { class: 'actions' }, earlier, later),
      link('#/book/eligibility', t('days.other_center')));
  }

  const skipped = skippedFrom && days.length
    ? h('div', { class: 'notice notice--info' }, para(t('days.skipped', {
      from: formatDate(skippedFrom < today ? today : skippedFrom, SHORT),
      until: formatDate(addDays(days[0].date, -1), SHORT),
    })))
    : null;

  return page({ title: t('days.title'), back: '#/book/eligibility', step: 3 },
    centerLine(),
    skipped,
    para(t('days.lead')),
    range,
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
    earlier || later ? h('div', { class: 'actions' }, earlier, later) : null,
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
