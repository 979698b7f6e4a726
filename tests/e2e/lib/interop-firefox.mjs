// interop-firefox.mjs: the Firefox ESR call shared by interop-firefox-customer.test.mjs and
// interop-firefox-agent.test.mjs (one role each, so that each file fits CTest's 180 s).
// Firefox (lib/firefox.mjs: puppeteer-core over WebDriver BiDi, from a driver process inside
// the namespace) and Chromium (lib/browser.mjs) start at once; the one given firefoxRole plays
// it with the pages as shipped, the other plays the other role; callBothWays (lib/interop.mjs)
// asserts video decoded and audio heard both ways. Headless Firefox ESR has no H.264: VP8 + Opus.

import { after, before, test } from 'node:test';

import { launchFirefox } from './firefox.mjs';
import { callBothWays } from './interop.mjs';
import { PagesEnv, note } from './pages-harness.mjs';

// firefoxRole: 'customer' or 'agent'; name: the artefacts' folder and the namespace's tag.
export function firefoxCallTest(name, firefoxRole) {
    const ffAgent = firefoxRole === 'agent';
    const AGENT = ffAgent
        ? { username: 'e2e.firefox', name: 'Firefox Agent', role: 'agent', skills: ['broadband'] }
        : { username: 'e2e.chromium', name: 'Chromium Agent', role: 'agent', skills: ['broadband'] };
    let env;
    let ff;
    let chromium;

    before(async () => {
        env = await PagesEnv.start(name, { accounts: [AGENT] });
        // Both browsers start at once: each takes 10-30 s on a loaded 2-core machine.
        const t0 = Date.now();
        const [f, c] = await Promise.allSettled([launchFirefox(env.ns), env.browser()]);
        if (f.status === 'fulfilled') {
            ff = f.value;
            // Registered with the environment: cleanup() saves its console, screenshots it on
            // a failure and closes it.
            env.browsers.push(ff);
            env.pages.firefox = { page: ff.page, br: ff, console: ff.console };
        }
        if (f.status === 'rejected') throw f.reason;
        if (c.status === 'rejected') throw c.reason;
        chromium = c.value;
        note(`firefox ${ff.version} (driver pid ${ff.pid}) and chromium started in ${Date.now() - t0} ms`);
    }, { timeout: 150000 });

    after(async () => {
        await env?.cleanup();
    });

    const title = ffAgent ? 'Chromium customer ↔ Firefox agent' : 'Firefox customer ↔ Chromium agent';
    test(`${title}: video decoded and audio heard both ways`, { timeout: 240000 }, async () => {
        try {
            const other = await env.page(ffAgent ? 'chromium-customer' : 'chromium-agent', { br: chromium });
            const [cust, agent] = ffAgent ? [other, ff.page] : [ff.page, other];
            await callBothWays(env, 'call', cust, agent, AGENT.username, 'broadband');
        } catch (e) {
            env.failed = true;
            throw e;
        }
    });
}
