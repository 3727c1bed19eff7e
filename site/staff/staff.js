// The staff console (docs/hotline.md): find a caller, book for a caller, cancel, rebook, print the confirmation; a
// pair held after a centre-day cancel (accept it or choose another); the letters of a centre-day operation for
// callers without e-mail; and for a centre's staff (docs/operations.md "Centre staff") the day list with check-in
// and no-show.
// No build step and no inline script; the token is kept in memory only (a reload asks for it again).

import { addDays, openPage, DEFAULT_PAGE_DAYS } from '../js/paging.js';
import { todayInBerlin } from '../js/i18n.js'; // (no messages needed: the console is German only)

const config = window.VAXSLOT_CONFIG || {};
const API = String(config.apiBaseUrl || '').replace(/\/+$/, '');
const TZ = 'Europe/Berlin';
const POLL_MS = 500;
const POLL_LIMIT_MS = 90000;

let token = '';
let rebookAvailable = false;
let current = null; // the booking shown last: what "print" prints
let rebooking = null; // the booking being rebooked (or whose held pair is swapped), when the book form is used for it

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// --- talking to the API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'unknown';
    this.field = error.field || null;
    this.details = (error.details || []).map((d) => d.code);
  }
}

async function call(method, path, { query, body, headers = {} } = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) if (value) search.set(name, value);
  const url = `${API}${path}${search.toString() ? `?${search}` : ''}`;
  const init = { method, headers: { Accept: 'application/json', Authorization: token, ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// --- messages -------------------------------------------------------------------------------------

function say(text) {
  $('status').textContent = text;
}

function alertError(error) {
  const box = $('alert');
  let text = error instanceof ApiError ? error.message : 'Keine Verbindung zum Dienst. Bitte noch einmal versuchen.';
  if (error instanceof ApiError && error.status === 401) text = 'Die Anmeldung ist abgelaufen. Bitte neu anmelden.';
  if (error instanceof ApiError && error.field) text += ` (Feld: ${error.field})`;
  box.textContent = text;
  box.hidden = false;
}

function clearAlert() {
  $('alert').hidden = true;
  $('alert').textContent = '';
}

// --- dates ----------------------------------------------------------------------------------------

/** "1.5.1940", "01.05.1940" or "1940-05-01" → "1940-05-01"; anything else unchanged (the API says what is wrong). */
function isoDate(text) {
  const value = text.trim();
  const german = value.match(/^(\d{1,2})\.(\d{1,2})\.(\d{4})$/);
  if (german) return `${german[3]}-${german[2].padStart(2, '0')}-${german[1].padStart(2, '0')}`;
  return value;
}

const dateTime = (iso) => new Date(iso).toLocaleString('de-DE', {
  timeZone: TZ, weekday: 'long', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const shortDateTime = (iso) => new Date(iso).toLocaleString('de-DE', {
  timeZone: TZ, weekday: 'short', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit',
});

/** The code as it is read out on the phone: in groups, letters and digits apart. */
const spelled = (code) => code.split('-').map((group) => group.split('').join(' ')).join(' – ');

// --- a booking: read out, print, cancel -----------------------------------------------------------

const WHAT_TO_BRING = [
  'diese Terminbestätigung mit dem Buchungscode',
  'einen amtlichen Lichtbildausweis (Personalausweis oder Reisepass)',
  'die Krankenversicherungskarte',
  'den Impfpass, wenn vorhanden',
  'eine Liste der Medikamente, die Sie nehmen',
];

function bookingCard(booking, { headingLevel = 'h3' } = {}) {
  const cancelled = booking.status === 'cancelled';
  const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
  const card = h('article', { class: `booking${cancelled ? ' is-cancelled' : ''}`, 'aria-labelledby': `b-${booking.code}` },
    h(headingLevel, { id: `b-${booking.code}`, tabindex: '-1' },
      cancelled ? `Storniert: ${booking.code}` : `Buchung ${booking.code}`),
    h('dl', { class: 'readout' },
      row('Buchungscode zum Vorlesen', h('span', { class: 'code' }, spelled(booking.code))),
      row('Name', `${booking.person.given_name} ${booking.person.family_name}`),
      row('1. Impfung', booking.first ? dateTime(booking.first.start) : '–'),
      booking.second ? row('2. Impfung', dateTime(booking.second.start)) : null,
      row('Ort', booking.center.name, h('br'), booking.center.address),
      booking.center.hotline ? row('Hotline der Region', booking.center.hotline) : null,
      row('Bestätigung', booking.person.has_email ? 'per E-Mail und auf Wunsch per Post' : 'nur per Post (keine E-Mail)')));
  if (booking.mail) card.append(mailSection(booking)); // "was my mail sent?": read out before any action
  if (!cancelled) {
    card.append(h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => printLetter(booking) }, 'Bestätigung drucken'),
      h('button', { type: 'button', class: 'danger', onclick: () => cancelBooking(booking.code, card) }, 'Stornieren'),
      rebookAvailable ? h('button', { type: 'button', onclick: () => startRebook(booking) }, 'Umbuchen') : null));
    card.append(contactForm(booking, card));
  } else if (booking.held) {
    card.append(heldSection(booking, card));
  }
  current = cancelled ? current : booking;
  return card;
}

// What became of the booking's mails (docs/hotline.md "Was my mail sent?"), said as the agent says it.
const MAIL_KINDS = {
  booking_confirmed: 'Buchungsbestätigung',
  booking_changed: 'E-Mail zur Umbuchung',
  second_appointment_added: 'E-Mail zum 2. Termin',
  booking_cancelled: 'E-Mail zur Stornierung',
  appointment_cancelled_by_centre: 'E-Mail zur Absage durch das Impfzentrum',
};

function mailState({ state, at }) {
  const when = at ? ` am ${dateTime(at)} Uhr` : '';
  return {
    sent: `Versendet${when}. Falls sie nicht angekommen ist: bitte im Spam-Ordner nachsehen.`,
    capped: `Nicht versendet${when}: an diese Adresse gingen an dem Tag schon zu viele E-Mails. Sie wird nicht nachgeschickt.`,
    sending: 'Wird gerade versendet. In ein paar Minuten noch einmal nachsehen.',
    not_sent: 'Noch nicht versendet (wartet auf den Versand oder wird nach einer Störung erneut versucht).',
    suppressed: 'Nicht versendet: an diese Adresse gehen keine E-Mails mehr (siehe unten).',
    unknown: 'Kein Versandnachweis mehr vorhanden (Nachweise werden 90 Tage aufbewahrt).',
  }[state] || state;
}

function mailSection(booking) {
  const { confirmation, latest, blocked } = booking.mail;
  const row = (label, text) => [h('dt', {}, label), h('dd', {}, text)];
  const reason = blocked && (blocked.reason === 'complaint' ? 'als Spam gemeldet' : 'unzustellbar');
  return h('section', { class: 'mail', 'aria-labelledby': `mail-${booking.code}` },
    h('h4', { id: `mail-${booking.code}` }, 'E-Mail-Versand'),
    h('dl', { class: 'readout' },
      row(MAIL_KINDS[confirmation.kind] || confirmation.kind, mailState(confirmation)),
      latest ? row(MAIL_KINDS[latest.kind] || latest.kind, mailState(latest)) : null,
      blocked ? row('E-Mail-Adresse', `Gesperrt: ${reason}${blocked.since ? ` (seit ${dateTime(blocked.since)} Uhr)` : ''}. `
        + 'Die Bestätigung bitte ausdrucken und per Post schicken.') : null));
}

// --- correct a caller's e-mail address and phone (docs/hotline.md "A mistyped address") ----------------

/** The address is not shown (only whether there is one): the agent asks for it anew and types it in full. An empty
 * address removes it only when "keine E-Mail-Adresse" is ticked, so a phone-only change cannot drop it by mistake. */
let contactForms = 0; // the same booking can be on two cards (booked, then found): ids must stay unique

function contactForm(booking, card) {
  const n = ++contactForms;
  const id = (name) => `contact-${name}-${n}`;
  const field = (name, label, attrs) => h('div', { class: 'field' }, h('label', { for: id(name) }, label),
    h('input', { id: id(name), name, autocomplete: 'off', spellcheck: 'false', ...attrs }));
  // Not a landmark (no name on the form): the fieldset's legend names the group, once per card.
  return h('form', { class: 'contact', novalidate: true,
    onsubmit: (event) => changeContact(event, booking, card) },
  h('fieldset', {},
    h('legend', { id: id('heading') }, 'E-Mail-Adresse korrigieren'),
    field('email', 'Neue E-Mail-Adresse (vollständig)', { type: 'email', inputmode: 'email' }),
    h('div', { class: 'field check' }, h('input', { id: id('none'), name: 'no_email', type: 'checkbox' }),
      h('label', { for: id('none') }, 'Anrufer hat keine E-Mail-Adresse')),
    field('phone', 'Telefon (leer: keines)', { type: 'tel', value: booking.person.phone || '' }),
    h('p', { class: 'hint', id: id('hint') }, booking.person.has_email
      ? 'Eine neue Adresse bekommt die Buchungsbestätigung noch einmal.'
      : 'Bisher keine E-Mail-Adresse: mit einer Adresse geht die Buchungsbestätigung per E-Mail hinaus.'),
    h('p', { class: 'form-error', id: id('error'), hidden: true }),
    h('button', { type: 'submit' }, 'Kontaktdaten speichern')));
}

const CONTACT_FIELD_ERRORS = {
  email: 'Diese E-Mail-Adresse ist ungültig. Bitte vollständig und ohne Umlaute vor dem @ eingeben.',
  phone: 'Diese Telefonnummer ist ungültig: nur Ziffern, Leerzeichen und + ( ) / - angeben.',
};

async function changeContact(event, booking, card) {
  event.preventDefault();
  clearAlert();
  const form = event.target;
  const button = form.querySelector('button[type="submit"]');
  const errorBox = form.querySelector('.form-error');
  const showError = (text, input) => {
    errorBox.textContent = text;
    errorBox.hidden = false;
    for (const el of form.querySelectorAll('input')) el.removeAttribute('aria-invalid');
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', errorBox.id);
      input.focus();
    }
    say(text);
  };
  const email = form.email.value.trim();
  if (!email && !form.no_email.checked) {
    showError('Bitte die neue E-Mail-Adresse eingeben oder „Anrufer hat keine E-Mail-Adresse“ ankreuzen.', form.email);
    return;
  }
  if (email && form.no_email.checked) {
    showError('Entweder eine E-Mail-Adresse eingeben oder „keine E-Mail-Adresse“ ankreuzen, nicht beides.', form.email);
    return;
  }
  if (button.disabled) return; // sent once: a double press must not send twice
  button.disabled = true;
  try {
    const answer = await call('PUT', `/v1/staff/bookings/${encodeURIComponent(booking.code)}/contact`, {
      body: { birth_date: booking.person.birth_date, email: email || null, phone: form.phone.value.trim() || null },
    });
    const replacement = bookingCard(answer);
    card.replaceWith(replacement);
    const confirmation = answer.mail && answer.mail.confirmation;
    let text = 'Kontaktdaten gespeichert.';
    if (!answer.mail) text += ' Keine E-Mail-Adresse: die Bestätigung bitte per Post schicken.';
    else if (answer.mail.blocked) text += ' An diese Adresse gehen keine E-Mails (gesperrt): die Bestätigung bitte per Post schicken.';
    else if (confirmation) text += ` Buchungsbestätigung: ${mailState(confirmation)}`;
    say(text);
    replacement.querySelector('[tabindex="-1"]').focus();
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.status === 400 && CONTACT_FIELD_ERRORS[error.field]) {
      showError(CONTACT_FIELD_ERRORS[error.field], form[error.field]);
    } else if (error instanceof ApiError && error.status === 409) {
      showError(`${error.message} Nichts wurde geändert.`, null);
    } else {
      alertError(error);
    }
  }
}

/** The pair held for a caller whose booking the centre cancelled: read out, then accept it or choose another. */
function heldSection(booking, card) {
  const { held } = booking;
  return h('section', { class: 'held', 'aria-labelledby': `held-${booking.code}` },
    h('h4', { id: `held-${booking.code}` }, `Vom Impfzentrum abgesagt. Für den Anrufer freigehalten bis ${dateTime(held.until)}:`),
    h('dl', { class: 'readout' },
      h('dt', {}, '1. Impfung'), h('dd', {}, dateTime(held.first.start)),
      held.second ? [h('dt', {}, '2. Impfung'), h('dd', {}, dateTime(held.second.start))] : null),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: (event) => acceptHeld(booking, card, event.currentTarget) },
        'Freigehaltene Termine übernehmen'),
      h('button', { type: 'button', onclick: () => startRebook(booking) }, 'Andere Termine wählen')));
}

async function reread(booking) {
  return call('GET', `/v1/staff/bookings/${encodeURIComponent(booking.code)}`,
    { query: { birth_date: booking.person.birth_date } });
}

async function acceptHeld(booking, card, button) {
  clearAlert();
  if (button.disabled) return; // sent once: a double press must not send twice
  button.disabled = true;
  try {
    // The staff rebook naming the held first slot: the same use case as the citizen's "keep" (audited).
    await call('POST', `/v1/staff/bookings/${encodeURIComponent(booking.code)}/rebook`,
      { body: { birth_date: booking.person.birth_date, slot_id: booking.held.first.slot_id } });
    const replacement = bookingCard(await reread(booking));
    card.replaceWith(replacement);
    say(`Übernommen: ${booking.code} ist wieder gebucht, Buchungscode unverändert. Bitte vorlesen.`);
    replacement.querySelector('[tabindex="-1"]').focus();
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.status === 409) {
      say('Die freigehaltenen Termine gelten nicht mehr (abgelaufen, oder der Anrufer hat neu gebucht). Bitte neu buchen.');
    } else {
      alertError(error);
    }
  }
}

function letter(booking) {
  const person = booking.person;
  const address = (person.postal_address || '').split('\n');
  return [
    h('p', { class: 'letter-sender' }, booking.center.name, h('br'), booking.center.address),
    h('p', { class: 'letter-recipient' }, `${person.given_name} ${person.family_name}`,
      ...address.map((line) => [h('br'), line])),
    h('h2', {}, 'Ihre Impftermine'),
    h('p', {}, `Guten Tag ${person.given_name} ${person.family_name},`),
    h('p', {}, 'Ihre Termine sind gebucht. Bitte kommen Sie zu beiden Terminen.'),
    h('p', { class: 'letter-code' }, 'Buchungscode: ', h('strong', {}, booking.code)),
    h('dl', { class: 'readout' },
      h('dt', {}, '1. Impfung'), h('dd', {}, dateTime(booking.first.start)),
      booking.second ? [h('dt', {}, '2. Impfung'), h('dd', {}, dateTime(booking.second.start))] : null,
      h('dt', {}, 'Ort'), h('dd', {}, booking.center.name, h('br'), booking.center.address)),
    h('h3', {}, 'Bitte bringen Sie mit'),
    h('ul', {}, WHAT_TO_BRING.map((item) => h('li', {}, item))),
    h('p', {}, 'Absagen oder Fragen: ',
      booking.center.hotline ? `Telefon ${booking.center.hotline}` : 'über die Hotline Ihrer Region',
      ', mit Ihrem Buchungscode.'),
  ];
}

function printLetter(booking = current) {
  if (!booking) {
    say('Noch keine Buchung zum Drucken: zuerst einen Anrufer finden oder buchen.');
    return;
  }
  $('letter').replaceChildren(...letter(booking).flat());
  say(`Druckansicht für ${booking.code} bereit.`);
  window.print();
}

async function cancelBooking(code, card) {
  clearAlert();
  if (!window.confirm(`Buchung ${code} mit beiden Terminen stornieren?`)) return;
  try {
    const booking = await call('POST', `/v1/staff/bookings/${encodeURIComponent(code)}/cancel`);
    const replacement = bookingCard(booking);
    if (card) card.replaceWith(replacement);
    else $('cancel-result').replaceChildren(replacement);
    say(`Buchung ${code} ist storniert. Beide Termine sind wieder frei.`);
    replacement.querySelector('[tabindex="-1"]').focus();
  } catch (error) {
    alertError(error);
  }
}

// --- find a caller --------------------------------------------------------------------------------

function showFound(bookings) {
  const results = $('find-results');
  if (!bookings.length) {
    results.replaceChildren(h('p', { tabindex: '-1', class: 'none' }, 'Keine aktive Buchung gefunden. Angaben prüfen.'));
  } else {
    results.replaceChildren(...bookings.map((b) => bookingCard(b)));
  }
  say(bookings.length ? `${bookings.length} Buchung(en) gefunden.` : 'Keine Buchung gefunden.');
  results.querySelector('[tabindex="-1"]').focus();
}

async function findByCode(event) {
  event.preventDefault();
  clearAlert();
  const form = event.target;
  try {
    const booking = await call('GET', `/v1/staff/bookings/${encodeURIComponent(form.code.value.trim())}`,
      { query: { birth_date: isoDate(form.birth_date.value) } });
    showFound([booking]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) showFound([]);
    else alertError(error);
  }
}

async function findByName(event) {
  event.preventDefault();
  clearAlert();
  const form = event.target;
  try {
    const found = await call('GET', '/v1/staff/bookings', { query: {
      given_name: form.given_name.value, family_name: form.family_name.value,
      birth_date: isoDate(form.birth_date.value), postal_code: form.postal_code.value.trim() } });
    showFound(found.bookings);
  } catch (error) {
    alertError(error);
  }
}

// --- book for a caller: postal code → centre → pair → details ---------------------------------------

let campaign = null;

async function checkCaller() {
  clearAlert();
  endRebook(); // "Impfzentren zeigen" starts a new booking
  const postal = $('book-postal').value.trim();
  const birth = isoDate($('book-birth').value);
  const centerSelect = $('book-center');
  pairsPage = null; // a new caller starts from today
  for (const id of ['book-range', 'book-earlier', 'book-later']) $(id).hidden = true;
  try {
    const eligibility = await call('POST', '/v1/eligibility', { body: { postal_code: postal, birth_date: birth } });
    if (!eligibility.eligible) {
      campaign = null;
      centerSelect.disabled = true;
      say(`Keine buchbare Impfaktion für diese Angaben (${eligibility.reason}).`);
      $('book-postal').focus();
      return;
    }
    campaign = eligibility.campaigns[0];
    const { centers } = await call('GET', '/v1/centers', { query: { postal_code: postal } });
    const offered = centers.filter((c) => campaign.center_ids.includes(c.id));
    centerSelect.replaceChildren(h('option', { value: '' }, 'Bitte wählen'),
      ...offered.map((c) => h('option', { value: c.id }, `${c.name} – ${c.address}`)));
    centerSelect.disabled = false;
    say(`${campaign.name}: ${offered.length} Impfzentrum/-zentren. Zentrum wählen.`);
    centerSelect.focus();
  } catch (error) {
    alertError(error);
  }
}

// The page of the booking horizon shown in the pair list (site/js/paging.js), kept while the centre stays.
let pairsPage = null;
let pairsShown = null; // openPage's answer for that page: where "earlier" and "later" go
const shortDate = (iso) => new Date(`${iso}T12:00:00Z`).toLocaleDateString('de-DE', { timeZone: 'UTC', day: '2-digit', month: '2-digit' });

async function loadPairs() {
  clearAlert();
  const pairSelect = $('book-pair');
  const centerId = $('book-center').value;
  if (!campaign || !centerId) return;
  const size = campaign.booking_window_days || DEFAULT_PAGE_DAYS;
  const today = todayInBerlin();
  try {
    const found = await openPage((from) => call('GET', `/v1/centers/${encodeURIComponent(centerId)}/availability`,
      { query: { campaign: campaign.id, from, days: String(size) } }), pairsPage, `${campaign.id} ${centerId}`,
    { today, size });
    pairsPage = found.position();
    pairsShown = found;
    const pairs = found.days.flatMap((day) => day.slots);
    pairSelect.replaceChildren(h('option', { value: '' }, pairs.length ? 'Bitte wählen' : 'Keine freien Termine'),
      ...pairs.map((p) => h('option', { value: p.slot_id },
        p.second_dose ? `${shortDateTime(p.start)} und ${shortDateTime(p.second_dose.start)}` : shortDateTime(p.start))));
    pairSelect.disabled = !pairs.length;
    // Said as the citizen days page says it (views/slots.js dayPageParts).
    const range = `Termine vom ${shortDate(pairs.length ? found.from : (found.skippedFrom || found.from))} bis ${
      shortDate(found.availability.until || found.from)}`;
    const skipped = found.skippedFrom && pairs.length
      ? ` Vom ${shortDate(found.skippedFrom < today ? today : found.skippedFrom)} bis ${
        shortDate(addDays(found.days[0].date, -1))} ist alles vergeben.`
      : '';
    $('book-range').textContent = `${range}.${skipped}`;
    $('book-range').hidden = found.allTaken;
    $('book-earlier').hidden = !found.earlier;
    $('book-later').hidden = !found.later;
    if (found.allTaken) say('In diesem Zentrum ist nichts frei.');
    else if (pairs.length) say(`${pairs.length} Terminpaare frei. ${range}.${skipped} Paar wählen.`);
    else say(`${range}: alles vergeben.${found.earlier ? ' Frühere Termine ansehen.' : ''}`);
    if (pairs.length) pairSelect.focus();
    else if (found.earlier) $('book-earlier').focus();
  } catch (error) {
    alertError(error);
  }
}

function movePairs(direction) {
  if (!pairsShown) return;
  const from = direction > 0 ? pairsShown.later : pairsShown.earlier;
  if (!from) return;
  pairsPage = pairsShown.position(from, direction);
  loadPairs();
}

async function pollDecision(requestId) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const state = await call('GET', `/v1/booking-requests/${encodeURIComponent(requestId)}`);
    if (state.status !== 'queued') return state;
    if (Date.now() > deadline) throw new Error('timeout');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const REJECTIONS = {
  slot_taken: 'Das Terminpaar ist inzwischen vergeben. Bitte ein anderes wählen.',
  already_booked: 'Diese Person hat schon eine Buchung in dieser Impfaktion (Anrufer finden).',
  not_eligible: 'Diese Person kann in dieser Impfaktion (noch) nicht buchen.',
  no_capacity: 'Es sind keine Termine mehr frei.',
};

async function book(event) {
  event.preventDefault();
  clearAlert();
  const form = event.target;
  const value = (name) => form[name].value.trim();
  if (!campaign || !value('center_id') || !value('slot_id')) {
    say('Zuerst Postleitzahl und Geburtsdatum prüfen, dann Zentrum und Terminpaar wählen.');
    $('book-postal').focus();
    return;
  }
  if (rebooking) {
    rebook(value('slot_id'));
    return;
  }
  if (!value('phone') && !value('postal_address') && !value('email')) {
    say('Telefon, Postanschrift oder E-Mail angeben.');
    $('book-phone').focus();
    return;
  }
  const person = {
    given_name: value('given_name'), family_name: value('family_name'), birth_date: isoDate(value('birth_date')),
    postal_code: value('postal_code'), phone: value('phone') || null,
    postal_address: form.postal_address.value.trim() || null, email: value('email') || null,
  };
  const submit = $('book-submit');
  submit.disabled = true;
  try {
    const accepted = await call('POST', '/v1/staff/booking-requests', {
      body: { campaign_id: campaign.id, center_id: value('center_id'), slot_id: value('slot_id'), flexible: false,
        language: 'de', person },
      headers: { 'Idempotency-Key': crypto.randomUUID() } });
    say('Anfrage angenommen, wird gebucht …');
    const state = await pollDecision(accepted.request_id);
    if (state.status === 'booked') {
      const booking = await call('GET', `/v1/staff/bookings/${encodeURIComponent(state.booking.code)}`,
        { query: { birth_date: person.birth_date } });
      showBooked(booking);
    } else {
      say(REJECTIONS[state.reason] || 'Nicht gebucht.');
      $('book-result').replaceChildren(h('p', { class: 'rejected', tabindex: '-1' }, REJECTIONS[state.reason] || 'Nicht gebucht.'));
      $('book-result').firstChild.focus();
      if (state.reason === 'slot_taken') loadPairs();
    }
  } catch (error) {
    alertError(error);
  } finally {
    submit.disabled = false;
  }
}

function showBooked(booking) {
  const card = bookingCard(booking);
  $('book-result').replaceChildren(card);
  say(`Gebucht: ${booking.code}. Bitte dem Anrufer vorlesen.`);
  card.querySelector('[tabindex="-1"]').focus();
}

/** The swap of contract §7 for the caller (code and birth date from the card): a booked pair, or the pair held
 * after a centre-day cancel, for the chosen one in one step; a refused swap changes nothing. */
async function rebook(slotId) {
  const target = rebooking;
  const submit = $('book-submit');
  if (submit.disabled) return;
  submit.disabled = true;
  try {
    await call('POST', `/v1/staff/bookings/${encodeURIComponent(target.code)}/rebook`,
      { body: { birth_date: target.person.birth_date, slot_id: slotId } });
    endRebook();
    showBooked(await reread(target));
  } catch (error) {
    const held = target.status === 'cancelled';
    if (error instanceof ApiError && error.code === 'slot_taken') {
      say(`${REJECTIONS.slot_taken} Die ${held ? 'freigehaltenen' : 'bisherigen'} Termine gelten weiter.`);
      loadPairs();
    } else if (error instanceof ApiError && error.code === 'booking_cancelled') {
      endRebook();
      say(held ? 'Die freigehaltenen Termine gelten nicht mehr. Bitte neu buchen.' : 'Diese Buchung ist inzwischen storniert.');
    } else {
      alertError(error);
    }
  } finally {
    submit.disabled = false;
  }
}

function endRebook() {
  rebooking = null;
  $('book-submit').textContent = 'Buchen';
}

/** The book form for a rebook: the booking's campaign and centre (a swap stays at the centre), then a pair. */
async function startRebook(booking) {
  clearAlert();
  rebooking = booking;
  $('book-postal').value = booking.person.postal_code;
  $('book-birth').value = booking.person.birth_date;
  $('book-given').value = booking.person.given_name;
  $('book-family').value = booking.person.family_name;
  $('book-submit').textContent = 'Umbuchen';
  goTo('book');
  try {
    const { campaigns } = await call('GET', '/v1/campaigns');
    campaign = campaigns.find((c) => c.id === booking.campaign_id) || null;
  } catch (error) {
    alertError(error);
    return;
  }
  const centerSelect = $('book-center');
  centerSelect.replaceChildren(h('option', { value: booking.center.id }, `${booking.center.name} – ${booking.center.address}`));
  centerSelect.disabled = false;
  pairsPage = null;
  say(`Umbuchen von ${booking.code}: neues Terminpaar wählen, dann „Umbuchen“.`);
  await loadPairs();
}

// --- letters of a centre-day operation: callers without e-mail get a letter or a call ----------------

let lettersShown = [];

const lettersHeading = (x) => {
  if (x.kind === 'moved') return x.language === 'en' ? 'Your appointment has been moved' : 'Ihr Impftermin wurde verlegt';
  return x.language === 'en' ? 'Your appointments have been cancelled' : 'Ihre Impftermine wurden abgesagt';
};

/** One letter on its own sheet: sender, the window-envelope address, and the notice text the API wrote. */
function letterSheet(x) {
  const address = (x.recipient.postal_address || '').split('\n').filter(Boolean);
  const lines = (block) => block.split('\n').flatMap((line, i) => (i ? [h('br'), line] : [line]));
  return h('section', { class: 'letter-page' },
    h('p', { class: 'letter-sender' }, x.center.name, h('br'), x.center.address),
    h('p', { class: 'letter-recipient' }, `${x.recipient.given_name} ${x.recipient.family_name}`,
      ...address.map((line) => [h('br'), line])),
    h('h2', {}, lettersHeading(x)),
    x.text.split('\n\n').map((block) => h('p', {}, ...lines(block))));
}

function printLetters(list) {
  if (!list.length) return;
  $('letter').replaceChildren(...list.map(letterSheet));
  say(list.length === 1 ? `Brief für ${list[0].code} bereit zum Drucken.` : `${list.length} Briefe bereit zum Drucken.`);
  window.print();
}

function whatHappened(x) {
  const why = x.reason === 'email_bounced' ? ' (E-Mail kam zurück)' : '';
  if (x.kind === 'moved') return `Termin verlegt${why}`;
  return (x.held ? `Abgesagt, freigehalten bis ${shortDateTime(x.held.until)}` : 'Abgesagt, bitte neu buchen') + why;
}

const LETTER_MARKS = { sent: 'Brief verschickt', called: 'Erreicht' };
let lettersOperation = null;
let lettersCounts = { open: 0, done: 0 };

const markText = (mark) => `${LETTER_MARKS[mark.mark]} (${mark.by}, ${shortDateTime(mark.at)})`;

/** The "done" cell: the mark that stands with the button that takes it back, or the two buttons that make one. */
function markCell(x, name) {
  if (x.mark) {
    return h('td', { class: 'letter-mark', tabindex: '-1' }, markText(x.mark), ' ',
      h('button', { type: 'button', 'aria-label': `Zurücknehmen: ${LETTER_MARKS[x.mark.mark]}, ${name}`, onclick: (event) => sendLetterMark(x, null, event.target) }, 'Zurücknehmen'));
  }
  const button = (mark) => h('button', { type: 'button', 'aria-label': `${LETTER_MARKS[mark]}: ${name}`, onclick: (event) => sendLetterMark(x, mark, event.target) }, LETTER_MARKS[mark]);
  return h('td', { class: 'letter-mark' }, button('sent'), ' ', button('called'));
}

/** Mark a letter (`mark` sent or called) or take its mark back (`mark` null), once per line at a time: a double
 * click must not send twice (as `sendOnce` guards the site's buttons). */
async function sendLetterMark(x, mark, button) {
  if (x.sending) return;
  x.sending = true;
  clearAlert();
  let answer;
  try {
    const url = `/v1/staff/operations/${lettersOperation}/letters/${x.code}/mark`;
    answer = mark ? await call('PUT', url, { body: { mark } }) : await call('DELETE', url);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) say(`${x.code} steht nicht (mehr) auf der Briefliste: bitte neu laden.`);
    else alertError(error);
    return;
  } finally {
    x.sending = false;
  }
  // A colleague may have marked it, or taken the mark back, meanwhile (`changed` false): show what is stored now.
  const was = Boolean(x.mark);
  if (was !== Boolean(answer.mark)) {
    const step = answer.mark ? 1 : -1;
    lettersCounts = { open: lettersCounts.open - step, done: lettersCounts.done + step };
  }
  x.mark = answer.mark;
  const cell = button.closest('td');
  const name = cell.closest('tr').querySelector('th').textContent;
  const shown = markCell(x, name);
  cell.replaceWith(shown);
  $('letters-caption').textContent = lettersCaption();
  // After a mark, the cell (read out with its mark); after taking one back, the line's first button again.
  (answer.mark ? shown : shown.querySelector('button')).focus();
  if (answer.mark) {
    say(answer.changed ? `${x.code}: ${LETTER_MARKS[answer.mark.mark]}.` : `${x.code} war schon markiert: ${markText(answer.mark)}.`);
  } else {
    say(answer.changed ? `${x.code}: ${LETTER_MARKS[answer.removed.mark]} zurückgenommen, wieder offen.` : `${x.code} war nicht (mehr) markiert: offen.`);
  }
}

function lettersCaption() {
  const { open, done } = lettersCounts;
  return `${open + done} Briefe: ${open} offen, ${done} erledigt. Anrufen (Telefon) oder Brief schicken, dann markieren.`;
}

function showLetters(page, letters) {
  const results = $('letters-results');
  const running = page.status === 'running' ? ' Der Vorgang läuft noch: später erneut laden.' : '';
  if (!letters.length) {
    const none = lettersCounts.done ? `Keine offenen Briefe: ${lettersCounts.done} erledigt.` : 'Keine Briefe: alle Betroffenen haben eine E-Mail bekommen.';
    results.replaceChildren(h('p', { tabindex: '-1', class: 'none' }, `${none}${running}`));
    return;
  }
  const row = (x) => {
    const name = `${x.recipient.family_name}, ${x.recipient.given_name}`;
    return h('tr', {},
      h('th', { scope: 'row' }, name),
      h('td', { class: 'code' }, x.code),
      h('td', {}, whatHappened(x)),
      h('td', {}, x.recipient.phone || '–'),
      h('td', {}, ...(x.recipient.postal_address || '–').split('\n').flatMap((line, i) => (i ? [h('br'), line] : [line]))),
      h('td', {}, h('button', { type: 'button', 'aria-label': `Brief drucken: ${name}`, onclick: () => printLetters([x]) }, 'Drucken')),
      markCell(x, name));
  };
  results.replaceChildren(
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => printLetters(lettersShown) }, `Alle ${letters.length} Briefe drucken`)),
    h('table', { class: 'day-table', tabindex: '-1' },
      h('caption', {}, h('span', { id: 'letters-caption' }, lettersCaption()), running),
      h('thead', {}, h('tr', {}, ['Name', 'Code', 'Was', 'Telefon', 'Postanschrift', 'Brief', 'Erledigt'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, letters.map(row))));
}

async function loadLetters(event) {
  event.preventDefault();
  clearAlert();
  // The id, or the poll URL ops were given (…/v1/staff/operations/<id>) pasted as it is.
  const found = $('letters-operation').value.match(/[0-9a-f]{32}/);
  if (!found) {
    say('Die Vorgangsnummer hat 32 Zeichen (0–9, a–f); Ops nennen sie beim Absagen.');
    $('letters-operation').focus();
    return;
  }
  const onlyOpen = $('letters-open-only').checked ? 'true' : null;
  const letters = [];
  const counts = { open: 0, done: 0 };
  let page = null;
  let cursor = null;
  try {
    do {
      page = await call('GET', `/v1/staff/operations/${found[0]}/letters`, { query: { cursor, limit: '500', only_open: onlyOpen } });
      letters.push(...page.letters);
      counts.open += page.counts.open;
      counts.done += page.counts.done;
      cursor = page.next_cursor;
    } while (cursor);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) say('Keinen Vorgang mit dieser Nummer gefunden.');
    else alertError(error);
    return;
  }
  lettersOperation = found[0];
  lettersShown = letters;
  lettersCounts = counts;
  showLetters(page, letters);
  say(`${counts.open + counts.done} Brief(e): ${counts.open} offen, ${counts.done} erledigt.`);
  $('letters-results').querySelector('[tabindex="-1"]').focus();
}

// --- cancel by code -------------------------------------------------------------------------------

function cancelByCode(event) {
  event.preventDefault();
  cancelBooking(event.target.code.value.trim(), null);
}

// --- centre staff: the day list, check-in and no-show -----------------------------------------------

const MARKS = { expected: 'offen', attended: 'eingecheckt', no_show: 'nicht erschienen' };
let dayLines = []; // the appointments of the day list shown
let dayCenter = '';

const compactCode = (code) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');
const timeOf = (iso) => new Date(iso).toLocaleTimeString('de-DE', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
const todayGerman = () => new Date().toLocaleDateString('de-DE', { timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric' });

// A first dose missed gives the second appointment back (docs/operations.md "Centre staff").
const SECOND_RELEASED = ' (2. Termin freigegeben)';

function dayRow(line) {
  const name = `${line.family_name}, ${line.given_name}`;
  const label = `${name}, ${timeOf(line.start)}, ${line.dose}. Impfung`;
  const note = (line.first_dose_attendance === 'no_show' ? ' (1. Impfung versäumt)' : '')
    + (line.dose === 1 && line.second_appointment === 'released' ? SECOND_RELEASED : '');
  const actions = h('div', { class: 'actions' },
    line.attendance !== 'attended'
      ? h('button', { type: 'button', 'aria-label': `Eingecheckt: ${label}`, onclick: () => markLine(line, 'check-in') }, 'Eingecheckt')
      : null,
    line.attendance === 'expected'
      ? h('button', { type: 'button', class: 'danger', 'aria-label': `Nicht erschienen: ${label}`, onclick: () => markLine(line, 'no-show') }, 'Nicht erschienen')
      : null,
    // A wrong row clicked: only today's marks are taken back (the API says so for other days).
    line.attendance !== 'expected'
      ? h('button', { type: 'button', 'aria-label': `Zurücknehmen: ${label}`, onclick: () => markLine(line, 'undo-mark') }, 'Zurücknehmen')
      : null);
  return h('tr', { id: `line-${line.code}-${line.dose}` },
    h('td', {}, timeOf(line.start)),
    h('td', { class: 'code' }, line.code),
    h('th', { scope: 'row' }, name),
    h('td', {}, `${line.dose}.${note}`),
    h('td', { class: `mark-${line.attendance}` }, MARKS[line.attendance] || line.attendance),
    h('td', {}, actions));
}

function showDay(day) {
  const results = $('day-results');
  if (!dayLines.length) {
    results.replaceChildren(h('p', { tabindex: '-1', class: 'none' }, `Keine Termine am ${day}.`));
    return;
  }
  const open = dayLines.filter((l) => l.attendance === 'expected').length;
  results.replaceChildren(h('table', { class: 'day-table' },
    h('caption', {}, `${dayLines.length} Termine am ${day}, ${open} offen`),
    h('thead', {}, h('tr', {}, ['Zeit', 'Code', 'Name', 'Impfung', 'Status', 'Aktion'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, dayLines.map(dayRow))));
}

async function loadDay(event) {
  if (event) event.preventDefault();
  clearAlert();
  dayCenter = $('day-center').value;
  const day = isoDate($('day-date').value);
  try {
    const list = await call('GET', `/v1/staff/centers/${encodeURIComponent(dayCenter)}/days/${encodeURIComponent(day)}`);
    dayLines = list.appointments;
    showDay($('day-date').value.trim());
    say(`Tagesliste geladen: ${dayLines.length} Termine. Code eingeben und Enter zum Einchecken.`);
    $('checkin-code').focus();
  } catch (error) {
    alertError(error);
  }
}

const MARK_REFUSALS = {
  appointment_not_yet: 'Der Termin hat noch nicht begonnen.',
  already_attended: 'Diese Impfung ist schon als gegeben eingetragen.',
  first_dose_not_given: 'Die 1. Impfung ist nicht als gegeben eingetragen: nicht einchecken, Hotline informieren.',
  booking_cancelled: 'Diese Buchung ist storniert.',
  not_today: 'Nur Einträge von heute können zurückgenommen werden.',
  second_dose_given: 'Die 2. Impfung ist schon eingetragen: die 1. bleibt eingecheckt.',
  no_such_dose: 'Diese Buchung hat diesen Termin nicht (mehr).',
};
// 409 slot_full on taking a no-show back: the second appointment it gave back is taken by someone else.
const SECOND_TAKEN = 'Der 2. Termin ist inzwischen vergeben: „nicht erschienen“ bleibt. Ist die Person da, einchecken; die Hotline bucht dann einen neuen 2. Termin.';

async function markLine(line, action) {
  clearAlert();
  try {
    const marked = await call('POST',
      `/v1/staff/centers/${encodeURIComponent(dayCenter)}/bookings/${encodeURIComponent(line.code)}/${action}`,
      { body: { dose: line.dose } });
    dayLines = dayLines.map((l) => (l.code === marked.code && l.dose === marked.dose ? marked : l));
    showDay($('day-date').value.trim());
    const lost = marked.dose === 1 && marked.attendance === 'attended' && marked.second_appointment === 'released'
      ? ' Der 2. Termin war schon vergeben: die Hotline bucht einen neuen.' : '';
    say(`${marked.family_name}, ${marked.given_name} (${marked.code}): ${MARKS[marked.attendance]}.${lost}`);
    $('checkin-code').value = '';
    $('checkin-code').focus();
  } catch (error) {
    const refused = error instanceof ApiError && error.status === 400 ? MARK_REFUSALS[(error.details || [])[0]] : null;
    const detail = error instanceof ApiError && error.code === 'slot_full' ? SECOND_TAKEN : refused;
    if (detail) say(detail);
    else alertError(error);
  }
}

function checkInByCode(event) {
  event.preventDefault();
  const wanted = compactCode($('checkin-code').value);
  const line = dayLines.find((l) => compactCode(l.code) === wanted);
  if (!line) {
    say('Dieser Code steht nicht in der geladenen Tagesliste.');
    $('checkin-code').select();
    return;
  }
  markLine(line, 'check-in');
}

async function setUpDay(centres, admin) {
  let ids = centres;
  if (admin) {
    try {
      ids = (await call('GET', '/v1/centers')).centers.map((c) => c.id);
    } catch {
      ids = centres;
    }
  }
  $('day-center').replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
  $('day-date').value = todayGerman();
}

// --- sign-in, shortcuts ---------------------------------------------------------------------------

async function detectRebook() {
  // Rebooking is another route (branch `rebook`): offered only if this API has it. A made-up code answers
  // 404 unknown_booking or 400 where the route exists; 404 unknown_route, 403 or 405 where it does not.
  try {
    await call('POST', '/v1/staff/bookings/AAAA-AAAA-AA/rebook', { body: {} });
    rebookAvailable = true;
  } catch (error) {
    rebookAvailable = error instanceof ApiError && error.code !== 'unknown_route' && ![403, 405].includes(error.status);
  }
}

async function signIn(value) {
  token = value.trim().replace(/^Bearer\s+/i, '');
  const claims = (() => {
    try {
      return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    } catch {
      return {};
    }
  })();
  // What the console shows follows the groups (the API checks them again): hotline tasks, a centre's day list.
  let groups = claims['cognito:groups'] || [];
  if (typeof groups === 'string') groups = groups.replace(/[[\]]/g, '').split(/[\s,]+/);
  const centres = groups.filter((g) => g.startsWith('center_staff:')).map((g) => g.slice('center_staff:'.length));
  const admin = groups.includes('admin');
  roles.centre = admin || centres.length > 0;
  roles.hotline = admin || groups.includes('hotline') || groups.includes('ops') || !roles.centre;
  for (const el of document.querySelectorAll('[data-role]')) el.hidden = !roles[el.dataset.role];
  if (!roles.hotline) document.querySelector('.console-name').textContent = 'vaxslot · Konsole des Impfzentrums';
  $('signin').hidden = true;
  $('console').hidden = false;
  const who = $('signed-in');
  who.textContent = `Angemeldet: ${claims['cognito:username'] || 'unbekannt'}`;
  who.hidden = false;
  if (roles.centre) await setUpDay(centres, admin);
  if (roles.hotline) {
    say('Angemeldet. Alt+1: Anrufer finden.');
    goTo('find');
    await detectRebook();
  } else {
    goTo('day');
    await loadDay(); // today's list at once: the desk starts checking people in
  }
}

const roles = { hotline: false, centre: false };

function goTo(id) {
  const section = $(id);
  section.scrollIntoView({ block: 'start' });
  const first = section.querySelector('input, select, textarea');
  (first || section).focus();
}

document.addEventListener('keydown', (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey || $('console').hidden) return;
  const target = { 1: 'find', 2: 'book', 3: 'cancel', 5: 'day', 6: 'letters' }[event.key];
  if (target && !$(target).hidden) {
    event.preventDefault();
    goTo(target);
  } else if (event.key === '4' && roles.hotline) {
    event.preventDefault();
    printLetter();
  }
});

for (const link of document.querySelectorAll('.tasks a')) {
  link.addEventListener('click', (event) => {
    event.preventDefault();
    goTo(link.getAttribute('href').slice(1));
  });
}

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if ($('token').value.trim()) signIn($('token').value);
  else $('token').focus();
});
$('find-code-form').addEventListener('submit', findByCode);
$('find-name-form').addEventListener('submit', findByName);
$('book-check').addEventListener('click', checkCaller);
$('book-center').addEventListener('change', () => { pairsPage = null; loadPairs(); });
$('book-earlier').addEventListener('click', () => movePairs(-1));
$('book-later').addEventListener('click', () => movePairs(1));
$('book-form').addEventListener('submit', book);
$('cancel-form').addEventListener('submit', cancelByCode);
$('letters-form').addEventListener('submit', loadLetters);
$('day-form').addEventListener('submit', loadDay);
$('checkin-form').addEventListener('submit', checkInByCode);

// On AWS the Cognito hosted UI (implicit grant) sends the agent back with #id_token=… (docs/hotline.md).
if (config.staffSignInUrl) {
  $('hosted-ui-link').href = config.staffSignInUrl;
  $('hosted-ui').hidden = false;
}
const fromHostedUi = new URLSearchParams(location.hash.slice(1)).get('id_token');
if (fromHostedUi) {
  history.replaceState(null, '', location.pathname);
  signIn(fromHostedUi);
}
document.documentElement.dataset.ready = 'true';
