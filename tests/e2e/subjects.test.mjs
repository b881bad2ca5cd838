// End-to-end data-subject rights (issue 10, "Done when"): real posthog-js 1.449.2 in Chromium
// records person A (anonymous, then identify(email)) and person B into a live scrubd; then
// `scrubd forget --email` erases all of A with a receipt, A's late data is dropped, the receipt
// verifies offline, B's access bundle replays in rrweb-player, and OpenDSR works over HTTP with
// role tokens. SUBJECTS_E2E_UNTIL=record stops after the recording (development only; see
// README.md). Run: node --test subjects.test.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';

import {
  launchChromium, makeTmpDir, parseExport, REPO_DIR, scanDirForNeedles, scrubdExport, SCRUBD_BIN,
  sleep, startScrubd, startStaticServer, waitFor,
} from './lib/harness.mjs';
import {
  AUDIT_VERIFY_BIN, httpJson, openPerson, parseDropMetrics, randomWord, replayInPlayer, run,
  scrubd, serveKnowsFlag, startCallbackServer, TOKEN, writeTokensFile,
} from './lib/subjects.mjs';
import { readZip } from './lib/zip.mjs';

const UNTIL = process.env.SUBJECTS_E2E_UNTIL || '';
const POLICY = path.resolve(process.env.SCRUBD_POLICY ||
  path.join(REPO_DIR, 'policies', 'default.yaml'));

// Everything planted for one run; the words are letters only so no scrubber rule touches them
// (the scan must see them before the erasure, or "absent after" would prove nothing).
function plant() {
  const r = randomWord(6);
  return {
    emailA: `subject.a.${r}@example.org`,
    personB: `person-b-${crypto.randomBytes(6).toString('hex')}`,
    markerA: `Quorblefrost${r}`,      // page text of A (FullSnapshot)
    anonA: `Anonwhistle${r}`,         // DOM mutation of A before identify()
    identifiedA: `Idenwhistle${r}`,   // DOM mutation of A after identify()
    lateA: `Latewhistle${r}`,         // DOM mutation of A after the erasure
    markerB: `Bramblequay${r}`,       // page text of B
  };
}

// Export of a session: exit 0 and a JSON array holding a FullSnapshot, or null.
async function exportedEvents(dataDir, sessionId) {
  const r = await scrubdExport(dataDir, sessionId);
  const events = r.code === 0 ? parseExport(r.stdout) : null;
  return events && events.some((e) => e.type === 2) ? events : null;
}

// Waits until the session exports with a FullSnapshot and `text` (a planted word) in it.
async function waitStored(dataDir, sessionId, text, what) {
  return waitFor(what, async () => {
    const events = await exportedEvents(dataDir, sessionId);
    return events && JSON.stringify(events).includes(text) && events;
  }, { timeoutMs: 15000, intervalMs: 500 });
}

// "Now fails or is empty": a nonzero exit, or exit 0 with an empty array.
async function assertNotExported(dataDir, sessionId, what) {
  const r = await scrubdExport(dataDir, sessionId);
  const events = r.code === 0 ? parseExport(r.stdout) : null;
  assert.ok(r.code !== 0 || (Array.isArray(events) && events.length === 0),
    `${what}: export of session ${sessionId} should fail or be empty, got exit ${r.code} and ` +
    `${r.stdout.length} bytes`);
}

// An access bundle of an erased id: the export fails, or its bundle lists no session and no event.
async function assertNoBundle(env, distinctId, what) {
  const out = path.join(env.tmp, `gone-${crypto.randomBytes(4).toString('hex')}.zip`);
  const r = await scrubd(['export', '--data-dir', env.dataDir, '--distinct-id', distinctId,
    '--out', out]);
  if (r.code !== 0) return;
  const entries = readZip(await fsp.readFile(out));
  const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '{}');
  assert.deepEqual(manifest.sessions ?? [], [], `${what}: the bundle lists no session`);
  const events = JSON.parse(entries.get('events.json')?.toString('utf8') ?? '[]');
  assert.deepEqual(Array.isArray(events) ? events : events.events, [], `${what}: no event`);
}

async function assertScan(dataDir, needles, want, where) {
  const hits = await scanDirForNeedles(dataDir, needles);
  for (const n of needles) {
    const found = hits.filter((h) => h.needle === n).map((h) => h.file);
    if (want === 'present') assert.ok(found.length > 0, `"${n}" should be on disk (${where})`);
    else assert.deepEqual([...new Set(found)], [], `"${n}" must be gone from disk (${where})`);
  }
}

async function leave(person) {
  await person.page.goto('about:blank').catch(() => {});
  await sleep(500);  // pagehide beacons
  await person.context.close().catch(() => {});
}

// ---- steps 1-2: record A (anonymous, then identified) and B --------------------------------
async function recordPersons(t, env, p) {
  const { browser, web, srv, dataDir } = env;
  const start = Date.now();
  const a = await openPerson(browser, { webUrl: web.url, scrubdUrl: srv.url, marker: p.markerA });
  t.diagnostic(`A recording after ${Date.now() - start} ms`);
  const anonId = await a.distinctId();
  const sessionBefore = await a.sessionId();
  assert.match(sessionBefore, /^[A-Za-z0-9-]{10,70}$/, 'posthog-js session id');
  const t0 = Date.now();
  await a.page.locator('#note').pressSequentially('hello there', { delay: 15 });
  await a.page.evaluate((s) => window.e2eAddText(s), `anonymous part ${p.anonA}`);
  await a.requests.waitAccepted('/s', t0 + 50, 'A: an anonymous /s/ to be accepted');
  await waitStored(dataDir, sessionBefore, p.anonA, 'A: the anonymous session to be stored');
  t.diagnostic(`A anonymous part stored after ${Date.now() - start} ms`);

  const tId = Date.now();
  await a.page.evaluate((email) => window.posthog.identify(email), p.emailA);
  assert.equal(await a.distinctId(), p.emailA, 'identify() took');
  await a.page.locator('#note').pressSequentially(' again', { delay: 15 });
  await a.page.evaluate((s) => window.e2eAddText(s), `identified part ${p.identifiedA}`);
  await a.page.evaluate(() => window.posthog.capture('after_identify', { step: 2 },
    { send_instantly: true }));
  await a.requests.waitAccepted('/e', tId, 'A: events after identify() to be accepted');
  await a.requests.waitAccepted('/s', tId + 50, 'A: a /s/ after identify() to be accepted');
  const sessionAfter = await a.sessionId();
  await waitStored(dataDir, sessionAfter, p.identifiedA, 'A: the identified part to be stored');
  t.diagnostic(`A identified part stored after ${Date.now() - start} ms`);
  t.diagnostic(`A: anon ${anonId}, session ${sessionBefore} -> ${sessionAfter}`);

  const b = await openPerson(browser, { webUrl: web.url, scrubdUrl: srv.url, marker: p.markerB });
  const tB = Date.now();
  await b.page.evaluate((id) => window.posthog.identify(id), p.personB);
  await b.page.locator('#note').pressSequentially('person b', { delay: 15 });
  await b.page.evaluate((s) => window.e2eAddText(s), `b was here ${p.markerB}`);
  await b.requests.waitAccepted('/s', tB + 50, 'B: a /s/ to be accepted');
  const sessionB = await b.sessionId();
  await waitStored(dataDir, sessionB, p.markerB, 'B: the session to be stored');
  await leave(b);
  t.diagnostic(`B: ${p.personB}, session ${sessionB}`);
  return { a, anonId, sessionBefore, sessionAfter, sessionB };
}

// Replays B's events and checks the FullSnapshot rendered (the page heading and B's text).
async function assertReplays(env, events, what) {
  const r = await replayInPlayer(env.browser, { webUrl: env.web.url, events,
    setEvents: env.setReplay, screenshot: path.join(env.tmp, 'replay-b.png') });
  assert.ok(r.replay.ok, `${what}: rrweb-player failed: ${r.replay.error}`);
  assert.ok(r.dom, `${what}: replay iframe exists`);
  assert.equal(r.dom.title?.trim(), 'E2E Subjects', `${what}: FullSnapshot rendered the heading`);
  assert.ok(r.dom.body.includes(env.plants.markerB), `${what}: B's page text replayed`);
  assert.deepEqual(r.errors, [], `${what}: replay page logged errors`);
}

// ---- step 3-4: scrubd forget --email ---------------------------------------------------------
async function forgetA(t, env, p, rec) {
  const { dataDir } = env;
  const f = await scrubd(['forget', '--data-dir', dataDir, '--email', p.emailA, '--json'],
    { timeoutMs: 30000 });
  assert.equal(f.code, 0, `scrubd forget exit ${f.code}: ${f.stderr.slice(-2000)}`);
  let receipt;
  assert.doesNotThrow(() => { receipt = JSON.parse(f.stdout); }, `forget --json printed JSON`);
  assert.equal(receipt.receipt_version, 1, 'receipt_version');
  const req = receipt.request;
  assert.equal(typeof req?.request_id, 'string', 'request.request_id');
  assert.equal(req.type, 'erasure', 'request.type');
  assert.equal(req.status, 'completed', 'request.status');
  assert.ok(req.subject, 'request.subject (the pseudonym)');
  for (const k of ['sessions', 'chunks', 'events', 'spool', 'dead_letters', 'dom_state']) {
    assert.ok(Number.isInteger(req.counts?.[k]) && req.counts[k] >= 0, `counts.${k} integer`);
  }
  assert.ok(req.counts.sessions >= 1, `counts.sessions >= 1: ${JSON.stringify(req.counts)}`);
  assert.ok(req.counts.chunks >= 1, `counts.chunks >= 1: ${JSON.stringify(req.counts)}`);
  assert.ok(req.counts.events >= 1, `counts.events >= 1: ${JSON.stringify(req.counts)}`);
  assert.equal(req.scan?.clean, true, `scan.clean: ${JSON.stringify(req.scan)}`);
  assert.equal(typeof receipt.audit, 'object', 'receipt.audit');
  assert.ok(!f.stdout.toLowerCase().includes(p.emailA), 'the receipt holds no raw email');
  t.diagnostic(`forget: ${JSON.stringify(req.counts)} scan ${JSON.stringify(req.scan)}`);

  await assertNotExported(dataDir, rec.sessionAfter, 'A after forget');
  await assertNotExported(dataDir, rec.sessionBefore, 'A\'s anonymous part after forget');
  await assertNoBundle(env, rec.anonId, 'A\'s anonymous distinct id after forget');
  await assertNoBundle(env, p.emailA, 'A\'s identified distinct id after forget');
  await assertScan(dataDir, [p.emailA, p.markerA, p.anonA, p.identifiedA], 'absent',
    'after forget');
  await assertScan(dataDir, [p.markerB], 'present', 'B untouched by A\'s erasure');
  assert.ok(await exportedEvents(dataDir, rec.sessionB), 'B\'s session still exports');
  assert.ok(!env.srv.output().toLowerCase().includes(p.emailA), 'scrubd\'s log has no raw email');
  return f.stdout;
}

// ---- step 5: late data from A's still-open, identified page ---------------------------------
async function lateData(t, env, p, rec) {
  const { srv, tokens, dataDir } = env;
  const metrics = async () => {
    const r = await httpJson('GET', `${srv.url}/metrics`, { token: tokens.auditor });
    assert.equal(r.status, 200, `GET /metrics with the auditor token: ${r.text.slice(0, 300)}`);
    return parseDropMetrics(r.text);
  };
  const before = await metrics();
  const a = rec.a;
  const tLate = Date.now();
  await a.page.locator('#note').pressSequentially(' late', { delay: 15 });
  await a.page.evaluate((s) => window.e2eAddText(s), `late part ${p.lateA}`);
  await a.page.evaluate(() => window.posthog.capture('late_event', { step: 5 },
    { send_instantly: true }));
  await waitFor('A: late /e/ and /s/ requests to be answered', () =>
    a.requests.since(tLate, '/e').length > 0 && a.requests.since(tLate + 50, '/s').length > 0,
  { timeoutMs: 15000 }).catch((e) => { throw new Error(`${e.message}\n  ${a.requests.log()}`); });
  await sleep(500);
  const late = a.requests.list.filter((r) => r.startedAt > tLate);
  assert.deepEqual(late.filter((r) => r.status !== 200).map((r) => `${r.path} ${r.status}`), [],
    'late data is answered 200 (the client must not retry)');
  await leave(a);

  await assertNotExported(dataDir, rec.sessionAfter, 'A after late data');
  await assertScan(dataDir, [p.emailA, p.markerA, p.lateA], 'absent', 'after late data');
  const after = await metrics();
  t.diagnostic(`metrics tombstone ${before.tombstone} -> ${after.tombstone} ` +
    `(${after.lines.join(' | ')}); events_dropped ${before.dropped} -> ${after.dropped}`);
  if (after.lines.length > 0) {
    assert.ok(after.tombstone > before.tombstone, `a tombstone drop counted: ${after.lines}`);
  } else {
    assert.ok(after.dropped > before.dropped,
      'no tombstone metric, and scrubd_events_dropped_total did not grow');
  }
}

// ---- step 7: access bundle of B, replayed ----------------------------------------------------
const pick = (o, names) => names.map((n) => o?.[n]).find((v) => v !== undefined);
const asMs = (v) => (typeof v === 'number' ? v : Date.parse(v));

async function exportBundleB(t, env, p, rec) {
  const zipPath = path.join(env.tmp, 'B.zip');
  const e = await scrubd(['export', '--data-dir', env.dataDir, '--distinct-id', p.personB,
    '--out', zipPath]);
  assert.equal(e.code, 0, `export --distinct-id exit ${e.code}: ${e.stderr.slice(-2000)}`);
  const entries = readZip(await fsp.readFile(zipPath));
  t.diagnostic(`bundle: ${[...entries.keys()].join(', ')}`);
  const json = (name) => {
    assert.ok(entries.has(name), `bundle has ${name}`);
    return JSON.parse(entries.get(name).toString('utf8'));
  };
  const manifest = json('manifest.json');
  const pseudonym = pick(manifest, ['subject_pseudonym', 'subject']);
  const pid = typeof pseudonym === 'object' ? pick(pseudonym, ['pseudonym', 'id']) : pseudonym;
  assert.ok(typeof pid === 'string' && pid.length >= 8, `manifest subject pseudonym: ${pid}`);
  assert.ok(!pid.includes(p.personB), 'the pseudonym is not the raw id');
  assert.ok(Array.isArray(manifest.sessions), 'manifest.sessions');
  const s = manifest.sessions.find((x) => pick(x, ['id', 'session_id']) === rec.sessionB);
  assert.ok(s, `manifest lists B's session: ${JSON.stringify(manifest.sessions).slice(0, 500)}`);
  const first = asMs(pick(s, ['first_timestamp', 'first_ts', 'first', 'start_time']));
  const last = asMs(pick(s, ['last_timestamp', 'last_ts', 'last', 'end_time']));
  assert.ok(first > 0 && last >= first, `session first/last timestamps: ${JSON.stringify(s)}`);
  const urls = pick(s, ['urls', 'url']);
  assert.ok([].concat(urls).some((u) => String(u).includes('/pages/subjects.html')),
    `session urls: ${JSON.stringify(urls)}`);
  assert.ok(pick(s, ['event_count', 'events', 'count']) >= 1, 'session event count >= 1');
  const events = json(`sessions/${rec.sessionB}.json`);
  assert.ok(Array.isArray(events) && events.some((x) => x.type === 2 && x.data?.node),
    'sessions/<B>.json is an rrweb array with a FullSnapshot');
  const analytics = json('events.json');
  const list = Array.isArray(analytics) ? analytics : analytics.events;
  assert.ok(Array.isArray(list) && list.length >= 1, 'events.json holds B\'s events');
  await assertReplays(env, events, 'bundle replay');
}

// ---- step 8: OpenDSR over HTTP ---------------------------------------------------------------
async function openDsr(t, env, p, rec) {
  const { srv, tokens } = env;
  const cb = await startCallbackServer();
  env.cleanups.push(() => cb.close());
  const disc = await httpJson('GET', `${srv.url}/v1/discovery`, { token: tokens.dsr });
  assert.equal(disc.status, 200, `GET /v1/discovery: ${disc.text.slice(0, 300)}`);
  const id = crypto.randomUUID();
  const body = { subject_request_id: id, subject_request_type: 'erasure', regulation: 'gdpr',
    submitted_time: new Date().toISOString(), status_callback_urls: [cb.url],
    subject_identities: [{ identity_type: 'controller_customer_id', identity_value: p.personB,
      identity_format: 'raw' }] };
  const url = `${srv.url}/v1/requests`;
  assert.equal((await httpJson('POST', url, { body })).status, 401, 'no token: 401');
  assert.equal((await httpJson('POST', url, { body, token: tokens.auditor })).status, 403,
    'auditor token: 403');
  const created = await httpJson('POST', url, { body, token: tokens.dsr });
  assert.equal(created.status, 201, `POST /v1/requests: ${created.text.slice(0, 500)}`);
  for (const k of ['expected_completion_time', 'received_time']) {
    assert.ok(Date.parse(created.json?.[k]) > 0, `201 has ${k}: ${created.text.slice(0, 500)}`);
  }
  let last;
  await waitFor('the OpenDSR request to complete', async () => {
    last = await httpJson('GET', `${url}/${id}`, { token: tokens.dsr });
    assert.notEqual(last.json?.request_status, 'cancelled', 'request cancelled');
    return last.status === 200 && last.json?.request_status === 'completed';
  }, { timeoutMs: 30000, intervalMs: 300 }).catch((e) => {
    throw new Error(`${e.message}; last GET: ${last?.status} ${last?.text.slice(0, 500)}`);
  });
  await waitFor('a "completed" status callback', () =>
    cb.received.at(-1)?.json?.request_status === 'completed', { timeoutMs: 10000 })
    .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(cb.received)}`); });
  for (const c of cb.received) {
    assert.ok(['pending', 'in_progress', 'completed'].includes(c.json?.request_status),
      `callback status: ${c.text.slice(0, 300)}`);
  }
  t.diagnostic(`callbacks: ${cb.received.map((c) => c.json.request_status).join(' -> ')}`);
  await assertNotExported(env.dataDir, rec.sessionB, 'B after the OpenDSR erasure');
}

// ---- step 6: the receipt verifies offline, a flipped count does not -------------------------
async function verifyReceipt(t, env, receiptText) {
  const good = path.join(env.tmp, 'receipt.json');
  const bad = path.join(env.tmp, 'receipt-tampered.json');
  await fsp.writeFile(good, receiptText);
  const tampered = receiptText.replace(/("counts"\s*:\s*\{[^}]*?"sessions"\s*:\s*)(\d+)/,
    (_, pre, n) => pre + n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10));
  assert.notEqual(tampered, receiptText, 'found counts.sessions to flip');
  await fsp.writeFile(bad, tampered);
  const pem = path.join(env.dataDir, 'audit', 'public.pem');
  const checks = [
    ['scrubd audit verify', SCRUBD_BIN, (f) => ['audit', 'verify', '--data-dir', env.dataDir,
      '--receipt', f]],
    ['scrubd-audit-verify', AUDIT_VERIFY_BIN, (f) => ['--receipt', f, '--public-key', pem]],
  ];
  for (const [name, bin, args] of checks) {
    const ok = await run(bin, args(good));
    assert.equal(ok.code, 0, `${name} of the receipt: ${ok.stdout}${ok.stderr}`.slice(0, 2000));
    const no = await run(bin, args(bad));
    assert.equal(no.code, 1, `${name} of a tampered receipt must exit 1: ${no.stdout}${no.stderr}`
      .slice(0, 2000));
  }
}

async function scenario(t, env) {
  const p = env.plants;
  const t0 = Date.now();
  const step = (name) => t.diagnostic(`${name} done at +${Date.now() - t0} ms`);
  const rec = await recordPersons(t, env, p);
  step('recording');
  // Controls: every planted word is visible to the byte scan before anything is erased.
  await assertScan(env.dataDir, [p.markerA, p.anonA, p.identifiedA, p.markerB], 'present',
    'before forget');
  // Not asserted (identifiers are pseudonymised on ingest): where A's raw email sits, if anywhere.
  const emailHits = await scanDirForNeedles(env.dataDir, [p.emailA]);
  t.diagnostic(`A's email on disk before forget: ${[...new Set(emailHits.map((h) => h.file))]}`);
  if (UNTIL === 'record') {
    await rec.a.context.close();
    await assertReplays(env, await exportedEvents(env.dataDir, rec.sessionB), 'B replay');
    step('replay');
    return;
  }
  const receipt = await forgetA(t, env, p, rec);
  step('forget');
  await lateData(t, env, p, rec);
  step('late data');
  await exportBundleB(t, env, p, rec);
  step('bundle');
  await openDsr(t, env, p, rec);
  step('OpenDSR');
  const exit = await env.srv.stop();
  assert.equal(exit.code, 0, `scrubd should exit 0 on SIGTERM, got ${JSON.stringify(exit)}`);
  await verifyReceipt(t, env, receipt);
  step('receipt');
}

test('subject rights: forget follows the person, late data dropped, receipt verifies, ' +
  'bundle replays, OpenDSR with roles', { timeout: 120000 }, async (t) => {
  const tmp = await makeTmpDir('subjects');
  const dataDir = path.join(tmp, 'data');
  await fsp.mkdir(dataDir, { recursive: true });
  const tokensFile = path.join(tmp, 'admin-tokens');
  const env = { tmp, dataDir, plants: plant(), cleanups: [],
    tokens: await writeTokensFile(tokensFile) };
  t.diagnostic(`scrubd=${SCRUBD_BIN} tmp=${tmp} until=${UNTIL || 'end'}`);
  try {
    let extraArgs = ['--admin-tokens-file', tokensFile, '--dsr-callbacks-allow-loopback'];
    if (UNTIL === 'record' && !await serveKnowsFlag('--admin-tokens-file')) {
      t.diagnostic('this scrubd has no --admin-tokens-file: recording without it');
      extraArgs = [];
    }
    env.srv = await startScrubd({ dataDir, policy: POLICY, logFile: path.join(tmp, 'scrubd.log'),
      extraArgs });
    env.cleanups.push(() => env.srv.stop());
    let replayJson = '[]';
    env.setReplay = (s) => { replayJson = s; };
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
    const cleanStart = Date.now();
    for (const fn of env.cleanups.reverse()) {
      let timer;
      await Promise.race([fn(), new Promise((r) => { timer = setTimeout(r, 10000); })])
        .catch(() => {});
      clearTimeout(timer);
    }
    t.diagnostic(`cleanup took ${Date.now() - cleanStart} ms`);
  }
});
