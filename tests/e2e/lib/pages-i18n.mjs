// pages-i18n.mjs: static checks of the pages' string catalogs (web/shared/i18n/*.json):
// every key the pages use (data-i18n, data-i18n-attr, t('…') and setText(…, '…') with a
// literal key, plus the keys built at run time from known value lists) exists in every
// catalog, and the catalogs have the same keys. No browser needed.

import fs from 'node:fs';
import path from 'node:path';

const DYNAMIC = {
    desk: ['broadband', 'id_check', 'urgent_sim'],
    state: ['available', 'ringing', 'on_call', 'after_call_work', 'not_ready', 'offline'],
    reason: ['break', 'training', 'admin', 'meeting', 'missed', 'declined'],
    ended: ['completed', 'abandoned', 'missed', 'customer_gone', 'agent_gone', 'failed', 'server_shutdown'],
    ended_unanswered: ['completed', 'abandoned', 'missed', 'customer_gone', 'agent_gone', 'failed', 'server_shutdown'],
    quality: ['good', 'fair', 'poor', 'unknown', 'stalled'],
    'ring.cancelled': ['timeout', 'customer_left'],
    rate: ['n1', 'n2', 'n3', 'n4', 'n5'],
    step: ['browser', 'devices', 'consent', 'waiting', 'call', 'feedback'],
};
const GUM = ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError', 'other'];

function walk(dir, out = []) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            if (e.name !== 'vendor') walk(p, out);
        } else if (/\.(html|js|mjs)$/.test(e.name)) out.push(p);
    }
    return out;
}

export function usedKeys(webRoot) {
    const keys = new Set();
    for (const f of walk(webRoot)) {
        const src = fs.readFileSync(f, 'utf8');
        for (const m of src.matchAll(/data-i18n="([^"]+)"/g)) keys.add(m[1]);
        for (const m of src.matchAll(/data-i18n-attr="([^"]+)"/g)) {
            for (const pair of m[1].split(';')) {
                const k = pair.split(':')[1];
                if (k && /^[a-z_]+\./.test(k.trim())) keys.add(k.trim());
            }
        }
        for (const m of src.matchAll(/\bt\('([a-z_]+\.[A-Za-z0-9_.]+)'/g)) keys.add(m[1]);
        for (const m of src.matchAll(/setText\([^;]*?,\s*'([a-z_]+\.[A-Za-z0-9_.]+)'/g)) keys.add(m[1]);
        for (const m of src.matchAll(/'data-i18n':\s*'([a-z_]+\.[A-Za-z0-9_.]+)'/g)) keys.add(m[1]);
        for (const m of src.matchAll(/noticeEl\('\w+',\s*'([a-z_]+\.[A-Za-z0-9_.]+)'/g)) keys.add(m[1]);
        for (const m of src.matchAll(/\?\s*'([a-z_]+\.[A-Za-z0-9_]+)'\s*:\s*'([a-z_]+\.[A-Za-z0-9_]+)'/g)) {
            keys.add(m[1]);
            keys.add(m[2]);
        }
    }
    for (const [prefix, vals] of Object.entries(DYNAMIC)) for (const v of vals) keys.add(`${prefix}.${v}`);
    for (const g of GUM) {
        keys.add(`gum.${g}.title`);
        keys.add(`gum.${g}.text`);
    }
    return keys;
}

export function checkCatalogs(webRoot) {
    const dir = path.join(webRoot, 'shared', 'i18n');
    const cats = {};
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
        cats[f.replace(/\.json$/, '')] = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    }
    const used = usedKeys(webRoot);
    const problems = [];
    for (const [lang, cat] of Object.entries(cats)) {
        for (const k of used) if (!(k in cat)) problems.push(`${lang}: missing ${k}`);
        for (const [k, v] of Object.entries(cat)) if (typeof v !== 'string' || !v.trim()) problems.push(`${lang}: empty ${k}`);
    }
    const langs = Object.keys(cats);
    for (const a of langs) {
        for (const b of langs) {
            if (a === b) continue;
            for (const k of Object.keys(cats[a])) if (!(k in cats[b])) problems.push(`${b}: lacks ${k} (in ${a})`);
        }
    }
    return { langs, used: used.size, problems };
}
