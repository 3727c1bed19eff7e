// The code page (#/book/code): for a campaign that verifies addresses (docs/abuse.md), the citizen types the
// 6-digit code we mailed, and the booking request goes out with it. "Send a new code" waits a little after each
// mail and follows the API's limit (429 with Retry-After) instead of sending into it.
import { t, formatTime } from '../i18n.js';
import { state } from '../state.js';
import {
  CodeLimit, bookingAttempt, forgetVerification, isClientError, sendCode, submitAttempt, verificationFor,
} from '../booking.js';
import { h, page, para, link, textField, errorSummary, apiFieldErrors, announce, formFlow } from '../ui.js';

const RESEND_PAUSE_MS = 30000; // a mail can take a while: a second code at once would only use up the hourly few
const CODE_ID = 'verification-code';
const RESEND_ID = 'resend-code';

// 403 verification_failed carries a reason: a wrong code is typed again, the others need a new code.
const REASON_KEYS = {
  wrong_code: 'verify.errors.wrong_code',
  expired: 'verify.errors.expired',
  used_up: 'verify.errors.used_up',
  unknown: 'verify.errors.unknown',
};

let limitedUntil = 0; // ms: the API refused another code (429) until then

function validate(values) {
  const code = values.code.replace(/\s/g, '');
  if (!code) return [{ field: 'code', id: CODE_ID, text: t('verify.errors.missing') }];
  if (!/^\d{6}$/.test(code)) return [{ field: 'code', id: CODE_ID, text: t('verify.errors.format') }];
  return [];
}

/** API errors → [{field, id, text}]; a code that cannot work any more links to "send a new code". */
function fromApi(error) {
  if (error.code === 'verification_failed' || error.code === 'verification_required') {
    const reason = error.body && error.body.error ? error.body.error.reason : null;
    const key = REASON_KEYS[reason] || REASON_KEYS.unknown;
    return [{ field: 'code', id: reason === 'wrong_code' ? CODE_ID : RESEND_ID, text: t(key) }];
  }
  if (error.status === 400) {
    return Object.entries(apiFieldErrors(error)).map(([field, text]) => (field.startsWith('verification')
      ? { field: 'code', id: CODE_ID, text: t('verify.errors.format') }
      : { id: null, text })); // a field of the form before: listed; "change your details" is on the page
  }
  if (error.code === 'admission_required') return [{ id: null, text: t('waiting.admission_expired') }]; // [waiting room]
  return [{ id: null, text: t(error.status === 403 ? 'errors.booking.not_eligible' : 'errors.booking.other') }];
}

export async function verifyView(ctx) {
  const slot = state.slot;
  const first = slot && state.campaign ? verificationFor(state.campaign.id, state.person.email) : null;
  if (!first || first.verifiedAt) {
    ctx.redirect(slot ? '#/book/details' : '#/book');
    return null;
  }
  let current = first;
  const values = { code: current.code };
  // Kept across the form's re-renders, and updated in place (the citizen's focus stays where it is).
  const resendNote = h('p', { class: 'hint', id: `${RESEND_ID}-hint` });
  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));
  const resendAt = () => Math.max(current.sentAt + RESEND_PAUSE_MS, limitedUntil);
  const showResendTime = () => {
    const at = resendAt();
    const wait = at - Date.now();
    resendNote.textContent = wait > 0
      ? t('verify.resend_from', { time: formatTime(new Date(at).toISOString(), { seconds: wait < 120000 }) })
      : t('verify.resend_hint');
    clearTimeout(timer);
    if (wait > 0) timer = setTimeout(showResendTime, wait + 100);
  };
  showResendTime();

  let sending = false;
  const resend = () => {
    if (sending) return;
    if (Date.now() < resendAt()) {
      announce(resendNote.textContent); // the button stays reachable and says why nothing happens yet
      return;
    }
    sending = true;
    announce(t('common.sending'));
    ctx.act(async () => {
      try {
        const fresh = await sendCode(current.campaignId, current.email);
        if (!fresh) { // the campaign verifies no addresses any more: the details form now books straight away
          forgetVerification();
          ctx.go('#/book/details');
          return;
        }
        current = fresh;
        values.code = '';
        ctx.show(form());
        showResendTime();
        document.getElementById(CODE_ID).focus(); // ready to type the new code
        announce(t('verify.resent', { email: fresh.email }));
      } catch (error) {
        if (!(error instanceof CodeLimit)) throw error;
        limitedUntil = error.until.getTime();
        showResendTime();
        announce(error.apiMessage);
      } finally {
        sending = false;
      }
    }, { kind: 'load' });
  };

  const form = () => formFlow({
    ctx,
    kind: 'submit',
    check: () => {
      const errors = validate(values);
      if (errors.length) return { errors };
      current.code = values.code.replace(/\s/g, '');
      return { errors, attempt: bookingAttempt(slot) };
    },
    submit: ({ attempt }) => submitAttempt(ctx, attempt),
    apiErrors: (error) => (isClientError(error) ? fromApi(error) : null),
    render: ({ errors, errorFor, onsubmit }) => codePage({
      errors, codeError: errorFor('code').id === CODE_ID ? errorFor('code').text : null, onsubmit,
      current, values, resend, resendNote,
    }),
  });
  return form();
}

function codePage({ errors, codeError, onsubmit, current, values, resend, resendNote }) {
  return page({ title: t('verify.title'), back: '#/book/details', error: errors.length > 0 },
    errorSummary(errors),
    para(t('verify.lead'), { class: 'lead' }),
    h('div', { class: 'notice notice--info' },
      para(t('verify.sent_to', { email: current.email })),
      para(t('verify.valid_until', { time: formatTime(current.expiresAt) }))),
    h('form', { novalidate: true, onsubmit },
      textField({
        id: CODE_ID, name: 'code', state: values, label: t('verify.code_label'), hint: t('verify.code_hint'),
        error: codeError, inputmode: 'numeric', autocomplete: 'one-time-code', spellcheck: 'false', width: 'otp',
      }),
      para(t('verify.submit_hint')),
      h('button', { type: 'submit', class: 'button button--large' }, t('verify.submit'))),
    h('section', { 'aria-labelledby': 'no-code' },
      h('h2', { id: 'no-code' }, t('verify.no_code_heading')),
      para(t('verify.no_code_spam')),
      resendNote,
      h('button', {
        type: 'button', id: RESEND_ID, class: 'button button--secondary', onclick: resend,
        'aria-describedby': `${RESEND_ID}-hint`,
      }, t('verify.resend')),
      para(t('verify.wrong_address')),
      link('#/book/details', t('verify.change_address'))));
}
