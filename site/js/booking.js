// Sending a booking request: one Idempotency-Key per attempt, reused when the attempt is retried.
// For a campaign that verifies addresses, a code mailed to the address comes first (#/book/code, views/verify.js).
import { currentLang, formatTime, t } from './i18n.js';
import { ApiError, newIdempotencyKey, startVerification, submitBookingRequest } from './api.js';
import { state } from './state.js';
import { admissionHeaders } from './views/waiting.js';

// ---------- contact verification (docs/abuse.md) ----------
// The code's verification, in memory like the rest of the tab's state (a reload asks for a new code):
// {id, campaignId, email, expiresAt, code, sentAt, verifiedAt}. verifiedAt: a request with it was accepted; the API then
// takes it for that address and campaign for an hour, so another slot after a rejection needs no new code.
let verification = null;
const VERIFIED_FOR_MS = 55 * 60 * 1000; // a little under the API's hour: rather a new code than a refused request
const CODE_LIMIT_DEFAULT_S = 60; // when a 429 carries no Retry-After

const sameAddress = (a, b) => a.trim().toLowerCase() === b.trim().toLowerCase();

export const needsVerification = (campaign) => Boolean(campaign && campaign.verification === 'email');

/** The verification of this tab for this campaign and address, if it may still be used. */
export function verificationFor(campaignId, email) {
  const v = verification;
  if (!v || v.campaignId !== campaignId || !sameAddress(v.email, email)) return null;
  if (v.verifiedAt && Date.now() - v.verifiedAt > VERIFIED_FOR_MS) return null;
  return v;
}

/** The API mails no more codes to this address for now (429 on POST /v1/verifications); `until` is a Date. */
export class CodeLimit extends Error {
  constructor(retryAfter) {
    super('code limit');
    this.until = new Date(Date.now() + 1000 * (retryAfter != null ? Math.max(1, retryAfter) : CODE_LIMIT_DEFAULT_S));
  }

  /** In the page's words, like an API message (the rejected page shows errors by their apiMessage). */
  get apiMessage() {
    return t('verify.limit', { time: formatTime(this.until.toISOString()) });
  }
}

/**
 * Ask the API to mail a new code to `email`; from then on only this newest code is sent. Resolves to the
 * verification, or to null if the campaign verifies no addresses after all; a 429 becomes CodeLimit.
 */
export async function sendCode(campaignId, email) {
  let started;
  try {
    started = await startVerification(campaignId, email.trim(), currentLang());
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) throw new CodeLimit(error.retryAfter);
    // Ops switched the campaign's verification off meanwhile: book without a code.
    if (error instanceof ApiError && error.details.some((d) => d.code === 'verification_not_used')) return null;
    throw error;
  }
  verification = {
    id: started.verification_id, campaignId, email: email.trim(), expiresAt: started.expires_at, code: '',
    sentAt: Date.now(), verifiedAt: null,
  };
  return verification;
}

export function forgetVerification() {
  verification = null;
}

const isVerificationError = (error) =>
  error instanceof ApiError && (error.code === 'verification_failed' || error.code === 'verification_required');

// ---------- the booking request ----------

export function bookingBody(slot) {
  const p = state.person;
  const person = {
    given_name: p.given_name.trim(),
    family_name: p.family_name.trim(),
    birth_date: state.birthDate,
    postal_code: state.postalCode,
    email: p.email.trim(),
  };
  if (p.phone.trim()) person.phone = p.phone.trim();
  const v = verificationFor(state.campaign.id, person.email);
  return {
    campaign_id: state.campaign.id,
    center_id: slot.center_id || state.center.id,
    slot_id: slot.slot_id,
    // The second dose shown with it: the worker books the pair it is sent without reading first.
    ...(slot.second_dose && slot.second_dose.slot_id ? { second_slot_id: slot.second_dose.slot_id } : {}),
    flexible: Boolean(state.flexible),
    language: currentLang(),
    person,
    ...(v && v.code ? { verification: { id: v.id, code: v.code } } : {}),
  };
}

/** One attempt at booking `slot`: its body and a new Idempotency-Key, both kept when the attempt is retried. */
export function bookingAttempt(slot) {
  return { slot, key: newIdempotencyKey(), body: bookingBody(slot) };
}

/** Send an attempt (inside ctx.act, so again on retry); on 202 go to its waiting page. */
export async function submitAttempt(ctx, { slot, key, body }) {
  const accepted = await submitBookingRequest(body, key, admissionHeaders(body.campaign_id)); // [waiting room]
  const v = body.verification ? verificationFor(body.campaign_id, body.person.email) : null;
  if (v && v.id === body.verification.id && !v.verifiedAt) v.verifiedAt = Date.now();
  state.requests[accepted.request_id] = { slot, center: state.center, email: body.person.email };
  ctx.go(`#/request/${encodeURIComponent(accepted.request_id)}`);
}

/**
 * Send an attempt, or first go to the code page if the campaign verifies addresses and this tab holds no verified
 * one for the address. A code sent a moment ago is kept (no second mail); a proof the API no longer takes (its
 * hour is over) is replaced by a new code.
 */
export async function submitOrVerify(ctx, attempt) {
  const { campaign_id: campaignId, person } = attempt.body;
  const v = verificationFor(campaignId, person.email);
  if (needsVerification(state.campaign) && !(v && v.verifiedAt)) {
    const usable = v && Date.parse(v.expiresAt) > Date.now();
    if (usable || (await sendCode(campaignId, person.email))) {
      ctx.go('#/book/code');
      return;
    }
  }
  try {
    await submitAttempt(ctx, attempt);
  } catch (error) {
    if (!isVerificationError(error)) throw error;
    forgetVerification();
    if (await sendCode(campaignId, person.email)) ctx.go('#/book/code');
  }
}

/** An error the citizen can fix (4xx); "unavailable" goes to the error page instead, whose retry sends the same key again. */
export const isClientError = (error) => (error instanceof ApiError && !error.unavailable) || error instanceof CodeLimit;

/** Send the request for `slot` (through the code page if needed); errors the citizen can fix go to onClientError. */
export function sendBookingRequest(ctx, slot, onClientError) {
  const attempt = bookingAttempt(slot);
  return ctx.act(async () => {
    try {
      await submitOrVerify(ctx, attempt);
    } catch (error) {
      if (isClientError(error)) onClientError(error);
      else throw error;
    }
  }, { kind: 'submit' });
}
