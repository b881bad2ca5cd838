// End-to-end: `scrubd policy preview` (issue 13 section 3) over the checkout fixture recorded by
// real posthog-js 1.449.2 (tests/data/checkout), opened from file:// in Chromium. The shipped
// default policy is the baseline; the new policy is a copy with the `[data-ph-no-capture]` block
// removed. The report must replay both sides without console errors, the "after" replay must
// hold no other planted value, and "newly exposed" must list exactly the values under the
// unblocked element (computed here from the input as captured, not from the report's table).
// Run: node --test preview.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { pathToFileURL } from 'node:url';

import { launchChromium, makeTmpDir, REPO_DIR, SCRUBD_BIN, waitFor } from './lib/harness.mjs';
import { NOISY_CONSOLE } from './lib/scenario.mjs';

const FIXTURE = path.join(REPO_DIR, 'tests', 'data', 'checkout');
const SHIPPED = path.join(REPO_DIR, 'policies', 'default.yaml');
const BLOCK_LINE = '    - "[data-ph-no-capture]"\n';
const NOTE = 'Secret medical note';  // inside [data-ph-no-capture] on the fixture's page
// Planted values the loosened policy still hides (typed, page text, console, properties).
const STILL_HIDDEN = ['jane.doe@example.com', '078-05-1120', '4111 1111 1111 1111',
  '4111111111111111'];

function scrubd(args) {
  const r = spawnSync(SCRUBD_BIN, args, { encoding: 'utf8', timeout: 120000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const hasPiece = (s) => typeof s === 'string' && /[A-Za-z0-9\u0080-\uffff]/.test(s);

// Node ids of the captured stream whose own strings (text, attribute values) lie at or under
// an element with the data-ph-no-capture attribute: what unblocking it exposes.
function nodesUnderBlock(events) {
  const under = new Set();
  const exposed = new Set();
  const visit = (n, inside) => {
    const attrs = n.attributes || {};
    const here = inside || Object.prototype.hasOwnProperty.call(attrs, 'data-ph-no-capture');
    if (here) {
      under.add(n.id);
      if (hasPiece(n.textContent)) exposed.add(n.id);
      for (const [k, v] of Object.entries(attrs))
        if (k !== 'data-ph-no-capture' && hasPiece(v)) exposed.add(n.id);
    }
    for (const c of n.childNodes || []) visit(c, here);
  };
  for (const e of events) {
    if (e.type === 2) visit(e.data.node, false);
    if (e.type === 3 && e.data.source === 0) {
      for (const a of e.data.adds || []) visit(a.node, under.has(a.parentId));
      for (const x of e.data.texts || []) if (under.has(x.id) && hasPiece(x.value)) exposed.add(x.id);
      for (const x of e.data.attributes || [])
        if (under.has(x.id) && Object.values(x.attributes || {}).some(hasPiece)) exposed.add(x.id);
    }
    if (e.type === 3 && e.data.source === 5 && under.has(e.data.id) && hasPiece(e.data.text))
      exposed.add(e.data.id);
  }
  return exposed;
}

async function openReport(browser, file) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !NOISY_CONSOLE.some((re) => re.test(m.text())))
      errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href);
  await waitFor('both players', () => page.evaluate(() => {
    const s = window.__scrubdPreview;
    return s && s.players.before && s.players.after && true;
  }), { timeoutMs: 20000 });
  return { page, errors };
}

// Plays both replays for a moment, then seeks each to its end; returns each iframe's HTML.
async function playBoth(page) {
  await page.click('#play-both');
  await page.waitForTimeout(1500);
  return page.evaluate(() => {
    const out = {};
    for (const side of ['before', 'after']) {
      const p = window.__scrubdPreview.players[side];
      const r = p.getReplayer();
      out[side + 'Time'] = r.getCurrentTime();
      const total = r.getMetaData().totalTime;
      p.goto(total, false);
      out[side + 'Sandbox'] = r.iframe.getAttribute('sandbox');
      out[side] = r.iframe.contentDocument.documentElement.outerHTML;
    }
    return out;
  });
}

test('policy preview: a loosened default shows what it exposes, side by side', async (t) => {
  const tmp = await makeTmpDir('preview');
  const loose = path.join(tmp, 'loose.yaml');
  const shipped = await fsp.readFile(SHIPPED, 'utf8');
  assert.ok(shipped.includes(BLOCK_LINE), 'default.yaml blocks [data-ph-no-capture]');
  await fsp.writeFile(loose, shipped.replace(BLOCK_LINE, ''));

  // The input as captured (no baseline): the expectation is computed from its "before" side.
  const capturedHtml = path.join(tmp, 'captured.html');
  let r = scrubd(['policy', 'preview', '--policy', SHIPPED, '--input', FIXTURE,
    '--out', capturedHtml]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: .* holds personal data: its "before" side is the recording as captured/);
  const report = path.join(tmp, 'preview.html');
  r = scrubd(['policy', 'preview', '--policy', loose, '--baseline', SHIPPED, '--input', FIXTURE,
    '--out', report]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /newly exposed/);
  for (const f of [capturedHtml, report])
    assert.equal((await fsp.stat(f)).mode & 0o777, 0o600, `${f} is 0600`);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const cap = await openReport(browser, capturedHtml);
  const captured = await cap.page.evaluate(() =>
    JSON.parse(document.getElementById('scrubd-preview-data').textContent).sessions[0].before);
  const expected = nodesUnderBlock(captured);
  assert.ok(expected.size >= 1, 'the fixture has text under [data-ph-no-capture]');
  await cap.page.close();

  const { page, errors } = await openReport(browser, report);
  // Newly exposed: first on the page, in red, exactly the unblocked nodes, by the baseline rule.
  const table = await page.evaluate(() => {
    const sec = document.getElementById('newly-exposed');
    const first = document.querySelector('body > section');
    const rows = [...document.querySelectorAll('#newly-exposed-table tbody tr')]
      .map((tr) => [...tr.cells].map((c) => c.textContent));
    return { first: first && first.id, color: getComputedStyle(sec.querySelector('h2')).color,
      rows, hidden: document.querySelectorAll('#newly-hidden-table tbody tr td').length,
      text: document.body.innerText };
  });
  assert.equal(table.first, 'newly-exposed', 'newly exposed is the first section');
  assert.equal(table.color, 'rgb(198, 40, 40)', 'newly exposed is red');
  assert.ok(table.rows.length >= expected.size);
  const nodes = new Set(table.rows.map((row) => Number(row[2])));
  assert.deepEqual([...nodes].sort((a, b) => a - b), [...expected].sort((a, b) => a - b),
    'newly exposed lists exactly the nodes under the unblocked element');
  for (const row of table.rows) {
    assert.equal(row[5], 'block [data-ph-no-capture]', `rule of ${row.join(' | ')}`);
    assert.match(row[4], /^\d+ pieces? at \d+\+\d+ of \d+ bytes$/, 'position and length');
  }
  assert.equal(table.hidden, 1, 'nothing newly hidden (one "none" cell)');
  assert.ok(!table.text.includes(NOTE), 'values are not shown without --show-values');

  const dom = await playBoth(page);
  assert.ok(dom.beforeTime > 0 && dom.afterTime > 0, `both replays played: ${JSON.stringify(
    { before: dom.beforeTime, after: dom.afterTime })}`);
  assert.equal(dom.beforeSandbox, 'allow-same-origin');
  assert.equal(dom.afterSandbox, 'allow-same-origin');
  assert.ok(dom.after.includes(NOTE), 'the after replay shows the unblocked note');
  assert.ok(!dom.before.includes(NOTE), 'the baseline replay keeps it blocked');
  for (const v of STILL_HIDDEN) assert.ok(!dom.after.includes(v), `after replay holds no ${v}`);
  const shot = path.join(process.env.SCRUBD_E2E_TMP || tmp, 'preview.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot ${shot}`);
  assert.deepEqual(errors, [], 'no console errors');

  // With --show-values the table carries the note, escaped, and diff agrees with the report.
  r = scrubd(['policy', 'diff', SHIPPED, loose, '--input', FIXTURE, '--json', '--exit-code']);
  assert.equal(r.code, 1, 'diff --exit-code fails on newly exposed values');
  const diff = JSON.parse(r.stdout);
  assert.equal(diff.newly_exposed.length, table.rows.length);
  assert.ok(!r.stdout.includes(NOTE), 'diff shows no value without --show-values');
});
