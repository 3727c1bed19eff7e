// The privacy notice (GDPR Art. 13), and the same in Leichte Sprache / Easy Read. Texts in i18n/<lang>.json
// ("privacy", "privacy_easy"); who is responsible and how long data is kept come from /config.js, so one
// deployment's notice names its own controller and its own retention setting.
import { t, tList } from '../i18n.js';
import { h, page, para, link } from '../ui.js';

// Must equal the API's PERSONAL_DATA_RETENTION_DAYS (chalicelib/settings.py); a deployment's config.js sets both.
const DEFAULT_RETENTION_DAYS = 90;

function params() {
  const config = window.VAXSLOT_CONFIG || {};
  return {
    controller: config.privacyController || t('privacy.controller_missing'),
    contact: config.privacyContact || config.hotline || '',
    days: String(config.retentionDays || DEFAULT_RETENTION_DAYS),
    hotline: config.hotline || '',
  };
}

const fill = (text, values) => text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));

function sections(key, values, className) {
  return h('div', { class: className },
    tList(key).map((section, n) => h('section', { 'aria-labelledby': `${className}-${n}` },
      h('h2', { id: `${className}-${n}` }, section.heading),
      (section.text || []).map((sentence) => para(fill(sentence, values))),
      section.list ? h('ul', { class: 'bullets' }, section.list.map((s) => h('li', {}, fill(s, values)))) : null)));
}

export async function privacyView() {
  return page({ title: t('privacy.title'), back: '#/' },
    para(link('#/privacy/easy-read', t('privacy.easy_link'))),
    sections('privacy.sections', params(), 'privacy'));
}

export async function privacyEasyView() {
  return page({ title: t('privacy_easy.title'), back: '#/privacy' },
    sections('privacy_easy.sections', params(), 'easy-read'));
}
