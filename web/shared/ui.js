// ui.js: small DOM, accessibility and formatting helpers shared by the three pages.

import { t } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// Creates an element: h('p', {class: 'x', text: 'hi'}, child, …).
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
}

// Sets an element's text from a catalog key and remembers the key (so a language switch
// re-renders it through apply()).
export function setText(el, key, vars) {
    if (!el) return;
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars);
    else delete el.dataset.i18nVars;
    el.textContent = t(key, vars);
}

// Screen-reader announcements through the page's live regions (#announce-polite and
// #announce-assertive, visually hidden). The same text twice is still announced.
export function announce(message, { assertive = false } = {}) {
    const region = document.getElementById(assertive ? 'announce-assertive' : 'announce-polite');
    if (!region) return;
    region.textContent = '';
    setTimeout(() => {
        region.textContent = message;
    }, 60);
}

// Shows one of a group of panels ([data-panel]) and moves focus to its heading, so that
// keyboard and screen-reader users land on the new step.
export function showPanel(name, { focus = true } = {}) {
    for (const p of $$('[data-panel]')) p.hidden = p.dataset.panel !== name;
    const panel = $(`[data-panel="${name}"]`);
    if (panel && focus) {
        const target = panel.querySelector('[data-autofocus]') || panel.querySelector('h1, h2');
        if (target) {
            if (!target.hasAttribute('tabindex') && !/^(BUTTON|INPUT|SELECT|TEXTAREA|A)$/.test(target.tagName)) {
                target.setAttribute('tabindex', '-1');
            }
            target.focus({ preventScroll: true });
            window.scrollTo(0, 0);
        }
    }
    return panel;
}

// "3 min", "45 s", "1 h 05 min" — localised through the catalog.
export function fmtDuration(s) {
    if (s === null || s === undefined || Number.isNaN(s)) return '—';
    s = Math.max(0, Math.round(s));
    if (s < 60) return t('fmt.seconds', { n: s });
    const m = Math.floor(s / 60);
    if (m < 60) {
        const rest = s % 60;
        return rest ? t('fmt.min_sec', { m, s: String(rest).padStart(2, '0') }) : t('fmt.minutes', { n: m });
    }
    return t('fmt.hours_min', { h: Math.floor(m / 60), m: String(m % 60).padStart(2, '0') });
}

// mm:ss (timers)
export function fmtClock(s) {
    s = Math.max(0, Math.round(s));
    const m = Math.floor(s / 60);
    return `${m}:${String(s % 60).padStart(2, '0')}`;
}

// An estimated wait, rounded the way a person says it.
export function fmtWait(s) {
    if (s === null || s === undefined) return '—';
    if (s < 60) return t('fmt.wait_under_minute');
    return t('fmt.wait_minutes', { n: Math.round(s / 60) });
}

export function fmtPct(x) {
    if (x === null || x === undefined || Number.isNaN(x)) return '—';
    return `${Math.round(x * 1000) / 10}%`;
}

export function fmtBitrate(bps) {
    if (bps === null || bps === undefined) return '—';
    if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
    return `${Math.round(bps / 1000)} kbit/s`;
}

// The product's name and icon, drawn inline (no image files to fetch).
export const LOGO_SVG = '<svg viewBox="0 0 32 32" width="32" height="32" aria-hidden="true" focusable="false">' +
    '<rect width="32" height="32" rx="8" fill="currentColor"/>' +
    '<path d="M7 11.5A2.5 2.5 0 0 1 9.5 9h9A2.5 2.5 0 0 1 21 11.5v9a2.5 2.5 0 0 1-2.5 2.5h-9A2.5 2.5 0 0 1 7 20.5z' +
    'M22 14l4-2.5v9L22 18z" fill="#fff"/></svg>';

export function copyText(text) {
    if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(text);
    return new Promise((resolve, reject) => {
        const ta = h('textarea', { 'aria-hidden': 'true', class: 'sr-only' });
        ta.value = text;
        document.body.append(ta);
        ta.select();
        const ok = document.execCommand('copy');
        ta.remove();
        if (ok) resolve();
        else reject(new Error('copy failed'));
    });
}

// A WebAudio ring: two short tones every 1.6 s until stop().
export function ringer() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    let ctx = null;
    let timer = null;
    function beep() {
        if (!ctx) return;
        const t0 = ctx.currentTime;
        for (const [i, f] of [[0, 880], [1, 660]]) {
            const o = ctx.createOscillator();
            const g = ctx.createGain();
            o.frequency.value = f;
            g.gain.setValueAtTime(0.0001, t0 + i * 0.25);
            g.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.25 + 0.02);
            g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.25 + 0.22);
            o.connect(g).connect(ctx.destination);
            o.start(t0 + i * 0.25);
            o.stop(t0 + i * 0.25 + 0.24);
        }
    }
    return {
        // Called from a user gesture (login) so that the context may play later.
        unlock() {
            if (!Ctx) return;
            if (!ctx) ctx = new Ctx();
            ctx.resume().catch(() => {});
        },
        start() {
            this.unlock();
            clearInterval(timer);
            beep();
            timer = setInterval(beep, 1600);
        },
        stop() {
            clearInterval(timer);
            timer = null;
        },
    };
}
