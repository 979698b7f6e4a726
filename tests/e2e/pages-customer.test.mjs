// pages-customer.test.mjs: the customer page's harder paths, on the real page.
//
// - camera permission denied: a chromium WITHOUT --use-fake-ui-for-media-stream and with
//   --deny-permission-prompts (context permissions []) refuses getUserMedia; the page shows
//   the NotAllowedError help text and a "Try again" button, and does not let the customer on;
// - the language switch changes the strings (en → 简体中文), sets <html lang>, and is
//   remembered (localStorage) across a reload;
// - a reload during the wait keeps the place in the queue (sessionStorage token →
//   customer.resume → a new offer; hold audio flows again on the new peer connection);
// - the string catalogs cover every key the pages use, in both languages (static check).
//
//   node --test pages-customer.test.mjs    (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { checkCatalogs } from './lib/pages-i18n.mjs';
import { PagesEnv, WEB_ROOT, customerJoin, note, sleep, openCustomer } from './lib/pages-harness.mjs';

const PHONE = { width: 360, height: 780 };
let env;

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

before(async () => {
    env = await PagesEnv.start('customer');
}, { timeout: 60000 });

after(async () => {
    await env.cleanup();
});

step('catalogs: every key used by the pages exists in en and zh-CN', async () => {
    const r = checkCatalogs(WEB_ROOT);
    note(`catalogs ${r.langs.join(', ')}: ${r.used} keys used`);
    assert.deepEqual(r.problems, []);
    assert.ok(r.langs.includes('en') && r.langs.includes('zh-CN'));
});

step('camera permission denied: the page shows the NotAllowedError help text', async () => {
    const br = await env.denyingBrowser();
    const p = await env.page('denied', { br, viewport: PHONE });
    await openCustomer(p, `${env.origin}/join`);
    await p.click('#to-devices');
    await p.waitForSelector('#gum-error .notice', { timeout: 15000 });
    const kind = await p.getAttribute('#gum-error', 'data-kind');
    const text = await p.innerText('#gum-error');
    note(`denied: ${kind}: ${text.replace(/\s+/g, ' ')}`);
    assert.equal(kind, 'NotAllowedError');
    assert.match(text, /Camera and microphone are blocked/);
    assert.match(text, /allow the camera and microphone/);
    assert.ok(await p.isVisible('#devices-retry'), 'a "Try again" button');
    assert.ok(await p.isDisabled('#devices-ok'), 'cannot join without camera and microphone');
    assert.equal(await p.getAttribute('#gum-error', 'role'), 'alert', 'the error is announced');
    await env.shot(p, 'customer-denied-360.png');
});

step('language: the switch changes the strings and <html lang>, and is remembered', async () => {
    const p = await env.page('lang', { viewport: PHONE });
    await openCustomer(p, `${env.origin}/join`);
    await p.waitForFunction(() => document.querySelector('#h-start').textContent.length > 0);
    assert.equal(await p.getAttribute('html', 'lang'), 'en');
    assert.equal((await p.textContent('#h-start')).trim(), 'Talk to us on video');
    await p.selectOption('select[data-lang-switch]', 'zh-CN');
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.equal((await p.textContent('#h-start')).trim(), '与我们视频沟通');
    assert.equal((await p.textContent('#to-devices')).trim(), '检查摄像头和麦克风');
    assert.equal(await p.title(), '视频营业厅');
    await env.shot(p, 'customer-start-zh-360.png');
    await p.reload({ waitUntil: 'load' });
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.equal((await p.textContent('#h-start')).trim(), '与我们视频沟通', 'remembered after a reload');
    await p.selectOption('select[data-lang-switch]', 'en');
    await p.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal((await p.textContent('#h-start')).trim(), 'Talk to us on video');
});

step('reload during the wait keeps the place in the queue', async () => {
    const first = await env.page('first', { viewport: PHONE });
    await customerJoin(first, env.origin, 'broadband');
    const p = await env.page('reloader', { viewport: PHONE });
    await customerJoin(p, env.origin, 'broadband');
    assert.equal((await p.textContent('#position')).trim(), '2');
    const before = await p.evaluate(() => JSON.parse(sessionStorage.getItem('tc.customer')));
    assert.match(before.token, /^[0-9a-f]{32}$/);
    // The language follows too: switch, then reload mid-queue.
    await p.selectOption('select[data-lang-switch]', 'zh-CN');
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await p.reload({ waitUntil: 'load' });
    await p.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 15000 });
    await p.waitForFunction(() => document.querySelector('#position').textContent.trim() === '2', null, { timeout: 10000 });
    assert.match(await p.textContent('#position-text'), /第 2 位/);
    const after = await p.evaluate(() => JSON.parse(sessionStorage.getItem('tc.customer')));
    assert.equal(after.sessionId, before.sessionId, 'same session after the reload');
    // Media again on the new peer connection: hold audio arrives.
    let packets = 0;
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && packets < 20) {
        packets = await p.evaluate(async () => {
            let n = 0;
            const pc = window.__tc.pc;
            if (pc) (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived; });
            return n;
        });
        await sleep(250);
    }
    assert.ok(packets >= 20, `hold audio after the reload: ${packets} packets`);
    await env.shot(p, 'customer-waiting-zh-360.png');
    // The first customer leaves; the reloaded one moves up (queue.update after resume).
    await first.click('#leave');
    await p.waitForFunction(() => document.querySelector('#position').textContent.trim() === '1', null, { timeout: 10000 });
    await first.waitForSelector('[data-panel="thanks"]:not([hidden])');
});
