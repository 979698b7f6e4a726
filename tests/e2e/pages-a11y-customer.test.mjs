// pages-a11y-customer.test.mjs: accessibility scan (axe-core, WCAG 2.1 A/AA + best practices) of
// the landing page and the customer page in its main states (start, devices, consent, queue in
// en and zh-CN, left, invalid code): no serious or critical violation, no sideways scrolling;
// screenshots at 360 px and 1280 px under artifacts/pages/a11y-customer/; and a keyboard-only
// pass (Tab, Enter) from the skip link to the queue, with focus moved to each new step.
//
//   node --test pages-a11y-customer.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';

import { openCustomer } from './lib/pages-harness.mjs';
import { WIDTHS, a11ySuite } from './lib/a11y.mjs';

const suite = a11ySuite('a11y-customer');
const { step, check } = suite;

step('landing page /', async () => {
    const p = await suite.env.page('home');
    await p.goto(`${suite.env.origin}/`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('h1').textContent.trim().length > 0);
    await check(p, 'home');
});

step('customer: start, devices, consent, waiting (en) and the start page in zh-CN', async () => {
    const p = await suite.env.page('customer');
    await openCustomer(p, `${suite.env.origin}/join/?desk=id_check`);
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
    const p = await suite.env.page('badcode');
    await openCustomer(p, `${suite.env.origin}/i/ABCD-EFGH-JKMN`);
    await p.click('#to-devices'); // the code is checked before the camera step
    await p.waitForSelector('[data-panel="problem"]:not([hidden])', { timeout: 10000 });
    await check(p, 'customer-invalid-code');
});

step('customer: keyboard only (Tab, Space, Enter) reaches the queue', async () => {
    const p = await suite.env.page('keyboard', { viewport: WIDTHS[0] });
    await openCustomer(p, `${suite.env.origin}/join`);
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
