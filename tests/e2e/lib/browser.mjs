// browser.mjs: Debian's /usr/bin/chromium driven by playwright-core, INSIDE a test's network
// namespace. playwright-core never downloads a browser; executablePath points at a two-line
// wrapper script that runs `ip netns exec NS /usr/bin/chromium "$@"`.
//
// Flags: exactly those of shared TESTING.md ("Chromium flags"), plus --ignore-certificate-errors
// for the throwaway self-signed certificate. One adaptation: the resolver rule also EXCLUDEs
// the namespace's own address, because `MAP * ~NOTFOUND` applies to IP literals too (Chromium
// answers ERR_NAME_NOT_RESOLVED for https://10.203.0.1/ without it); every other name still
// resolves to nothing. Chromium keeps only the LAST --disable-features
// flag and Playwright passes its own, so extra features to disable are merged into
// Playwright's list (see disableFeaturesArg) rather than added as a second flag.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { onExit } from './netns.mjs';

export const CHROMIUM = process.env.TC_CHROMIUM || '/usr/bin/chromium';

// shared/TESTING.md, "Chromium flags".
export function testingFlags(address) {
    return TESTING_FLAGS.map((f) => (f.startsWith('--host-resolver-rules=') ? `${f} , EXCLUDE ${address}` : f));
}

export const TESTING_FLAGS = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
];

function writeWrapper(dir, nsName, ipBin) {
    const wrapper = path.join(dir, 'chromium-in-netns');
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${ipBin} netns exec ${nsName} ${CHROMIUM} "$@"\n`, {
        mode: 0o755,
    });
    return wrapper;
}

// Playwright's own --disable-features list, read from the command line it would run: a
// throwaway "browser" script records its argv and exits, so Playwright's launch fails at once.
async function playwrightDisabledFeatures(dir) {
    const argvFile = path.join(dir, 'playwright-argv');
    const probe = path.join(dir, 'argv-probe');
    fs.writeFileSync(probe, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\nexit 1\n`, {
        mode: 0o755,
    });
    try {
        const b = await chromium.launch({ executablePath: probe, timeout: 5000, headless: true });
        await b.close();
    } catch {
        /* expected: the probe exits */
    }
    const argv = fs.existsSync(argvFile) ? fs.readFileSync(argvFile, 'utf8').split('\n') : [];
    const flag = argv.filter((a) => a.startsWith('--disable-features=')).pop();
    return flag ? flag.slice('--disable-features='.length).split(',').filter(Boolean) : [];
}

// One --disable-features flag: Playwright's list plus `extra`, deduplicated.
export async function disableFeaturesArg(dir, extra) {
    const merged = [...new Set([...(await playwrightDisabledFeatures(dir)), ...extra])];
    return `--disable-features=${merged.join(',')}`;
}

// Launches chromium in namespace `ns` (a Netns). Options: extraArgs (more flags),
// disableFeatures (merged with Playwright's), headless (default true).
// Returns {browser, context, dir, close()}; `context` ignores HTTPS errors.
export async function launchBrowser(ns, { extraArgs = [], disableFeatures = [], headless = true,
    videoFile } = {}) {
    if (!fs.existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-e2e-chromium-'));
    const unregister = onExit(() => fs.rmSync(dir, { recursive: true, force: true }));
    const userDataDir = path.join(dir, 'profile');
    fs.mkdirSync(userDataDir);
    const ipBin = ns.prefix()[0];
    const wrapper = writeWrapper(dir, ns.name, ipBin);
    const args = [...testingFlags(ns.address), '--ignore-certificate-errors', ...extraArgs];
    if (videoFile) args.push(`--use-file-for-fake-video-capture=${videoFile}`);
    if (disableFeatures.length) args.push(await disableFeaturesArg(dir, disableFeatures));

    // launchPersistentContext: a fresh user-data-dir of our own (Playwright refuses
    // --user-data-dir in args), one context whose pages share nothing but the profile.
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: wrapper,
        headless,
        args,
        ignoreHTTPSErrors: true,
        viewport: { width: 800, height: 600 },
        timeout: 30000,
    });
    const browser = context.browser();
    let closed = false;
    return {
        browser,
        context,
        dir,
        wrapper,
        args,
        async close() {
            if (closed) return;
            closed = true;
            try {
                await context.close();
            } catch {
                /* already gone */
            }
            fs.rmSync(dir, { recursive: true, force: true });
            unregister();
        },
    };
}
