// pages-layout.test.mjs: the page items of issue 12 (15, 16, 17, 19) on the real pages.
//
// - 16: the copy-link and copy-code icons render at their small size (≤ 24 px), the QR code
//   at 168 px;
// - 15: an agent who had scrolled down to the invite form accepts a call: the page is at the
//   top (scrollY 0) and the picture, Mute, Capture still, End call, the notes, the outcome and
//   Save lie inside the viewport at 1366×768 and at 1280×720, in en and zh-CN;
// - 19: after-call work (routing.after_call_work_s 25) shows no warning while more than 15 s
//   are left, then a visible warning with a "More time" button; the button asks for
//   agent.extend_wrap_up (a server without it answers unknown_type: the button goes and the
//   page says more time is not available); the timer's end with no outcome saved is said;
// - 17: the rating at 360 px: the five stars share one row and every label lies inside its
//   box, in en and zh-CN.
// Screenshots at 360, 768 and 1366 px in both languages and an axe scan of the agent's call
// and of the rating.
//
//   node --test pages-layout.test.mjs      (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, chooseLang, customerJoin, note, setAvailable, until, waitVideoFlows } from './lib/pages-harness.mjs';
import { boxes, checkState } from './lib/pages-checks.mjs';

const AGENT = { username: 'e2e.layout', name: 'Wang Fang', role: 'agent', skills: ['broadband', 'urgent_sim'] };
const PHONE = { width: 360, height: 780 };
const CALL_PARTS = ['.call-card .stage', '#btn-mute', '#btn-cam', '#btn-capture', '#btn-hangup', '#notes', '#outcome', '#outcome-save'];
let env;
const report = {};
const st = {};

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
    env = await PagesEnv.start('layout', {
        accounts: [AGENT],
        config: { routing: { after_call_work_s: 25, ring_timeout_s: 30 } },
    });
}, { timeout: 60000 });

after(async () => {
    if (env) {
        fs.writeFileSync(path.join(env.art, 'axe-report.json'), JSON.stringify(report, null, 2));
        await env.cleanup();
    }
});

async function assertCallOnScreen(ag, label) {
    const y = await ag.evaluate(() => window.scrollY);
    const b = await boxes(ag, CALL_PARTS);
    const out = b.filter((x) => !x.inside);
    note(`${label}: scrollY ${y}; ${b.map((x) => `${x.sel} ${x.top}-${x.bottom}`).join(', ')}`);
    assert.equal(y, 0, `${label}: the page is at the top`);
    assert.deepEqual(out, [], `${label}: parts of the call outside the viewport`);
}

step('16: the copy icons are small; the QR code is 168 px', async () => {
    const ag = await env.page('agent', { viewport: { width: 1366, height: 768 } });
    await agentLogin(ag, env.origin, AGENT.username);
    await ag.fill('#inv-case', 'CASE-77');
    await ag.click('#invite-btn');
    await ag.waitForSelector('#invite-result:not([hidden])', { timeout: 10000 });
    const b = await boxes(ag, ['#copy-link svg', '#copy-code svg', '#inv-qr svg']);
    note(`icons: ${JSON.stringify(b.map((x) => [x.sel, x.width, x.height]))}`);
    for (const x of b.slice(0, 2)) assert.ok(x.width <= 24 && x.height <= 24, `${x.sel} is ${x.width}×${x.height}`);
    assert.equal(b[2].width, 168, 'the QR code keeps its size');
    await ag.locator('#invite-result').scrollIntoViewIfNeeded();
    await env.shot(ag, 'agent-invite-1366.png');
});

step('15: after Accept the whole call fits one screen at 1366×768 and 1280×720 (en, zh-CN)', async () => {
    const ag = env.pages.agent.page;
    const cust = await env.page('customer', { viewport: PHONE });
    await customerJoin(cust, env.origin, 'broadband');
    // The agent was at the invite form, at the bottom of the page.
    await ag.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    assert.ok(await ag.evaluate(() => window.scrollY) > 0, 'the console scrolls at 1366×768 (invite form open)');
    await setAvailable(ag);
    await ag.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await ag.click('#ring-accept');
    await ag.waitForSelector('#call-controls:not([hidden])', { timeout: 10000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    st.cust = cust; // the call is up: the next steps run whatever the layout checks say
    const [a0, a1] = await waitVideoFlows(ag);
    assert.ok(a1 > a0 && a0 > 0, `the agent sees the customer (${a0}→${a1})`);
    await assertCallOnScreen(ag, 'en 1366×768');
    assert.equal(await ag.evaluate(() => document.activeElement.id), 'h-call', 'focus on the call');
    await env.shot(ag, 'agent-call-en-1366x768.png');
    await ag.setViewportSize({ width: 1280, height: 720 });
    await assertCallOnScreen(ag, 'en 1280×720');
    await env.shot(ag, 'agent-call-en-1280x720.png');
    await chooseLang(ag, 'zh-CN');
    await assertCallOnScreen(ag, 'zh-CN 1280×720');
    await ag.setViewportSize({ width: 1366, height: 768 });
    await assertCallOnScreen(ag, 'zh-CN 1366×768');
    await chooseLang(ag, 'en');
    await checkState(env, ag, 'agent-call', { report });
    await ag.setViewportSize({ width: 1366, height: 768 });
    await ag.evaluate(() => window.scrollTo(0, 0));
    await assertCallOnScreen(ag, 'en 1366×768 after the screenshots');
});

step('19: after-call work warns at 15 s left, offers more time once, and its end is said', async () => {
    const ag = env.pages.agent.page;
    const cust = st.cust;
    if (!cust) throw new Error('cannot run: no call');
    await cust.click('#btn-hangup');
    await ag.waitForFunction(() => window.__tc.st.state === 'after_call_work', null, { timeout: 10000 });
    const until0 = await ag.evaluate(() => window.__tc.st.until);
    const left0 = (until0 - Date.now()) / 1000;
    assert.ok(left0 > 16, `after-call work starts with ${left0.toFixed(1)} s`);
    assert.ok(await ag.isHidden('#acw-warn'), 'no warning while more than 15 s are left');
    await ag.waitForSelector('#acw-warn:not([hidden])', { timeout: 20000 });
    const leftAtWarn = (until0 - Date.now()) / 1000;
    note(`warning with ${leftAtWarn.toFixed(1)} s left: ${await ag.innerText('#acw-warn')}`);
    assert.ok(leftAtWarn <= 15.5 && leftAtWarn > 5, `warned with ${leftAtWarn.toFixed(1)} s left`);
    assert.match(await ag.innerText('#acw-warn'), /After-call work ends in less than 15 seconds/);
    assert.ok(await ag.isVisible('#acw-extend'), 'a "More time" button');
    const warnBox = (await boxes(ag, ['#acw-warn']))[0];
    assert.ok(warnBox.inside, `the warning is on screen: ${JSON.stringify(warnBox)}`);
    await env.shot(ag, 'agent-acw-warning-en-1366.png');
    await ag.click('#acw-extend');
    await until(() => ag.isHidden('#acw-extend'), 10000);
    assert.ok(await ag.isHidden('#acw-extend'), 'the button goes after one use');
    // The request and its reply, from the page's signaling transcript.
    const con = env.pages.agent.console.filter((l) => /agent\.extend_wrap_up/.test(l) || /"unknown_type"/.test(l));
    note(`extend: ${con.join(' | ')}`);
    assert.ok(con.some((l) => l.includes('> ') && l.includes('"agent.extend_wrap_up"')), 'the page asked for more time');
    const until1 = await ag.evaluate(() => window.__tc.st.until);
    if (con.some((l) => l.includes('"agent.extend_wrap_up.ok"'))) {
        // The server extends: the end moves later, the warning goes until 15 s before it.
        assert.ok(until1 > until0, `extended: ${until0} → ${until1}`);
        note(`extended by ${((until1 - until0) / 1000).toFixed(0)} s`);
    } else {
        assert.ok(con.some((l) => l.includes('"unknown_type"')), 'a server without the request says unknown_type');
        assert.match(await ag.innerText('#acw-warn'), /More time is not available/);
    }
    await ag.waitForFunction(() => window.__tc.st.state !== 'after_call_work', null, { timeout: 90000 });
    await ag.waitForSelector('#acw-ended .notice', { timeout: 5000 });
    const ended = await ag.innerText('#acw-ended');
    note(`ACW over: ${ended}`);
    assert.match(ended, /ended with no outcome saved; your status is now Available/);
    assert.ok(await ag.isHidden('#acw-warn'), 'the warning goes with the after-call work');
    await env.shot(ag, 'agent-acw-ended-en-1366.png');
    // The outcome can still be saved; the notice goes.
    await ag.selectOption('#outcome', 'resolved');
    await ag.click('#outcome-save');
    await ag.waitForSelector('#outcome-status .notice.ok', { timeout: 10000 });
    assert.equal(await ag.innerText('#acw-ended'), '');
});

step('17: the rating at 360 px: five stars on one row, every label inside its box (en, zh-CN)', async () => {
    const cust = st.cust;
    if (!cust) throw new Error('cannot run: no call');
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: 10000 });
    for (const lang of ['en', 'zh-CN']) {
        await chooseLang(cust, lang);
        await cust.setViewportSize(PHONE);
        const geo = await cust.evaluate(() => {
            const rect = (e) => e.getBoundingClientRect();
            const within = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
            const stars = [...document.querySelectorAll('#stars .star')];
            const fs = rect(document.querySelector('#stars'));
            return {
                tops: stars.map((s) => Math.round(rect(s).top)),
                labels: stars.map((s) => {
                    const box = rect(s.querySelector(':scope > span'));
                    const num = s.querySelector('.star-num');
                    return { text: num.textContent, inside: within(rect(num), box), fits: num.scrollWidth <= num.clientWidth + 0.5 };
                }),
                scale: [...document.querySelectorAll('#stars-scale span')].map((e) => ({ text: e.textContent, inside: within(rect(e), fs) })),
                names: stars.map((s) => (s.querySelector('.sr-only') || s).textContent.trim()),
            };
        });
        note(`rating ${lang}: ${JSON.stringify(geo)}`);
        assert.equal(new Set(geo.tops).size, 1, `${lang}: the five stars share one row: ${geo.tops}`);
        assert.equal(geo.tops.length, 5);
        for (const l of geo.labels) assert.ok(l.inside && l.fits, `${lang}: label ${l.text} inside its box`);
        for (const l of geo.scale) assert.ok(l.inside, `${lang}: "${l.text}" inside the rating`);
        assert.equal(geo.names[4], lang === 'en' ? '5 excellent' : '5 非常好', 'each choice keeps its full name');
    }
    await chooseLang(cust, 'en');
    await checkState(env, cust, 'customer-rating', { report });
    await cust.setViewportSize(PHONE);
    await cust.click('#stars .star:nth-child(6)'); // legend first, then the stars: 5
    await cust.click('#rate-submit');
    await cust.waitForSelector('[data-panel="thanks"]:not([hidden])', { timeout: 10000 });
});
