// End-to-end: the console at /admin/ui/ (issue 13 section 5) in Chromium, against a live
// `scrubd serve` holding (1) a checkout session recorded by real posthog-js and (2) a crafted
// recording whose title, URL and text carry <script> and "><img onerror=...>. Signs in as admin,
// lists and filters the sessions, replays the real one (masked text shows masked), replays the
// hostile one (nothing runs), then signs in as auditor (read-only, writes refused).
// Run: node --test console.test.mjs
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';

import {
  launchChromium, makeTmpDir, parseExport, REPO_DIR, scanTextForNeedles,
  SCRUBD_BIN, startScrubd, startStaticServer, waitFor,
} from './lib/harness.mjs';
import { defaultAbsentNeedles, fillCheckout, NOISY_CONSOLE, TOKEN, TYPED } from './lib/scenario.mjs';
import { writeTokensFile } from './lib/subjects.mjs';

const POLICY = path.join(REPO_DIR, 'policies', 'default.yaml');
const XSS_SESSION = `01a20355-${crypto.randomBytes(2).toString('hex')}-7000-8000-` +
  crypto.randomBytes(6).toString('hex');
const CANARY = `cnry${crypto.randomBytes(5).toString('hex')}`;  // letters+digits: kept by scrubbing
const XSS_TITLE = `<script>window.__xss='title'</script>${CANARY}`;
const XSS_URL = `https://xss.test/p/"><img src=x onerror="window.__xss='url'">` +
  `<script>window.__xss='url2'</script>?q=${CANARY}`;
const XSS_TEXT = `"><img src=x onerror="window.top.__xss='text'"><script>alert(1)</script>`;

// The crafted /s/ batch: Meta with the hostile href, a FullSnapshot whose <title>, text,
// attribute and element children carry script, and a text mutation doing the same.
function xssBatch() {
  const t0 = Date.now() - 5000;
  const el = (id, tagName, attributes, childNodes = []) =>
    ({ type: 2, id, tagName, attributes, childNodes });
  const text = (id, textContent) => ({ type: 3, id, textContent });
  const node = {
    type: 0, id: 1, childNodes: [
      { type: 1, id: 2, name: 'html', publicId: '', systemId: '' },
      el(3, 'html', {}, [
        el(4, 'head', {}, [el(5, 'title', {}, [text(6, XSS_TITLE)])]),
        el(7, 'body', {}, [
          el(8, 'h1', { id: 'xss-title', title: XSS_TEXT }, [text(9, XSS_TITLE)]),
          el(10, 'p', { id: 'xss-text' }, [text(11, XSS_TEXT)]),
          el(12, 'img', { id: 'xss-img', src: 'x', onerror: "window.top.__xss='attr'" }),
          el(13, 'script', {}, [text(14, "window.top.__xss='script'")]),
          el(15, 'a', { id: 'xss-link', href: "javascript:window.top.__xss='href'" },
            [text(16, 'link')]),
        ]),
      ]),
    ],
  };
  const events = [
    { type: 4, timestamp: t0, data: { href: XSS_URL, width: 1024, height: 640 } },
    { type: 2, timestamp: t0 + 10, data: { node, initialOffset: { left: 0, top: 0 } } },
    { type: 3, timestamp: t0 + 500,
      data: { source: 0, texts: [{ id: 11, value: `${XSS_TEXT} mutated` }], attributes: [],
        removes: [], adds: [] } },
    { type: 3, timestamp: t0 + 1000,
      data: { source: 0, texts: [], attributes: [], removes: [],
        adds: [{ parentId: 7, nextId: null, node: el(17, 'p', { id: 'xss-added' },
          [text(18, `${XSS_TEXT} added`)]) }] } },
  ];
  return JSON.stringify(events.map((e, i) => ({
    event: '$snapshot',
    uuid: `01a20355-1c3b-7e32-8005-${String(i).padStart(12, '0')}`,
    properties: { token: TOKEN, distinct_id: `xss-${CANARY}`, $session_id: XSS_SESSION,
      $window_id: 'w-xss', $current_url: XSS_URL, $snapshot_data: [e] },
  })));
}

// The stored events of a session through the console API (admin token), or null.
async function storedEvents(scrubdUrl, adminToken, sessionId) {
  const r = await fetch(`${scrubdUrl}/admin/api/sessions/${sessionId}/events?token=${TOKEN}`,
    { headers: { Authorization: `Bearer ${adminToken}` } });
  if (r.status !== 200) return null;
  return parseExport(await r.text());
}

// Records the checkout page with real posthog-js; resolves its session id once stored.
async function recordCheckout(browser, web, scrubdUrl, adminToken) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const { sessionId } = await fillCheckout(page, web.url);
  // Stored once the click's own mutation is (events typed just before the click do not count).
  await waitFor('the checkout session to be stored with its post-click mutation', async () => {
    const events = await storedEvents(scrubdUrl, adminToken, sessionId);
    return events && events.some((e) => e.type === 2) &&
      JSON.stringify(events).includes('Paid, thank you');
  }, { timeoutMs: 20000, intervalMs: 500 });
  await context.close();
  return sessionId;
}

// A console tab: collects page errors, console errors (minus the sandbox's script refusals)
// and dialogs; every dialog is dismissed and counted as a failure.
async function openConsole(browser, scrubdUrl) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  const failed = [];  // responses >= 400: checked by path below (Chromium logs each as an error)
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !NOISY_CONSOLE.some((re) => re.test(m.text())) &&
        !/^Failed to load resource: the server responded with a status of/.test(m.text()))
      problems.push(`console.error: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const res = await page.goto(`${scrubdUrl}/admin/ui/`);
  return { context, page, problems, failed, headers: res.headers() };
}

async function signIn(page, token, role) {
  await page.fill('#signin-token', token);
  await page.click('#signin-form button[type=submit]');
  await waitFor(`signed in as ${role}`,
    () => page.evaluate(() => document.getElementById('who-role').textContent), {});
  assert.equal(await page.textContent('#who-role'), role);
}

async function sessionRows(page) {
  await waitFor('the sessions table', () => page.evaluate(() =>
    !document.getElementById('view-sessions').hidden &&
    /session\(s\)|No stored session/.test(document.getElementById('sessions-status').textContent)));
  return page.evaluate(() => [...document.querySelectorAll('#sessions-table tbody tr')].map(
    (tr) => ({ id: tr.dataset.sessionId, cells: [...tr.cells].map((c) => c.textContent) })));
}

// Opens a session's replay from the list and jumps past its end; resolves the iframe document
// facts `probe` computes.
async function replay(page, sessionId, probe, arg) {
  await page.click(`#sessions-table tr[data-session-id="${sessionId}"] button.replay`);
  await waitFor('the player to mount', () => page.evaluate(() => Boolean(window.__scrubdPlayer &&
    document.querySelector('#player .replayer-wrapper iframe'))), { timeoutMs: 20000 });
  await page.evaluate(async () => {
    const p = window.__scrubdPlayer;
    p.play();
    await new Promise((r) => setTimeout(r, 300));
    p.getReplayer().pause(p.getMetaData().totalTime + 1);
  });
  return page.evaluate(probe, arg);
}

function checkoutProbe() {
  const frame = document.querySelector('#player .replayer-wrapper iframe');
  const doc = frame.contentDocument;
  const text = (sel) => doc.querySelector(sel)?.textContent ?? null;
  const values = {};
  for (const i of doc.querySelectorAll('input')) values[`#${i.id}`] = i.value;
  return { sandbox: frame.getAttribute('sandbox'), title: text('#title'), masked: text('#masked-note'),
    blocked: text('#private-block'), status: text('#status'), values,
    html: doc.documentElement.outerHTML };
}

function xssProbe() {
  const frame = document.querySelector('#player .replayer-wrapper iframe');
  const doc = frame.contentDocument;
  const urlCell = [...document.querySelectorAll('#sessions-table td.url')].map((c) => c.textContent);
  return {
    sandbox: frame.getAttribute('sandbox'),
    topXss: window.__xss ?? null,
    frameXss: frame.contentWindow.__xss ?? null,
    topImgs: document.querySelectorAll('img').length,
    topScripts: [...document.scripts].map((s) => s.getAttribute('src')),
    heading: doc.querySelector('#xss-title')?.textContent ?? null,
    text: doc.querySelector('#xss-text')?.textContent ?? null,
    added: doc.querySelector('#xss-added')?.textContent ?? null,
    frameScripts: doc.querySelectorAll('script').length,
    urlCell,
    title: document.getElementById('replay-title').textContent,
  };
}

test('console: sign in, list, replay masked, hostile recording inert, auditor read-only',
  { timeout: 180000 }, async (t) => {
    const tmp = await makeTmpDir('console');
    const dataDir = path.join(tmp, 'data');
    await fsp.mkdir(dataDir, { recursive: true });
    const tokensFile = path.join(tmp, 'tokens');
    const tokens = await writeTokensFile(tokensFile);
    t.diagnostic(`scrubd=${SCRUBD_BIN} tmp=${tmp}`);
    const cleanups = [];
    try {
      const scrubd = await startScrubd({ dataDir, policy: POLICY,
        logFile: path.join(tmp, 'scrubd.log'), extraArgs: ['--admin-tokens-file', tokensFile] });
      cleanups.push(() => scrubd.stop());
      const web = await startStaticServer({
        '/e2e-config.js': () => ({ type: 'text/javascript',
          body: `window.E2E = ${JSON.stringify({ apiHost: scrubd.url, token: TOKEN })};` }),
      });
      cleanups.push(() => web.close());
      const browser = await launchChromium();
      cleanups.push(() => browser.close());

      // ---- 1. two stored sessions ------------------------------------------------------------
      const checkoutId = await recordCheckout(browser, web, scrubd.url, tokens.admin);
      const post = await fetch(`${scrubd.url}/s/`, { method: 'POST',
        headers: { 'Content-Type': 'text/plain' }, body: xssBatch() });
      assert.equal(post.status, 200, `crafted /s/ batch: ${await post.text()}`);
      await waitFor('the crafted session to be stored', async () => {
        const events = await storedEvents(scrubd.url, tokens.admin, XSS_SESSION);
        return events && events.some((e) => e.type === 2);
      }, { timeoutMs: 15000, intervalMs: 500 });
      const xssExport = JSON.stringify(await storedEvents(scrubd.url, tokens.admin, XSS_SESSION));
      assert.ok(xssExport.includes('onerror'), 'the hostile markup is stored (else the test is vacuous)');
      assert.ok(xssExport.includes('<script>'), 'the <script> text is stored');

      // ---- 2. sign in as admin; headers; bad token --------------------------------------------
      const admin = await openConsole(browser, scrubd.url);
      const csp = admin.headers['content-security-policy'] || '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self';/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(admin.headers['x-content-type-options'], 'nosniff');
      assert.equal(admin.headers['cache-control'], 'no-store');
      await admin.page.fill('#signin-token', 'not-a-real-token-0000000000');
      await admin.page.click('#signin-form button[type=submit]');
      await waitFor('the bad token refused', () => admin.page.evaluate(() =>
        !document.getElementById('signin-error').hidden));
      assert.equal(await admin.page.textContent('#signin-error'), 'Unknown token.');
      assert.equal(await admin.page.isVisible('#tabs'), false, 'no tabs without a valid token');
      await signIn(admin.page, tokens.admin, 'admin');
      const storage = await admin.page.evaluate(() => ({ session: sessionStorage.length,
        local: localStorage.length, cookie: document.cookie }));
      assert.deepEqual(storage, { session: 1, local: 0, cookie: '' }, 'token only in sessionStorage');

      // ---- 3. sessions list and filters -------------------------------------------------------
      let rows = await sessionRows(admin.page);
      const ids = rows.map((r) => r.id).sort();
      assert.deepEqual(ids, [checkoutId, XSS_SESSION].sort(), 'both stored sessions listed');
      const checkoutRow = rows.find((r) => r.id === checkoutId);
      assert.match(checkoutRow.cells[1], /\d+ (s|min)/, 'duration shown');
      assert.ok(Number(checkoutRow.cells[2].replace(/,/g, '')) > 3, 'event count shown');
      assert.ok(Number(checkoutRow.cells[3].replace(/,/g, '')) > 0, 'checkout has redactions');
      await admin.page.fill('#session-filters input[name=url]', 'xss.test');
      await admin.page.click('#session-filters button[type=submit]');
      await waitFor('the URL filter', async () =>
        (await sessionRows(admin.page)).map((r) => r.id).join() === XSS_SESSION);
      await admin.page.click('#session-filters button[type=reset]');
      await admin.page.check('#session-filters input[name=redacted]');
      await admin.page.click('#session-filters button[type=submit]');
      await waitFor('the has-redactions filter', async () =>
        (await sessionRows(admin.page)).every((r) => Number(r.cells[3].replace(/,/g, '')) > 0));
      await admin.page.click('#session-filters button[type=reset]');
      await waitFor('all sessions again', async () => (await sessionRows(admin.page)).length === 2);

      // ---- 4. replay the posthog-js session: masked stays masked ------------------------------
      const dom = await replay(admin.page, checkoutId, checkoutProbe);
      assert.equal(dom.sandbox, 'allow-same-origin', 'replayer iframe sandboxed without scripts');
      assert.equal(dom.title?.trim(), 'E2E Checkout', 'replay shows the page heading');
      assert.match(dom.status ?? '', /Paid, thank you/, 'replay applied the post-click mutation');
      assert.match(dom.masked ?? '', /\*{5}/, `.ph-mask text replays as asterisks: "${dom.masked}"`);
      assert.match(dom.masked ?? '', /^[\s*]*$/, 'masked text has only asterisks');
      assert.ok(!dom.blocked || dom.blocked.trim() === '', 'blocked element replays empty');
      for (const sel of Object.keys(TYPED))
        assert.match(dom.values[sel] ?? '', /^\**$/, `input ${sel} replays masked`);
      assert.deepEqual(scanTextForNeedles(dom.html, defaultAbsentNeedles()), [],
        'no planted value in the replayed DOM');
      const shotDir = process.env.SCRUBD_E2E_TMP || tmp;
      const shot = path.join(shotDir, 'console.png');
      await admin.page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot ${shot}`);

      // ---- 5. replay the hostile recording: nothing runs -------------------------------------
      await admin.page.click('#replay-back');
      await sessionRows(admin.page);
      const x = await replay(admin.page, XSS_SESSION, xssProbe);
      assert.equal(x.sandbox, 'allow-same-origin', 'hostile replay is sandboxed without scripts');
      assert.equal(x.topXss, null, 'no script ran in the console');
      assert.equal(x.frameXss, null, 'no script ran in the replay iframe');
      assert.equal(x.topImgs, 0, 'no <img> element was created in the console document');
      assert.deepEqual(x.topScripts, ['rrweb-player.js', 'console.js'], 'only the console\'s scripts');
      assert.equal(x.frameScripts, 0, 'recorded <script> not rebuilt as a script');
      assert.ok(x.heading?.includes('<script>'), `title text replays as text: ${x.heading}`);
      assert.ok(x.text?.includes('onerror'), `hostile text replays as text: ${x.text}`);
      await admin.page.click('#replay-back');
      await sessionRows(admin.page);
      const cells = await admin.page.evaluate(() =>
        [...document.querySelectorAll('#sessions-table td.url')].map((c) => c.textContent));
      assert.ok(cells.some((c) => c.includes('"><img') && c.includes('<script>')),
        `the hostile URL is shown as text: ${JSON.stringify(cells)}`);
      assert.equal(await admin.page.evaluate(() => document.querySelectorAll('img').length), 0);
      assert.equal(await admin.page.evaluate(() => window.__xss ?? null), null);

      // ---- 6. the other views load --------------------------------------------------------------
      await admin.page.click('#tabs button[data-view=policy]');
      await waitFor('the policy table', () => admin.page.evaluate(() =>
        document.querySelectorAll('#policy-table tbody tr').length > 0));
      assert.match(await admin.page.textContent('#policy-table tbody'), /[0-9a-f]{64}/, 'sha256');
      await admin.page.click('#tabs button[data-view=audit]');
      await waitFor('the audit view', () => admin.page.evaluate(() =>
        document.querySelectorAll('#audit-latest details').length > 0));
      await admin.page.click('#audit-verify-now');
      await waitFor('a verify result', () => admin.page.evaluate(() =>
        document.getElementById('audit-verify').classList.contains('good')));
      await admin.page.click('#tabs button[data-view=subjects]');
      await waitFor('the holds table', () => admin.page.evaluate(() =>
        /hold|No holds/.test(document.getElementById('holds-status').textContent)));
      assert.deepEqual(admin.problems, [], 'admin console logged errors or opened dialogs');
      // Only the wrong token's 401 and the hostile <img src=x> (resolved against the console,
      // answered 404 by the daemon; never run, never another host).
      assert.deepEqual([...new Set(admin.failed)].sort(), ['401 /admin/api/whoami', '404 /admin/ui/x'],
        'failed requests');
      await admin.context.close();

      // ---- 7. auditor: read-only --------------------------------------------------------------
      const aud = await openConsole(browser, scrubd.url);
      await signIn(aud.page, tokens.auditor, 'auditor');
      assert.equal(await aud.page.isVisible('#who-readonly'), true, 'read-only badge shown');
      assert.equal((await sessionRows(aud.page)).length, 2, 'auditor sees the sessions');
      await aud.page.click('#tabs button[data-view=policy]');
      await waitFor('the policy table', () => aud.page.evaluate(() =>
        document.querySelectorAll('#policy-table tbody tr').length > 0));
      assert.equal(await aud.page.isVisible('#policy-reload'), false, 'no reload button');
      const writes = await aud.page.evaluate(async () => {
        const t = sessionStorage.getItem('scrubd.console.token');
        const call = async (m, p) => (await fetch(p, { method: m,
          headers: { Authorization: `Bearer ${t}` } })).status;
        return { reload: await call('POST', '/admin/reload'),
          hold: await call('POST', '/admin/holds') };
      });
      assert.deepEqual(writes, { reload: 403, hold: 403 }, 'the daemon refuses auditor writes');
      assert.deepEqual(aud.problems, [], 'auditor console errors');
      assert.deepEqual([...new Set(aud.failed)].sort(), ['403 /admin/holds', '403 /admin/reload']);
      await aud.context.close();

      // ---- 8. nothing leaked to the daemon's output ------------------------------------------
      const exit = await scrubd.stop();
      assert.equal(exit.code, 0, `scrubd exit ${JSON.stringify(exit)}`);
      const out = scrubd.output();
      for (const secret of [tokens.admin, tokens.auditor, CANARY])
        assert.ok(!out.includes(secret), 'a token or the canary reached scrubd\'s output');
    } finally {
      for (const fn of cleanups.reverse()) {
        let timer;
        await Promise.race([fn(), new Promise((r) => { timer = setTimeout(r, 10000); })])
          .catch(() => {});
        clearTimeout(timer);
      }
    }
  });
