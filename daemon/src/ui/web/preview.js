// The preview report's replays (scrubd policy preview, docs/preview.md): the two event streams
// of the chosen recording in two rrweb-players, kept at the same moment of the recording.
// Runs offline from the report file; reads only the JSON data block, writes only the DOM.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($('scrubd-preview-data').textContent);
  const Player = window.rrwebPlayer && (window.rrwebPlayer.Player ||
    window.rrwebPlayer.default || window.rrwebPlayer);
  const state = { players: {}, syncing: false, session: -1 };
  // For the browser test: which recording is shown and its two players.
  window.__scrubdPreview = state;

  function status(text) {
    $('replay-status').textContent = text;
  }

  function startTime(p) {
    try {
      return p.getReplayer().getMetaData().startTime;
    } catch (e) {
      return 0;
    }
  }

  // The same wall-clock moment of the recording in the other player.
  function follow(from, to, offset) {
    const other = state.players[to];
    if (!other || state.syncing) return;
    const target = startTime(state.players[from]) + offset - startTime(other);
    let current = 0;
    try {
      current = other.getReplayer().getCurrentTime();
    } catch (e) {
      current = 0;
    }
    if (Math.abs(current - target) < 400) return;
    state.syncing = true;
    try {
      other.goto(Math.max(0, target), state.playing === true);
    } finally {
      state.syncing = false;
    }
  }

  function mount(side, events) {
    const target = $(`player-${side}`);
    target.replaceChildren();
    if (!Array.isArray(events) || events.length < 2) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = 'Nothing stored to replay on this side.';
      target.append(p);
      return null;
    }
    // The replayer's iframe is sandboxed (no allow-scripts): recorded script never runs.
    const p = new Player({
      target,
      props: { events, autoPlay: false, width: 560, height: 360, showController: true,
        mouseTail: false, UNSAFE_replayCanvas: false },
    });
    const other = side === 'before' ? 'after' : 'before';
    p.addEventListener('ui-update-current-time', (e) => {
      if (side === 'before' || !state.players.before) follow(side, other, e.payload);
    });
    p.addEventListener('ui-update-player-state', (e) => {
      if (state.syncing) return;
      state.playing = e.payload === 'playing';
      const o = state.players[other];
      if (!o) return;
      state.syncing = true;
      try {
        if (state.playing) o.play(); else o.pause();
      } finally {
        state.syncing = false;
      }
    });
    return p;
  }

  function show(index) {
    for (const side of ['before', 'after']) {
      const p = state.players[side];
      if (p && typeof p.$destroy === 'function') p.$destroy();
      state.players[side] = null;
    }
    const s = data.sessions[index];
    state.session = index;
    state.playing = false;
    if (!s) {
      status('No recording was stored on either side.');
      return;
    }
    if (typeof Player !== 'function') {
      status('rrweb-player did not load.');
      return;
    }
    state.players.before = mount('before', s.before);
    state.players.after = mount('after', s.after);
    status(`${s.before.length} events before, ${s.after.length} after.`);
  }

  function each(fn) {
    for (const side of ['before', 'after']) if (state.players[side]) fn(state.players[side]);
  }

  const select = $('session-select');
  data.sessions.forEach((s, i) => {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = s.label;
    select.append(o);
  });
  select.addEventListener('change', () => show(Number(select.value)));
  // Restarts both at the recording's first moment: the "after" stream may start later (a
  // dropped first event), so it starts at the same wall-clock time, not at its own 0.
  $('play-both').addEventListener('click', () => {
    state.syncing = true;
    try {
      const { before, after } = state.players;
      if (before) before.goto(0, false);
      if (after) after.goto(before ? Math.max(0, startTime(before) - startTime(after)) : 0, false);
      each((p) => p.play());
      state.playing = true;
    } finally {
      state.syncing = false;
    }
  });
  $('pause-both').addEventListener('click', () => {
    state.syncing = true;
    try {
      each((p) => p.pause());
      state.playing = false;
    } finally {
      state.syncing = false;
    }
  });
  show(0);
})();
