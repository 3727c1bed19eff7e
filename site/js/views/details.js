// Step 5: the chosen pair, the personal data form, and sending the booking request.
import { t, formatDate } from '../i18n.js';
import { state } from '../state.js';
import { CodeLimit, bookingAttempt, needsVerification, submitOrVerify, isClientError } from '../booking.js';
import {
  h, page, para, link, textField, errorSummary, apiFieldErrors, appointmentList, formFlow,
} from '../ui.js';

const FIELD_IDS = {
  'person.given_name': 'given-name',
  'person.family_name': 'family-name',
  'person.email': 'email',
  'person.phone': 'phone',
  email: 'email', // POST /v1/verifications names it so
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[\d][\d\s/()-]{4,}$/;

// An error on this form: its field is the id of its input.
const invalidAt = (id, text) => ({ field: id, id, text });

function validate(p) {
  const errors = [];
  if (!p.given_name.trim()) errors.push(invalidAt('given-name', t('errors.given_name_missing')));
  if (!p.family_name.trim()) errors.push(invalidAt('family-name', t('errors.family_name_missing')));
  if (!p.email.trim()) errors.push(invalidAt('email', t('errors.email_missing')));
  else if (!EMAIL.test(p.email.trim())) errors.push(invalidAt('email', t('errors.email_invalid')));
  if (p.phone.trim() && !PHONE.test(p.phone.trim())) errors.push(invalidAt('phone', t('errors.phone_invalid')));
  return errors;
}

/** API errors → [{field, id, text}]; fields that are not on this form are listed without a link. */
function fromApi(error) {
  if (error instanceof CodeLimit) return [invalidAt('email', error.apiMessage)]; // no code can be mailed to it now
  if (error.status === 400) {
    return Object.entries(apiFieldErrors(error)).map(([field, text]) => invalidAt(FIELD_IDS[field] || null, text));
  }
  if (error.code === 'admission_required') return [{ id: null, text: t('waiting.admission_expired') }]; // [waiting room]
  const key = error.status === 403 ? 'errors.booking.not_eligible' : 'errors.booking.other';
  return [{ id: null, text: t(key) }, error.apiMessage && error.status !== 403 ? { id: null, text: error.apiMessage } : null]
    .filter(Boolean);
}

export async function detailsView(ctx) {
  const slot = state.slot;
  if (!slot || !state.center) {
    ctx.redirect('#/book');
    return null;
  }
  const p = state.person;

  const second = slot.second_dose ? (slot.second_dose.start || slot.second_dose.date) : null;
  const verifies = needsVerification(state.campaign); // then a code by e-mail comes first (views/verify.js)
  return formFlow({
    ctx,
    kind: 'submit',
    check: () => {
      const errors = validate(p);
      return { errors, attempt: errors.length ? null : bookingAttempt(slot) };
    },
    submit: ({ attempt }) => submitOrVerify(ctx, attempt), // through the code page if the campaign verifies addresses
    apiErrors: (error) => (isClientError(error) ? fromApi(error) : null),
    render: ({ errors, errorFor, onsubmit }) => page({ title: t('details.title'), back: '#/book/times', step: 5, error: errors.length > 0 },
      errorSummary(errors),
      h('section', { 'aria-labelledby': 'chosen' },
        h('h2', { id: 'chosen' }, t('details.chosen_heading')),
        appointmentList({ first: slot.start, second, center: state.center }),
        link('#/book/times', t('details.change_time'))),
      h('section', { 'aria-labelledby': 'about-you' },
        h('h2', { id: 'about-you' }, t('details.about_you')),
        para(t('details.checked', { birth: formatDate(state.birthDate, { weekday: false }), postal: state.postalCode })),
        h('form', { novalidate: true, onsubmit },
          textField({ id: 'given-name', name: 'given_name', state: p, label: t('details.given_name'), error: errorFor('given-name').text, autocomplete: 'given-name', spellcheck: 'false' }),
          textField({ id: 'family-name', name: 'family_name', state: p, label: t('details.family_name'), error: errorFor('family-name').text, autocomplete: 'family-name', spellcheck: 'false' }),
          textField({ id: 'email', name: 'email', state: p, type: 'email', label: t('details.email'), hint: t('details.email_hint'), error: errorFor('email').text, autocomplete: 'email', spellcheck: 'false' }),
          textField({ id: 'phone', name: 'phone', state: p, type: 'tel', label: t('details.phone'), hint: t('details.phone_hint'), error: errorFor('phone').text, autocomplete: 'tel' }),
          h('div', { class: 'field checkbox' },
            h('input', {
              type: 'checkbox', id: 'flexible', name: 'flexible', checked: state.flexible,
              'aria-describedby': 'flexible-hint',
              onchange: (event) => { state.flexible = event.target.checked; },
            }),
            h('label', { for: 'flexible' }, t('details.flexible')),
            h('p', { class: 'hint', id: 'flexible-hint' }, t('details.flexible_hint'))),
          para(t('details.submit_hint')),
          verifies ? para(t('verify.details_hint')) : null,
          h('button', { type: 'submit', class: 'button button--large' }, t(verifies ? 'verify.details_submit' : 'details.submit'))))),
  });
}
