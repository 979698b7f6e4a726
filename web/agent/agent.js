// agent.js: the agent console (/agent). Sign in, set a status, watch the queues, take a ring,
// talk on video, capture stills of the customer's document (POST /api/v1/evidence), write
// notes and an outcome, and issue invite codes (with a QR code of the link).

import { initI18n, t, onLangChange, currentLang } from '/shared/i18n.js';
import { Signaling } from '/shared/signaling.js';
import { RelayLink, getCamera, gumErrorKind, playWithFallback, stopStream } from '/shared/media.js';
import { $, $$, h, announce, showPanel, setText, fmtDuration, fmtClock, copyText, ringer, LOGO_SVG } from '/shared/ui.js';
import { icon, renderIcons, setIcon } from '/shared/icons.js';
import qrcode from '/vendor/qrcode.mjs';

const st = {
    sig: null,
    creds: null, // kept in memory only, to sign in again after a dropped connection
    account: null,
    authToken: null,
    state: 'offline',
    reason: '',
    until: null,
    ring: null, // {session_id, desk, ..., deadline}
    call: null, // {session_id, desk, case_ref, note, waited_s, answeredAt, peer, peerUntil, video}: callFrom()
    lastSession: null, // the session that notes/outcome belong to
    stream: null,
    link: null,
    timers: {},
    queues: [],
    queuesAt: 0,
    evidence: [],
    ringer: ringer(),
};
window.__tc = { get pc() { return st.link ? st.link.pc : null; }, st, evidence: st.evidence };

// ---- sign in -----------------------------------------------------------------------------------
async function connect() {
    if (st.sig) return st.sig;
    const sig = new Signaling();
    st.sig = sig;
    sig.on('agent.state', (m) => setState(m.state, m.reason, m.until));
    sig.on('ring', onRing);
    sig.on('ring.cancelled', (m) => onRingCancelled(m.reason));
    sig.on('session.ended', (m) => onEnded(m.session_id, m.reason));
    sig.on('queue.summary', (m) => renderQueues(m.desks));
    sig.on('peer.state', (m) => {
        if (m.peer === 'customer' && st.call && m.session_id === st.call.session_id) setPeer(m.state, m.until);
    });
    sig.on('call.media', (m) => {
        if (st.call && m.session_id === st.call.session_id) setVideo(m.video !== false);
    });
    sig.on('media.state', (m) => {
        if (m.state === 'reconnecting') $('#reconnecting').hidden = false;
        else if (m.state === 'connected' && sig.connected) $('#reconnecting').hidden = true;
    });
    sig.on('session.replaced', () => {
        signedOut('agent.replaced');
    });
    sig.on('close', () => {
        if (st.account) $('#reconnecting').hidden = false;
    });
    sig.on('reconnected', () => relogin());
    window.addEventListener('online', () => sig.retryNow());
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
    st.ringer.unlock(); // a user gesture: the ring may play later
    ensureCamera(); // opens while the password is checked: a call to resume needs it at once
    $('#login-btn').disabled = true;
    try {
        await connect();
        const ok = await st.sig.request('login', { username, password }, { timeoutMs: 20000 });
        if (ok.account.role !== 'agent') {
            await st.sig.request('logout').catch(() => {});
            err.append(noticeEl('error', 'agent.not_agent'));
            cameraOffUnlessSignedIn();
            return;
        }
        st.creds = { username, password };
        $('#password').value = '';
        await signedIn(ok);
    } catch (ex) {
        err.append(noticeEl('error', ex.code === 'bad_credentials' ? 'login.bad_credentials' : 'login.failed'));
        cameraOffUnlessSignedIn();
    } finally {
        $('#login-btn').disabled = false;
    }
}

// The camera opened with the sign-in attempt is closed when the attempt did not sign in.
function cameraOffUnlessSignedIn() {
    ensureCamera().then((stream) => {
        if (st.account || !stream) return;
        stopStream(stream);
        setStream(null);
    });
}

async function signedIn(ok) {
    st.account = ok.account;
    st.authToken = ok.auth_token;
    $('#who').textContent = ok.account.name || ok.account.username;
    $('#userbar').hidden = false;
    showPanel('console');
    setState(ok.state, '', ok.after_call ? ok.after_call.until : null);
    announce(t('agent.signed_in', { name: ok.account.name || ok.account.username }));
    if (ok.call && ok.call.session_id && !st.call) {
        // Signed in again during a call (after a reload or a closed tab): the call continues,
        // with what the console showed before; media first, the relay is waiting for it.
        takeCall(ok.call);
        announce(t('agent.call_restored', { desk: $('#ci-desk').textContent }));
        await ensureCamera();
        await startMedia();
    } else if (!ok.call && ok.after_call && ok.after_call.session_id) {
        showAfterCall(ok.after_call);
    }
    const w = await st.sig.request('queue.watch').catch(() => null);
    if (w) renderQueues(w.desks);
    await ensureCamera(); // the agent's own camera, ready before the first ring
}

// Opens the camera once (later calls wait for the same attempt); a refusal is shown, and the
// next sign-in tries again.
function ensureCamera() {
    if (st.stream) return Promise.resolve(st.stream);
    if (!st.cameraP) {
        st.cameraP = getCamera('facing:user').then((stream) => {
            setStream(stream);
            return stream;
        }).catch((ex) => {
            setText($('#capture-status'), `gum.${gumErrorKind(ex)}.title`);
            return null;
        }).finally(() => {
            st.cameraP = null;
        });
    }
    return st.cameraP;
}

async function relogin() {
    if (!st.creds) return;
    try {
        const ok = await st.sig.request('login', st.creds, { timeoutMs: 20000 });
        st.authToken = ok.auth_token;
        setState(ok.state, '', ok.after_call ? ok.after_call.until : null);
        const w = await st.sig.request('queue.watch').catch(() => null);
        if (w) renderQueues(w.desks);
        if (ok.call && st.call && ok.call.session_id === st.call.session_id) {
            setPeer(ok.call.peer, ok.call.peer_until);
            if (st.link) await st.link.offer({ iceRestart: true }).catch(() => startMedia());
            else await startMedia();
        } else if (!ok.call && st.call) {
            onEnded(st.call.session_id, 'agent_gone');
        }
        $('#reconnecting').hidden = true;
    } catch {
        /* the next reconnect tries again */
    }
}

async function logout() {
    try {
        await st.sig.request('logout');
    } catch {
        /* closing anyway */
    }
    signedOut(null);
}

function signedOut(key) {
    dropCall();
    setText($('#stage-empty-text'), 'agent.no_call');
    $('#callinfo').hidden = true;
    $('#ci-note').hidden = true;
    stopStream(st.stream);
    setStream(null);
    hideRing();
    st.account = null;
    st.creds = null;
    st.authToken = null;
    if (st.sig) st.sig.close();
    st.sig = null;
    $('#userbar').hidden = true;
    $('#reconnecting').hidden = true;
    showPanel('login');
    if (key) $('#login-error').replaceChildren(noticeEl('warn', key));
}

function noticeEl(kind, key, vars) {
    const d = h('div', { class: `notice ${kind}` });
    d.innerHTML = icon(kind === 'ok' ? 'checkCircle' : kind === 'warn' ? 'warn' : 'error');
    const p = h('p');
    setText(p, key, vars);
    d.append(h('div', {}, p));
    return d;
}

// ---- state ---------------------------------------------------------------------------------------
const STATE_LOOK = {
    available: ['ok', 'checkCircle'],
    ringing: ['info', 'phone'],
    on_call: ['info', 'phone'],
    after_call_work: ['warn', 'clock'],
    not_ready: ['warn', 'pause'],
    offline: ['danger', 'error'],
};

function setState(state, reason, until) {
    const prev = st.state;
    st.state = state;
    st.reason = reason || '';
    st.until = until || null;
    const [cls, ic] = STATE_LOOK[state] || ['info', 'info'];
    const badge = $('#state-badge');
    badge.className = `badge ${cls}`;
    setIcon($('#state-icon'), ic);
    renderStateText();
    const sel = $('#state-select');
    sel.disabled = state === 'ringing' || state === 'on_call';
    // Transient states (ringing, on a call, after-call work) show in the selector too.
    let cur = $('#state-current');
    if (['ringing', 'on_call', 'after_call_work', 'offline'].includes(state)) {
        if (!cur) {
            cur = h('option', { id: 'state-current', disabled: true });
            sel.prepend(cur);
        }
        cur.value = `current:${state}`;
        setText(cur, `state.${state}`);
        sel.value = cur.value;
    } else if (cur) {
        cur.remove();
    }
    if (state === 'available') sel.value = 'available';
    else if (state === 'not_ready') {
        const v = `not_ready:${st.reason || 'break'}`;
        if (!$$('option', sel).some((o) => o.value === v)) {
            sel.append(h('option', { value: v, 'data-i18n': `reason.${st.reason}` }, t(`reason.${st.reason}`)));
        }
        sel.value = v;
    }
    clearInterval(st.timers.acw);
    const acw = $('#acw-badge');
    if (state === 'after_call_work' && until) {
        acw.hidden = false;
        const tick = () => {
            const left = Math.max(0, (until - Date.now()) / 1000);
            setText($('#acw-text'), 'agent.acw_left', { t: fmtClock(left) });
            acwWarn(left);
        };
        tick();
        st.timers.acw = setInterval(tick, 1000);
    } else {
        acw.hidden = true;
        acwWarn(null);
    }
    if (prev === 'after_call_work' && state !== 'after_call_work' && st.lastSession && st.outcomeFor !== st.lastSession) {
        // The timer ended after-call work with no outcome saved: said, not silent.
        $('#acw-ended').replaceChildren(noticeEl('warn', 'agent.acw_ended_no_outcome', { id: st.lastSession, state: stateLabel() }));
    }
    if (prev !== state) announce(t('agent.state_now', { state: stateLabel() }));
}

// After-call work about to end by its timer with no outcome saved: a visible warning at
// ACW_WARN_S seconds left, with one extension per session (agent.extend_wrap_up).
const ACW_WARN_S = 15;
function acwWarn(left) {
    const box = $('#acw-warn');
    const show = left !== null && left <= ACW_WARN_S && !!st.lastSession && st.outcomeFor !== st.lastSession;
    if (show && box.hidden) {
        setText($('#acw-warn-text'), 'agent.acw_warn');
        $('#acw-extend').hidden = st.extendUnsupported || st.acwExtendedFor === st.lastSession;
        box.hidden = false;
        announce(t('agent.acw_warn'), { assertive: true });
    } else if (!show && !box.hidden) {
        box.hidden = true;
    }
}

async function extendAcw() {
    const id = st.lastSession;
    const btn = $('#acw-extend');
    btn.disabled = true;
    try {
        const ok = await st.sig.request('agent.extend_wrap_up', { session_id: id });
        st.acwExtendedFor = id;
        btn.hidden = true;
        if (ok.until) setState('after_call_work', '', ok.until);
        announce(t('agent.acw_extended'));
    } catch (ex) {
        // A server without the request (unknown_type) never shows the button again.
        if (ex.code === 'unknown_type') st.extendUnsupported = true;
        btn.hidden = true;
        setText($('#acw-warn-text'), 'agent.acw_extend_failed');
    } finally {
        btn.disabled = false;
    }
}

function stateLabel() {
    if (st.state === 'not_ready' && st.reason) return t(`reason.${st.reason}`);
    return t(`state.${st.state}`);
}

function renderStateText() {
    $('#state-text').textContent = stateLabel();
}

async function requestState() {
    const [state, reason = ''] = $('#state-select').value.split(':');
    try {
        const ok = await st.sig.request('agent.state', { state, reason });
        setState(ok.state, ok.reason, null);
    } catch (ex) {
        announce(t('agent.state_refused'), { assertive: true });
        setState(st.state, st.reason, st.until);
    }
}

// ---- queues --------------------------------------------------------------------------------------
function renderQueues(desks) {
    st.queues = desks || [];
    st.queuesAt = Date.now();
    drawQueues();
}

function drawQueues() {
    const body = $('#queue-body');
    const skills = (st.account && st.account.skills) || [];
    const elapsed = (Date.now() - st.queuesAt) / 1000;
    body.replaceChildren(...st.queues.map((d) => {
        const name = h('td');
        name.append(t(`desk.${d.desk}`));
        if (!skills.includes(d.desk)) name.append(' ', h('span', { class: 'muted small' }, t('agent.not_your_desk')));
        if (d.invites > 0) {
            const b = h('span', { class: 'badge urgent', style: 'margin-left:6px' });
            b.innerHTML = icon('ticket', { size: 14 });
            b.append(t('agent.invites_waiting', { n: d.invites }));
            name.append(' ', b);
        }
        const longest = d.waiting > 0 ? fmtDuration((d.longest_wait_s || 0) + elapsed) : '—';
        return h('tr', {}, name, h('td', { class: 'num' }, String(d.waiting)), h('td', { class: 'num' }, longest));
    }));
    if (!st.queues.length) body.append(h('tr', {}, h('td', { colspan: '3', class: 'muted' }, t('agent.no_queues'))));
}

// ---- ringing -------------------------------------------------------------------------------------
function onRing(m) {
    st.ring = { ...m, deadline: Date.now() + (m.timeout_s || 20) * 1000 };
    setState('ringing', '', null);
    const box = $('#ring');
    $('.ring-box', box).classList.toggle('urgent', m.priority === 'invite');
    $('#ring-urgent').hidden = m.priority !== 'invite';
    setText($('#ring-desc'), m.case_ref ? 'ring.desc_case' : 'ring.desc', {
        desk: t(`desk.${m.desk}`), waited: fmtDuration(m.waited_s), case: m.case_ref });
    box.hidden = false;
    st.ringer.start();
    const tick = () => {
        const left = Math.max(0, Math.ceil((st.ring.deadline - Date.now()) / 1000));
        $('#ring-count').textContent = fmtClock(left);
        if (left % 5 === 0) setText($('#ring-count-sr'), 'ring.seconds_left', { n: left });
        if (left <= 0) clearInterval(st.timers.ring);
    };
    tick();
    clearInterval(st.timers.ring);
    st.timers.ring = setInterval(tick, 250);
    announce(`${t('ring.title')}: ${$('#ring-desc').textContent}`, { assertive: true });
    $('#ring-accept').focus();
}

function hideRing() {
    st.ringer.stop();
    clearInterval(st.timers.ring);
    $('#ring').hidden = true;
    st.ring = null;
}

function onRingCancelled(reason) {
    if (!st.ring) return;
    hideRing();
    announce(t(`ring.cancelled.${reason}`), { assertive: true });
}

async function accept() {
    if (!st.ring) return;
    const ring = st.ring;
    $('#ring-accept').disabled = true;
    try {
        const ok = await st.sig.request('agent.accept', { session_id: ring.session_id });
        hideRing();
        setState('on_call', '', null);
        takeCall(ok);
        showCallOnScreen();
        await startMedia();
    } catch (ex) {
        hideRing();
        announce(t('ring.accept_failed'), { assertive: true });
    } finally {
        $('#ring-accept').disabled = false;
    }
}

async function decline() {
    if (!st.ring) return;
    const id = st.ring.session_id;
    hideRing();
    const ok = await st.sig.request('agent.decline', { session_id: id }).catch(() => null);
    if (ok && st.state === 'ringing') setState('not_ready', 'declined', null);
}

// ---- the call -------------------------------------------------------------------------------------
// The call as the console shows it, from the one place that builds it: the `agent.accept` reply,
// or `call` in the `login` reply after a reload or a closed tab (same fields, plus answered_at
// and peer).
function callFrom(m) {
    return {
        session_id: m.session_id,
        desk: m.desk || '',
        case_ref: m.case_ref || '',
        note: m.note || '',
        waited_s: typeof m.waited_s === 'number' ? m.waited_s : null,
        answeredAt: typeof m.answered_at === 'number' ? m.answered_at : Date.now(),
        peer: m.peer === 'reconnecting' ? 'reconnecting' : 'connected',
        peerUntil: m.peer === 'reconnecting' && typeof m.peer_until === 'number' ? m.peer_until : null,
        video: m.video !== false,
    };
}

function takeCall(m) {
    st.call = callFrom(m);
    openWrapup(st.call.session_id);
    showCall();
}

// The call's picture and controls at the top of the screen, whatever was scrolled to before
// (the invite form, the last call's outcome); focus on the call's heading.
function showCallOnScreen() {
    window.scrollTo(0, 0);
    const hd = $('#h-call');
    hd.setAttribute('tabindex', '-1');
    hd.focus({ preventScroll: true });
}

function showCall() {
    const c = st.call;
    $('#stage-empty').hidden = true;
    $('#stage-top').hidden = false;
    $('#callinfo').hidden = false;
    $('#call-controls').hidden = false;
    $('#quality').hidden = false;
    $('#btn-hangup').disabled = false;
    showCallInfo(c);
    $('#evidence').replaceChildren();
    $('#capture-status').replaceChildren();
    clearInterval(st.timers.call);
    const tick = () => {
        $('#call-timer').textContent = fmtClock((Date.now() - c.answeredAt) / 1000);
    };
    tick();
    st.timers.call = setInterval(tick, 1000);
    announce(t('agent.call_started', { desk: $('#ci-desk').textContent }));
    renderCall();
}

// Buttons, the customer's connection and the audio-only notice: derived from the call and the
// media whenever either changes.
function setStream(stream) {
    st.stream = stream;
    const self = $('#self');
    if (self.srcObject !== stream) self.srcObject = stream;
    renderCall();
}

function renderCall() {
    updateButtons();
    renderPeer();
    $('#video-note').hidden = !st.call || st.call.video !== false;
}

function setPeer(state, until) {
    if (!st.call) return;
    const was = st.call.peer;
    st.call.peer = state === 'reconnecting' ? 'reconnecting' : 'connected';
    st.call.peerUntil = st.call.peer === 'reconnecting' && until ? Number(until) : null;
    renderPeer();
    if (was !== st.call.peer) {
        announce(t(st.call.peer === 'reconnecting' ? 'agent.customer_reconnecting' : 'agent.customer_back'),
            { assertive: st.call.peer === 'reconnecting' });
    }
}

function renderPeer() {
    const away = !!st.call && st.call.peer === 'reconnecting';
    const box = $('#peer-state');
    const wasAway = !box.hidden;
    box.hidden = !away;
    // No quality label while the customer is away: their picture is frozen.
    $('#quality').hidden = !st.call || away;
    if (away && !wasAway) showQuality({ level: 'unknown' });
    clearInterval(st.timers.peer);
    const left = $('#peer-state-left');
    if (!away || !st.call.peerUntil) {
        left.hidden = true;
        return;
    }
    const until = st.call.peerUntil;
    const tick = () => setText(left, 'call.peer_left', { t: fmtClock(Math.max(0, (until - Date.now()) / 1000)) });
    left.hidden = false;
    tick();
    st.timers.peer = setInterval(tick, 1000);
}

function setVideo(on) {
    if (!st.call) return;
    const was = st.call.video;
    st.call.video = on;
    renderCall();
    if (was && !on) announce(t('call.audio_only'));
}

function showQuality(q) {
    const el = $('#quality');
    el.classList.remove('q-good', 'q-fair', 'q-poor', 'q-unknown', 'q-stalled');
    el.classList.add(`q-${q.level}`);
    setText($('#quality-text'), `quality.${q.level}`);
    el.title = t('quality.detail', { rtt: q.rttMs ?? '—', loss: q.lossPct ?? '—' });
}

// Desk, time waited, case reference, session, invite note: of the call, or of the call whose
// after-call work this is.
function showCallInfo(c) {
    st.info = c;
    $('#callinfo').hidden = false;
    $('#desk-badge').textContent = c.desk ? t(`desk.${c.desk}`) : t('agent.desk_unknown');
    $('#ci-desk').textContent = c.desk ? t(`desk.${c.desk}`) : '—';
    $('#ci-waited').textContent = typeof c.waited_s === 'number' ? fmtDuration(c.waited_s) : '—';
    $('#ci-case').textContent = c.case_ref || t('agent.no_case');
    $('#ci-session').textContent = `#${c.session_id}`;
    const note = $('#ci-note');
    note.hidden = !c.note;
    note.textContent = c.note ? `${t('agent.invite_note')}: ${c.note}` : '';
}

async function startMedia() {
    if (st.link) st.link.close();
    const link = new RelayLink(st.sig, {
        onTrack: (stream) => {
            const v = $('#remote');
            if (v.srcObject !== stream) v.srcObject = stream;
            playWithFallback(v, $('#tap-play'));
        },
        onState: (s) => {
            if (s === 'connected') $('#reconnecting').hidden = true;
        },
        onAnswer: (ok) => {
            // This connection's video refused; whether the call has video is call.media's say.
            if (ok.video === false) setVideo(false);
        },
    });
    st.link = link;
    link.create(st.stream);
    try {
        await link.offer();
    } catch (ex) {
        setText($('#capture-status'), 'media.offer_failed', { code: ex.code || ex.name });
    }
    clearInterval(st.timers.quality);
    st.timers.quality = setInterval(async () => {
        if (!st.link || !st.call) return;
        const q = await st.link.quality({ expectVideo: st.call.video !== false }).catch(() => null);
        if (!q || !st.call || st.call.peer === 'reconnecting') return;
        showQuality(q);
    }, 2000);
}

function endMedia() {
    clearInterval(st.timers.call);
    clearInterval(st.timers.quality);
    if (st.link) st.link.close();
    st.link = null;
    $('#remote').srcObject = null;
}

function onEnded(sessionId, reason) {
    if (!st.call || st.call.session_id !== sessionId) {
        if (st.ring && st.ring.session_id === sessionId) hideRing();
        return;
    }
    dropCall();
    setText($('#stage-empty-text'), 'agent.call_ended', { reason: t(`ended.${reason}`) });
    announce(t('agent.call_ended', { reason: t(`ended.${reason}`) }), { assertive: true });
    $('#outcome').focus();
}

// No call any more (ended, or this console was signed out): media and the call's view go.
function dropCall() {
    st.call = null;
    endMedia();
    renderCall();
    $('#stage-empty').hidden = false;
    $('#stage-top').hidden = true;
    $('#tap-play').hidden = true;
}

async function hangup() {
    $('#btn-hangup').disabled = true;
    try {
        await st.sig.request('hangup');
    } catch {
        $('#btn-hangup').disabled = false;
    }
}

function updateButtons() {
    const a = st.stream && st.stream.getAudioTracks()[0];
    const v = st.stream && st.stream.getVideoTracks()[0];
    const muted = a ? !a.enabled : true;
    const camOff = v ? !v.enabled : true;
    $('#call-controls').hidden = !st.call;
    const bm = $('#btn-mute');
    bm.setAttribute('aria-pressed', String(muted));
    setIcon(bm.querySelector('[data-icon]'), muted ? 'micOff' : 'mic');
    setText(bm.querySelector('[data-i18n]'), muted ? 'call.unmute' : 'call.mute');
    bm.disabled = !a;
    const bc = $('#btn-cam');
    bc.setAttribute('aria-pressed', String(camOff));
    setIcon(bc.querySelector('[data-icon]'), camOff ? 'camOff' : 'cam');
    setText(bc.querySelector('[data-i18n]'), camOff ? 'call.camera_on' : 'call.camera_off');
    bc.disabled = !v;
}

function toggleTrack(kind) {
    const tr = st.stream && (kind === 'audio' ? st.stream.getAudioTracks()[0] : st.stream.getVideoTracks()[0]);
    if (!tr) return;
    tr.enabled = !tr.enabled;
    updateButtons();
    announce(t(kind === 'audio' ? (tr.enabled ? 'call.mic_on' : 'call.mic_off') : (tr.enabled ? 'call.cam_on' : 'call.cam_off')));
}

// ---- evidence ---------------------------------------------------------------------------------------
async function sha256Hex(buf) {
    const d = await crypto.subtle.digest('SHA-256', buf);
    return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function capture() {
    const status = $('#capture-status');
    const v = $('#remote');
    if (!st.call || !v.videoWidth) {
        status.replaceChildren(noticeEl('warn', 'agent.capture_no_video'));
        return;
    }
    const btn = $('#btn-capture');
    btn.disabled = true;
    try {
        // Full resolution of the received picture, not the size it is shown at.
        const c = document.createElement('canvas');
        c.width = v.videoWidth;
        c.height = v.videoHeight;
        c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
        const blob = await new Promise((res) => c.toBlob(res, 'image/jpeg', 0.92));
        const bytes = await blob.arrayBuffer();
        const local = await sha256Hex(bytes);
        setText(status, 'agent.capture_uploading');
        const r = await fetch(`/api/v1/evidence?session_id=${encodeURIComponent(st.call.session_id)}`, {
            method: 'POST',
            headers: { 'Content-Type': 'image/jpeg', Authorization: `Bearer ${st.authToken}` },
            body: blob,
        });
        let body = null;
        try {
            body = await r.json();
        } catch {
            /* not JSON */
        }
        if (r.status !== 201 || !body || !body.sha256) {
            const rec = { ok: false, status: r.status, local, bytes: bytes.byteLength };
            st.evidence.push(rec);
            status.replaceChildren(noticeEl('error', 'agent.capture_failed', { status: r.status }));
            return;
        }
        const match = body.sha256.toLowerCase() === local;
        const rec = { ok: true, status: r.status, id: body.id, sha256: body.sha256, local, match, bytes: bytes.byteLength,
            width: c.width, height: c.height };
        st.evidence.push(rec);
        const img = h('img', { src: URL.createObjectURL(blob), alt: t('agent.still_alt', { n: st.evidence.filter((x) => x.ok).length }) });
        const txt = h('div', {},
            h('div', { class: 'small' }, h('strong', {}, t('agent.still_saved', { w: c.width, h: c.height, kb: Math.round(bytes.byteLength / 1024) }))),
            h('div', { class: 'hash', 'data-sha256': body.sha256 }, `SHA-256 ${body.sha256}`));
        const badge = h('span', { class: `badge ${match ? 'ok' : 'danger'}` });
        badge.innerHTML = icon(match ? 'check' : 'error', { size: 14 });
        badge.append(t(match ? 'agent.hash_match' : 'agent.hash_mismatch'));
        txt.append(badge);
        $('#evidence').append(h('li', {}, img, txt));
        setText(status, 'agent.capture_done');
        announce(t('agent.capture_done'));
    } catch (ex) {
        status.replaceChildren(noticeEl('error', 'agent.capture_failed', { status: ex.message }));
    } finally {
        btn.disabled = false;
    }
}

// ---- notes and outcome ---------------------------------------------------------------------------------
// The notes typed for a session are kept as a draft in localStorage (the tab may close mid-call;
// a new one gets the call or its after-call work back) until its outcome is saved.
const DRAFT = 'tc.agent.notes.';
const DRAFT_MAX_AGE_MS = 24 * 3600 * 1000;

function draftGet(sessionId) {
    try {
        const d = JSON.parse(localStorage.getItem(DRAFT + sessionId) || 'null');
        return d && typeof d.notes === 'string' ? d.notes : '';
    } catch {
        return '';
    }
}

function draftPut(sessionId, notes) {
    try {
        if (notes) localStorage.setItem(DRAFT + sessionId, JSON.stringify({ notes, at: Date.now() }));
        else localStorage.removeItem(DRAFT + sessionId);
    } catch {
        /* storage blocked or full: the notes stay in the form only */
    }
}

function draftsPrune() {
    try {
        for (const k of Object.keys(localStorage).filter((x) => x.startsWith(DRAFT))) {
            const d = JSON.parse(localStorage.getItem(k) || 'null');
            if (!d || !(Date.now() - d.at < DRAFT_MAX_AGE_MS)) localStorage.removeItem(k);
        }
    } catch {
        /* nothing to prune */
    }
}

// Notes and outcome now belong to `sessionId`: its draft (if any), an empty outcome.
function openWrapup(sessionId) {
    const fresh = st.lastSession !== sessionId;
    st.lastSession = sessionId;
    if (fresh) {
        $('#notes').value = draftGet(sessionId);
        $('#outcome').value = '';
        $('#outcome-status').replaceChildren();
        $('#acw-ended').replaceChildren();
    }
    setText($('#wrap-for'), 'agent.wrap_for', { id: sessionId });
    $('#outcome-save').disabled = false;
}

// Signed in again after the resume window: the call is over, its after-call work is not.
function showAfterCall(ac) {
    openWrapup(ac.session_id);
    showCallInfo(ac);
    $('#stage-empty').hidden = false;
    setText($('#stage-empty-text'), 'agent.acw_restored', { id: ac.session_id });
    announce(t('agent.acw_restored', { id: ac.session_id }), { assertive: true });
    $('#outcome').focus();
}

async function saveOutcome(e) {
    e.preventDefault();
    const status = $('#outcome-status');
    status.replaceChildren();
    if (!st.lastSession) return;
    const code = $('#outcome').value;
    if (!code) {
        status.append(noticeEl('warn', 'agent.outcome_needed'));
        $('#outcome').focus();
        return;
    }
    $('#outcome-save').disabled = true;
    try {
        const ok = await st.sig.request('agent.outcome', { session_id: st.lastSession, code, notes: $('#notes').value.trim() });
        draftPut(ok.session_id, '');
        st.outcomeFor = ok.session_id;
        $('#acw-ended').replaceChildren();
        acwWarn(null);
        status.append(noticeEl('ok', 'agent.outcome_saved', { id: ok.session_id }));
        if (ok.state) setState(ok.state, '', null);
    } catch (ex) {
        status.append(noticeEl('error', 'agent.outcome_failed', { code: ex.code }));
    } finally {
        $('#outcome-save').disabled = false;
    }
}

// ---- invites ---------------------------------------------------------------------------------------------
function qrSvg(text) {
    const qr = qrcode(0, 'M');
    qr.addData(text);
    qr.make();
    const n = qr.getModuleCount();
    const m = 4; // quiet zone
    let d = '';
    for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + m} ${r + m}h1v1h-1z`;
    }
    const size = n + 2 * m;
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" role="img" aria-label="${t('invite.qr_label')}" shape-rendering="crispEdges">` +
        `<rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`;
}

async function createInvite(e) {
    e.preventDefault();
    const err = $('#invite-error');
    err.replaceChildren();
    const caseRef = $('#inv-case').value.trim();
    if (!caseRef) {
        err.append(noticeEl('warn', 'invite.case_needed'));
        $('#inv-case').focus();
        return;
    }
    const fields = { desk: $('#inv-desk').value, case_ref: caseRef };
    const note = $('#inv-note').value.trim();
    if (note) fields.note = note;
    const valid = $('#inv-valid').value;
    if (valid) fields.valid_s = Number(valid);
    $('#invite-btn').disabled = true;
    try {
        const ok = await st.sig.request('invite.create', fields);
        st.invite = ok;
        $('#inv-code').textContent = ok.code;
        $('#inv-link').textContent = ok.link;
        $('#inv-qr').innerHTML = qrSvg(ok.link);
        renderExpiry();
        $('#invite-result').hidden = false;
        $('#copy-status').textContent = '';
        announce(t('invite.created', { code: ok.code.split('').join(' ') }));
    } catch (ex) {
        err.append(noticeEl('error', 'invite.failed', { code: ex.code }));
    } finally {
        $('#invite-btn').disabled = false;
    }
}

function renderExpiry() {
    if (!st.invite) return;
    const when = new Date(st.invite.expires_at).toLocaleString(currentLang(), { dateStyle: 'medium', timeStyle: 'short' });
    setText($('#inv-expires'), 'invite.expires', { when });
}

async function copy(what) {
    if (!st.invite) return;
    try {
        await copyText(what === 'link' ? st.invite.link : st.invite.code);
        setText($('#copy-status'), what === 'link' ? 'invite.copied_link' : 'invite.copied_code');
    } catch {
        setText($('#copy-status'), 'invite.copy_failed');
    }
}

// ---- start-up --------------------------------------------------------------------------------------------
async function main() {
    await initI18n();
    renderIcons();
    for (const el of $$('[data-logo]')) el.innerHTML = LOGO_SVG;
    onLangChange(() => {
        renderIcons();
        renderStateText();
        drawQueues();
        renderExpiry();
        if (st.invite) $('#inv-qr').innerHTML = qrSvg(st.invite.link);
        if (st.info && !$('#callinfo').hidden) showCallInfo(st.info);
    });
    $('#login-form').addEventListener('submit', login);
    $('#logout').addEventListener('click', logout);
    $('#state-select').addEventListener('change', requestState);
    $('#ring-accept').addEventListener('click', accept);
    $('#ring-decline').addEventListener('click', decline);
    $('#ring').addEventListener('keydown', (e) => {
        // A modal: Tab stays on its two buttons; Escape declines.
        if (e.key === 'Escape') decline();
        if (e.key === 'Tab') {
            const b = [$('#ring-accept'), $('#ring-decline')];
            const i = b.indexOf(document.activeElement);
            e.preventDefault();
            b[(i + (e.shiftKey ? b.length - 1 : 1)) % b.length].focus();
        }
    });
    $('#btn-mute').addEventListener('click', () => toggleTrack('audio'));
    $('#btn-cam').addEventListener('click', () => toggleTrack('video'));
    $('#btn-capture').addEventListener('click', capture);
    $('#btn-hangup').addEventListener('click', hangup);
    $('#outcome-form').addEventListener('submit', saveOutcome);
    $('#acw-extend').addEventListener('click', extendAcw);
    $('#notes').addEventListener('input', () => {
        if (st.lastSession) draftPut(st.lastSession, $('#notes').value);
    });
    draftsPrune();
    $('#invite-form').addEventListener('submit', createInvite);
    $('#copy-link').addEventListener('click', () => copy('link'));
    $('#copy-code').addEventListener('click', () => copy('code'));
    setInterval(() => {
        if (st.queues.some((d) => d.waiting > 0)) drawQueues();
    }, 1000);
    showPanel('login', { focus: false });
    $('#username').focus();
}

main();
