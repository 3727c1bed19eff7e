// Paging through a campaign's booking horizon: the one way the citizen days page, the rebook page and the staff
// console do it. How far ahead one may book and how much one answer covers are the API's rules (the answer's
// `next_from`, the campaign's `booking_window_days`), not the site's. No imports: the staff console (site/staff/)
// loads this file too, without the citizen site's i18n and API client.

// A booking horizon of a year is 14 pages of 28 days: the site looks through that many on its own, no more.
export const MAX_PAGES_SEARCHED = 15;
export const DEFAULT_PAGE_DAYS = 28;

export function addDays(isoDate, n) {
  const day = new Date(`${isoDate}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + n);
  return day.toISOString().slice(0, 10);
}

/** Where the page before `from` starts: one page earlier, but never before today. */
export const earlierFrom = (from, today, size) => [addDays(from, -size), today].sort()[1];

/**
 * The nearest page with a free day, looking later (direction 1) or earlier (-1) from `from`.
 * `fetchPage(from)` answers the API's availability for one page. Earlier pages that are all full lead back to
 * the first free one from today; "all taken" is only ever said of the whole horizon.
 * Returns { availability, days (only days with pairs), from, searchedFrom, skippedFrom }.
 */
export async function findPage(fetchPage, from, direction, { today, size = DEFAULT_PAGE_DAYS }) {
  const load = async (start) => {
    const availability = await fetchPage(start);
    const days = (availability.days || []).filter((d) => d.slots && d.slots.length);
    return { availability, days, from: availability.from || start };
  };
  let page = await load(from);
  let searched = 1;
  while (!page.days.length && searched < MAX_PAGES_SEARCHED) {
    let next = null;
    if (direction > 0) next = page.availability.next_from || null;
    else if (page.from > today) next = earlierFrom(page.from, today, size);
    else return findPage(fetchPage, today, 1, { today, size });
    if (!next) break;
    page = await load(next);
    searched += 1;
  }
  return { ...page, searchedFrom: from, skippedFrom: searched > 1 && direction > 0 ? from : null };
}

/**
 * What a page offers around it: `later`/`earlier` are the `from` of the page to ask for next (null: none),
 * `allTaken` is true only when nothing is free from today to the end of the horizon.
 * `skippedFrom`: where the search that led here started, if it skipped full pages (it may be kept across
 * visits by the caller); every day from there up to this page is known to be taken.
 */
export function around(found, { today, size = DEFAULT_PAGE_DAYS, skippedFrom = found.skippedFrom }) {
  const next = found.availability.next_from || null;
  const earlierKnownFull = Boolean(skippedFrom && skippedFrom <= today);
  return {
    later: next,
    earlier: found.from > today && !earlierKnownFull ? earlierFrom(found.from, today, size) : null,
    allTaken: !found.days.length && !next && found.searchedFrom <= today,
  };
}

/**
 * The page to show for `key` (e.g. centre and campaign): where `kept` (the last visit's `position`) says when it
 * is for the same key, else the first page with a free day from today. The answer has findPage's fields,
 * around()'s `later`, `earlier` and `allTaken`, and `position(from, direction)`, a value to keep for the next
 * visit (`position()` is this page; a move is `position(later, 1)` or `position(earlier, -1)`).
 */
export async function openPage(fetchPage, kept, key, { today, size = DEFAULT_PAGE_DAYS }) {
  const here = Boolean(kept && kept.key === key);
  const start = here ? kept : { from: today, direction: 1 };
  const found = await findPage(fetchPage, start.from, start.direction, { today, size });
  // Coming back to a page the search had skipped ahead to: the days before it are still known to be taken.
  const skippedFrom = found.skippedFrom || (here && found.from === kept.from ? kept.skippedFrom : null);
  const position = (from = found.from, direction = 1) => ({
    key, from, direction, skippedFrom: from === found.from ? skippedFrom : null,
  });
  return { ...found, skippedFrom, ...around(found, { today, size, skippedFrom }), position };
}
