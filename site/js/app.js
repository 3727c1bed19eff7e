// Start-up and the hash router. Each route is a view: async (ctx) => DOM node.
// A view that needs the API awaits it; when the API cannot answer (no connection, 429, 5xx)
// the router shows the error page, which retries by itself after Retry-After.
import { detectLanguage, loadLanguage, currentLang, t } from './i18n.js';
import { ApiError } from './api.js';
import { h, regionHotline, replaceContent } from './ui.js';
import { state } from './state.js';
import { startView, easyReadView } from './views/start.js';
import { checkView, eligibilityView } from './views/check.js';
import { daysView, timesView } from './views/slots.js';
import { detailsView } from './views/details.js';
import { requestView } from './views/request.js';
import { lookupView, bookingView, cancelView, cancelledView } from './views/manage.js';
import { unavailableView, notFoundView, problemView, resetFailures } from './views/error.js';
import { waitingView } from './views/waiting.js';
import { privacyView, privacyEasyView } from './views/privacy.js';

// A view loaded when first needed, not with the start page (its page weight budget, docs/site.md). No connection
// while loading it: the retrying error page.
const lazy = (load, name) => (ctx) => load()
  .catch(() => { throw new ApiError({ status: 0, code: 'network_error' }); })
  .then((m) => m[name](ctx));
const rebook = () => import('./views/rebook.js');

const routes = [
  [/^\/$/, startView],
  [/^\/easy-read$/, easyReadView],
  [/^\/book$/, checkView],
  [/^\/book\/eligibility$/, eligibilityView],
  [/^\/book\/wait\/([A-Za-z0-9_.:-]+)(?:\/([A-Za-z0-9_-]+))?$/, waitingView], // waiting room (§8), site/js/views/waiting.js
  [/^\/book\/days$/, daysView],
  [/^\/book\/times$/, timesView],
  [/^\/book\/details$/, detailsView],
  // The e-mail code, only for campaigns that verify addresses: loaded when needed, not with the start page.
  [/^\/book\/code$/, lazy(() => import('./views/verify.js'), 'verifyView')],
  [/^\/request\/([A-Za-z0-9_.:-]+)$/, requestView],
  [/^\/booking$/, lookupView],
  [/^\/booking\/view$/, bookingView],
  [/^\/booking\/cancel$/, cancelView],
  [/^\/booking\/cancelled$/, cancelledView],
  [/^\/booking\/rebook$/, lazy(rebook, 'rebookDaysView')],
  [/^\/booking\/rebook\/times$/, lazy(rebook, 'rebookTimesView')],
  [/^\/booking\/rebook\/confirm$/, lazy(rebook, 'rebookConfirmView')],
  [/^\/booking\/rebooked$/, lazy(rebook, 'rebookedView')],
  [/^\/privacy$/, privacyView], // the privacy notice (GDPR Art. 13), linked from every page's footer
  [/^\/privacy\/easy-read$/, privacyEasyView],
];

const main = document.getElementById('main');
let renderCount = 0; // increases on every navigation; stale async work checks it
let cleanups = [];
let firstRender = true;

function runCleanups() {
  for (const fn of cleanups) fn();
  cleanups = [];
}

/** Put a page into <main> and move focus to its heading (not on the very first load). */
function mount(node, { focus = true } = {}) {
  main.removeAttribute('aria-busy');
  replaceContent(main, node);
  if (focus && !firstRender) {
    const target = main.querySelector('.error-summary') || main.querySelector('h1');
    if (target) target.focus();
  }
  firstRender = false;
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** Go elsewhere without leaving this page in the history (for pages that need earlier steps). */
function redirect(hash) {
  location.replace(hash);
}

function context(params, token, query = new URLSearchParams()) {
  return {
    params,
    query,
    go,
    redirect,
    isCurrent: () => token === renderCount,
    onLeave: (fn) => cleanups.push(fn),
    /** Replace the page (e.g. a form with its errors); focus goes to the error summary or the heading. */
    show: (node) => { if (token === renderCount) mount(node); },
    /** Run an action that calls the API (e.g. a submit); on "unavailable" show the error page, retry keeps the form. */
    act: async function act(fn, { kind = 'load' } = {}) {
      const keep = [...main.childNodes];
      try {
        await fn();
      } catch (error) {
        if (token !== renderCount) return;
        if (!(error instanceof ApiError && error.unavailable)) {
          fail(error);
          return;
        }
        showUnavailable(error, kind, () => {
          runCleanups();
          mount(fragmentOf(keep), { focus: false });
          act(fn, { kind });
        });
      }
    },
  };
}

const fragmentOf = (nodes) => {
  const f = document.createDocumentFragment();
  f.append(...nodes);
  return f;
};

function showUnavailable(error, kind, retry) {
  const token = renderCount;
  runCleanups();
  mount(unavailableView(error, kind, {
    retry: () => { if (token === renderCount) retry(); },
    onLeave: (fn) => cleanups.push(fn),
  }));
}

/** An answer nobody planned for (or a bug): say so plainly instead of doing nothing. */
function fail(error) {
  runCleanups();
  mount(problemView(error));
  if (!(error instanceof ApiError)) console.error(error);
}

async function render({ keepFocus = false } = {}) {
  const token = ++renderCount;
  runCleanups();
  // A link may carry values after "?" (the mails link to #/booking?code=…): routes match the path only.
  const [path, search = ''] = (location.hash.replace(/^#/, '') || '/').split('?');
  const match = routes.map(([re, view]) => [path.match(re), view]).find(([m]) => m);
  const loading = setTimeout(() => {
    if (token !== renderCount) return;
    main.setAttribute('aria-busy', 'true');
    replaceContent(main, h('p', { class: 'loading' }, t('common.loading')));
  }, 300);
  try {
    const node = match ? await match[1](context(match[0].slice(1), token, new URLSearchParams(search))) : notFoundView();
    if (token !== renderCount || !node) return;
    resetFailures();
    mount(node, { focus: !keepFocus });
    showFooterHotline();
  } catch (error) {
    if (token !== renderCount) return;
    if (error instanceof ApiError && error.unavailable) showUnavailable(error, path === '/' ? 'start' : 'load', render);
    else fail(error);
  } finally {
    clearTimeout(loading);
  }
}

// In-page links (#main, #field-id in an error summary) move focus; they are not routes.
document.addEventListener('click', (event) => {
  const a = event.target.closest('a[href^="#"]');
  if (!a || a.getAttribute('href').startsWith('#/')) return;
  const target = document.getElementById(a.getAttribute('href').slice(1));
  if (!target) return;
  event.preventDefault();
  if (!target.hasAttribute('tabindex') && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
    target.setAttribute('tabindex', '-1');
  }
  target.focus();
  target.scrollIntoView({ block: 'center' });
});

/** The footer names the hotline of the chosen centre's region once there is one. */
function showFooterHotline() {
  const hotline = regionHotline(state.center);
  const phone = document.getElementById('footer-hotline');
  phone.textContent = hotline;
  phone.href = `tel:${hotline.replace(/[^\d+]/g, '')}`;
}

function translateShell() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  showFooterHotline();
  const switcher = document.getElementById('lang-switch');
  switcher.textContent = t('lang.other_name');
  switcher.lang = t('lang.other');
}

async function switchLanguage() {
  const next = t('lang.other');
  await loadLanguage(next);
  const url = new URL(location.href);
  url.searchParams.set('lang', next);
  history.replaceState(null, '', url);
  translateShell();
  await render({ keepFocus: true }); // the citizen stays on the switch; the page around it is now in `next`
}

async function start() {
  await loadLanguage(detectLanguage());
  translateShell();
  document.getElementById('lang-switch').addEventListener('click', switchLanguage);
  window.addEventListener('hashchange', () => render());
  await render();
  document.documentElement.dataset.ready = currentLang();
}

start();
