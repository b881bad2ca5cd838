// The end-to-end scenario shared by the *.test.mjs files: real posthog-js 1.449.2 in Chromium
// records a checkout page full of planted personal data into a live scrubd; the test then checks
// the stored session (export), the bytes of every file scrubd wrote, and an rrweb-player replay.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';

import {
  launchChromium, makeTmpDir, parseExport, scanDirForNeedles, scanTextForNeedles, scrubdExport,
  SCRUBD_BIN, startScrubd, startStaticServer, waitFor,
} from './harness.mjs';

export const TOKEN = 'phc_e2etoken';

// Values typed into the form by playwright, one key at a time.
export const TYPED = {
  '#email': 'jane.e2e@example.org',
  '#name': 'Zebulon Quixleyfield',
  '#ssn': '536-22-8874',
  '#card': '4111 1111 1111 1111',
};
// Values planted elsewhere (see pages/checkout.html and pages/checkout.js).
export const PLANTED = {
  pageTextEmail: 'helpdesk.e2e@example.net',       // plain text node
  maskedText: 'Bartholomew Quiggleworth',          // inside .ph-mask
  blockedText: 'Ursula Vandermeerkat',             // inside [data-ph-no-capture]
  mutationEmail: 'receipt.e2e@example.org',        // text added by a DOM mutation after "Pay"
  consoleEmail: 'console.e2e@example.com',         // console.log argument
  captureEmail: 'capture.e2e@example.com',         // posthog.capture('checkout', {email})
  urlEmail: 'url.e2e@example.com',                 // page URL query string
};
export const PAGE_QUERY = `?email=${PLANTED.urlEmail}&plan=pro`;

// Needles that must never reach disk: every typed value and its last keystroke prefix (rrweb
// records an Input event per keystroke), and every planted value.
export function defaultAbsentNeedles() {
  const needles = [];
  for (const v of Object.values(TYPED)) needles.push(v, v.slice(0, -1));
  needles.push(TYPED['#ssn'].replace(/-/g, ''), TYPED['#card'].replace(/ /g, ''));
  needles.push(...Object.values(PLANTED));
  return needles;
}

function assertNoHits(hits, where) {
  if (hits.length === 0) return;
  const lines = hits.map((h) => `  "${h.needle}"` + (h.form !== h.needle.toLowerCase() ?
    ` (as "${h.form}")` : '') + (h.file ? ` in ${h.file}` : ''));
  assert.fail(`planted PII found ${where}:\n${[...new Set(lines)].join('\n')}`);
}

// Console errors on the replay page that are not failures: rrweb's replay iframe is sandboxed
// without allow-scripts, so Chromium reports each recorded <script src> it refuses to run.
export const NOISY_CONSOLE = [/^Blocked script execution in .* the document's frame is sandboxed/];

/**
 * Runs the scenario once against one policy.
 * @param t          node:test context (for diagnostics)
 * @param opts.policy         policy file passed to `scrubd serve --policy`
 * @param opts.absent         strings that must not appear in any stored byte nor the export
 * @param opts.present        strings that must survive scrubbing (precision), checked in export
 * @param opts.maskedSelectors elements whose text must replay as asterisks
 * @param opts.blockedSelectors elements whose content must not replay
 */
// Drives the checkout page as every recording test does: loads it, waits for posthog-js to
// record, types TYPED into its fields and pays. `explain()` adds context to a start timeout.
export async function fillCheckout(page, webUrl, explain = () => '') {
  await page.goto(`${webUrl}/pages/checkout.html${PAGE_QUERY}`);
  await waitFor('posthog-js to start session recording',
    () => page.evaluate(() => window.__e2eLoaded && window.posthog.sessionRecordingStarted()),
    { timeoutMs: 20000 }).catch((e) => { throw new Error(e.message + explain()); });
  const sessionId = await page.evaluate(() => window.posthog.get_session_id());
  for (const [selector, value] of Object.entries(TYPED)) {
    await page.locator(selector).pressSequentially(value, { delay: 15 });
  }
  await page.locator('#pay').click();
  await page.waitForFunction(() => window.__e2ePaid === true);
  return { sessionId, clickedAt: Date.now() };
}

export async function runScenario(t, opts) {
  const tmp = await makeTmpDir(opts.name);
  const dataDir = path.join(tmp, 'data');
  await fsp.mkdir(dataDir, { recursive: true });
  t.diagnostic(`scrubd=${SCRUBD_BIN} policy=${opts.policy} tmp=${tmp}`);

  const cleanups = [];
  let exportJson = '[]';
  try {
    const scrubd = await startScrubd({ dataDir, policy: opts.policy,
      logFile: path.join(tmp, 'scrubd.log') });
    cleanups.push(() => scrubd.stop());
    const web = await startStaticServer({
      '/e2e-config.js': () => ({ type: 'text/javascript',
        body: `window.E2E = ${JSON.stringify({ apiHost: scrubd.url, token: TOKEN })};` }),
      '/replay-events.json': () => ({ type: 'application/json', body: exportJson }),
    });
    cleanups.push(() => web.close());
    const browser = await launchChromium();
    cleanups.push(() => browser.close());

    // ---- 1. record -------------------------------------------------------------------------
    const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    // Requests the page made to scrubd: {method, path, startedAt, status (-1: failed)}.
    const toScrubd = [];
    const started = new Map();
    page.on('request', (req) => started.set(req, Date.now()));
    page.on('requestfinished', async (req) => {
      if (!req.url().startsWith(scrubd.url)) return;
      const res = await req.response().catch(() => null);
      toScrubd.push({ method: req.method(), path: req.url().slice(scrubd.url.length),
        status: res ? res.status() : 0, startedAt: started.get(req) ?? 0 });
    });
    page.on('requestfailed', (req) => {
      if (req.url().startsWith(scrubd.url)) {
        toScrubd.push({ method: req.method(), path: req.url().slice(scrubd.url.length),
          status: -1, error: req.failure()?.errorText, startedAt: started.get(req) ?? 0 });
      }
    });
    const recordedConsole = [];
    page.on('console', (m) => recordedConsole.push(`${m.type()}: ${m.text()}`));
    const requestLog = () => toScrubd.map((r) => `${r.method} ${r.path} -> ${r.status}` +
      (r.error ? ` (${r.error})` : '')).join('\n  ');

    const { sessionId, clickedAt } = await fillCheckout(page, web.url, () =>
      `\n  requests to scrubd:\n  ${requestLog()}\n  page console:\n  ` +
      recordedConsole.slice(-20).join('\n  '));
    assert.match(sessionId, /^[A-Za-z0-9-]{10,70}$/, 'posthog-js session id');
    t.diagnostic(`session ${sessionId}`);

    // The recorder flushes /s/ every ~2 s. Wait for a successful /s/ that started after the
    // click (so it carries the click's mutation and console log), then for the export to hold
    // the FullSnapshot and events from after the click.
    await waitFor('a /s/ request sent after the click to be accepted by scrubd',
      () => toScrubd.some((r) => r.path.startsWith('/s') && r.startedAt > clickedAt + 50 &&
        r.status >= 200 && r.status < 300), { timeoutMs: 15000 }).catch((e) => {
      throw new Error(`${e.message}\n  requests to scrubd:\n  ${requestLog()}`);
    });
    await waitFor('the export to contain the FullSnapshot and the post-click events', async () => {
      const r = await scrubdExport(dataDir, sessionId);
      const events = r.code === 0 ? parseExport(r.stdout) : null;
      return events && events.some((e) => e.type === 2) &&
        events.some((e) => e.timestamp >= clickedAt - 1000);
    }, { timeoutMs: 15000, intervalMs: 500 });
    // Leave the page: posthog-js flushes what is left on pagehide (sendBeacon).
    await page.goto('about:blank');
    await new Promise((r) => setTimeout(r, 500));
    await context.close();
    const badRequests = toScrubd.filter((r) => r.status >= 400 || r.status < 0);
    t.diagnostic(`requests to scrubd: ${toScrubd.length}, failed: ${badRequests.length}`);

    // ---- 2. stop scrubd, then inspect what it stored ----------------------------------------
    await new Promise((r) => setTimeout(r, 500)); // let a last beacon land
    const exit = await scrubd.stop();
    assert.equal(exit.code, 0, `scrubd should exit 0 on SIGTERM, got ${JSON.stringify(exit)}`);

    const exp = await scrubdExport(dataDir, sessionId);
    assert.equal(exp.code, 0, `scrubd export failed: ${exp.stderr}`);
    const events = parseExport(exp.stdout);
    assert.ok(events, `export is not a JSON array: ${exp.stdout.slice(0, 300)}`);
    exportJson = exp.stdout;
    await fsp.writeFile(path.join(tmp, 'export.json'), exportJson);
    const full = events.filter((e) => e.type === 2);
    assert.ok(full.length >= 1, 'export holds a FullSnapshot (type 2)');
    assert.equal(typeof full[0].data, 'object', 'FullSnapshot data is decoded JSON, not cv-packed');
    assert.ok(full[0].data.node, 'FullSnapshot has a node tree');
    assert.ok(events.some((e) => e.type === 4), 'export holds a Meta event (type 4)');
    assert.ok(events.some((e) => e.type === 3 && e.data?.source === 5),
      'export holds the Input events (type 3, source 5)');

    const absent = opts.absent ?? defaultAbsentNeedles();
    // Control: the scan must be able to see stored page text at all (an unreadable store,
    // e.g. compressed in a way the scan does not undo, would make "absent" meaningless).
    const visible = await scanDirForNeedles(dataDir, ['E2E Checkout']);
    assert.ok(visible.length > 0, `stored recording text is not visible to the scan of ${dataDir}`);
    assertNoHits(await scanDirForNeedles(dataDir, absent), `on disk under ${dataDir}`);
    assertNoHits(scanTextForNeedles(exportJson, absent), 'in the export');
    for (const s of opts.present ?? []) {
      assert.ok(exportJson.includes(s), `"${s}" should survive scrubbing (over-redaction)`);
    }

    // ---- 3. replay the export in rrweb-player ---------------------------------------------
    const rctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const rpage = await rctx.newPage();
    const replayErrors = [];
    rpage.on('pageerror', (e) => replayErrors.push(`pageerror: ${e.message}`));
    rpage.on('console', (m) => {
      if (m.type() === 'error' && !NOISY_CONSOLE.some((re) => re.test(m.text()))) {
        replayErrors.push(`console.error: ${m.text()}`);
      }
    });
    await rpage.goto(`${web.url}/pages/replay.html`);
    const replay = await waitFor('rrweb-player to load the export',
      () => rpage.evaluate(() => window.__replay), { timeoutMs: 20000 });
    assert.ok(replay.ok, `rrweb-player failed: ${replay.error}`);
    assert.ok(replay.totalTime > 0, 'replay has a duration');
    const dom = await rpage.evaluate(({ masked, blocked }) => {
      const doc = document.querySelector('.replayer-wrapper iframe')?.contentDocument;
      if (!doc) return null;
      const text = (sel) => doc.querySelector(sel)?.textContent ?? null;
      const values = {};
      for (const el of doc.querySelectorAll('input')) values['#' + el.id] = el.value;
      return {
        title: text('#title'),
        status: text('#status'),
        receipt: text('#receipt'),
        body: doc.body?.innerText ?? '',
        html: doc.documentElement.outerHTML,
        masked: masked.map((s) => [s, text(s)]),
        blocked: blocked.map((s) => [s, text(s)]),
        values,
      };
    }, { masked: opts.maskedSelectors ?? [], blocked: opts.blockedSelectors ?? [] });
    await rpage.screenshot({ path: path.join(tmp, 'replay.png') });
    t.diagnostic(`replay: ${replay.events} events, ${replay.totalTime} ms, screenshot ` +
      path.join(tmp, 'replay.png'));
    assert.ok(dom, 'replay iframe exists');
    assert.equal(dom.title?.trim(), 'E2E Checkout', 'replayed DOM has the page heading');
    assert.ok(dom.html.includes('id="checkout"'), 'replayed DOM has the checkout form');
    assert.match(dom.status ?? '', /Paid, thank you/, 'replay applied the post-click mutation');
    assert.match(dom.receipt ?? '', /for order 1001/, 'mutation text kept apart from the email');
    for (const [sel, text] of dom.masked) {
      assert.ok(text !== null, `masked element ${sel} is in the replay`);
      assert.match(text, /\*{5}/, `masked element ${sel} replays as asterisks: "${text}"`);
      assert.match(text, /^[\s*]*$/, `masked element ${sel} has only asterisks: "${text}"`);
    }
    for (const [sel, text] of dom.blocked) {
      assert.ok(!text || text.trim() === '', `blocked element ${sel} has no content: "${text}"`);
    }
    for (const sel of Object.keys(TYPED)) {
      const v = dom.values[sel];
      assert.ok(v !== undefined, `input ${sel} is in the replay`);
      assert.match(v, /^\**$/, `input ${sel} replays masked: "${v}"`);
    }
    assertNoHits(scanTextForNeedles(dom.html + dom.body, absent), 'in the replayed DOM');
    assert.deepEqual(replayErrors, [], 'replay page logged errors');
    await rctx.close();
  } finally {
    for (const fn of cleanups.reverse()) {
      let timer;
      await Promise.race([fn(), new Promise((r) => { timer = setTimeout(r, 10000); })])
        .catch(() => {});
      clearTimeout(timer);
    }
  }
}
