// pages-a11y-staff.test.mjs: accessibility scan (axe-core, WCAG 2.1 A/AA + best practices) of the
// agent console and the ops dashboard in their main states (sign-in, console with a queue and
// an invite, ringing, dashboard in en and zh-CN): no serious or critical violation allowed, no
// sideways scrolling; screenshots at 360 px and 1280 px under artifacts/pages/a11y-staff/.
//
//   node --test pages-a11y-staff.test.mjs        (as root; TC_BINARY, TC_ADMIN)


import { agentLogin, customerJoin, opsLogin, sleep } from './lib/pages-harness.mjs';
import { AGENT, OPS, WIDTHS, a11ySuite } from './lib/a11y.mjs';

const suite = a11ySuite('a11y-staff');
const { step, check } = suite;

step('agent: sign-in, console with an invite and a queue', async () => {
    const p = await suite.env.page('agent');
    await p.goto(`${suite.env.origin}/agent`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('#h-login').textContent.trim().length > 0);
    await check(p, 'agent-login');
    await agentLogin(p, suite.env.origin, AGENT.username);
    const c = await suite.env.page('queued', { viewport: WIDTHS[0] });
    await customerJoin(c, suite.env.origin, 'broadband');
    await p.fill('#inv-case', 'A11Y-1');
    await p.click('#invite-btn');
    await p.waitForSelector('#invite-result:not([hidden])');
    await check(p, 'agent-console');
    await p.selectOption('#state-select', 'available');
    await p.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await check(p, 'agent-ringing');
    await p.click('#ring-decline');
    await p.waitForSelector('#ring', { state: 'hidden' });
});

step('ops: sign-in and the dashboard', async () => {
    const p = await suite.env.page('ops');
    await p.goto(`${suite.env.origin}/ops`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('#h-login').textContent.trim().length > 0);
    await check(p, 'ops-login');
    await opsLogin(p, suite.env.origin, OPS.username);
    await p.waitForSelector('[data-kpi="sessions"]');
    await check(p, 'ops-dashboard');
    await p.selectOption('select[data-lang-switch]', 'zh-CN');
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await sleep(2200);
    await check(p, 'ops-dashboard-zh');
});
