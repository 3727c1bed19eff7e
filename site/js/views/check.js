// Step 1: postal code + birth date → POST /v1/eligibility.
// Step 2: the answer in plain words, and (if eligible) the centres for that postal code.
import { continueWithCampaign } from './waiting.js';
import { t, formatDate, formatDateTime, has } from '../i18n.js';
import { ApiError, checkEligibility, getCenters } from '../api.js';
import { state } from '../state.js';
import {
  h, page, para, buttonLink, link, textField, dateField, parseDateParts, errorSummary, apiFieldErrors, formFlow,
} from '../ui.js';

function validate(values) {
  const errors = [];
  const postal = values.postalCode.replace(/\s/g, '');
  if (!postal) errors.push({ field: 'postal', id: 'postal-code', text: t('errors.postal_missing') });
  else if (!/^\d{5}$/.test(postal)) errors.push({ field: 'postal', id: 'postal-code', text: t('errors.postal_invalid') });
  const birth = parseDateParts(values);
  if (birth.error) errors.push({ field: 'birth', id: `birth-${birth.part || 'day'}`, part: birth.part, text: t(`errors.${birth.error}`) });
  return { errors, postal, birthDate: birth.iso };
}

export async function checkView(ctx) {
  const values = state.check;
  return formFlow({
    ctx,
    check: () => validate(values),
    submit: async ({ postal, birthDate }) => {
      const answer = await checkEligibility(birthDate, postal);
      Object.assign(state, { birthDate, postalCode: postal, eligibility: answer, campaign: null, center: null, slot: null });
      ctx.go('#/book/eligibility');
    },
    apiErrors: (error) => {
      if (!(error instanceof ApiError) || error.status !== 400) return null;
      return Object.entries(apiFieldErrors(error)).map(([field, text]) => (field.includes('birth')
        ? { field: 'birth', id: 'birth-day', text }
        : { field: 'postal', id: 'postal-code', text }));
    },
    render: ({ errors, errorFor, onsubmit }) => page({ title: t('check.title'), back: '#/', step: 1, error: errors.length > 0 },
      para(t('check.lead'), { class: 'lead' }),
      h('form', { novalidate: true, onsubmit },
        errorSummary(errors),
        textField({
          id: 'postal-code', name: 'postalCode', state: values, label: t('check.postal_label'), hint: t('check.postal_hint'),
          error: errorFor('postal').text, inputmode: 'numeric', autocomplete: 'postal-code', maxlength: 5, width: 5,
        }),
        dateField({
          id: 'birth', legend: t('check.birth_legend'), hint: t('check.birth_hint'), state: values,
          error: errorFor('birth').text, errorPart: errorFor('birth').part,
        }),
        h('button', { type: 'submit', class: 'button' }, t('check.submit')))),
  });
}

function reasonText(answer) {
  const reason = answer.reason;
  if (reason === 'not_yet_eligible' && answer.opens_at) {
    return t('eligibility.reason.not_yet_eligible_opens', { date: formatDateTime(answer.opens_at) });
  }
  return has(`eligibility.reason.${reason}`) ? t(`eligibility.reason.${reason}`, { postal: state.postalCode })
    : t('eligibility.reason.other');
}

function centerChoice(campaign, center, ctx) {
  return h('li', {},
    h('button', {
      type: 'button', class: 'choice',
      onclick: () => {
        Object.assign(state, { campaign, center, day: null, slot: null });
        ctx.act(() => continueWithCampaign(ctx, campaign)); // [waiting room] through it if active (views/waiting.js)
      },
    },
    h('span', { class: 'choice-title' }, center.name),
    h('span', { class: 'choice-detail' }, center.address)));
}

export async function eligibilityView(ctx) {
  const answer = state.eligibility;
  if (!answer) {
    ctx.redirect('#/book');
    return null;
  }
  const who = para(t('eligibility.your_data', { birth: formatDate(state.birthDate, { weekday: false }), postal: state.postalCode }));
  const change = link('#/book', t('eligibility.change'));

  if (!answer.eligible) {
    return page({ title: t('eligibility.title_no'), back: '#/book' },
      who,
      h('div', { class: 'notice notice--info' }, para(reasonText(answer))),
      para(t('eligibility.no_next')),
      change,
      h('h2', {}, t('start.phone_heading')),
      para(t('eligibility.no_phone')),
      buttonLink('#/', t('nav.home'), { secondary: true }));
  }

  const { centers = [] } = await getCenters(state.postalCode);
  state.centers = centers;
  const groups = (answer.campaigns || []).map((campaign) => ({
    campaign,
    centers: centers.filter((c) => !campaign.center_ids || campaign.center_ids.includes(c.id)),
  })).filter((g) => g.centers.length);

  if (!groups.length) {
    return page({ title: t('eligibility.title_no_center'), back: '#/book' },
      who, para(t('eligibility.no_center', { postal: state.postalCode })), change,
      buttonLink('#/', t('nav.home'), { secondary: true }));
  }

  return page({ title: t('eligibility.title_yes'), back: '#/book', step: 2 },
    who,
    h('div', { class: 'notice notice--success' },
      para(t('eligibility.yes', { campaigns: groups.map((g) => g.campaign.name).join(', ') }))),
    groups.map((g) => h('section', { 'aria-labelledby': `campaign-${g.campaign.id}` },
      h('h2', { id: `campaign-${g.campaign.id}` },
        groups.length > 1 ? t('eligibility.choose_center_for', { campaign: g.campaign.name }) : t('eligibility.choose_center')),
      para(t('eligibility.choose_center_hint')),
      h('ul', { class: 'choices' }, g.centers.map((c) => centerChoice(g.campaign, c, ctx))))),
    change);
}
