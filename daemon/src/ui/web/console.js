// scrubd console. Talks to the daemon's JSON API (/admin/api/*; writes: /admin/reload,
// /admin/holds/<id>/release) with the bearer token the user signed in with, kept in
// sessionStorage. Every value that comes from the daemon is untrusted (session data above all):
// it reaches the page only as textContent / form values, or inside rrweb-player's sandboxed
// iframe. No HTML parsing sink and no dynamic code anywhere (assets_test.cc checks the bytes).
'use strict';

(() => {
  const TOKEN_KEY = 'scrubd.console.token';
  const PAGE_SIZE = 50;
  const state = { role: null, offset: 0, total: 0, filters: {}, player: null };
  const $ = (id) => document.getElementById(id);

  // An element with text content and attributes; children are nodes or strings (as text).
  function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function setStatus(id, text, isError = false) {
    const p = $(id);
    p.textContent = text || '';
    p.classList.toggle('error', Boolean(isError));
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  // fetch with the bearer token; resolves {status, body} (body parsed JSON, or null).
  async function api(method, path) {
    const res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    if (res.status === 401 && state.role) signOut('The token was refused; sign in again.');
    return { status: res.status, body };
  }

  // A short, fixed description of a failed call (never the server's echo of our input).
  function failure(r) {
    const code = r.body && typeof r.body.error === 'string' ? r.body.error : '';
    if (r.status === 403) return 'This token\'s role may not see this (403).';
    if (r.status === 404) return 'Not available on this daemon (404).';
    return `Request failed (${r.status}${code ? ` ${code}` : ''}).`;
  }

  const fmtTime = (v) => {
    if (v === undefined || v === null || v === '') return '';
    const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
    return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('.000Z', 'Z');
  };
  const fmtDuration = (ms) => {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
    const s = Math.round(ms / 1000);
    return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
  };
  const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '');

  // ---- sign-in ----------------------------------------------------------------------------

  async function signIn(t) {
    sessionStorage.setItem(TOKEN_KEY, t);
    const r = await api('GET', '/admin/api/whoami');
    if (r.status !== 200 || !r.body || typeof r.body.role !== 'string') {
      sessionStorage.removeItem(TOKEN_KEY);
      const msg = r.status === 401 ? 'Unknown token.' : failure(r);
      $('signin-error').textContent = msg;
      $('signin-error').hidden = false;
      return false;
    }
    state.role = r.body.role;
    $('signin-error').hidden = true;
    $('signin').hidden = true;
    $('who').hidden = false;
    $('who-role').textContent = state.role;
    const readOnly = state.role !== 'admin';
    $('who-readonly').hidden = !readOnly;
    document.body.classList.toggle('read-only', readOnly);
    $('tabs').hidden = false;
    showView('sessions');
    return true;
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.role = null;
    destroyPlayer();
    for (const v of document.querySelectorAll('.view')) v.hidden = true;
    $('tabs').hidden = true;
    $('who').hidden = true;
    $('signin').hidden = false;
    $('signin-token').value = '';
    $('signin-error').textContent = message || '';
    $('signin-error').hidden = !message;
  }

  // ---- views ------------------------------------------------------------------------------

  const loaders = {
    sessions: () => loadSessions(),
    policy: () => loadPolicy(),
    audit: () => loadAudit(),
    subjects: () => loadSubjects(),
  };

  function showView(name) {
    if (name !== 'replay') destroyPlayer();
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${name}`;
    for (const b of document.querySelectorAll('#tabs button'))
      b.classList.toggle('active', b.dataset.view === name);
    if (loaders[name]) loaders[name]();
  }

  // ---- sessions ---------------------------------------------------------------------------

  function readFilters() {
    const f = new FormData($('session-filters'));
    const out = {};
    for (const k of ['token', 'url']) {
      const v = String(f.get(k) || '').trim();
      if (v) out[k] = v;
    }
    // Dates are whole UTC days (YYYY-MM-DD); the API reads `to` as the end of that day.
    for (const k of ['from', 'to']) {
      const v = String(f.get(k) || '');
      if (/^\d{4}-\d{2}-\d{2}$/.test(v)) out[k] = v;
    }
    if (f.get('redacted')) out.redacted = '1';
    return out;
  }

  async function loadSessions() {
    const q = new URLSearchParams({ ...state.filters, limit: String(PAGE_SIZE),
      offset: String(state.offset) });
    setStatus('sessions-status', 'Loading…');
    const r = await api('GET', `/admin/api/sessions?${q}`);
    const tbody = $('sessions-table').tBodies[0];
    tbody.replaceChildren();
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.sessions)) {
      setStatus('sessions-status', failure(r), true);
      return;
    }
    state.total = typeof r.body.total === 'number' ? r.body.total : r.body.sessions.length;
    for (const s of r.body.sessions) tbody.append(sessionRow(s));
    const shown = r.body.sessions.length;
    setStatus('sessions-status', shown ? `${fmtNum(state.total)} session(s)` :
      'No stored session matches.');
    $('sessions-page').textContent = shown ?
      `${state.offset + 1}–${state.offset + shown} of ${fmtNum(state.total)}` : '';
    $('sessions-prev').disabled = state.offset === 0;
    $('sessions-next').disabled = state.offset + shown >= state.total;
  }

  function sessionRow(s) {
    const red = typeof s.redactions === 'number' ? s.redactions : 0;
    const tr = el('tr', { dataset: { sessionId: String(s.session_id ?? '') } },
      el('td', { text: fmtTime(s.first_ts) }),
      el('td', { text: fmtDuration(s.duration_ms) }),
      el('td', { class: 'num', text: fmtNum(s.events) }),
      el('td', { class: red ? 'num redacted' : 'num', text: fmtNum(red) }),
      el('td', { class: 'url', text: String(s.first_url ?? ''), title: String(s.first_url ?? '') }),
      el('td', { class: 'mono', text: String(s.token ?? '') }),
      el('td', { class: 'mono', text: String(s.session_id ?? '') }),
      el('td', {}, el('button', { type: 'button', class: 'replay', text: 'Replay',
        onclick: () => openReplay(s) })));
    return tr;
  }

  // ---- replay -----------------------------------------------------------------------------

  function destroyPlayer() {
    if (state.player) {
      try { state.player.getReplayer().pause(); } catch { /* already gone */ }
      try { state.player.$destroy(); } catch { /* svelte component already destroyed */ }
      state.player = null;
    }
    const target = $('player');
    if (target) target.replaceChildren();
  }

  async function openReplay(s) {
    showView('replay');
    $('replay-title').textContent = String(s.session_id ?? '');
    const rules = $('replay-rules').tBodies[0];
    rules.replaceChildren();
    const byRule = s.redactions_by_rule && typeof s.redactions_by_rule === 'object' ?
      s.redactions_by_rule : {};
    for (const [rule, n] of Object.entries(byRule).sort((a, b) => b[1] - a[1]))
      rules.append(el('tr', {}, el('td', { class: 'mono', text: rule }),
        el('td', { class: 'num', text: fmtNum(n) })));
    if (!rules.rows.length) rules.append(el('tr', {}, el('td', { colspan: 2, text: 'none' })));
    setStatus('replay-status', 'Loading events…');
    const path = `/admin/api/sessions/${encodeURIComponent(String(s.session_id ?? ''))}/events?` +
      new URLSearchParams({ token: String(s.token ?? '') });
    const r = await api('GET', path);
    if (r.status !== 200 || !Array.isArray(r.body)) {
      setStatus('replay-status', failure(r), true);
      return;
    }
    mountPlayer(r.body);
  }

  function mountPlayer(events) {
    destroyPlayer();
    if (events.length < 2) {
      setStatus('replay-status', 'This session has too few events to replay.', true);
      return;
    }
    const Player = window.rrwebPlayer && (window.rrwebPlayer.Player ||
      window.rrwebPlayer.default || window.rrwebPlayer);
    if (typeof Player !== 'function') {
      setStatus('replay-status', 'rrweb-player did not load.', true);
      return;
    }
    // The replayer's iframe is sandboxed (no allow-scripts); recorded <script> never runs.
    state.player = new Player({
      target: $('player'),
      props: { events, autoPlay: false, width: 960, height: 600, showController: true,
        mouseTail: false, UNSAFE_replayCanvas: false },
    });
    window.__scrubdPlayer = state.player;  // for the browser test
    setStatus('replay-status', `${fmtNum(events.length)} events.`);
  }

  // ---- policy -----------------------------------------------------------------------------

  async function loadPolicy() {
    setStatus('policy-status', 'Loading…');
    const r = await api('GET', '/admin/api/policy');
    const tbody = $('policy-table').tBodies[0];
    tbody.replaceChildren();
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.policies)) {
      setStatus('policy-status', failure(r), true);
      return;
    }
    for (const p of r.body.policies) {
      const applies = Array.isArray(p.applies_to) ? p.applies_to.join(', ') :
        String(p.applies_to ?? '');
      tbody.append(el('tr', {}, el('td', { text: String(p.name ?? '') }),
        el('td', { text: String(p.version ?? '') }),
        el('td', { class: 'mono', text: String(p.sha256 ?? '') }),
        el('td', { class: 'mono', text: String(p.file ?? '') }),
        el('td', { text: applies })));
    }
    $('policy-loaded').textContent = fmtTime(r.body.loaded_at);
    setStatus('policy-status', `${r.body.policies.length} polic${r.body.policies.length === 1 ?
      'y' : 'ies'} in force.`);
  }

  async function reloadPolicy() {
    setStatus('policy-status', 'Reloading…');
    const r = await api('POST', '/admin/reload');
    if (r.status !== 200) {
      setStatus('policy-status', failure(r), true);
      return;
    }
    await loadPolicy();
    setStatus('policy-status', 'Reloaded.');
  }

  // ---- audit ------------------------------------------------------------------------------

  function fillDl(dl, obj) {
    dl.replaceChildren();
    if (!obj || typeof obj !== 'object') {
      dl.append(el('dt', { text: 'none' }));
      return;
    }
    for (const [k, v] of Object.entries(obj)) {
      dl.append(el('dt', { text: k }),
        el('dd', { class: 'mono', text: typeof v === 'object' ? JSON.stringify(v) : String(v) }));
    }
  }

  function renderVerify(v) {
    fillDl($('audit-verify'), v);
    $('audit-verify').classList.toggle('bad', Boolean(v && v.ok === false));
    $('audit-verify').classList.toggle('good', Boolean(v && v.ok === true));
  }

  async function loadAudit() {
    setStatus('audit-status', 'Loading…');
    const r = await api('GET', '/admin/api/audit');
    const latest = $('audit-latest');
    latest.replaceChildren();
    if (r.status !== 200 || !r.body) {
      setStatus('audit-status', failure(r), true);
      return;
    }
    fillDl($('audit-checkpoint'), r.body.checkpoint);
    renderVerify(r.body.last_verify);
    const byType = r.body.latest && typeof r.body.latest === 'object' ? r.body.latest : {};
    for (const [type, entries] of Object.entries(byType)) {
      const list = Array.isArray(entries) ? entries : [];
      const pre = el('pre', { class: 'entries' });
      pre.textContent = list.map((e) => JSON.stringify(e)).join('\n');
      latest.append(el('details', {}, el('summary', {},
        el('span', { class: 'mono', text: type }), ` (${list.length})`), pre));
    }
    if (!latest.children.length) latest.append(el('p', { text: 'No entries.' }));
    setStatus('audit-status', '');
  }

  async function verifyNow() {
    setStatus('audit-status', 'Verifying…');
    const r = await api('POST', '/admin/api/audit/verify');
    if (r.status !== 200 || !r.body) {
      setStatus('audit-status', failure(r), true);
      return;
    }
    renderVerify(r.body.last_verify || r.body);
    setStatus('audit-status', 'Verified.');
  }

  // ---- subject requests and holds ---------------------------------------------------------

  async function loadSubjects() {
    setStatus('requests-status', 'Loading…');
    setStatus('holds-status', 'Loading…');
    const [reqs, holds] = await Promise.all([api('GET', '/admin/api/subjects/requests'),
      api('GET', '/admin/api/holds?all=1')]);
    const rt = $('requests-table').tBodies[0];
    rt.replaceChildren();
    const list = reqs.body && Array.isArray(reqs.body.requests) ? reqs.body.requests : null;
    if (reqs.status !== 200 || !list) {
      setStatus('requests-status', failure(reqs), true);
    } else {
      for (const q of list) rt.append(requestRow(q));
      setStatus('requests-status', list.length ? `${list.length} request(s)` : 'No requests.');
    }
    const ht = $('holds-table').tBodies[0];
    ht.replaceChildren();
    const hl = holds.body && Array.isArray(holds.body.holds) ? holds.body.holds : null;
    if (holds.status !== 200 || !hl) {
      setStatus('holds-status', failure(holds), true);
    } else {
      for (const h of hl) ht.append(holdRow(h));
      setStatus('holds-status', hl.length ? `${hl.length} hold(s)` : 'No holds.');
    }
  }

  function requestRow(q) {
    const receipt = q.receipt || q.progress || q.results;
    const cell = el('td');
    if (receipt) {
      const pre = el('pre', { class: 'entries' });
      pre.textContent = JSON.stringify(receipt, null, 1);
      cell.append(el('details', {}, el('summary', { text: 'receipt' }), pre));
    }
    return el('tr', {}, el('td', { class: 'mono', text: String(q.request_id ?? q.id ?? '') }),
      el('td', { text: String(q.type ?? q.request_type ?? '') }),
      el('td', { text: String(q.status ?? q.request_status ?? '') }),
      el('td', { text: fmtTime(q.received_time) }),
      el('td', { text: fmtTime(q.updated_time ?? q.status_time) }), cell);
  }

  function holdRow(h) {
    const target = h.session_id ? `session ${h.session_id}` : String(h.subject ?? '');
    const actions = el('td', { class: 'admin-only' });
    if (h.status === 'active') {
      actions.append(el('button', { type: 'button', text: 'Release',
        onclick: () => releaseHold(String(h.hold_id ?? '')) }));
    }
    return el('tr', {}, el('td', { class: 'mono', text: String(h.hold_id ?? '') }),
      el('td', { text: String(h.kind ?? '') }), el('td', { text: String(h.status ?? '') }),
      el('td', { text: fmtTime(h.created_time) }), el('td', { text: String(h.reason ?? '') }),
      el('td', { class: 'mono', text: target }), actions);
  }

  async function releaseHold(id) {
    if (!/^hold_[0-9a-f]{16}$/.test(id)) return;
    const r = await api('POST', `/admin/holds/${id}/release`);
    if (r.status !== 200) setStatus('holds-status', failure(r), true);
    else await loadSubjects();
  }

  // ---- wiring -----------------------------------------------------------------------------

  function wire() {
    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('signin-token').value.trim();
      $('signin-token').value = '';
      if (t) signIn(t);
    });
    $('sign-out').addEventListener('click', () => signOut(''));
    for (const b of document.querySelectorAll('#tabs button'))
      b.addEventListener('click', () => showView(b.dataset.view));
    $('session-filters').addEventListener('submit', (e) => {
      e.preventDefault();
      state.filters = readFilters();
      state.offset = 0;
      loadSessions();
    });
    $('session-filters').addEventListener('reset', () => {
      state.filters = {};
      state.offset = 0;
      setTimeout(loadSessions, 0);
    });
    $('sessions-prev').addEventListener('click', () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      loadSessions();
    });
    $('sessions-next').addEventListener('click', () => {
      state.offset += PAGE_SIZE;
      loadSessions();
    });
    $('replay-back').addEventListener('click', () => showView('sessions'));
    $('policy-reload').addEventListener('click', reloadPolicy);
    $('audit-verify-now').addEventListener('click', verifyNow);
  }

  wire();
  const saved = token();
  if (saved) signIn(saved);
})();
