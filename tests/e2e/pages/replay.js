// Loads the exported events into rrweb-player and seeks to the end, so the replay iframe holds
// the final DOM. Sets window.__replay = {ok, totalTime, error}.
/* global rrwebPlayer */
(async () => {
  try {
    const events = await (await fetch('/replay-events.json')).json();
    const Player = rrwebPlayer.Player || rrwebPlayer.default || rrwebPlayer;
    const player = new Player({
      target: document.getElementById('player'),
      props: { events, autoPlay: false, width: 1024, height: 640, showController: true },
    });
    window.__player = player;
    const { totalTime } = player.getMetaData();
    // Play briefly (exercises the timer path), then jump past the end: pause(t) applies every
    // event strictly before t synchronously, so t = totalTime + 1 includes the last one.
    player.play();
    await new Promise((r) => setTimeout(r, 300));
    player.getReplayer().pause(totalTime + 1);
    window.__replay = { ok: true, totalTime, events: events.length };
  } catch (e) {
    window.__replay = { ok: false, error: String(e && e.stack || e) };
  }
})();
