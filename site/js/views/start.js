// Start page (who can book now, from GET /v1/campaigns) and the easy-read page.
import { t, tList, has, formatDate, formatDateTime, formatList } from '../i18n.js';
import { getCampaigns } from '../api.js';
import { h, page, para, buttonLink, link } from '../ui.js';

const hotline = () => (window.VAXSLOT_CONFIG || {}).hotline || '';
const telHref = () => `tel:${hotline().replace(/[^\d+]/g, '')}`;

/** A translated name for an id ("westfalen-lippe", "comirnaty"), or the id itself. */
const named = (group, id) => (has(`${group}.${id}`) ? t(`${group}.${id}`) : id);

function whoText({ born_on_or_before: before, born_on_or_after: after } = {}) {
  const yearOf = (d) => d.slice(0, 4);
  const wholeYears = (!before || before.endsWith('-12-31')) && (!after || after.endsWith('-01-01'));
  if (wholeYears) {
    if (before && after) {
      return yearOf(before) === yearOf(after)
        ? t('campaign.born_in_year', { year: yearOf(before) })
        : t('campaign.born_between_years', { from: yearOf(after), to: yearOf(before) });
    }
    if (before) return t('campaign.born_before_year', { year: yearOf(before) });
    if (after) return t('campaign.born_after_year', { year: yearOf(after) });
    return t('campaign.born_any');
  }
  if (before && after) return t('campaign.born_between', { from: formatDate(after, { weekday: false }), to: formatDate(before, { weekday: false }) });
  if (before) return t('campaign.born_before', { date: formatDate(before, { weekday: false }) });
  return t('campaign.born_after', { date: formatDate(after, { weekday: false }) });
}

function campaignCard(campaign) {
  const open = campaign.status === 'open';
  const rules = campaign.eligibility || {};
  const regions = (rules.regions || []).map((r) => named('regions', r));
  const interval = campaign.interval_days;
  return h('li', { class: `campaign campaign--${campaign.status}` },
    h('h3', { class: 'campaign-name' }, campaign.name),
    h('p', { class: `badge badge--${campaign.status}` },
      open ? t('campaign.open') : t('campaign.upcoming', { date: formatDateTime(campaign.opens_at) })),
    h('ul', { class: 'facts' },
      h('li', {}, whoText(rules)),
      regions.length ? h('li', {}, t('campaign.regions', { regions: formatList(regions, 'disjunction') })) : null,
      h('li', {}, campaign.doses > 1 && interval
        ? t('campaign.vaccine_two_doses', { vaccine: named('vaccines', campaign.vaccine), min: interval.min, max: interval.max })
        : t('campaign.vaccine', { vaccine: named('vaccines', campaign.vaccine) })),
      open && campaign.closes_at ? h('li', {}, t('campaign.closes', { date: formatDateTime(campaign.closes_at) })) : null));
}

export async function startView() {
  const { campaigns = [] } = await getCampaigns();
  const shown = campaigns
    .filter((c) => c.status === 'open' || c.status === 'upcoming')
    .sort((a, b) => (a.status === b.status ? String(a.opens_at).localeCompare(String(b.opens_at)) : a.status === 'open' ? -1 : 1));
  const anyOpen = shown.some((c) => c.status === 'open');

  return page({ title: t('start.title') },
    para(t('start.lead'), { class: 'lead' }),
    h('section', { 'aria-labelledby': 'who-now' },
      h('h2', { id: 'who-now' }, t('start.who_heading')),
      anyOpen ? null : para(t('start.none_open')),
      shown.length ? h('ul', { class: 'campaigns' }, shown.map(campaignCard)) : null,
      para(t('start.supply_note'))),
    buttonLink('#/book', t('start.book_button'), { class: 'button button--large' }),
    h('section', { 'aria-labelledby': 'you-need' },
      h('h2', { id: 'you-need' }, t('start.need_heading')),
      h('ul', { class: 'bullets' }, tList('start.need').map((item) => h('li', {}, item))),
      para(t('start.helper'))),
    h('section', { 'aria-labelledby': 'have-booking' },
      h('h2', { id: 'have-booking' }, t('start.manage_heading')),
      link('#/booking', t('start.manage_link'))),
    h('section', { 'aria-labelledby': 'by-phone' },
      h('h2', { id: 'by-phone' }, t('start.phone_heading')),
      para(t('start.phone_text')),
      h('a', { class: 'phone-link', href: telHref() }, hotline())),
    h('section', { 'aria-labelledby': 'easy' },
      h('h2', { id: 'easy' }, t('start.easy_heading')),
      link('#/easy-read', t('start.easy_link'))));
}

/** Leichte Sprache / Easy Read: the whole process in short sentences, from the message file. */
export async function easyReadView() {
  const params = { hotline: hotline() };
  return page({ title: t('easy.title'), back: '#/' },
    h('div', { class: 'easy-read' },
      tList('easy.sections').map((section) => h('section', {},
        h('h2', {}, section.heading),
        (section.text || []).map((sentence) => para(sentence.replace('{hotline}', params.hotline))),
        section.steps ? h('ol', { class: 'steps' }, section.steps.map((s) => h('li', {}, s))) : null,
        section.list ? h('ul', { class: 'bullets' }, section.list.map((s) => h('li', {}, s))) : null))),
    h('a', { class: 'phone-link', href: telHref() }, hotline()),
    buttonLink('#/book', t('start.book_button')));
}
