// The citizen API (see docs/site.md). Every call sends Accept-Language, has a timeout,
// and fails with an ApiError carrying the API's error code, field details and Retry-After.
import { currentLang } from './i18n.js';

const TIMEOUT_MS = 20000;

export class ApiError extends Error {
  constructor({ status, code, message = '', field = null, details = [], retryAfter = null, body = null }) {
    super(`API ${status} ${code}`);
    this.status = status; // 0 = no answer (network down, timeout)
    this.code = code;
    this.apiMessage = message;
    this.field = field;
    this.details = details;
    this.retryAfter = retryAfter; // seconds, or null
    this.body = body;
  }

  /** The service did not answer or is overloaded: show the error page and retry. */
  get unavailable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

// The public reads: the same answer for everyone for a second or two (chalicelib/api/http.py SNAPSHOT_ROUTES).
// They go to config.readBaseUrl, a CDN in front of the same API; everything else (writes, a person's request,
// entry or booking) goes to the API itself. Only GET routes have these paths.
export const SNAPSHOT_PATHS = [
  /^\/v1\/campaigns$/,
  /^\/v1\/centers$/,
  /^\/v1\/centers\/[^/]+\/availability$/,
  /^\/v1\/campaigns\/[^/]+\/waiting-room$/,
];

export function isSnapshotPath(path) {
  return SNAPSHOT_PATHS.some((pattern) => pattern.test(path));
}

function baseUrl(path = '') {
  const config = window.VAXSLOT_CONFIG || {};
  const base = isSnapshotPath(path) && config.readBaseUrl ? config.readBaseUrl : config.apiBaseUrl;
  return String(base || '').replace(/\/+$/, '');
}

export function apiUrl(path, query = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, value);
  }
  const qs = search.toString();
  return `${baseUrl(path)}${path}${qs ? `?${qs}` : ''}`;
}

/**
 * The pause before the next poll, in ms: the server's Retry-After when it gave one (it knows the queue), else
 * the previous pause times `factor`, at most `maxMs`; never below `minMs`. A little jitter (up to +10 %) keeps
 * a crowd that started together from polling in step.
 */
export function nextPollDelay(previousMs, { retryAfter = null, factor = 1.25, minMs = 1000, maxMs = 5000, random = Math.random } = {}) {
  const base = retryAfter != null ? retryAfter * 1000 : Math.min(previousMs * factor, maxMs);
  return Math.round(Math.max(minMs, base) * (1 + 0.1 * random()));
}

// Retry-After of a successful answer, kept beside its body (the body is the API's JSON, unchanged).
const successRetryAfter = new WeakMap();

/** The Retry-After (seconds) the server sent with this answer of `request`, or null. */
export function retryAfterOf(data) {
  const seconds = data && typeof data === 'object' ? successRetryAfter.get(data) : undefined;
  return seconds === undefined ? null : seconds;
}

export function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

async function request(method, path, { query, body, headers = {}, asFile = false } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    let response;
    try {
      response = await fetch(apiUrl(path, query), {
        method,
        headers: {
          Accept: 'application/json',
          'Accept-Language': currentLang(),
          ...(body ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: controller.signal,
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError({ status: 0, code: 'network_error' });
    }
    if (asFile && response.ok) return response.blob();
    let data = null;
    try {
      data = await response.json();
    } catch {
      if (response.ok) throw new ApiError({ status: response.status, code: 'bad_response' });
    }
    if (response.ok) {
      const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
      if (retryAfter != null && data && typeof data === 'object') successRetryAfter.set(data, retryAfter);
      return data;
    }
    const error = (data && data.error) || {};
    throw new ApiError({
      status: response.status,
      code: error.code || `http_${response.status}`,
      message: error.message || '',
      field: error.field || null,
      details: Array.isArray(error.details) ? error.details : [],
      retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
      body: data,
    });
  } finally {
    clearTimeout(timer);
  }
}

const enc = encodeURIComponent;

export const getCampaigns = () => request('GET', '/v1/campaigns');

export const getCenters = (postalCode) => request('GET', '/v1/centers', { query: { postal_code: postalCode } });

export const checkEligibility = (birthDate, postalCode) =>
  request('POST', '/v1/eligibility', { body: { birth_date: birthDate, postal_code: postalCode } });

export const getAvailability = (centerId, campaignId, from, days) =>
  request('GET', `/v1/centers/${enc(centerId)}/availability`, { query: { campaign: campaignId, from, days } });

export const submitBookingRequest = (body, idempotencyKey, extraHeaders = {}) =>
  request('POST', '/v1/booking-requests', { body, headers: { 'Idempotency-Key': idempotencyKey, ...extraHeaders } });

// Contact verification (docs/abuse.md): a 6-digit code mailed to `email`, for campaigns with verification "email".
export const startVerification = (campaignId, email, language) =>
  request('POST', '/v1/verifications', { body: { campaign_id: campaignId, email, language } });

export const getBookingRequest = (requestId) => request('GET', `/v1/booking-requests/${enc(requestId)}`);

// The birth date goes in a POST body, never in a URL (browser history, proxy logs, Referer). The contract's
// GET routes with ?birth_date= still exist for other clients; the site does not use them.
export const getBooking = (code, birthDate) =>
  request('POST', `/v1/bookings/${enc(code)}/lookup`, { body: { birth_date: birthDate } });

export const cancelBooking = (code, birthDate) =>
  request('POST', `/v1/bookings/${enc(code)}/cancel`, { body: { birth_date: birthDate } });

/** Fetch the calendar file by POST and hand it to the browser as a download (a blob: URL holds no date). */
export async function downloadCalendar(code, birthDate) {
  const file = await request('POST', `/v1/bookings/${enc(code)}/calendar.ics`, {
    body: { birth_date: birthDate }, headers: { Accept: 'text/calendar' }, asFile: true,
  });
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  a.download = 'impftermine.ics';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export const rebookBooking = (code, birthDate, slotId) =>
  request('POST', `/v1/bookings/${enc(code)}/rebook`, { body: { birth_date: birthDate, slot_id: slotId, flexible: false } });


/** A random UUID v4, made once per submit attempt (crypto.randomUUID needs a secure context). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
