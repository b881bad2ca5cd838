// End-to-end consent (issue 12 section 7): real posthog-js 1.449.2 in Chromium against live
// `scrubd serve` daemons. Page 1 records before consent, then opts in: the held batches are
// stored in order and replay. Page 2 never opts in: after wait_seconds nothing of it remains.
// Page 3 sends Sec-GPC: 1: nothing stored, in opt_in and opt_out mode. Page 4 is served from
// the same origin as scrubd's /ingest prefix (reverse proxy) and sets euconsent-v2 (TCF v2.2) or
// OptanonConsent: granted -> stored, refused -> not. `scrubd consent show` lists the evidence.
// Step 5: a session held at a restart is deleted. The ledger survives the restart.
// Run: node --test consent.test.mjs   (CONSENT_E2E_PAGES=1,3,5 picks steps: development only)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';

import {
  E2E_DIR, launchChromium, makeTmpDir, parseExport, scanDirForNeedles, scrubdExport, SCRUBD_BIN,
  sleep, startScrubd, startStaticServer, waitFor,
} from './lib/harness.mjs';
import { randomWord, replayInPlayer, scrubd, TOKEN, trackRequests } from './lib/subjects.mjs';
import { readAuditEntries } from './lib/audit.mjs';
import {
  consentMetrics, consentShow, describeTcString, optanonConsent, startSiteServer, tcString,
} from './lib/consent.mjs';

const POLICY = {
  opt_in: path.join(E2E_DIR, 'policies', 'consent-opt-in.yaml'),
  opt_out: path.join(E2E_DIR, 'policies', 'consent-opt-out.yaml'),
};
const WAIT_SECONDS = Number(fs.readFileSync(POLICY.opt_in, 'utf8')
  .match(/^\s*wait_seconds:\s*(\d+)/m)[1]);
const PAGES = new Set((process.env.CONSENT_E2E_PAGES || '1,2,3,4,5').split(',').map(Number));
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

// Export of a session: exit 0 and a JSON array holding a FullSnapshot, or null.
async function exportedEvents(dataDir, sessionId) {
  const r = await scrubdExport(dataDir, sessionId);
  const events = r.code === 0 ? parseExport(r.stdout) : null;
  return events && events.some((e) => e.type === 2) ? events : null;
}

async function assertNotStored(dataDir, sessionId, what) {
  const r = await scrubdExport(dataDir, sessionId);
  assert.notEqual(r.code, 0, `${what}: export of ${sessionId} must fail, got exit 0 with ` +
    `${r.stdout.length} bytes: ${r.stdout.slice(0, 200)}`);
}

// Fails listing where each needle was found.
async function assertAbsentOnDisk(dir, needles, what) {
  const hits = await scanDirForNeedles(dir, needles);
  assert.deepEqual(hits.map((h) => `${h.needle} in ${h.file}`), [],
    `${what}: must be in no byte under ${dir}`);
}

// A session's ledger entries: `scrubd consent show --session ID --json` exits 0.
async function ledger(dataDir, sessionId, what) {
  const r = await consentShow(dataDir, sessionId);
  assert.equal(r.code, 0, `${what}: consent show --session ${sessionId}: exit ${r.code}\n` +
    `${r.stdout}${r.stderr}`);
  assert.ok(r.json && Array.isArray(r.json.entries), `${what}: consent show --json: ${r.stdout}`);
  return r.json?.entries ?? [];
}

function assertEvidence(entries, want, what) {
  const ok = entries.some((e) => Object.entries(want).every(([k, v]) => e[k] === v));
  assert.ok(ok, `${what}: a ledger entry with ${JSON.stringify(want)}: ` +
    JSON.stringify(entries, null, 1));
}

/**
 * One visit of pages/consent.html in a fresh browser context: waits for recording, types, makes
 * a mutation carrying `word`, and waits for a /s/ answered 2xx. Returns the live page.
 */
async function visit(env, daemon, { cfg, headers, word, origin, apiBase }) {
  const marker = `M${randomWord(10)}`;
  const context = await env.browser.newContext({ viewport: { width: 1024, height: 640 },
    extraHTTPHeaders: headers });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const requests = trackRequests(page, apiBase);
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${origin}/pages/consent.html?cfg=${cfg}&marker=${marker}`);
  await waitFor('posthog-js to start session recording',
    () => page.evaluate(() => window.__e2eLoaded && window.posthog.sessionRecordingStarted()),
    { timeoutMs: 20000 }).catch((e) => {
    throw new Error(`${e.message}\n  requests:\n  ${requests.log()}\n  console:\n  ` +
      consoleLines.slice(-20).join('\n  '));
  });
  const sessionId = await page.evaluate(() => window.posthog.get_session_id());
  env.allSessions.push(sessionId);
  const t0 = Date.now();
  await page.locator('#note').pressSequentially('a note', { delay: 10 });
  await page.evaluate((s) => window.e2eAddText(s), `before ${word}`);
  await requests.waitAccepted('/s', t0, `a /s/ of ${daemon.name}'s visit to be answered 2xx`);
  return { context, page, requests, sessionId, marker, word,
    async close() {
      await page.goto('about:blank').catch(() => {});
      await sleep(300);  // pagehide beacons
      await context.close().catch(() => {});
    } };
}

const sCount = (v, pred = () => true) =>
  v.requests.list.filter((r) => r.path.startsWith('/s') && r.status >= 200 && r.status < 300 &&
    pred(r)).length;

async function auditCounts(dataDir) {
  const out = {};
  for (const e of await readAuditEntries(path.join(dataDir, 'audit'))) {
    if (e.type.startsWith('consent_')) out[e.type] = (out[e.type] ?? 0) + 1;
  }
  return out;
}

// ---- Page 1: records before consent, then opt_in_capturing() ------------------------------
async function page1(t, env) {
  const d = env.daemons.opt_in;
  const m0 = await consentMetrics(d.srv.url);
  t.diagnostic(`consent metrics exposed: ${m0.present.join(' ') || '(none)'}`);
  const v = await visit(env, d, { cfg: 'opt_in', word: `P${randomWord(10)}`, origin: env.web.url,
    apiBase: d.srv.url });
  const firstS = v.requests.list.find((r) => r.path.startsWith('/s'));
  // A second batch before consent: another mutation, another flush.
  const tMid = Date.now();
  await v.page.evaluate((s) => window.e2eAddText(s), `second ${v.word}`);
  await v.requests.waitAccepted('/s', tMid + 50, 'a second /s/ before consent');
  const heldS = sCount(v);
  const mHeld = await consentMetrics(d.srv.url);
  const heldBatches = mHeld.held - m0.held;
  t.diagnostic(`page 1: ${heldS} /s/ answered before consent, held ${heldBatches}, ` +
    `quarantine gauge ${mHeld.quarantine}`);
  assert.ok(heldBatches >= heldS, `every /s/ before consent is held: ${heldS} sent, held ` +
    `counter +${heldBatches}`);
  await assertNotStored(d.dataDir, v.sessionId, 'page 1 before consent');

  // Consent: posthog-js sends $opt_in at once (to /e/, same session id).
  const tOptIn = Date.now();
  await v.page.evaluate(() => window.posthog.opt_in_capturing());
  await v.requests.waitAccepted('/e', tOptIn, 'the $opt_in capture to be answered 2xx');
  assert.equal(await v.page.evaluate(() => window.posthog.get_session_id()), v.sessionId,
    'opt_in_capturing keeps the session id');
  let releasedAt = 0;
  await waitFor('the held batches to be stored after $opt_in', async () => {
    const ev = await exportedEvents(d.dataDir, v.sessionId);
    if (ev && JSON.stringify(ev).includes(`second ${v.word}`)) releasedAt = Date.now();
    return releasedAt;
  }, { timeoutMs: 10000, intervalMs: 100 });
  // After consent: a third mutation goes straight to the store.
  const tAfter = Date.now();
  await v.page.evaluate((s) => window.e2eAddText(s), `after ${v.word}`);
  await v.requests.waitAccepted('/s', tAfter + 50, 'a /s/ after consent');
  let events;
  await waitFor('the post-consent batch to be stored', async () => {
    events = await exportedEvents(d.dataDir, v.sessionId);
    return events && JSON.stringify(events).includes(`after ${v.word}`);
  }, { timeoutMs: 10000, intervalMs: 200 });
  await v.close();
  const m1 = await consentMetrics(d.srv.url);
  const released = m1.released - m0.released;

  // In order: timestamps never go back, Meta then FullSnapshot first, the three words in order.
  const ts = events.map((e) => e.timestamp);
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b), 'export events in timestamp order');
  const firstFull = events.findIndex((e) => e.type === 2);
  assert.ok(events.findIndex((e) => e.type === 4) < firstFull, 'Meta before the FullSnapshot');
  const text = events.map((e) => JSON.stringify(e));
  const at = (s) => text.findIndex((x) => x.includes(s));
  assert.ok(at(v.marker) >= 0 && at(`before ${v.word}`) > firstFull &&
    at(`second ${v.word}`) > at(`before ${v.word}`) &&
    at(`after ${v.word}`) > at(`second ${v.word}`),
    `held batches stored in order, then the post-consent one (indexes ${at(v.marker)} ` +
    `${at(`before ${v.word}`)} ${at(`second ${v.word}`)} ${at(`after ${v.word}`)})`);
  assert.equal(m1.timeout - m0.timeout, 0, 'page 1: no held batch timed out before the opt-in');
  assert.ok(released >= heldBatches, `released +${released} >= held +${heldBatches}`);
  assert.equal(m1.quarantine, 0, 'quarantine gauge back to 0 after the release');

  const r = await replayInPlayer(env.browser, { webUrl: env.web.url, events,
    setEvents: env.setReplay, screenshot: path.join(env.tmp, 'replay-page1.png') });
  assert.ok(r.replay.ok, `page 1: rrweb-player failed: ${r.replay.error}`);
  assert.equal(r.dom?.title?.trim(), 'E2E Consent', 'page 1 replay: the heading rendered');
  for (const s of [v.marker, `before ${v.word}`, `second ${v.word}`, `after ${v.word}`]) {
    assert.ok(r.dom.body.includes(s), `page 1 replay shows "${s}"`);
  }
  assert.deepEqual(r.errors, [], 'page 1: replay page logged errors');

  const audit = await auditCounts(d.dataDir);
  // How long each batch sat in the quarantine, as scrubd measured it (consent_released.held_ms).
  const heldMs = (await readAuditEntries(path.join(d.dataDir, 'audit')))
    .filter((e) => e.type === 'consent_released').map((e) => e.payload?.held_ms);
  const ms = { held_batches: heldBatches, released_batches: released,
    first_s_to_opt_in_ms: tOptIn - firstS.startedAt,
    first_s_to_release_ms: releasedAt - firstS.startedAt,
    opt_in_to_release_ms: releasedAt - tOptIn, released_held_ms: heldMs,
    opt_in_path: v.requests.since(tOptIn, '/e').map((r) => r.path.split('?')[0]), audit };
  t.diagnostic(`page 1 numbers: ${JSON.stringify(ms)}`);
  env.numbers.page1 = ms;
  assert.ok((audit.consent_held ?? 0) >= 1, `audit has consent_held: ${JSON.stringify(audit)}`);
  assert.ok((audit.consent_released ?? 0) >= 1,
    `audit has consent_released: ${JSON.stringify(audit)}`);
  env.sessions.page1 = v;
}

// ---- Page 2: never opts in; after wait_seconds nothing of it remains ----------------------
async function page2(t, env) {
  const d = env.daemons.opt_in;
  const m0 = await consentMetrics(d.srv.url);
  const v = await visit(env, d, { cfg: 'opt_in', word: `Q${randomWord(10)}`, origin: env.web.url,
    apiBase: d.srv.url });
  const mHeld = await consentMetrics(d.srv.url);
  const held = mHeld.held - m0.held;
  assert.ok(held >= 1, `page 2's batches are held: +${held}`);
  await v.close();
  const lastAt = Math.max(...v.requests.list.map((r) => r.finishedAt));
  // While held: is the scrubbed batch in the quarantine on disk (diagnostic only)?
  const whileHeld = await scanDirForNeedles(d.dataDir, [v.marker]);
  t.diagnostic(`page 2 held ${held}; while held its marker is on disk in: ` +
    `${[...new Set(whileHeld.map((h) => h.file))].join(', ') || '(nowhere: in memory)'}`);
  await sleep(Math.max(0, lastAt + WAIT_SECONDS * 1000 + 3000 - Date.now()));
  const m1 = await consentMetrics(d.srv.url);
  const timeout = m1.timeout - m0.timeout;
  env.numbers.page2 = { held_batches: held, timeout_batches: timeout,
    dropped_consent_timeout: m1.droppedTimeout - m0.droppedTimeout,
    quarantine_after: m1.quarantine, audit: await auditCounts(d.dataDir) };
  t.diagnostic(`page 2 numbers: ${JSON.stringify(env.numbers.page2)}`);
  await assertNotStored(d.dataDir, v.sessionId, 'page 2 after wait_seconds');
  assert.ok(timeout >= held, `consent_timeout counted: timeout +${timeout}, held +${held}`);
  assert.ok(m1.droppedTimeout > m0.droppedTimeout,
    'scrubd_events_dropped_by_reason_total{reason="consent_timeout"} grows');
  assert.equal(m1.quarantine, 0, 'quarantine gauge back to 0');
  assert.ok((env.numbers.page2.audit.consent_timeout ?? 0) >= 1, 'audit has consent_timeout');
  // Control: the scan sees page 1's words (same page, same scrubbing) before asserting absence.
  if (env.sessions.page1) {
    const seen = await scanDirForNeedles(d.dataDir, [env.sessions.page1.marker]);
    assert.ok(seen.length > 0, 'control: the byte scan sees page 1\'s marker on disk');
  }
  await assertAbsentOnDisk(d.dataDir, [v.marker, v.word, v.sessionId],
    'page 2 (words, session id)');
  const show = await consentShow(d.dataDir, v.sessionId);
  assert.ok(show.code !== 0 || (show.json?.entries ?? []).length === 0,
    `page 2 gave no evidence, the ledger has none: ${show.stdout}`);
  env.sessions.page2 = v;
}

// ---- Page 3: Sec-GPC: 1 -> nothing stored (opt_in and opt_out) -----------------------------
async function page3(t, env, mode) {
  const d = env.daemons[mode];
  const m0 = await consentMetrics(d.srv.url);
  const v = await visit(env, d, { cfg: mode, headers: { 'Sec-GPC': '1' },
    word: `G${randomWord(10)}`, origin: env.web.url, apiBase: d.srv.url });
  const sent = sCount(v);
  await sleep(1500);
  await v.close();
  await sleep(500);
  const m1 = await consentMetrics(d.srv.url);
  env.numbers[`page3_${mode}`] = { s_requests: sent, held: m1.held - m0.held,
    dropped_consent: m1.droppedConsent - m0.droppedConsent };
  t.diagnostic(`page 3 (${mode}) numbers: ${JSON.stringify(env.numbers[`page3_${mode}`])}`);
  await assertNotStored(d.dataDir, v.sessionId, `page 3 (${mode}, Sec-GPC: 1)`);
  assert.equal(m1.held - m0.held, 0, `page 3 (${mode}): a GPC session is denied, never held`);
  assert.ok(m1.droppedConsent > m0.droppedConsent,
    `page 3 (${mode}): dropped_by_reason{reason="consent"} grows`);
  await assertAbsentOnDisk(d.dataDir, [v.marker, v.word], `page 3 (${mode}) words`);
  (env.sessions.page3 ??= {})[mode] = v;
}

// ---- Page 4: same origin as /ingest; euconsent-v2 / OptanonConsent ------------------------
const PAGE4_CASES = () => {
  const granted = tcString({ purposes: [1, 2, 3, 4, 7] });
  const refused = tcString({ purposes: [2, 3, 4, 7] });
  const otYes = optanonConsent({ C0002: true });
  const otNo = optanonConsent({ C0002: false });
  return [
    { name: 'tcf granted', signal: 'tcf', granted: true, cookie: ['euconsent-v2', granted] },
    { name: 'tcf refused', signal: 'tcf', granted: false, cookie: ['euconsent-v2', refused] },
    { name: 'onetrust granted', signal: 'onetrust', granted: true,
      cookie: ['OptanonConsent', otYes.value], secret: otYes.consentId },
    { name: 'onetrust refused', signal: 'onetrust', granted: false,
      cookie: ['OptanonConsent', otNo.value], secret: otNo.consentId },
  ];
};

async function page4(t, env, mode, c) {
  const d = env.daemons[`${mode}_prefix`];
  const site = d.site;
  const cfg = `${mode}_${c.signal}_${c.granted ? 'yes' : 'no'}`;
  env.configs[cfg] = { apiHost: `${site.url}/ingest`, token: TOKEN,
    cookies: [{ name: c.cookie[0], value: c.cookie[1] }] };
  const m0 = await consentMetrics(d.srv.url);
  const logFrom = site.log.length;
  const v = await visit(env, d, { cfg, word: `C${randomWord(10)}`, origin: site.url,
    apiBase: `${site.url}/ingest` });
  const what = `page 4 (${mode}, ${c.name})`;
  let events = null;
  if (c.granted) {
    await waitFor(`${what}: the session to be stored`, async () => {
      events = await exportedEvents(d.dataDir, v.sessionId);
      return events && JSON.stringify(events).includes(`before ${v.word}`);
    }, { timeoutMs: 10000, intervalMs: 200 });
  } else {
    await sleep(1500);
  }
  await v.close();
  const seen = site.log.slice(logFrom);
  const m1 = await consentMetrics(d.srv.url);
  // What the proxy saw: every posthog request same-origin, with the consent cookie.
  const posts = seen.filter((r) => r.method === 'POST');
  assert.ok(posts.length > 0 && posts.every((r) => r.cookie.includes(`${c.cookie[0]}=`)),
    `${what}: posthog-js sent the cookie on every POST through the proxy:\n` +
    seen.map((r) => `${r.method} ${r.path.slice(0, 50)} cookie=${r.cookie ? 'yes' : 'no'}`)
      .join('\n'));
  env.numbers[`page4_${mode}_${c.signal}_${c.granted ? 'granted' : 'refused'}`] = {
    requests: seen.length, held: m1.held - m0.held, dropped_consent: m1.droppedConsent -
      m0.droppedConsent, stored: Boolean(events) };
  assert.equal(m1.held - m0.held, 0, `${what}: evidence on the first request, nothing held`);
  if (c.granted) {
    const r = await replayInPlayer(env.browser, { webUrl: env.web.url, events,
      setEvents: env.setReplay });
    assert.ok(r.replay.ok && r.dom?.body.includes(v.marker), `${what}: replays`);
  } else {
    await assertNotStored(d.dataDir, v.sessionId, what);
    assert.ok(m1.droppedConsent > m0.droppedConsent, `${what}: dropped{reason="consent"} grows`);
    await assertAbsentOnDisk(d.dataDir, [v.marker, v.word], `${what}: words`);
  }
  // The ledger keeps the cookie's sha256, never the value (nor OneTrust's consentId).
  await assertAbsentOnDisk(d.dataDir, [c.cookie[1], ...(c.secret ? [c.secret] : [])],
    `${what}: the raw cookie value`);
  for (const secret of [c.cookie[1], c.secret].filter(Boolean)) {
    assert.ok(!d.srv.output().includes(secret), `${what}: scrubd's log never holds the cookie`);
  }
  const entries = await ledger(d.dataDir, v.sessionId, what);
  assertEvidence(entries, { session: v.sessionId, state: c.granted ? 'granted' : 'denied',
    source: 'cookie', signal: c.signal }, what);
  const e = entries.find((x) => x.signal === c.signal);
  const hashes = [sha256(c.cookie[1]), sha256(decodeURIComponent(c.cookie[1].replace(/\+/g, ' ')))];
  assert.ok(hashes.includes(e?.value_sha256), `${what}: value_sha256 is the cookie's sha256: ` +
    JSON.stringify(e));
  if (e && c.signal === 'tcf' && c.granted) {
    // The ledger lists purposes as ids: "1" (text, like OneTrust groups) or 1 name purpose 1.
    assert.ok(Array.isArray(e.purposes) && e.purposes.some((p) => String(p) === '1'),
      `${what}: purposes: ` +
      JSON.stringify(e));
  }
}

// ---- Page 4, late cookie: held until the CMP writes euconsent-v2, then a withdrawal ---------
// Issue 12 sections 3 and 4 through the same proxy: no cookie at load (opt_in: held), a granted
// TC string written by the page (the next request carries it: released in order), then a
// refusing one (withdrawn: later data dropped, the stored part stays under on_withdrawal stop).
async function page4Late(t, env) {
  const d = env.daemons.opt_in_prefix;
  env.configs.opt_in_late = { apiHost: `${d.site.url}/ingest`, token: TOKEN, cookies: [] };
  const m0 = await consentMetrics(d.srv.url);
  const v = await visit(env, d, { cfg: 'opt_in_late', word: `L${randomWord(10)}`,
    origin: d.site.url, apiBase: `${d.site.url}/ingest` });
  const what = 'page 4 (opt_in, cookie set late)';
  const mHeld = await consentMetrics(d.srv.url);
  assert.ok(mHeld.held > m0.held, `${what}: held before the cookie: +${mHeld.held - m0.held}`);
  await assertNotStored(d.dataDir, v.sessionId, `${what} before the cookie`);
  const setCookie = (value) => v.page.evaluate((x) => {
    document.cookie = `euconsent-v2=${x}; path=/; max-age=31536000; SameSite=Lax`;
  }, value);
  const granted = tcString({ purposes: [1, 2] });
  await setCookie(granted);
  const tGrant = Date.now();
  await v.page.evaluate((x) => window.e2eAddText(x), `granted ${v.word}`);
  await v.requests.waitAccepted('/s', tGrant + 50, `${what}: a /s/ with the granted cookie`);
  await waitFor(`${what}: held and new batches stored`, async () => {
    const ev = await exportedEvents(d.dataDir, v.sessionId);
    const text = ev ? JSON.stringify(ev) : '';
    return text.includes(`before ${v.word}`) && text.includes(`granted ${v.word}`);
  }, { timeoutMs: 10000, intervalMs: 200 });
  const mRel = await consentMetrics(d.srv.url);
  const late = { held: mHeld.held - m0.held, released: mRel.released - m0.released,
    first_s_to_release_ms: Date.now() -
      v.requests.list.find((r) => r.path.startsWith('/s')).startedAt };
  assert.ok(late.released >= late.held, `${what}: released ${late.released} >= held ${late.held}`);
  // Withdrawal: a TC string refusing purpose 1.
  const withdrawnWord = `W${randomWord(10)}`;
  await setCookie(tcString({ purposes: [2] }));
  const tW = Date.now();
  await v.page.evaluate((x) => window.e2eAddText(x), `withdrawn ${withdrawnWord}`);
  await v.requests.waitAccepted('/s', tW + 50, `${what}: a /s/ after the withdrawal`);
  await sleep(1500);
  await v.close();
  const ev = await exportedEvents(d.dataDir, v.sessionId);
  assert.ok(ev && JSON.stringify(ev).includes(`granted ${v.word}`),
    `${what}: what was stored under consent stays (on_withdrawal: stop)`);
  assert.ok(!JSON.stringify(ev).includes(withdrawnWord), `${what}: nothing after the withdrawal`);
  await assertAbsentOnDisk(d.dataDir, [withdrawnWord], `${what}: the post-withdrawal word`);
  const entries = await ledger(d.dataDir, v.sessionId, what);
  assertEvidence(entries, { state: 'granted', signal: 'tcf', value_sha256: sha256(granted) }, what);
  assertEvidence(entries, { state: 'denied', signal: 'tcf', source: 'cookie' }, what);
  env.numbers.page4_late_cookie = late;
  t.diagnostic(`${what}: ${JSON.stringify(late)}`);
}

// ---- Restart: the quarantine is memory only (issue 12 section 3) ---------------------------
// A session held at SIGTERM is deleted and counted (consent_discarded, reason shutdown); after a
// restart on the same data dir it does not export and none of its words is on disk, while the
// ledger (checked after this step) still holds the earlier pages' evidence.
async function restart(t, env) {
  const d = env.daemons.opt_in;
  const m0 = await consentMetrics(d.srv.url);
  const v = await visit(env, d, { cfg: 'opt_in', word: `R${randomWord(10)}`, origin: env.web.url,
    apiBase: d.srv.url });
  const held = (await consentMetrics(d.srv.url)).held - m0.held;
  assert.ok(held >= 1, `restart: the session is held: +${held}`);
  const exit = await d.srv.stop();
  assert.equal(exit.code, 0, `restart: scrubd exits 0 on SIGTERM with a held session`);
  const discarded = (await readAuditEntries(path.join(d.dataDir, 'audit')))
    .filter((e) => e.type === 'consent_discarded' && e.payload?.reason === 'shutdown');
  assert.ok(discarded.length >= 1, 'restart: consent_discarded (reason shutdown) in the audit');
  d.srv = await startScrubd({ dataDir: d.dataDir, policy: POLICY.opt_in,
    logFile: path.join(env.tmp, 'scrubd-opt_in-2.log') });
  env.cleanups.push(() => d.srv.stop());
  await v.context.close().catch(() => {});
  await assertNotStored(d.dataDir, v.sessionId, 'restart: the held session');
  await assertAbsentOnDisk(d.dataDir, [v.marker, v.word], 'restart: the held session\'s words');
  env.numbers.restart = { held, discarded_at_shutdown: discarded.length };
  t.diagnostic(`restart: ${JSON.stringify(env.numbers.restart)}`);
}

async function startDaemon(env, name, mode, prefix) {
  const dataDir = path.join(env.tmp, `data-${name}`);
  await fsp.mkdir(dataDir, { recursive: true });
  const srv = await startScrubd({ dataDir, policy: POLICY[mode],
    logFile: path.join(env.tmp, `scrubd-${name}.log`),
    extraArgs: prefix ? ['--path-prefix', '/ingest'] : [] });
  env.cleanups.push(() => srv.stop());
  const d = { name, mode, dataDir, srv };
  if (prefix) {
    d.site = await startSiteServer({ staticUrl: env.web.url, scrubdUrl: srv.url });
    env.cleanups.push(() => d.site.close());
  }
  env.configs[mode] ??= { apiHost: srv.url, token: TOKEN, cookies: [] };
  return d;
}

async function scenario(t, env) {
  const t0 = Date.now();
  const step = (name) => t.diagnostic(`${name} done at +${Date.now() - t0} ms`);
  env.daemons.opt_in = await startDaemon(env, 'opt_in', 'opt_in', false);
  env.daemons.opt_out = await startDaemon(env, 'opt_out', 'opt_out', false);
  if (PAGES.has(1)) { await page1(t, env); step('page 1'); }
  if (PAGES.has(2)) { await page2(t, env); step('page 2'); }
  if (PAGES.has(3)) {
    for (const mode of ['opt_in', 'opt_out']) await page3(t, env, mode);
    step('page 3');
  }
  if (PAGES.has(4)) {
    const cases = PAGE4_CASES();
    t.diagnostic(`TC strings: ${cases.filter((c) => c.signal === 'tcf')
      .map((c) => `${c.name}: ${JSON.stringify(describeTcString(c.cookie[1]))}`).join('; ')}`);
    // Cross-check: scrubd's own decoder reads the IAB encoder's strings as valid, same fields.
    for (const c of cases.filter((x) => x.signal === 'tcf')) {
      const r = await scrubd(['consent', 'decode-tcf', c.cookie[1], '--json']);
      assert.equal(r.code, 0, `decode-tcf (${c.name}): exit ${r.code} ${r.stdout}${r.stderr}`);
      const j = JSON.parse(r.stdout);
      const lib = describeTcString(c.cookie[1]);
      assert.equal(j.valid, true, `decode-tcf (${c.name}): ${r.stdout}`);
      assert.deepEqual([j.version, j.policy_version, j.purposes_consent, j.vendor_consents.ids],
        [2, lib.policy_version, lib.purposes, lib.vendor_consents], `decode-tcf (${c.name})`);
    }
    for (const mode of ['opt_in', 'opt_out']) {
      env.daemons[`${mode}_prefix`] = await startDaemon(env, `${mode}_prefix`, mode, true);
      for (const c of cases) await page4(t, env, mode, c);
    }
    await page4Late(t, env);
    step('page 4');
  }
  if (PAGES.has(5)) { await restart(t, env); step('restart'); }
  // The ledger of pages 1 and 3: granted via posthog's $opt_in, denied via GPC.
  if (env.sessions.page1) {
    const d = env.daemons.opt_in;
    const entries = await ledger(d.dataDir, env.sessions.page1.sessionId, 'page 1');
    assertEvidence(entries, { session: env.sessions.page1.sessionId, state: 'granted',
      source: 'event', signal: 'posthog' }, 'page 1 ledger');
  }
  for (const [mode, v] of Object.entries(env.sessions.page3 ?? {})) {
    const entries = await ledger(env.daemons[mode].dataDir, v.sessionId, `page 3 (${mode})`);
    assertEvidence(entries, { session: v.sessionId, state: 'denied', source: 'header',
      signal: 'gpc' }, `page 3 (${mode}) ledger`);
  }
  step('ledger');
  // Audit entries of the consent machinery name sessions by pseudonym only (issue 12 section 5).
  for (const d of Object.values(env.daemons)) {
    for (const e of await readAuditEntries(path.join(d.dataDir, 'audit'))) {
      if (!e.type.startsWith('consent_')) continue;
      for (const id of env.allSessions) {
        assert.ok(!e.text.includes(id),
          `${d.name}: audit ${e.type} names no raw session id: ${e.text}`);
      }
    }
  }
  t.diagnostic(`numbers: ${JSON.stringify(env.numbers)}`);
  await fsp.writeFile(path.join(env.tmp, 'consent-numbers.json'),
    JSON.stringify(env.numbers, null, 1));
  for (const d of Object.values(env.daemons)) {
    const exit = await d.srv.stop();
    assert.equal(exit.code, 0, `scrubd ${d.name} exits 0 on SIGTERM: ${JSON.stringify(exit)}`);
  }
}

test('consent: opt-in release, timeout, GPC, /ingest cookies (TCF, OneTrust), ledger',
  { timeout: 240000 }, async (t) => {
    const tmp = await makeTmpDir('consent');
    const env = { tmp, cleanups: [], daemons: {}, sessions: {}, numbers: {}, configs: {},
      allSessions: [] };
    t.diagnostic(`scrubd=${SCRUBD_BIN} tmp=${tmp} wait_seconds=${WAIT_SECONDS}`);
    try {
      let replayJson = '[]';
      env.setReplay = (x) => { replayJson = x; };
      env.web = await startStaticServer({
        // Which config a page gets comes from its own URL (?cfg=KEY), seen in the Referer.
        '/e2e-config.js': (u, req) => {
          const key = new URL(req.headers.referer ?? 'http://x/').searchParams.get('cfg');
          return { type: 'text/javascript', body: `window.E2E = ${JSON.stringify(
            env.configs[key] ?? { error: `no config ${key}` })};` };
        },
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
