// End-to-end retention (issue 11, "Done when" 1-3): real posthog-js 1.449.2 in Chromium records
// three sessions into a live `scrubd serve --policy policies/retention.yaml` (30 days, rule
// `errors`: sessions with an $exception event 90 days); one session gets a legal hold through
// `scrubd hold add`; `scrubd purge --dry-run --now <31 days later>` lists the expired session and
// shows the held one as kept; the real purge removes it (and a second run nothing); the held and
// the rule session still export and replay; `scrubd audit verify` passes and the log has the
// retention_purge and hold entries, without the hold's reason; after `hold release` the next
// purge takes the formerly held session. Run: node --test retention.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';

import {
  E2E_DIR, launchChromium, makeTmpDir, parseExport, scanDirForNeedles, scrubdExport, SCRUBD_BIN,
  sleep, startScrubd, startStaticServer, waitFor,
} from './lib/harness.mjs';
import { openPerson, randomWord, replayInPlayer, scrubd, TOKEN } from './lib/subjects.mjs';
import { readAuditEntries } from './lib/audit.mjs';

const POLICY = path.join(E2E_DIR, 'policies', 'retention.yaml');
const DAY_MS = 86400000;

// Export of a session: exit 0 and a JSON array holding a FullSnapshot, or null.
async function exportedEvents(dataDir, sessionId) {
  const r = await scrubdExport(dataDir, sessionId);
  const events = r.code === 0 ? parseExport(r.stdout) : null;
  return events && events.some((e) => e.type === 2) ? events : null;
}

async function assertGone(dataDir, sessionId, what) {
  const r = await scrubdExport(dataDir, sessionId);
  assert.notEqual(r.code, 0, `${what}: export of ${sessionId} must fail, got exit 0 with ` +
    `${r.stdout.length} bytes`);
  assert.ok(!fs.existsSync(recordingDir(dataDir, sessionId)),
    `${what}: ${recordingDir(dataDir, sessionId)} must be gone`);
}

const recordingDir = (dataDir, sessionId) =>
  path.join(dataDir, 'store', 'recordings', TOKEN, sessionId);

async function filesUnder(dir) {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const ent of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile()) n += 1;
  }
  return n;
}

// `scrubd purge --data-dir D --now NOW [--dry-run] [--json]`: exit 0; the JSON parsed with --json.
async function purge(env, nowMs, { dryRun = false, json = false } = {}) {
  const args = ['purge', '--data-dir', env.dataDir, '--now', new Date(nowMs).toISOString()];
  if (dryRun) args.push('--dry-run');
  if (json) args.push('--json');
  const r = await scrubd(args, { timeoutMs: 30000 });
  assert.equal(r.code, 0, `scrubd ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  if (!json) return { text: r.stdout, stderr: r.stderr };
  let report;
  assert.doesNotThrow(() => { report = JSON.parse(r.stdout); },
    `purge --json prints one JSON object: ${r.stdout.slice(0, 500)}`);
  return { report, text: r.stdout, stderr: r.stderr };
}

const idsOf = (list) => (list ?? []).map((e) => e.session_id).sort();

// ---- 1: three people, three sessions; C captures an exception (rule `errors`, 90 days) -------
async function record(t, env) {
  const sessions = {};
  for (const who of ['A', 'B', 'C']) {
    const marker = `${who}${randomWord(10)}`;
    const p = await openPerson(env.browser, { webUrl: env.web.url, scrubdUrl: env.srv.url,
      marker });
    const t0 = Date.now();
    await p.page.locator('#note').pressSequentially(`note ${who}`, { delay: 10 });
    await p.page.evaluate((s) => window.e2eAddText(s), `retention ${marker}`);
    if (who === 'C') {
      await p.page.evaluate(() => window.posthog.captureException(
        new Error('e2e retention: a handled error')));
      await p.requests.waitAccepted('/e', t0, 'C: the $exception event to be accepted');
    }
    await p.requests.waitAccepted('/s', t0 + 50, `${who}: a /s/ to be accepted`);
    const id = await p.sessionId();
    await waitFor(`${who}: session ${id} to be stored`, async () => {
      const ev = await exportedEvents(env.dataDir, id);
      return ev && JSON.stringify(ev).includes(marker);
    }, { timeoutMs: 15000, intervalMs: 300 });
    sessions[who] = { id, marker };
    await p.page.goto('about:blank').catch(() => {});
    await sleep(300);  // pagehide beacons
    await p.context.close().catch(() => {});
    t.diagnostic(`${who}: session ${id}`);
  }
  const ids = Object.values(sessions).map((s) => s.id);
  assert.equal(new Set(ids).size, 3, `three distinct session ids: ${ids}`);
  return sessions;
}

async function assertReplays(env, events, marker, what) {
  const r = await replayInPlayer(env.browser, { webUrl: env.web.url, events,
    setEvents: env.setReplay, screenshot: path.join(env.tmp, `replay-${what}.png`) });
  assert.ok(r.replay.ok, `${what}: rrweb-player failed: ${r.replay.error}`);
  assert.equal(r.dom?.title?.trim(), 'E2E Subjects', `${what}: FullSnapshot rendered the heading`);
  assert.ok(r.dom.body.includes(marker), `${what}: the session's page text replayed`);
  assert.deepEqual(r.errors, [], `${what}: replay page logged errors`);
}

async function scenario(t, env) {
  const { dataDir } = env;
  const t0 = Date.now();
  const step = (name) => t.diagnostic(`${name} done at +${Date.now() - t0} ms`);
  const s = await record(t, env);
  const [A, B, C] = [s.A, s.B, s.C];
  step('recording');

  // The rule session is C's because of its $exception: 91 days on, the dry run names it with
  // rule `errors` (polled: the event row may land after the recording's chunks).
  const now = Date.now();
  const at31 = now + 31 * DAY_MS;
  let far;
  await waitFor('a dry run 91 days on to list C under rule errors', async () => {
    far = (await purge(env, now + 91 * DAY_MS, { dryRun: true, json: true })).report;
    return far.would_remove?.some((e) => e.session_id === C.id && e.rule === 'errors');
  }, { timeoutMs: 15000, intervalMs: 500 }).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(far)}`);
  });
  const cFar = far.would_remove.find((e) => e.session_id === C.id);
  assert.equal(cFar.days, 90, `C's days under rule errors: ${JSON.stringify(cFar)}`);

  // ---- 2: a legal hold on B through the running daemon; its reason is never logged --------
  const canary = `HoldCanary${randomWord(12)}`;
  const reason = `litigation ${canary}: keep session B`;
  const add = await scrubd(['hold', 'add', '--data-dir', dataDir, '--session', B.id,
    '--reason', reason, '--json']);
  assert.equal(add.code, 0, `hold add: exit ${add.code}\n${add.stdout}${add.stderr}`);
  const hold = JSON.parse(add.stdout);
  assert.match(hold.hold_id, /^hold_[0-9a-f]{16}$/, `hold id: ${add.stdout}`);
  assert.equal(hold.kind, 'session');
  assert.equal(hold.session_id, B.id);
  assert.equal(hold.status, 'active');
  const list = await scrubd(['hold', 'list', '--data-dir', dataDir, '--json']);
  assert.equal(list.code, 0, `hold list: ${list.stderr}`);
  assert.deepEqual(JSON.parse(list.stdout).holds.map((h) => h.hold_id), [hold.hold_id],
    `hold list: ${list.stdout}`);
  t.diagnostic(`hold ${hold.hold_id} on ${B.id}`);
  step('hold');

  // ---- 3: the dry run 31 days on: A would go (rule default), B kept with the hold id, C
  // (90 days) not listed; nothing removed ---------------------------------------------------
  const dryText = (await purge(env, at31, { dryRun: true })).text;
  t.diagnostic(`dry run:\n${dryText}`);
  const lines = dryText.split('\n');
  const lineA = lines.find((l) => l.includes(`${TOKEN}/${A.id}`));
  assert.match(lineA ?? '', /^would remove\s+\S+\s+rule=default days=30 expired=\S+Z$/,
    `dry run lists A as would remove, rule default:\n${dryText}`);
  const lineB = lines.find((l) => l.includes(`${TOKEN}/${B.id}`));
  assert.ok(lineB?.startsWith('kept (held)') && lineB.includes(`hold=${hold.hold_id}`) &&
    lineB.includes('rule=default'), `dry run shows B as kept (held) with its hold id:\n${dryText}`);
  assert.ok(!dryText.includes(C.id), `C (rule errors, 90 days) is not listed:\n${dryText}`);
  assert.match(dryText, /purge \(dry run\) at \S+: 1 sessions would go, 1 kept under a hold/,
    `dry run totals:\n${dryText}`);

  const dry = (await purge(env, at31, { dryRun: true, json: true })).report;
  assert.equal(dry.dry_run, true);
  assert.equal(Date.parse(dry.now), Math.floor(at31), `dry run now: ${dry.now}`);
  assert.deepEqual(idsOf(dry.would_remove), [A.id], `would_remove: ${JSON.stringify(dry)}`);
  const wa = dry.would_remove[0];
  assert.equal(wa.token, TOKEN);
  assert.equal(wa.rule, 'default');
  assert.equal(wa.days, 30);
  assert.ok(Date.parse(wa.last_event) <= Date.now() && Date.parse(wa.last_event) >= t0 - 1000,
    `A's last_event is during the recording: ${wa.last_event}`);
  assert.equal(Date.parse(wa.expired_at), Date.parse(wa.last_event) + 30 * DAY_MS,
    `expired_at = last_event + 30 days: ${JSON.stringify(wa)}`);
  assert.deepEqual(idsOf(dry.kept_held), [B.id], `kept_held: ${JSON.stringify(dry)}`);
  assert.equal(dry.kept_held[0].hold, hold.hold_id, 'kept_held names the hold id');
  assert.equal(dry.totals.sessions, 1, `totals: ${JSON.stringify(dry.totals)}`);
  assert.equal(dry.totals.held, 1, `totals: ${JSON.stringify(dry.totals)}`);
  assert.ok(Array.isArray(dry.policies) && dry.policies.some((p) => p.includes('e2e-retention')),
    `policies: ${JSON.stringify(dry.policies)}`);
  for (const x of [A, B, C]) {
    assert.ok(await exportedEvents(dataDir, x.id), `after the dry run ${x.id} still exports`);
    assert.ok(await filesUnder(recordingDir(dataDir, x.id)) > 0, `${x.id} still has chunk files`);
  }
  step('dry run');

  // ---- 4: the real purge: A gone, B (held) and C (rule) stay and replay; a rerun: nothing --
  const real = await purge(env, at31);
  t.diagnostic(`purge:\n${real.text}`);
  assert.match(real.text, new RegExp(`^removed\\s+${TOKEN}/${A.id}\\s+rule=default days=30`, 'm'),
    `purge prints A as removed:\n${real.text}`);
  assert.ok(real.text.includes(`kept (held)  ${TOKEN}/${B.id}  hold=${hold.hold_id}`),
    `purge shows B kept (held):\n${real.text}`);
  assert.ok(!real.text.includes(C.id), `purge does not touch C:\n${real.text}`);
  assert.match(real.text, /^purge at \S+: 1 sessions removed, 1 kept under a hold/m,
    `purge totals:\n${real.text}`);
  await assertGone(dataDir, A.id, 'A after the purge');
  for (const [who, x] of [['B', B], ['C', C]]) {
    const ev = await exportedEvents(dataDir, x.id);
    assert.ok(ev && JSON.stringify(ev).includes(x.marker), `${who} still exports after the purge`);
    await assertReplays(env, ev, x.marker, who);
  }
  const again = (await purge(env, at31, { json: true })).report;
  assert.equal(again.dry_run, false);
  assert.deepEqual(again.removed, [], `a second purge removes nothing: ${JSON.stringify(again)}`);
  assert.equal(again.totals.sessions, 0, `second purge totals: ${JSON.stringify(again.totals)}`);
  assert.deepEqual(idsOf(again.kept_held), [B.id], 'second purge: B still kept (held)');
  step('purge');

  // ---- 5: the audit log verifies and holds the purge and hold entries, never the reason ----
  const verify = await scrubd(['audit', 'verify', '--data-dir', dataDir]);
  t.diagnostic(`audit verify (daemon running): exit ${verify.code}: ${verify.stdout.trim()}`);
  assert.equal(verify.code, 0, `audit verify: ${verify.stdout}${verify.stderr}`);
  // "scrubd audit verify shows the purge entries" (issue 11, Done when 3; docs/retention.md).
  assert.match(verify.stdout, /^OK: /, `audit verify: ${verify.stdout}`);
  assert.match(verify.stdout, /entries by type:.*\bretention_purge 2\b/,
    `audit verify shows the two retention_purge entries:\n${verify.stdout}`);
  assert.match(verify.stdout, /entries by type:.*\bhold_added 1\b/,
    `audit verify shows the hold_added entry:\n${verify.stdout}`);
  let entries = await readAuditEntries(path.join(dataDir, 'audit'));
  let purges = entries.filter((e) => e.type === 'retention_purge');
  assert.equal(purges.length, 2, `two real purges, two retention_purge entries (dry runs write ` +
    `none): ${entries.map((e) => e.type).join(' ')}`);
  assert.equal(purges[0].payload.counts.sessions, 1, `first purge: ${purges[0].text}`);
  assert.equal(purges[0].payload.counts.held, 1, `first purge: ${purges[0].text}`);
  assert.ok(purges[0].payload.counts.chunks >= 1, `first purge chunks: ${purges[0].text}`);
  assert.equal(purges[1].payload.counts.sessions, 0, `second purge: ${purges[1].text}`);
  for (const p of purges) {
    for (const secret of [A.id, B.id, C.id, TOKEN, 'example.org', '127.0.0.1']) {
      assert.ok(!p.text.includes(secret), `retention_purge has counts only, not ${secret}: ${p.text}`);
    }
  }
  const added = entries.filter((e) => e.type === 'hold_added');
  assert.equal(added.length, 1, `one hold_added entry: ${entries.map((e) => e.type).join(' ')}`);
  assert.equal(added[0].payload.hold_id, hold.hold_id, `hold_added: ${added[0].text}`);
  assert.equal(added[0].payload.kind, 'session', `hold_added: ${added[0].text}`);
  assert.ok(!added[0].text.includes(B.id), `hold_added names the session by pseudonym only`);
  // Both CLIs went through the running daemon (docs/retention.md): admin callers, admin_call
  // entries for POST /admin/holds and /admin/purge.
  assert.match(added[0].payload.caller ?? '', /^admin@/, `hold added via the daemon: ${added[0].text}`);
  const calls = entries.filter((e) => e.type === 'admin_call').map((e) => e.payload.route);
  assert.ok(calls.includes('/admin/holds'), `admin_call /admin/holds: ${calls}`);
  assert.ok(calls.filter((r) => r === '/admin/purge').length >= 5,
    `each purge went through POST /admin/purge: ${calls}`);
  assert.deepEqual(await scanDirForNeedles(path.join(dataDir, 'audit'), [canary]), [],
    'the hold reason is in no byte of DATA_DIR/audit');
  assert.ok(!env.srv.output().includes(canary), 'the hold reason is in no line of scrubd\'s log');
  step('audit');

  // ---- 6: release, then the same purge takes B ----------------------------------------------
  const rel = await scrubd(['hold', 'release', '--data-dir', dataDir, hold.hold_id, '--json']);
  assert.equal(rel.code, 0, `hold release: exit ${rel.code}\n${rel.stdout}${rel.stderr}`);
  assert.equal(JSON.parse(rel.stdout).status, 'released', `hold release: ${rel.stdout}`);
  const dry2 = (await purge(env, at31, { dryRun: true, json: true })).report;
  assert.deepEqual(idsOf(dry2.would_remove), [B.id], `after release: ${JSON.stringify(dry2)}`);
  assert.deepEqual(dry2.kept_held, [], 'after release nothing is kept under a hold');
  const third = (await purge(env, at31, { json: true })).report;
  assert.deepEqual(idsOf(third.removed), [B.id], `after release B goes: ${JSON.stringify(third)}`);
  assert.equal(third.removed[0].rule, 'default');
  assert.equal(third.totals.held, 0);
  await assertGone(dataDir, B.id, 'B after release and purge');
  assert.ok(await exportedEvents(dataDir, C.id), 'C (rule errors) still exports');
  assert.deepEqual((await purge(env, at31, { json: true })).report.removed, [],
    'and a rerun removes nothing');
  step('release');

  // The log once more, sealed by the daemon's clean stop.
  const exit = await env.srv.stop();
  assert.equal(exit.code, 0, `scrubd should exit 0 on SIGTERM, got ${JSON.stringify(exit)}`);
  const final = await scrubd(['audit', 'verify', '--data-dir', dataDir]);
  assert.equal(final.code, 0, `audit verify after stop: ${final.stdout}${final.stderr}`);
  entries = await readAuditEntries(path.join(dataDir, 'audit'));
  purges = entries.filter((e) => e.type === 'retention_purge');
  assert.deepEqual(purges.map((p) => p.payload.counts.sessions), [1, 0, 1, 0],
    'four real purges: A, nothing, B, nothing');
  const released = entries.filter((e) => e.type === 'hold_released');
  assert.equal(released.length, 1, 'one hold_released entry');
  assert.equal(released[0].payload.hold_id, hold.hold_id);
  assert.deepEqual(await scanDirForNeedles(path.join(dataDir, 'audit'), [canary]), [],
    'the hold reason is in no byte of DATA_DIR/audit (after release and stop)');
  assert.ok(!env.srv.output().includes(canary), 'nor in any line of scrubd\'s log');
  t.diagnostic(`audit verify: ${final.stdout.trim()}`);
  assert.match(final.stdout, /entries by type:.*\bretention_purge 4\b/,
    `audit verify shows the four retention_purge entries:\n${final.stdout}`);
  assert.match(final.stdout, /entries by type:.*\bhold_released 1\b/,
    `audit verify shows the hold_released entry:\n${final.stdout}`);
  step('verify');
}

test('retention: hold, dry run 31 days on, purge, rerun, audit, release',
  { timeout: 120000 }, async (t) => {
    const tmp = await makeTmpDir('retention');
    const dataDir = path.join(tmp, 'data');
    await fsp.mkdir(dataDir, { recursive: true });
    const env = { tmp, dataDir, cleanups: [] };
    t.diagnostic(`scrubd=${SCRUBD_BIN} tmp=${tmp}`);
    try {
      env.srv = await startScrubd({ dataDir, policy: POLICY, logFile: path.join(tmp, 'scrubd.log') });
      env.cleanups.push(() => env.srv.stop());
      let replayJson = '[]';
      env.setReplay = (x) => { replayJson = x; };
      env.web = await startStaticServer({
        '/e2e-config.js': () => ({ type: 'text/javascript',
          body: `window.E2E = ${JSON.stringify({ apiHost: env.srv.url, token: TOKEN })};` }),
        '/replay-events.json': () => ({ type: 'application/json', body: replayJson }),
      });
      env.cleanups.push(() => env.web.close());
      env.browser = await launchChromium();
      env.cleanups.push(() => env.browser.close());
      await scenario(t, env);
    } finally {
      for (const fn of env.cleanups.reverse()) {
        let timer;
        await Promise.race([fn(), new Promise((r) => { timer = setTimeout(r, 10000); })])
          .catch(() => {});
        clearTimeout(timer);
      }
    }
  });
