// i18n.js: string catalogs (web/shared/i18n/<lang>.json), chosen from localStorage
// ('tc.lang', set by the visible switch) or navigator.languages. Every visible string comes
// from a catalog: elements carry a data-i18n attribute (text) and data-i18n-attr="attr:key;…"
// (attributes); scripts call t('key', {vars}). <html lang> follows the choice.

export const LANGS = [
    { code: 'en', label: 'English' },
    { code: 'zh-CN', label: '简体中文' },
];
const STORE_KEY = 'tc.lang';

let lang = 'en';
let catalog = {};
let fallback = {};
const listeners = new Set();

function pick() {
    let saved = null;
    try {
        saved = localStorage.getItem(STORE_KEY);
    } catch {
        /* storage blocked */
    }
    if (saved && LANGS.some((l) => l.code === saved)) return saved;
    for (const l of navigator.languages || [navigator.language || 'en']) {
        const low = String(l).toLowerCase();
        if (low.startsWith('zh')) return 'zh-CN';
        if (low.startsWith('en')) return 'en';
    }
    return 'en';
}

async function load(code) {
    const r = await fetch(`/shared/i18n/${code}.json`, { cache: 'no-cache' });
    if (!r.ok) throw new Error(`catalog ${code}: HTTP ${r.status}`);
    return r.json();
}

export function currentLang() {
    return lang;
}

// t('waiting.position', {n: 3}) → the string with {n} filled in; the key itself if missing.
export function t(key, vars) {
    let s = catalog[key] ?? fallback[key] ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m));
    return s;
}

export function apply(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) {
        el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined);
    }
    for (const el of root.querySelectorAll('[data-i18n-attr]')) {
        for (const pair of el.dataset.i18nAttr.split(';')) {
            const [attr, key] = pair.split(':').map((x) => x.trim());
            if (attr && key) el.setAttribute(attr, t(key));
        }
    }
    const title = document.querySelector('title[data-i18n]');
    if (title) document.title = t(title.dataset.i18n);
}

export async function setLang(code, { remember = true } = {}) {
    if (!LANGS.some((l) => l.code === code)) code = 'en';
    if (remember) {
        try {
            localStorage.setItem(STORE_KEY, code); // at once: a reload right away keeps it
        } catch {
            /* storage blocked */
        }
    }
    if (!Object.keys(fallback).length) fallback = await load('en');
    catalog = code === 'en' ? fallback : await load(code);
    lang = code;
    document.documentElement.lang = code;
    apply();
    for (const fn of listeners) fn(code);
}

export function onLangChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
}

export async function initI18n() {
    await setLang(pick(), { remember: false });
    for (const sel of document.querySelectorAll('select[data-lang-switch]')) mountSwitch(sel);
}

// A <select data-lang-switch> gets the languages; its label is in the page (data-i18n).
function mountSwitch(sel) {
    sel.replaceChildren(...LANGS.map((l) => {
        const o = document.createElement('option');
        o.value = l.code;
        o.textContent = l.label;
        o.lang = l.code;
        return o;
    }));
    sel.value = lang;
    sel.addEventListener('change', () => setLang(sel.value));
    onLangChange((c) => {
        sel.value = c;
    });
}
