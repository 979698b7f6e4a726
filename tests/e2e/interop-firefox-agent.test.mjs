// interop-firefox-agent.test.mjs: a Chromium customer and a Firefox ESR agent in a call
// through the media relay, with the pages exactly as shipped (/join and /agent). Their
// RTCPeerConnection uses bundlePolicy 'max-bundle', so Firefox offers its video m-line as
// port 0 + a=bundle-only (RFC 8843), which the relay must take as a live bundled m-line.
//
// In one throwaway namespace (lib/netns.mjs) with the real telecounter: Chromium
// (lib/browser.mjs) joins desk broadband on /join; Firefox (lib/firefox.mjs: puppeteer-core
// over WebDriver BiDi, from a driver process inside the namespace) signs in as an agent with
// that skill only, waits for its own camera, goes available and accepts. Both pages must
// decode the other side's video (inbound-rtp video framesDecoded grows) and hear its audio
// (inbound-rtp audio totalAudioEnergy grows past a small threshold, or audioLevel above one),
// from the page's own getStats() (lib/interop.mjs, callBothWays). Headless Firefox ESR has no H.264: VP8 + Opus.
// The reverse roles: interop-firefox-customer.test.mjs. Artefacts: artifacts/pages/interop-firefox-agent/.
//
//   node --test interop-firefox-agent.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import { after, before, test } from 'node:test';

import { launchFirefox } from './lib/firefox.mjs';
import { callBothWays } from './lib/interop.mjs';
import { PagesEnv, note } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.firefox', name: 'Firefox Agent', role: 'agent', skills: ['broadband'] };

let env;
let ff;
let chromium;

before(async () => {
    env = await PagesEnv.start('interop-firefox-agent', { accounts: [AGENT] });
    // Both browsers start at once: each takes 10-30 s on a loaded 2-core machine.
    const t0 = Date.now();
    const [f, c] = await Promise.allSettled([launchFirefox(env.ns), env.browser()]);
    if (f.status === 'fulfilled') {
        ff = f.value;
        // Registered with the environment: cleanup() saves its console, screenshots it on a
        // failure and closes it.
        env.browsers.push(ff);
        env.pages.firefox = { page: ff.page, br: ff, console: ff.console };
    }
    if (f.status === 'rejected') throw f.reason;
    if (c.status === 'rejected') throw c.reason;
    chromium = c.value;
    note(`firefox ${ff.version} (driver pid ${ff.pid}) and chromium started in ${Date.now() - t0} ms`);
}, { timeout: 90000 });

after(async () => {
    await env?.cleanup();
});

test('Chromium customer ↔ Firefox agent: video decoded and audio heard both ways', { timeout: 120000 }, async () => {
    try {
        const cust = await env.page('chromium-customer', { br: chromium });
        await callBothWays(env, 'call', cust, ff.page, AGENT.username, 'broadband');
    } catch (e) {
        env.failed = true;
        throw e;
    }
});
