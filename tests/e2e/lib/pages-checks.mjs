// pages-checks.mjs: checks shared by pages-queue and pages-layout (issue 12 items 15-19):
// getUserMedia bookkeeping in the page, boxes inside the viewport or inside their parent,
// and the screenshots + axe scan of one state at 360, 768 and 1366 px in both languages.

import assert from 'node:assert/strict';

import { axeScan, chooseLang, note, serious, sleep } from './pages-harness.mjs';

export const SIZES = [{ width: 360, height: 780 }, { width: 768, height: 1024 }, { width: 1366, height: 768 }];

// Before the page loads: counts getUserMedia calls and keeps every track it handed out, so a
// test can tell whether the camera was ever opened and whether every track was stopped.
export async function trackGum(page) {
    await page.addInitScript(() => {
        window.__gum = { calls: 0, tracks: [] };
        const md = navigator.mediaDevices;
        if (!md || !md.getUserMedia) return;
        const orig = md.getUserMedia.bind(md);
        md.getUserMedia = async (c) => {
            window.__gum.calls++;
            const s = await orig(c);
            window.__gum.tracks.push(...s.getTracks());
            return s;
        };
    });
}

// {calls, tracks, live}: getUserMedia calls so far, tracks handed out, tracks not ended.
export async function gumState(page) {
    return page.evaluate(() => ({
        calls: window.__gum.calls,
        tracks: window.__gum.tracks.length,
        live: window.__gum.tracks.filter((t) => t.readyState !== 'ended').map((t) => t.kind),
    }));
}

// For each selector: its box, and whether it lies inside the viewport (whole box).
export async function boxes(page, sels) {
    return page.evaluate((list) => list.map((s) => {
        const el = document.querySelector(s);
        if (!el) return { sel: s, missing: true };
        const r = el.getBoundingClientRect();
        const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&
            r.bottom <= window.innerHeight + 0.5 && r.right <= window.innerWidth + 0.5;
        return { sel: s, top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left),
            right: Math.round(r.right), width: Math.round(r.width), height: Math.round(r.height), inside };
    }), sels);
}

// Screenshots of the page as it is at SIZES in en and zh-CN, an axe scan in each language (no
// serious or critical finding), no sideways scrolling at any size. Ends in `endLang`.
export async function checkState(env, page, label, { langs = ['en', 'zh-CN'], endLang = 'en', report = {} } = {}) {
    for (const lang of langs) {
        await chooseLang(page, lang);
        const v = await axeScan(page);
        report[`${label}-${lang}`] = v;
        if (v.length) note(`${label} ${lang}: ${v.map((x) => `${x.id}(${x.impact})`).join(', ')}`);
        assert.deepEqual(serious(v).map((x) => ({ id: x.id, help: x.help, nodes: x.nodes })), [],
            `${label} (${lang}): serious/critical accessibility violations`);
        for (const vp of SIZES) {
            await page.setViewportSize(vp);
            await sleep(150);
            await env.shot(page, `${label}-${lang}-${vp.width}.png`);
            const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
            assert.ok(overflow <= 1, `${label} (${lang}) at ${vp.width}px scrolls sideways by ${overflow}px`);
        }
    }
    await chooseLang(page, endLang);
}
