// The waiting room (contract §8): when a campaign's room is active, the citizen queues here before choosing
// a day. Position and ETA in plain words; the entry id is kept in the address so a reload keeps the place;
// polling follows Retry-After (with backoff on trouble); once admitted the token goes with the booking request.
import { t, formatNumber, formatTime, currentLang } from '../i18n.js';
import { ApiError, apiUrl, parseRetryAfter } from '../api.js';
import { state } from '../state.js';
import { h, page, para, buttonLink, announce } from '../ui.js';

const MAX_DELAY_S = 30; // our own backoff on trouble
// The room's Retry-After is followed as given: before opening it points at the opening (hours away, perhaps),
// later it grows with the wait. The cap only guards against a nonsensical value.
const MAX_RETRY_AFTER_S = 6 * 3600;
const ANNOUNCE_EVERY_MS = 30000;
const enc = encodeURIComponent;
// campaign id → {entry_id, token, expires_at}: in memory only, like the rest of the site's state. A reload
// keeps the place because the entry id is in the page's address (#/book/wait/<campaign>/<entry>).
const admissions = {};

const validToken = (saved) => saved && saved.token && Date.parse(saved.expires_at) > Date.now() + 30000;

/** Headers for a booking request of this campaign: the admission token, if this tab holds a valid one. */
export function admissionHeaders(campaignId) {
  const saved = admissions[campaignId];
  return validToken(saved) ? { 'Admission-Token': saved.token } : {};
}

/** A call of the room's API that also returns Retry-After of a successful answer (used to pace polling). */
async function call(method, path) {
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers: { Accept: 'application/json', 'Accept-Language': currentLang(),
        ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) },
      body: method === 'POST' ? '{}' : undefined,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network_error' });
  }
  const data = await response.json().catch(() => null);
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  if (response.ok && data) return { data, retryAfter };
  const error = (data && data.error) || {};
  throw new ApiError({ status: response.status, code: error.code || `http_${response.status}`,
    message: error.message || '', retryAfter, body: data });
}

/** After the citizen chose a centre: through the waiting room if the campaign has an active one. */
export async function continueWithCampaign(ctx, campaign) {
  const { data: room } = await call('GET', `/v1/campaigns/${enc(campaign.id)}/waiting-room`);
  if (!room.active || validToken(admissions[campaign.id])) ctx.go('#/book/days');
  else ctx.go(`#/book/wait/${enc(campaign.id)}`);
}

function waitMinutes(seconds) {
  if (seconds < 60) return t('waiting.eta_soon');
  return t('waiting.eta_minutes', { minutes: formatNumber(Math.ceil(seconds / 60)) });
}

export async function waitingView(ctx) {
  const campaignId = decodeURIComponent(ctx.params[0]);
  let entryId = ctx.params[1] ? decodeURIComponent(ctx.params[1]) : null;
  const { data: room } = await call('GET', `/v1/campaigns/${enc(campaignId)}/waiting-room`);
  if (!room.active) {
    ctx.redirect(state.campaign ? '#/book/days' : '#/book');
    return null;
  }
  const status = h('p', { class: 'position', id: 'waiting-position', role: 'status' });
  const eta = h('p', { id: 'waiting-eta' });
  const trouble = h('div', { class: 'notice notice--warning', hidden: true }, para(t('waiting.trouble')));
  const done = h('div', { hidden: true });
  const opensAt = room.opens_at ? formatTime(room.opens_at) : '';
  const node = page({ title: t('waiting.title') },
    h('div', { class: 'notice notice--info' }, status, eta),
    para(t('waiting.fair', { time: opensAt })),
    para(t('waiting.keep_open')),
    trouble,
    done);

  let lastAnnounced = 0;
  const show = (entry) => {
    if (entry.status === 'admitted' && Date.parse(entry.admission_expires_at) <= Date.now()) {
      // Let in long ago and the time to book has run out (e.g. an old address): queue again.
      entryId = null;
      status.textContent = t('waiting.counting');
      return;
    }
    if (entry.status === 'admitted') {
      admissions[campaignId] = { entry_id: entry.entry_id, token: entry.admission_token,
        expires_at: entry.admission_expires_at };
      status.textContent = t('waiting.admitted');
      eta.textContent = t('waiting.admitted_until', { time: formatTime(entry.admission_expires_at) });
      const next = state.campaign && state.campaign.id === campaignId ? '#/book/days' : '#/book';
      done.textContent = '';
      done.append(buttonLink(next, t('waiting.continue')));
      done.hidden = false;
      announce(t('waiting.admitted'));
      return;
    }
    if (entry.position == null) {
      const beforeOpening = room.opens_at && Date.parse(room.opens_at) > Date.now();
      status.textContent = beforeOpening ? t('waiting.before_opening', { time: opensAt }) : t('waiting.counting');
      eta.textContent = '';
    } else {
      status.textContent = entry.position === 0 ? t('waiting.next') : t('waiting.position', { position: formatNumber(entry.position) });
      eta.textContent = entry.eta_seconds == null ? '' : waitMinutes(entry.eta_seconds);
      if (Date.now() - lastAnnounced > ANNOUNCE_EVERY_MS) {
        lastAnnounced = Date.now();
        announce(`${status.textContent} ${eta.textContent}`);
      }
    }
  };

  let entered = false;
  const enter = async () => {
    entered = true;
    const { data, retryAfter } = await call('POST', `/v1/campaigns/${enc(campaignId)}/waiting-room/entries`);
    entryId = data.entry_id;
    // The place goes into the address (without a new history entry), so that a reload keeps it.
    history.replaceState(null, '', `#/book/wait/${enc(campaignId)}/${enc(entryId)}`);
    return { data, retryAfter };
  };

  let timer = null;
  let delay = 2;
  ctx.onLeave(() => clearTimeout(timer));
  const step = async () => {
    if (!ctx.isCurrent()) return;
    try {
      const answer = entryId ? await call('GET', `/v1/waiting-room/entries/${enc(entryId)}`) : await enter();
      if (!ctx.isCurrent()) return;
      trouble.hidden = true;
      show(answer.data);
      if (answer.data.status === 'admitted' && entryId) return;
      delay = Math.min(MAX_RETRY_AFTER_S, Math.max(1, answer.retryAfter != null ? answer.retryAfter : delay));
    } catch (error) {
      if (!ctx.isCurrent()) return;
      if (error instanceof ApiError && error.status === 404 && error.code === 'unknown_entry' && !entered) {
        entryId = null; // an old place that is gone (e.g. an old address): queue again once
        delay = 0;
      } else if (error instanceof ApiError && error.code === 'waiting_room_not_open') {
        status.textContent = t('waiting.not_open');
        delay = MAX_DELAY_S;
      } else {
        if (trouble.hidden) announce(t('waiting.trouble'));
        trouble.hidden = false;
        delay = Math.min(MAX_DELAY_S, error.retryAfter != null ? Math.max(1, error.retryAfter) : delay * 2);
      }
    }
    timer = setTimeout(step, delay * 1000);
  };
  status.textContent = t('common.loading');
  timer = setTimeout(step, 0);
  return node;
}
