// a11y.mjs: what both accessibility suites (pages-a11y-customer, pages-a11y-staff) share: a
// PagesEnv with an agent and an ops account, steps that mark the run failed (so that the
// harness keeps its artifacts), and check(): an axe-core scan that allows no serious or
// critical violation, plus screenshots at 360 px and 1280 px with no sideways scrolling.
// The axe findings of every check go to artifacts/pages/<name>/axe-report.json.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, axeScan, note, serious, sleep } from './pages-harness.mjs';

export const AGENT = { username: 'e2e.a11y', name: 'Access Agent', role: 'agent', skills: ['id_check', 'broadband', 'urgent_sim'] };
export const OPS = { username: 'e2e.a11y.ops', name: 'Access Ops', role: 'ops', skills: [] };
export const WIDTHS = [{ width: 360, height: 780 }, { width: 1280, height: 860 }];

// Registers the suite's set-up and tear-down; suite.env is the PagesEnv once a step runs.
export function a11ySuite(name) {
    const suite = { env: null, report: {} };

    suite.step = (title, fn, timeout = 120000) => {
        test(title, { timeout }, async () => {
            try {
                await fn();
            } catch (e) {
                if (suite.env) suite.env.failed = true;
                throw e;
            }
        });
    };

    // Scans the page as it is, then takes both screenshots; fails on serious/critical findings.
    suite.check = async (page, label) => {
        const v = await axeScan(page);
        suite.report[label] = v;
        for (const vp of WIDTHS) {
            await page.setViewportSize(vp);
            await sleep(150);
            await suite.env.shot(page, `${label}-${vp.width}.png`);
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
    };

    before(async () => {
        suite.env = await PagesEnv.start(name, { accounts: [AGENT, OPS] });
    }, { timeout: 60000 });

    after(async () => {
        if (!suite.env) return;
        fs.writeFileSync(path.join(suite.env.art, 'axe-report.json'), JSON.stringify(suite.report, null, 2));
        await suite.env.cleanup();
    });

    return suite;
}
