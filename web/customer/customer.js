// customer.js: the customer's page (/join and /i/<code>).
// Steps: browser check → camera and mic → (id_check: recording consent) → queue (hold audio
// through the relay) → call → rating → thanks. The session token lives in sessionStorage, so a
// reload or a dropped connection resumes (customer.resume) and renegotiates media.

import { initI18n, t, onLangChange, apply } from '/shared/i18n.js';
import { Signaling } from '/shared/signaling.js';
import { RelayLink, browserSupport, getCamera, gumErrorKind, levelMeter, listCameras, playWithFallback,
    stopStream, videoConstraints } from '/shared/media.js';
import { $, $$, h, announce, showPanel, setText, fmtWait, fmtClock, fmtDuration, LOGO_SVG } from '/shared/ui.js';
import { icon, renderIcons, setIcon } from '/shared/icons.js';

const STORE = 'tc.customer';
const st = {
    mode: 'join', // or 'invite'
    code: null,
    desk: 'broadband',
    stream: null,
    camera: 'facing:user',
    meter: null,
    sig: null,
    link: null,
    token: null,
    sessionId: null,
    answered: false,
    agentName: '',
    joinedAt: null,
    position: null,
    waitS: null,
    ended: false,
    consent: false,
    qualityTimer: null,
    waitedTimer: null,
    lastQuality: null,
    cameras: [],
    peer: 'connected', // the agent's connection: 'connected' or 'reconnecting' (peer.state)
    peerUntil: null, // while 'reconnecting': when the resume window ends (ms since epoch)
    peerTimer: null,
    video: true, // false: the call is audio-only (call.media, or video: false in offer.ok)
};
window.__tc = { get pc() { return st.link ? st.link.pc : null; }, st };

// ---- storage -------------------------------------------------------------------------------
function save() {
    try {
        sessionStorage.setItem(STORE, JSON.stringify({ token: st.token, sessionId: st.sessionId, desk: st.desk,
            answered: st.answered, camera: st.camera, joinedAt: st.joinedAt, consent: st.consent, agentName: st.agentName,
            video: st.video }));
    } catch {
        /* storage blocked: resume will not survive a reload */
    }
}
function loadSaved() {
    try {
        return JSON.parse(sessionStorage.getItem(STORE) || 'null');
    } catch {
        return null;
    }
}
function forget() {
    try {
        sessionStorage.removeItem(STORE);
    } catch {
        /* nothing */
    }
}

// ---- stepper ---------------------------------------------------------------------------------
const ORDER = ['browser', 'devices', 'consent', 'waiting', 'call', 'feedback'];
function step(name) {
    st.step = name;
    const idx = ORDER.indexOf(name);
    for (const li of $$('#stepper li')) {
        const i = ORDER.indexOf(li.dataset.step);
        li.classList.toggle('done', i < idx);
        if (i === idx) li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
    }
    // Small screens show the numbers only, and this line for the current step.
    const shown = $$('#stepper li').filter((li) => !li.hidden);
    const cur = shown.findIndex((li) => li.dataset.step === name);
    if (cur >= 0) setText($('#step-caption'), 'step.caption', { n: cur + 1, total: shown.length, name: t(`step.${name}`) });
}
function go(panel, stepName) {
    if (stepName) step(stepName);
    showPanel(panel);
}

// ---- 1. browser check ---------------------------------------------------------------------------
function browserCheck() {
    const s = browserSupport();
    const box = $('#browser-result');
    box.replaceChildren();
    if (s.ok) {
        box.append(notice('ok', 'checkCircle', 'browser.ok_title', s.inApp ? 'browser.inapp_soft' : 'browser.ok_text'));
    } else {
        const key = s.inApp ? 'browser.inapp' : !s.secure ? 'browser.insecure' : 'browser.unsupported';
        box.append(notice('error', 'error', 'browser.bad_title', key));
        $('#to-devices').disabled = true;
    }
    return s.ok;
}

function notice(kind, ic, titleKey, textKey, vars) {
    const strong = h('strong');
    setText(strong, titleKey);
    const p = h('p');
    setText(p, textKey, vars);
    const div = h('div', { class: `notice ${kind}` });
    div.innerHTML = icon(ic);
    div.append(h('div', {}, strong, p));
    return div;
}

// ---- 2. camera and microphone ----------------------------------------------------------------------
async function startPreview() {
    $('#gum-error').replaceChildren();
    $('#devices-ok').disabled = true;
    $('#devices-retry').hidden = true;
    if (st.meter) st.meter.stop();
    stopStream(st.stream);
    setStream(null);
    try {
        setStream(await getCamera(st.camera));
    } catch (e) {
        if (gumErrorKind(e) === 'OverconstrainedError' && st.camera !== 'facing:user') {
            // The chosen camera is gone: fall back to any camera.
            st.camera = 'facing:user';
            return startPreview();
        }
        showGumError(e);
        return false;
    }
    const v = $('#preview');
    v.srcObject = st.stream;
    v.classList.toggle('mirror', st.camera !== 'facing:environment');
    v.play().catch(() => {});
    const bar = $('#mic-meter span');
    const meterEl = $('#mic-meter');
    st.meter = levelMeter(st.stream, (lvl) => {
        const pct = Math.round(lvl * 100);
        bar.style.width = `${pct}%`;
        meterEl.setAttribute('aria-valuenow', String(pct));
    });
    await fillCameras();
    $('#devices-ok').disabled = false;
    announce(t('devices.ready'));
    return true;
}

function showGumError(e) {
    const kind = gumErrorKind(e);
    const box = $('#gum-error');
    box.replaceChildren(notice('error', 'warn', `gum.${kind}.title`, `gum.${kind}.text`));
    box.dataset.kind = kind;
    $('#devices-retry').hidden = false;
}

async function fillCameras() {
    const sel = $('#camera-select');
    const cams = await listCameras();
    st.cameras = cams;
    const opts = [
        h('option', { value: 'facing:user', 'data-i18n': 'devices.front' }, t('devices.front')),
        h('option', { value: 'facing:environment', 'data-i18n': 'devices.rear' }, t('devices.rear')),
    ];
    cams.forEach((c, i) => {
        if (c.deviceId) opts.push(h('option', { value: `device:${c.deviceId}` }, c.label || t('devices.camera_n', { n: i + 1 })));
    });
    sel.replaceChildren(...opts);
    sel.value = st.camera;
    if (sel.value !== st.camera) sel.value = 'facing:user';
}

// ---- 3./4. join and wait --------------------------------------------------------------------------------
function deskName(desk) {
    return t(`desk.${desk}`);
}

async function ensureSignaling() {
    if (st.sig) return st.sig;
    const sig = new Signaling();
    st.sig = sig;
    sig.on('queue.update', (m) => updateQueue(m));
    sig.on('session.answered', (m) => {
        st.peer = 'connected';
        onAnswered(m.agent && m.agent.name);
    });
    sig.on('session.ended', (m) => onEnded(m.reason));
    sig.on('media.state', (m) => onMediaState(m.state));
    sig.on('peer.state', (m) => {
        if (m.peer === 'agent' && (!st.sessionId || m.session_id === st.sessionId)) setPeer(m.state, m.until);
    });
    sig.on('call.media', (m) => {
        if (!st.sessionId || m.session_id === st.sessionId) setVideo(m.video !== false);
    });
    sig.on('session.replaced', () => {
        sig.close();
        cleanupMedia();
        problem('problem.replaced', null, false);
    });
    sig.on('close', () => {
        if (!st.ended && st.token) setReconnecting(true);
    });
    sig.on('reconnected', () => resume(true));
    window.addEventListener('online', () => sig.retryNow());
    await sig.connect();
    return sig;
}

// An invitation code is checked first, before the camera step (customer.redeem): a wrong or
// used code, or a throttled network, is said at once and the camera is never opened for it.
async function checkCode() {
    $('#to-devices').disabled = true;
    $('#code-use').disabled = true;
    try {
        await ensureSignaling();
        const reply = await st.sig.request('customer.redeem', { code: st.code });
        admitted(reply);
        st.redeemed = reply;
        return true;
    } catch (e) {
        joinFailed(e);
        return false;
    } finally {
        $('#to-devices').disabled = false;
        $('#code-use').disabled = false;
    }
}

function admitted(reply) {
    st.token = reply.token;
    st.sessionId = reply.session_id;
    st.desk = reply.desk;
    st.joinedAt = Date.now();
    st.answered = false;
    st.ended = false;
    save();
}

function joinFailed(e) {
    $('#devices-ok').disabled = false;
    $('#consent-ok').disabled = !$('#consent-box').checked;
    if (e.code === 'invalid_code') return problem('problem.invalid_code', null, true, { codeField: true });
    if (e.code === 'throttled') {
        const wait = fmtDuration(Math.max(1, (e.reply && e.reply.retry_after_s) || 60));
        return problem(st.mode === 'invite' ? 'problem.throttled' : 'problem.throttled_join', { t: wait }, true);
    }
    if (e.code === 'unknown_desk') return problem('problem.unknown_desk', null, true);
    if (e.code === 'disconnected' || e.code === 'timeout') return problem('problem.offline', null, false);
    return problem('problem.generic', { code: e.code }, false);
}

async function join() {
    $('#devices-ok').disabled = true;
    $('#consent-ok').disabled = true;
    // An invitation: redeemed before the camera step (and kept while the consent step goes back
    // to the camera: the code is used once).
    let reply = st.redeemed || (st.token && st.pendingQueue) || null;
    st.redeemed = null;
    if (!reply) {
        try {
            await ensureSignaling();
            reply = st.mode === 'invite'
                ? await st.sig.request('customer.redeem', { code: st.code })
                : await st.sig.request('customer.join', { desk: st.desk });
        } catch (e) {
            return joinFailed(e);
        }
        admitted(reply);
    }
    if (st.desk === 'id_check' && !st.consent) {
        // An invite for an ID check: the notice comes after the code told us the desk.
        st.pendingQueue = reply;
        $('[data-step="consent"]').hidden = false;
        go('consent', 'consent');
        return;
    }
    enterWaiting(reply);
    await startMedia();
}

// q: a customer.join/redeem/resume reply or a queue.update ({position, wait_s, agents, hours}).
function enterWaiting(q) {
    if (st.meter) {
        st.meter.stop();
        st.meter = null;
    }
    setText($('#waiting-desk'), 'waiting.desk', { desk: deskName(st.desk) });
    go('waiting', 'waiting');
    updateQueue(q, true);
    clearInterval(st.waitedTimer);
    const tick = () => {
        $('#waited').textContent = fmtClock((Date.now() - (st.joinedAt || Date.now())) / 1000);
    };
    tick();
    st.waitedTimer = setInterval(tick, 1000);
}

// No agent can take the call soon (agents 0, wait_s -1): said plainly, with the desk's opening
// hours when the server sends them; never "you are next, less than a minute".
function updateQueue(q, initial = false) {
    const position = q.position;
    const waitS = q.wait_s;
    const noAgent = q.agents === 0 || (typeof waitS === 'number' && waitS < 0);
    const changed = position !== st.position || noAgent !== !!(st.queue && st.queue.noAgent);
    st.position = position;
    st.waitS = waitS;
    if (typeof q.hours === 'string') st.hours = q.hours;
    st.queue = { position, wait_s: waitS, agents: q.agents, noAgent };
    const pos = $('#position');
    pos.textContent = position ?? '–';
    pos.classList.toggle('next', position === 1 && !noAgent);
    const key = position === 1 && !noAgent ? 'waiting.position_next' : 'waiting.position';
    setText($('#position-text'), key, { n: position });
    if (noAgent) setText($('#wait-est'), 'waiting.no_estimate');
    else setText($('#wait-est'), waitS < 60 ? 'fmt.wait_under_minute' : 'fmt.wait_minutes', { n: Math.round(waitS / 60) });
    $('#no-agent').hidden = !noAgent;
    const hours = $('#desk-hours');
    hours.hidden = !noAgent || !st.hours;
    if (st.hours) setText(hours, 'waiting.hours', { hours: st.hours });
    if (changed && !initial && !$('[data-panel="waiting"]').hidden) {
        announce(noAgent ? t('waiting.no_agent_title') : t(key, { n: position }));
    }
}

async function startMedia() {
    if (st.link) st.link.close();
    st.link = null;
    // Only the latest call connects: two at once (answered during a resume) made two peer
    // connections, whose offers took the call's media leg from each other.
    const gen = (st.mediaGen = (st.mediaGen || 0) + 1);
    if (!st.stream) {
        let stream = null;
        let failure = null;
        try {
            stream = await getCamera(st.camera);
        } catch (e) {
            failure = e;
        }
        if (gen !== st.mediaGen) {
            if (stream) stream.getTracks().forEach((t) => t.stop()); // the later call has its own
            return;
        }
        setStream(stream);
        // Without a camera we still connect (hear hold audio, see the agent).
        if (failure) setText($('#wait-media'), `gum.${gumErrorKind(failure)}.title`);
    }
    const link = new RelayLink(st.sig, {
        onTrack: (stream) => attachRemote(stream),
        onState: (s) => onPcState(s),
        onAnswer: (ok) => {
            // This connection's video refused; whether the call has video is call.media's say.
            if (ok.video === false) setVideo(false);
        },
    });
    st.link = link;
    link.create(st.stream);
    try {
        await link.offer();
    } catch (e) {
        if (link === st.link) setText($('#wait-media'), 'media.offer_failed', { code: e.code || e.name });
    }
}

function attachRemote(stream) {
    const v = $('#remote');
    if (v.srcObject !== stream) v.srcObject = stream;
    const fallback = st.answered ? $('#tap-play') : $('#hold-play');
    playWithFallback(v, fallback);
}

function onPcState(s) {
    if (s === 'connected') {
        setReconnecting(false);
        if (!st.answered) setText($('#wait-media'), 'waiting.media_connected');
    } else if (s === 'disconnected' || s === 'failed') {
        if (st.answered && !st.ended) setReconnecting(true);
    } else if (s === 'connecting' && !st.answered) {
        setText($('#wait-media'), 'waiting.media_connecting');
    }
}

function onMediaState(s) {
    if (st.ended) return;
    if (s === 'reconnecting') setReconnecting(true);
    else if (s === 'connected' && st.sig && st.sig.connected) setReconnecting(false);
}

function setReconnecting(on) {
    const b = $('#reconnecting');
    if (b.hidden === !on) return;
    b.hidden = !on;
    if (!st.answered) setText($('#wait-media'), on ? 'call.reconnecting' : 'waiting.media_connected');
    if (on) announce(t('call.reconnecting'), { assertive: true });
    else announce(t('call.reconnected'));
}

// After a dropped connection (reconnected) or a reload (fromReload): customer.resume + a new offer.
async function resume(reconnected) {
    if (!st.token || st.ended) return;
    let r;
    try {
        r = await st.sig.request('customer.resume', { token: st.token });
    } catch (e) {
        if (e.code === 'session_ended') return onEnded((e.reply && e.reply.reason) || 'completed');
        if (e.code === 'not_found') {
            forget();
            return problem('problem.session_gone', null, true);
        }
        return; // disconnected again: the next reconnect tries again
    }
    st.sessionId = r.session_id;
    st.desk = r.desk;
    if (r.state === 'answered') {
        st.agentName = (r.agent && r.agent.name) || st.agentName;
        if (!reconnected || $('[data-panel="call"]').hidden) onAnswered(st.agentName);
        setPeer(r.peer || 'connected', r.peer_until);
    } else if (!reconnected || !st.answered) {
        enterWaiting(r);
    }
    if (reconnected && st.link && st.link.pc) {
        await st.link.offer({ iceRestart: true }).catch(() => startMedia());
    } else {
        await startMedia();
    }
    setReconnecting(false);
}

async function leave() {
    $('#leave').disabled = true;
    try {
        await st.sig.request('customer.leave');
    } catch {
        /* gone anyway: the server ends it after the resume window */
    }
    st.ended = true;
    cleanupMedia();
    forget();
    st.sig.close();
    setText($('#h-thanks'), 'left.heading');
    setText($('#thanks-text'), 'left.text');
    go('thanks', 'feedback');
}

// ---- 5. call ----------------------------------------------------------------------------------------
function onAnswered(name) {
    if (!st.link && !st.ended) startMedia(); // answered before the page got past the camera step
    if (st.meter) {
        st.meter.stop();
        st.meter = null;
    }
    st.answered = true;
    st.agentName = name || st.agentName || '';
    save();
    clearInterval(st.waitedTimer);
    $('#agent-name').textContent = st.agentName || t('call.agent');
    setText($('#call-status'), 'call.with', { name: st.agentName || t('call.agent') });
    go('call', 'call');
    announce(t('call.answered', { name: st.agentName || t('call.agent') }), { assertive: true });
    $('#hold-play').hidden = true;
    const v = $('#remote');
    if (v.srcObject) playWithFallback(v, $('#tap-play'));
    renderCall();
    startQuality();
}

// ---- the call's view, derived from the call state and the media whenever either changes ----------
// (After a reload the call is answered before the camera is open: the buttons follow the
// camera when it arrives, not only the answer.)
function setStream(stream) {
    st.stream = stream;
    const self = $('#self');
    if (self.srcObject !== stream) self.srcObject = stream;
    renderCall();
}

function renderCall() {
    updateButtons();
    renderPeer();
    $('#video-note').hidden = st.video !== false;
}

function inCall() {
    return st.answered && !st.ended;
}

// The agent's connection (peer.state, or `peer` in the customer.resume reply).
function setPeer(state, until) {
    const was = st.peer;
    st.peer = state === 'reconnecting' ? 'reconnecting' : 'connected';
    st.peerUntil = st.peer === 'reconnecting' && until ? Number(until) : null;
    renderPeer();
    if (was !== st.peer && inCall()) {
        announce(t(st.peer === 'reconnecting' ? 'call.agent_reconnecting' : 'call.agent_back'), { assertive: st.peer === 'reconnecting' });
    }
}

function renderPeer() {
    const away = inCall() && st.peer === 'reconnecting';
    const box = $('#peer-state');
    const wasAway = !box.hidden;
    box.hidden = !away;
    // No quality label while the agent is away: their picture is frozen, whatever our link says.
    $('#quality').hidden = away;
    if (away && !wasAway) showQuality({ level: 'unknown' });
    clearInterval(st.peerTimer);
    const left = $('#peer-state-left');
    if (!away || !st.peerUntil) {
        left.hidden = true;
        return;
    }
    const tick = () => setText(left, 'call.peer_left', { t: fmtClock(Math.max(0, (st.peerUntil - Date.now()) / 1000)) });
    left.hidden = false;
    tick();
    st.peerTimer = setInterval(tick, 1000);
}

// Audio-only calls (no video format in common): said plainly, and no stalled-picture label.
function setVideo(on) {
    const was = st.video;
    st.video = on;
    save();
    renderCall();
    if (was !== on && !on) announce(t('call.audio_only'));
}

function startQuality() {
    clearInterval(st.qualityTimer);
    st.qualityTimer = setInterval(async () => {
        if (!st.link) return;
        const q = await st.link.quality({ expectVideo: st.video !== false }).catch(() => null);
        if (!q || st.peer === 'reconnecting') return;
        showQuality(q);
    }, 2000);
}

function showQuality(q) {
    const el = $('#quality');
    el.classList.remove('q-good', 'q-fair', 'q-poor', 'q-unknown', 'q-stalled');
    el.classList.add(`q-${q.level}`);
    setText($('#quality-text'), `quality.${q.level}`);
    el.title = t('quality.detail', { rtt: q.rttMs ?? '—', loss: q.lossPct ?? '—' });
    if (st.lastQuality && st.lastQuality !== q.level && q.level !== 'unknown') announce(t(`quality.${q.level}`));
    st.lastQuality = q.level;
}

function updateButtons() {
    const a = st.stream && st.stream.getAudioTracks()[0];
    const v = st.stream && st.stream.getVideoTracks()[0];
    const muted = a ? !a.enabled : true;
    const camOff = v ? !v.enabled : true;
    const live = inCall();
    const bm = $('#btn-mute');
    bm.setAttribute('aria-pressed', String(muted));
    setIcon(bm.querySelector('[data-icon]'), muted ? 'micOff' : 'mic');
    setText(bm.querySelector('[data-i18n]'), muted ? 'call.unmute' : 'call.mute');
    bm.disabled = !live || !a;
    const bc = $('#btn-cam');
    bc.setAttribute('aria-pressed', String(camOff));
    setIcon(bc.querySelector('[data-icon]'), camOff ? 'camOff' : 'cam');
    setText(bc.querySelector('[data-i18n]'), camOff ? 'call.camera_on' : 'call.camera_off');
    bc.disabled = !live || !v;
    $('#btn-switch').disabled = !live || !v;
}

function toggleTrack(kind) {
    const tr = st.stream && (kind === 'audio' ? st.stream.getAudioTracks()[0] : st.stream.getVideoTracks()[0]);
    if (!tr) return;
    tr.enabled = !tr.enabled;
    updateButtons();
    announce(t(kind === 'audio' ? (tr.enabled ? 'call.mic_on' : 'call.mic_off') : (tr.enabled ? 'call.cam_on' : 'call.cam_off')));
}

async function switchCamera() {
    const old = st.stream && st.stream.getVideoTracks()[0];
    if (!old) return;
    const choices = ['facing:user', 'facing:environment'];
    const next = st.camera === 'facing:environment' ? 'facing:user'
        : st.camera === 'facing:user' ? 'facing:environment'
            : choices[0];
    let track;
    const open = async () => (await navigator.mediaDevices.getUserMedia({ video: videoConstraints(next) })).getVideoTracks()[0];
    try {
        track = await open();
    } catch {
        old.stop(); // phones often allow one camera at a time
        try {
            track = await open();
        } catch (e) {
            announce(t(`gum.${gumErrorKind(e)}.title`), { assertive: true });
            return;
        }
    }
    track.enabled = old.enabled;
    await st.link.replaceVideoTrack(track);
    st.stream.removeTrack(old);
    old.stop();
    st.stream.addTrack(track);
    st.camera = next;
    save();
    const self = $('#self');
    self.srcObject = st.stream;
    self.classList.toggle('mirror', next !== 'facing:environment');
    renderCall();
    announce(t(next === 'facing:environment' ? 'call.using_rear' : 'call.using_front'));
}

async function hangup() {
    $('#btn-hangup').disabled = true;
    try {
        await st.sig.request('hangup');
    } catch {
        onEnded('completed');
    }
}

// ---- 6. end and rating ------------------------------------------------------------------------------
function cleanupMedia() {
    clearInterval(st.qualityTimer);
    clearInterval(st.waitedTimer);
    if (st.link) st.link.close();
    st.link = null;
    if (st.meter) st.meter.stop();
    st.meter = null;
    stopStream(st.stream);
    setStream(null);
    for (const v of ['#remote', '#self', '#preview']) $(v).srcObject = null;
}

function onEnded(reason) {
    if (st.ended && !$('[data-panel="rate"]').hidden) return;
    st.ended = true;
    cleanupMedia();
    setReconnecting(false);
    $('#reconnecting').hidden = true;
    renderCall();
    if (st.answered) {
        setText($('#ended-reason'), `ended.${reason}`);
        go('rate', 'feedback');
        announce(t('rate.heading'));
    } else {
        forget();
        if (st.sig) st.sig.close();
        const key = `ended_unanswered.${reason}`;
        problem(key, null, true);
    }
}

function buildStars() {
    const fs = $('#stars');
    for (let i = 1; i <= 5; i++) {
        const lab = h('label', { class: 'star' });
        const inp = h('input', { type: 'radio', name: 'rating', value: String(i) });
        const span = h('span');
        span.innerHTML = icon('star', { size: 22 });
        // The box shows the digit; its name ("5 excellent") is read out, and the words for the
        // ends of the scale sit under the row, so nothing spills out of a box at 360 px.
        const num = h('span', { class: 'star-num', 'aria-hidden': 'true' }, String(i));
        const name = h('span', { class: 'sr-only' });
        setText(name, `rate.n${i}`);
        span.append(num, name);
        lab.append(inp, span);
        fs.append(lab);
        inp.addEventListener('change', () => {
            for (const l of $$('.star', fs)) l.classList.toggle('lit', Number(l.querySelector('input').value) <= i);
        });
    }
    const poor = h('span', { 'data-i18n': 'rate.poor' }, t('rate.poor'));
    const excellent = h('span', { 'data-i18n': 'rate.excellent' }, t('rate.excellent'));
    fs.append(h('div', { class: 'stars-scale', id: 'stars-scale', 'aria-hidden': 'true' }, poor, excellent));
}

async function rate(e) {
    e.preventDefault();
    const chosen = $('input[name="rating"]:checked');
    const err = $('#rate-error');
    err.replaceChildren();
    if (!chosen) {
        err.append(notice('warn', 'warn', 'rate.need_title', 'rate.need'));
        $('input[name="rating"]').focus();
        return;
    }
    $('#rate-submit').disabled = true;
    try {
        if (!st.sig.connected) await st.sig.connect();
        await st.sig.request('customer.rate', { rating: Number(chosen.value), comment: $('#comment').value.trim().slice(0, 1000), token: st.token });
    } catch (ex) {
        if (ex.code !== 'already_rated') {
            $('#rate-submit').disabled = false;
            err.append(notice('error', 'error', 'rate.failed_title', 'rate.failed'));
            return;
        }
    }
    finish();
}

function finish() {
    forget();
    if (st.sig) st.sig.close();
    setText($('#h-thanks'), 'thanks.heading');
    setText($('#thanks-text'), 'thanks.text');
    go('thanks', 'feedback');
    for (const li of $$('#stepper li')) li.classList.add('done');
}

// Every error page releases the camera and microphone (all tracks stopped); an invalid code
// gets the code field to try another one.
function problem(key, vars, toJoin, { codeField = false } = {}) {
    cleanupMedia();
    setText($('#problem-text'), key, vars);
    $('#problem-action').hidden = !toJoin;
    const form = $('#code-form');
    if (codeField) {
        $('#problem-code-slot').append(form);
        form.hidden = false;
        $('#code-input').value = st.code || '';
        $('#code-error').replaceChildren();
    } else if (form.parentElement.id === 'problem-code-slot') {
        form.hidden = true;
    }
    showPanel('problem');
}

// The code field (on /join, and on the invalid-code page): the page turns into the invitation's
// page and checks the code at once.
async function useCode(e) {
    e.preventDefault();
    let code = $('#code-input').value.replace(/\s+/g, '').toUpperCase();
    if (/^[A-Z0-9]{12}$/.test(code)) code = code.match(/.{4}/g).join('-'); // as the link shows it
    const err = $('#code-error');
    err.replaceChildren();
    if (!/^[A-Z0-9-]{12,16}$/.test(code)) {
        err.append(notice('warn', 'warn', 'code.bad_title', 'code.bad'));
        $('#code-input').focus();
        return;
    }
    st.mode = 'invite';
    st.code = code;
    st.consent = false;
    $('[data-step="consent"]').hidden = true;
    if (await checkCode()) {
        history.replaceState(null, '', `/i/${encodeURIComponent(code)}`);
        go('devices', 'devices');
        await startPreview();
    }
}

// ---- start-up -----------------------------------------------------------------------------------------
async function main() {
    await initI18n();
    renderIcons();
    for (const el of $$('[data-logo]')) el.innerHTML = LOGO_SVG;
    onLangChange(() => {
        renderIcons();
        if (st.step) step(st.step);
        if (st.queue && !$('[data-panel="waiting"]').hidden) {
            setText($('#waiting-desk'), 'waiting.desk', { desk: deskName(st.desk) }); // its vars hold the old language
            updateQueue(st.queue, true);
        }
    });
    buildStars();
    apply();

    const m = /^\/i\/([^/?#]+)/.exec(location.pathname);
    if (m) {
        st.mode = 'invite';
        st.code = decodeURIComponent(m[1]).toUpperCase();
        $('#desk-choice').hidden = true;
        $('#urgent-hint').hidden = true;
        $('#code-form').hidden = true;
        $('#invite-intro').hidden = false;
        $('#invite-code-shown').textContent = st.code;
    } else {
        // /join?desk=X (also /join#X, which survives the server's /join → /join/ redirect).
        const want = new URLSearchParams(location.search).get('desk') || location.hash.replace(/^#(desk=)?/, '');
        const radio = want && $(`input[name="desk"][value="${CSS.escape(want)}"]`);
        if (radio) radio.checked = true;
        // The urgent desk is served by invitation only: said plainly, with the code field.
        $('#urgent-needs-invite').hidden = want !== 'urgent_sim';
    }
    const syncDesk = () => {
        st.desk = $('input[name="desk"]:checked').value;
        $('[data-step="consent"]').hidden = st.mode !== 'join' || st.desk !== 'id_check';
        if (st.step) step(st.step);
    };
    for (const r of $$('input[name="desk"]')) r.addEventListener('change', syncDesk);
    if (st.mode === 'join') syncDesk();

    $('#to-devices').addEventListener('click', async () => {
        if (st.mode === 'invite' && !st.token && !(await checkCode())) return;
        go('devices', 'devices');
        await startPreview();
    });
    $('#code-form').addEventListener('submit', useCode);
    $('#devices-retry').addEventListener('click', () => startPreview());
    $('#camera-select').addEventListener('change', (e) => {
        st.camera = e.target.value;
        startPreview();
    });
    $('#devices-ok').addEventListener('click', () => {
        if (st.mode === 'join' && st.desk === 'id_check' && !st.consent) go('consent', 'consent');
        else join();
    });
    $('#consent-box').addEventListener('change', (e) => {
        $('#consent-ok').disabled = !e.target.checked;
    });
    $('#consent-ok').addEventListener('click', async () => {
        st.consent = true;
        save();
        if (st.pendingQueue) {
            const r = st.pendingQueue;
            st.pendingQueue = null;
            enterWaiting(r);
            await startMedia();
        } else {
            join();
        }
    });
    $('#consent-back').addEventListener('click', () => go('devices', 'devices'));
    $('#leave').addEventListener('click', leave);
    $('#btn-mute').addEventListener('click', () => toggleTrack('audio'));
    $('#btn-cam').addEventListener('click', () => toggleTrack('video'));
    $('#btn-switch').addEventListener('click', switchCamera);
    $('#btn-hangup').addEventListener('click', hangup);
    $('#rate-form').addEventListener('submit', rate);
    $('#rate-skip').addEventListener('click', finish);

    // Every control is wired from here on (tests wait for this before clicking).
    document.documentElement.dataset.ready = 'true';
    const saved = loadSaved();
    if (saved && saved.token) {
        // A reload during the queue or the call: pick up where we were.
        Object.assign(st, { token: saved.token, sessionId: saved.sessionId, desk: saved.desk, answered: !!saved.answered,
            camera: saved.camera || 'facing:user', joinedAt: saved.joinedAt, consent: !!saved.consent, agentName: saved.agentName || '',
            video: saved.video !== false });
        if (st.desk === 'id_check') $('[data-step="consent"]').hidden = false;
        step(st.answered ? 'call' : 'waiting');
        try {
            await ensureSignaling();
        } catch {
            setReconnecting(true);
            return; // 'reconnected' resumes
        }
        await resume(false);
        return;
    }
    step('browser');
    showPanel('start', { focus: false });
    if (browserCheck()) step('browser');
}

main();
