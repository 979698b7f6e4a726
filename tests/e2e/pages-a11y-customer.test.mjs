// pages-a11y-customer.test.mjs: accessibility scan (axe-core, WCAG 2.1 A/AA + best practices) of
// the landing page and the customer page in its main states (start, devices, consent, queue in
// en and zh-CN, left, invalid code): no serious or critical violation, no sideways scrolling;
// screenshots at 360 px and 1280 px under artifacts/pages/a11y-customer/; and a keyboard-only
// pass (Tab, Enter) from the skip link to the queue, with focus moved to each new step.
//
//   node --test pages-a11y-customer.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, axeScan, customerJoin, note, opsLogin, serious, sleep, openCustomer } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.a11y', name: 'Access Agent', role: 'agent', skills: ['id_check', 'broadband', 'urgent_sim'] };
const OPS = { username: 'e2e.a11y.ops', name: 'Access Ops', role: 'ops', skills: [] };
const WIDTHS = [{ width: 360, height: 780 }, { width: 1280, height: 860 }];
let env;
const report = {};

function step(name, fn, timeout = 60000) {
    test(name, { timeout }, async () => {
        try {
            await fn();
        } catch (e) {
            if (env) env.failed = true;
            throw e;
        }
    });
}

// Scans the page as it is, then takes both screenshots; fails on serious/critical findings.
async function check(page, label) {
    const v = await axeScan(page);
    report[label] = v;
    for (const vp of WIDTHS) {
        await page.setViewportSize(vp);
        await sleep(150);
        await env.shot(page, `${label}-${vp.width}.png`);
        // No horizontal scrolling at any width (reflow).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        const culprits = overflow > 1 ? await page.evaluate(() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && e.getClientRects().length && !e.closest('.table-wrap'))
            .slice(0, 6).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)) : [];
        assert.ok(overflow <= 1, `${label} at ${vp.width}px scrolls sideways by ${overflow}px: ${culprits.join(' ')}`);
    }
    const bad = serious(v);
    if (v.length) note(`${label}: ${v.map((x) => `${x.id}(${x.impact})`).join(', ')}`);
    assert.deepEqual(bad.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes })), [],
        `${label}: serious/critical accessibility violations`);
}

before(async () => {
    env = await PagesEnv.start('a11y-customer', { accounts: [AGENT, OPS] });
}, { timeout: 60000 });

after(async () => {
    fs.writeFileSync(path.join(env.art, 'axe-report.json'), JSON.stringify(report, null, 2));
    await env.cleanup();
});

step('landing page /', async () => {
    const p = await env.page('home');
    await p.goto(`${env.origin}/`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('h1').textContent.trim().length > 0);
    await check(p, 'home');
});

step('customer: start, devices, consent, waiting (en) and the start page in zh-CN', async () => {
    const p = await env.page('customer');
    await openCustomer(p, `${env.origin}/join/?desk=id_check`);
    await p.waitForSelector('#browser-result .notice');
    await check(p, 'customer-start');
    await p.click('#to-devices');
    await p.waitForSelector('#devices-ok:not([disabled])', { timeout: 15000 });
    await check(p, 'customer-devices');
    await p.click('#devices-ok');
    await p.waitForSelector('[data-panel="consent"]:not([hidden])');
    await check(p, 'customer-consent');
    await p.check('#consent-box');
    await p.click('#consent-ok');
    await p.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 15000 });
    await check(p, 'customer-waiting');
    await p.selectOption('select[data-lang-switch]', 'zh-CN');
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await check(p, 'customer-waiting-zh');
    await p.click('#leave');
    await p.waitForSelector('[data-panel="thanks"]:not([hidden])');
    await check(p, 'customer-left-zh');
});

step('customer: invalid invite code page', async () => {
    const p = await env.page('badcode');
    await openCustomer(p, `${env.origin}/i/ABCD-EFGH-JKMN`);
    await p.click('#to-devices');
    await p.waitForSelector('#devices-ok:not([disabled])', { timeout: 15000 });
    await p.click('#devices-ok');
    await p.waitForSelector('[data-panel="problem"]:not([hidden])', { timeout: 10000 });
    await check(p, 'customer-invalid-code');
});

step('customer: keyboard only (Tab, Space, Enter) reaches the queue', async () => {
    const p = await env.page('keyboard', { viewport: WIDTHS[0] });
    await openCustomer(p, `${env.origin}/join`);
    await p.waitForSelector('#browser-result .notice');
    // First Tab: the skip link.
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement.className), 'skip-link');
    const seen = [];
    for (let i = 0; i < 12; i++) {
        await p.keyboard.press('Tab');
        const id = await p.evaluate(() => document.activeElement.id || document.activeElement.name || document.activeElement.tagName);
        seen.push(id);
        if (id === 'to-devices') break;
    }
    assert.ok(seen.includes('desk'), `the desk choice is reachable by Tab: ${seen}`);
    assert.equal(seen.at(-1), 'to-devices', `the start button is reachable by Tab: ${seen}`);
    await p.keyboard.press('Enter');
    await p.waitForSelector('#devices-ok:not([disabled])', { timeout: 15000 });
    // Focus moved to the new step's heading.
    assert.equal(await p.evaluate(() => document.activeElement.id), 'h-devices');
    await p.focus('#devices-ok');
    await p.keyboard.press('Enter');
    await p.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 15000 });
    assert.equal(await p.evaluate(() => document.activeElement.id), 'h-waiting');
    const live = await p.getAttribute('#position-text', 'aria-live');
    assert.equal(live, 'polite', 'queue position is a live region');
    await p.focus('#leave');
    await p.keyboard.press('Enter');
    await p.waitForSelector('[data-panel="thanks"]:not([hidden])');
});
