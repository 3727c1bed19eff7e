// What the citizen has entered and chosen in this tab. Kept in memory only:
// no cookies, no storage. A reload starts the booking again (a waiting page keeps its id in the URL).
export const state = {
  check: { postalCode: '', day: '', month: '', year: '' }, // the form values as typed
  birthDate: null, // "YYYY-MM-DD" once checked
  postalCode: null,
  eligibility: null, // answer of POST /v1/eligibility
  centers: [], // centres serving the postal code
  campaign: null, // {id, name, ...} chosen
  center: null, // {id, name, address} chosen
  day: null, // "YYYY-MM-DD" chosen
  slot: null, // the pair chosen on the times page
  daysPage: null, // {key, from, direction, skippedFrom}: the page of days shown (site/js/paging.js openPage)
  person: { given_name: '', family_name: '', email: '', phone: '' },
  flexible: false,
  requests: {}, // request_id → {slot, center, email} of requests sent from this tab
  lookup: { code: '', day: '', month: '', year: '' }, // look-up form values
  booking: null, // {code, birthDate, data} found by look-up
  rebook: null, // {day, slot, daysPage} chosen while rebooking the booking found
};
