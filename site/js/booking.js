// Sending a booking request: one Idempotency-Key per attempt, reused when the attempt is retried.
import { currentLang } from './i18n.js';
import { ApiError, newIdempotencyKey, submitBookingRequest } from './api.js';
import { state } from './state.js';
import { admissionHeaders } from './views/waiting.js';

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
  return {
    campaign_id: state.campaign.id,
    center_id: slot.center_id || state.center.id,
    slot_id: slot.slot_id,
    // The second dose shown with it: the worker books the pair it is sent without reading first.
    ...(slot.second_dose && slot.second_dose.slot_id ? { second_slot_id: slot.second_dose.slot_id } : {}),
    flexible: Boolean(state.flexible),
    language: currentLang(),
    person,
  };
}

/** One attempt at booking `slot`: its body and a new Idempotency-Key, both kept when the attempt is retried. */
export function bookingAttempt(slot) {
  return { slot, key: newIdempotencyKey(), body: bookingBody(slot) };
}

/** Send an attempt (inside ctx.act, so again on retry); on 202 go to its waiting page. */
export async function submitAttempt(ctx, { slot, key, body }) {
  const accepted = await submitBookingRequest(body, key, admissionHeaders(body.campaign_id)); // [waiting room]
  state.requests[accepted.request_id] = { slot, center: state.center, email: body.person.email };
  ctx.go(`#/request/${encodeURIComponent(accepted.request_id)}`);
}

/** An error the citizen can fix (4xx); "unavailable" goes to the error page instead, whose retry sends the same key again. */
export const isClientError = (error) => error instanceof ApiError && !error.unavailable;

/** Send the request for `slot`; on 202 go to its waiting page, errors the citizen can fix go to onClientError. */
export function sendBookingRequest(ctx, slot, onClientError) {
  const attempt = bookingAttempt(slot);
  return ctx.act(async () => {
    try {
      await submitAttempt(ctx, attempt);
    } catch (error) {
      if (isClientError(error)) onClientError(error);
      else throw error;
    }
  }, { kind: 'submit' });
}
