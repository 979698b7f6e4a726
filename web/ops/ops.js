// ops.js: the operations dashboard (/ops). Signs in as an ops account and polls `stats.live`
// over the WebSocket every 2 s (docs/stats.md): today's totals, per-desk figures, agents by
// state, active calls with per-leg media quality, and a chart of waiting customers over the
// last hour (inline SVG, with a text summary and a data table as its text alternative).

import { initI18n, t, onLangChange, currentLang } from '/shared/i18n.js';
import { Signaling } from '/shared/signaling.js';
import { $, $$, h, announce, showPanel, setText, fmtDuration, fmtPct, fmtBitrate, LOGO_SVG } from '/shared/ui.js';
import { icon, renderIcons, setIcon } from '/shared/icons.js';

const POLL_MS = 2000;
const st = { sig: null, creds: null, stats: null, timer: null, live: null, inFlight: false };
window.__tc = { st };

const DESK_STYLE = {
    broadband: { color: '#0a4fa6', dash: '', marker: 'circle' },
    id_check: { color: '#17703a', dash: '6 4', marker: 'square' },
    urgent_sim: { color: '#b3261e', dash: '2 3', marker: 'triangle' },
};
const FALLBACK_STYLE = { color: '#4a5565', dash: '8 3 2 3', marker: 'diamond' };
const AGENT_STATES = ['available', 'ringing', 'on_call', 'after_call_work', 'not_ready', 'offline'];

// ---- sign in ------------------------------------------------------------------------------------
async function connect() {
    if (st.sig) return st.sig;
    const sig = new Signaling();
    st.sig = sig;
    sig.on('close', () => setLive(false));
    sig.on('reconnected', async () => {
        if (!st.creds) return;
        try {
            await sig.request('login', st.creds, { timeoutMs: 20000 });
            poll();
        } catch {
            /* next reconnect */
        }
    });
    sig.on('session.replaced', () => signedOut('agent.replaced'));
    await sig.connect();
    return sig;
}

async function login(e) {
    e.preventDefault();
    const err = $('#login-error');
    err.replaceChildren();
    const username = $('#username').value.trim();
    const password = $('#password').value;
    if (!username || !password) {
        err.append(noticeEl('error', 'login.missing'));
        return;
    }
    $('#login-btn').disabled = true;
    try {
        await connect();
        const ok = await st.sig.request('login', { username, password }, { timeoutMs: 20000 });
        if (ok.account.role !== 'ops') {
            await st.sig.request('logout').catch(() => {});
            err.append(noticeEl('error', 'ops.not_ops'));
            return;
        }
        st.creds = { username, password };
        $('#password').value = '';
        $('#who').textContent = ok.account.name || ok.account.username;
        $('#userbar').hidden = false;
        showPanel('dash');
        announce(t('agent.signed_in', { name: ok.account.name || ok.account.username }));
        poll();
        clearInterval(st.timer);
        st.timer = setInterval(poll, POLL_MS);
    } catch (ex) {
        err.append(noticeEl('error', ex.code === 'bad_credentials' ? 'login.bad_credentials' : 'login.failed'));
    } finally {
        $('#login-btn').disabled = false;
    }
}

function signedOut(key) {
    clearInterval(st.timer);
    st.creds = null;
    if (st.sig) st.sig.close();
    st.sig = null;
    $('#userbar').hidden = true;
    showPanel('login');
    if (key) $('#login-error').replaceChildren(noticeEl('warn', key));
}

function noticeEl(kind, key, vars) {
    const d = h('div', { class: `notice ${kind}` });
    d.innerHTML = icon(kind === 'warn' ? 'warn' : 'error');
    const p = h('p');
    setText(p, key, vars);
    d.append(h('div', {}, p));
    return d;
}

async function poll() {
    if (!st.sig || !st.sig.connected || st.inFlight) return;
    st.inFlight = true;
    try {
        const ok = await st.sig.request('stats.live', {}, { timeoutMs: 5000 });
        st.stats = ok.stats;
        render();
        setLive(true);
    } catch {
        setLive(false);
    } finally {
        st.inFlight = false;
    }
}

function setLive(on) {
    const changed = st.live !== on;
    st.live = on;
    const b = $('#live-badge');
    b.className = `badge ${on ? 'ok' : 'warn'}`;
    setIcon($('#live-icon'), on ? 'signal' : 'warn');
    setText($('#live-text'), on ? 'ops.live' : 'ops.stale');
    if (changed && st.creds) announce(t(on ? 'ops.live' : 'ops.stale'), { assertive: !on });
}

// ---- rendering -----------------------------------------------------------------------------------
const num = (x, d = 1) => (x === null || x === undefined ? '—' : (Math.round(x * 10 ** d) / 10 ** d).toLocaleString(currentLang()));

function kpi(key, value, sub, id) {
    return h('div', { class: 'kpi', 'data-kpi': id },
        h('span', { class: 'k' }, t(key)), h('span', { class: 'v' }, value), sub ? h('span', { class: 's' }, sub) : null);
}

function render() {
    const s = st.stats;
    if (!s) return;
    const today = s.today || {};
    const waiting = (s.desks || []).reduce((a, d) => a + (d.waiting || 0), 0);
    const br = today.by_reason || {};
    $('#totals').replaceChildren(
        kpi('ops.waiting_now', String(waiting), t('ops.in_queues'), 'waiting'),
        kpi('ops.sessions', String(today.sessions ?? 0), t('ops.answered_n', { n: today.answered ?? 0 }), 'sessions'),
        kpi('ops.service_level', today.answered ? fmtPct(today.service_level) : '—', t('ops.sl_hint'), 'service_level'),
        kpi('ops.asa', today.answered ? fmtDuration(today.avg_speed_of_answer_s) : '—', null, 'asa'),
        kpi('ops.abandon', today.ended ? fmtPct(today.abandonment_rate) : '—', t('ops.abandoned_n', { n: br.abandoned ?? 0 }), 'abandonment'),
        kpi('ops.aht', today.avg_handle_s ? fmtDuration(today.avg_handle_s) : '—', t('ops.handled_n', { n: today.handled ?? 0 }), 'aht'),
        kpi('ops.rating', today.rated ? `${num(today.avg_rating)} / 5` : '—', t('ops.rated_n', { n: today.rated ?? 0 }), 'rating'),
    );
    renderDesks(s.desks || []);
    renderAgents(s.agents || {});
    renderCalls(s.active_calls || []);
    renderChart(s.waiting_history || [], s.desks || []);
    setText($('#updated'), 'ops.updated', { time: new Date(s.generated_at || Date.now()).toLocaleTimeString(currentLang()) });
}

function agentsText(a) {
    const parts = [];
    for (const k of AGENT_STATES) if (a && a[k]) parts.push(`${a[k]} ${t(`state.${k}`)}`);
    return parts.length ? parts.join(' · ') : t('ops.no_agents');
}

function renderDesks(desks) {
    $('#desks-body').replaceChildren(...desks.map((d) => {
        const td = d.today || {};
        const name = h('th', { scope: 'row' }, t(`desk.${d.desk}`));
        if (d.invites_waiting > 0) {
            const b = h('span', { class: 'badge urgent', style: 'margin-left:6px' });
            b.innerHTML = icon('ticket', { size: 14 });
            b.append(t('agent.invites_waiting', { n: d.invites_waiting }));
            name.append(' ', b);
        }
        let slCell = h('td', { class: 'num' }, td.answered ? fmtPct(td.service_level) : '—');
        if (td.answered && td.service_level < 0.8) {
            slCell = h('td', { class: 'num' });
            const w = h('span', { class: 'badge warn' });
            w.innerHTML = icon('warn', { size: 14 });
            w.append(fmtPct(td.service_level));
            slCell.append(w);
        }
        return h('tr', { 'data-desk': d.desk }, name,
            h('td', { class: 'num' }, String(d.waiting ?? 0)),
            h('td', { class: 'num' }, d.waiting ? fmtDuration(d.longest_wait_s) : '—'),
            h('td', { class: 'small' }, agentsText(d.agents)),
            slCell,
            h('td', { class: 'num' }, td.answered ? fmtDuration(td.avg_speed_of_answer_s) : '—'),
            h('td', { class: 'num' }, td.sessions ? fmtPct(td.abandonment_rate) : '—'),
            h('td', { class: 'num' }, td.avg_handle_s ? fmtDuration(td.avg_handle_s) : '—'),
            h('td', { class: 'num' }, td.rated ? `${num(td.avg_rating)} (${td.rated})` : '—'),
            h('td', { class: 'num' }, String(td.sessions ?? 0)));
    }));
}

function renderAgents(a) {
    const look = { available: ['ok', 'checkCircle'], ringing: ['info', 'phone'], on_call: ['info', 'phone'],
        after_call_work: ['warn', 'clock'], not_ready: ['warn', 'pause'], offline: ['danger', 'error'] };
    const box = $('#agents-now');
    box.replaceChildren(h('div', { class: 'kpis', style: 'grid-template-columns:repeat(auto-fill,minmax(140px,1fr))' },
        ...AGENT_STATES.map((k) => {
            const [cls, ic] = look[k];
            const label = h('span', { class: `badge ${cls}` });
            label.innerHTML = icon(ic, { size: 14 });
            label.append(t(`state.${k}`));
            return h('div', { class: 'kpi', 'data-agents': k }, label, h('span', { class: 'v', style: 'display:block' }, String(a[k] ?? 0)));
        })));
}

function legText(m) {
    if (!m) return h('span', { class: 'muted' }, t('ops.no_sample'));
    const bad = (m.rx_dropped || 0) > 0 || (m.rx_bitrate_bps || 0) < 100000;
    const b = h('span', { class: `badge ${bad ? 'warn' : 'ok'}` });
    b.innerHTML = icon(bad ? 'warn' : 'check', { size: 14 });
    b.append(t(bad ? 'ops.leg_degraded' : 'ops.leg_ok'));
    return h('div', { class: 'small' }, b,
        h('div', {}, `↓ ${fmtBitrate(m.rx_bitrate_bps)} · ↑ ${fmtBitrate(m.tx_bitrate_bps)}`),
        h('div', {}, t('ops.leg_detail', { dropped: m.rx_dropped ?? 0, nacks: m.nacks_rx ?? 0, plis: m.plis_rx ?? 0 })),
        h('div', { class: 'muted' }, `${m.pair || '—'} · ${m.srtp || ''}`));
}

function renderCalls(calls) {
    const body = $('#calls-body');
    if (!calls.length) {
        body.replaceChildren(h('tr', {}, h('td', { colspan: '6', class: 'muted' }, t('ops.no_calls'))));
        return;
    }
    body.replaceChildren(...calls.map((c) => h('tr', { 'data-session': String(c.session_id) },
        h('td', {}, `#${c.session_id}`), h('td', {}, t(`desk.${c.desk}`)), h('td', {}, c.agent || '—'),
        h('td', { class: 'num' }, fmtDuration(c.duration_s)),
        h('td', {}, legText(c.media && c.media.customer)), h('td', {}, legText(c.media && c.media.agent)))));
}

function markerPath(kind, x, y) {
    const r = 3.5;
    if (kind === 'square') return `M${x - r} ${y - r}h${2 * r}v${2 * r}h${-2 * r}z`;
    if (kind === 'triangle') return `M${x} ${y - r - 1}L${x + r + 1} ${y + r}H${x - r - 1}z`;
    if (kind === 'diamond') return `M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}z`;
    return `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
}

function renderChart(hist, desks) {
    const names = desks.map((d) => d.desk);
    for (const sample of hist) for (const k of Object.keys(sample.waiting || {})) if (!names.includes(k)) names.push(k);
    const W = 640;
    const H = 240;
    const pad = { l: 36, r: 12, t: 12, b: 28 };
    const now = (st.stats && st.stats.generated_at) || Date.now();
    const t0 = now - 60 * 60 * 1000;
    let max = 1;
    for (const s of hist) for (const v of Object.values(s.waiting || {})) max = Math.max(max, v);
    const yMax = Math.max(4, Math.ceil(max / 2) * 2);
    const X = (at) => pad.l + ((at - t0) / (now - t0)) * (W - pad.l - pad.r);
    const Y = (v) => H - pad.b - (v / yMax) * (H - pad.t - pad.b);
    let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">` +
        `<title id="chart-title">${t('ops.chart')}</title>`;
    for (let v = 0; v <= yMax; v += yMax / 4) {
        svg += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#d5dbe3"/>` +
            `<text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end" font-size="11" fill="#4a5565">${v}</text>`;
    }
    for (let m = 60; m >= 0; m -= 15) {
        const x = X(now - m * 60000);
        svg += `<text x="${x}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#4a5565">${m ? t('ops.min_ago', { n: m }) : t('ops.now')}</text>`;
    }
    for (const name of names) {
        const sty = DESK_STYLE[name] || FALLBACK_STYLE;
        const pts = hist.filter((s) => s.at >= t0).map((s) => [X(s.at), Y((s.waiting || {})[name] || 0)]);
        if (!pts.length) continue;
        svg += `<polyline fill="none" stroke="${sty.color}" stroke-width="2.5" stroke-dasharray="${sty.dash}" points="${pts.map((p) => p.join(',')).join(' ')}"/>`;
        const every = Math.max(1, Math.ceil(pts.length / 12));
        pts.forEach((p, i) => {
            if (i % every === 0 || i === pts.length - 1) svg += `<path d="${markerPath(sty.marker, p[0], p[1])}" fill="${sty.color}"/>`;
        });
    }
    if (!hist.length) svg += `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="14" fill="#4a5565">${t('ops.no_history')}</text>`;
    svg += '</svg>';
    $('#chart').innerHTML = svg;

    $('#legend').replaceChildren(...names.map((name) => {
        const sty = DESK_STYLE[name] || FALLBACK_STYLE;
        const sw = `<svg width="34" height="12" aria-hidden="true"><line x1="1" x2="33" y1="6" y2="6" stroke="${sty.color}" stroke-width="2.5" stroke-dasharray="${sty.dash}"/><path d="${markerPath(sty.marker, 17, 6)}" fill="${sty.color}"/></svg>`;
        const span = h('span');
        span.innerHTML = sw;
        span.append(t(`desk.${name}`));
        return span;
    }));

    // Text alternative: a sentence, and every sample in a table.
    const last = hist[hist.length - 1];
    let peak = { v: -1 };
    for (const s of hist) for (const [k, v] of Object.entries(s.waiting || {})) if (v > peak.v) peak = { v, k, at: s.at };
    const nowParts = names.map((n) => `${t(`desk.${n}`)} ${last ? (last.waiting[n] || 0) : 0}`).join(', ');
    const summary = !hist.length ? t('ops.no_history')
        : t('ops.chart_summary', { now: nowParts, peak: peak.v, desk: t(`desk.${peak.k}`),
            time: new Date(peak.at).toLocaleTimeString(currentLang(), { hour: '2-digit', minute: '2-digit' }) });
    $('#chart-summary').textContent = summary;
    const table = $('#chart-table');
    const head = h('tr', {}, h('th', { scope: 'col' }, t('ops.time')), ...names.map((n) => h('th', { scope: 'col', class: 'num' }, t(`desk.${n}`))));
    const rows = hist.slice().reverse().map((s) => h('tr', {},
        h('th', { scope: 'row' }, new Date(s.at).toLocaleTimeString(currentLang(), { hour: '2-digit', minute: '2-digit' })),
        ...names.map((n) => h('td', { class: 'num' }, String((s.waiting || {})[n] || 0)))));
    table.replaceChildren(h('caption', { class: 'sr-only' }, t('ops.chart')), h('thead', {}, head), h('tbody', {}, ...rows));
}

// ---- start-up ---------------------------------------------------------------------------------------
async function main() {
    await initI18n();
    renderIcons();
    for (const el of $$('[data-logo]')) el.innerHTML = LOGO_SVG;
    onLangChange(() => {
        renderIcons();
        render();
        if (st.live !== null) setText($('#live-text'), st.live ? 'ops.live' : 'ops.stale');
    });
    $('#login-form').addEventListener('submit', login);
    $('#logout').addEventListener('click', async () => {
        await st.sig?.request('logout').catch(() => {});
        signedOut(null);
    });
    showPanel('login', { focus: false });
    $('#username').focus();
}

main();
