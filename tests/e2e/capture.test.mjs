// End-to-end: real posthog-js 1.449.2 in Chromium pointed at `scrubd capture`. Capture must
// answer it well enough to record (remote config, 200 on ingest), write every request raw as
// private NNNN.body + NNNN.meta.json pairs in the fixture format, keep the captured values out
// of its own output, stop on SIGTERM; and the directory must replay through `scrubd serve`
// into a clean stored session (what `policy test` / `preview` do with it).
// Run: node --test capture.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import test from 'node:test';
import zlib from 'node:zlib';

import {
  launchChromium, makeTmpDir, parseExport, REPO_DIR, scanDirForNeedles, scanTextForNeedles,
  SCRUBD_BIN, scrubdExport, startScrubd, startStaticServer, waitFor,
} from './lib/harness.mjs';
import { defaultAbsentNeedles, fillCheckout, PLANTED, TOKEN, TYPED } from './lib/scenario.mjs';

// Starts `scrubd capture` on an ephemeral port; resolves once it says where it listens.
async function startCapture(outDir, logFile, extraArgs = []) {
  const child = spawn(SCRUBD_BIN, ['capture', '--listen', '127.0.0.1:0', '--out', outDir,
    ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile);
  let output = '';
  let exited = null;
  const onData = (chunk) => { log.write(chunk); output += chunk.toString('utf8'); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    log.end();
    resolve(exited);
  }));
  const port = await waitFor('scrubd capture to print its address', () => {
    if (exited) throw new Error(`scrubd capture exited early: ${output}`);
    const m = output.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    return m && Number(m[1]);
  }, { timeoutMs: 15000, intervalMs: 50 }).catch((e) => { child.kill('SIGKILL'); throw e; });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10000);
      const r = await exitPromise;
      clearTimeout(timer);
      return r;
    },
  };
}

// Records the checkout page with posthog-js pointed at `apiHost`; returns the session id and
// every request the page made there ({method, path, status}).
async function recordCheckout(browser, web, apiHost) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const sent = [];
  page.on('requestfinished', async (req) => {
    if (!req.url().startsWith(apiHost)) return;
    const res = await req.response().catch(() => null);
    sent.push({ method: req.method(), path: req.url().slice(apiHost.length),
      status: res ? res.status() : 0, at: Date.now() });
  });
  page.on('requestfailed', (req) => {
    if (req.url().startsWith(apiHost)) {
      sent.push({ method: req.method(), path: req.url().slice(apiHost.length), status: -1 });
    }
  });
  const { sessionId, clickedAt } = await fillCheckout(page, web.url);
  await waitFor('a /s/ request sent after the click to be answered 200', () =>
    sent.some((r) => r.path.startsWith('/s') && r.at > clickedAt + 50 && r.status === 200),
  { timeoutMs: 15000 });
  await page.goto('about:blank');  // posthog-js flushes what is left on pagehide
  await new Promise((r) => setTimeout(r, 500));
  await context.close();
  return { sessionId, sent };
}

// The captured pairs, in order: [{name, meta, body, bodyMode, metaMode}].
async function readCapture(dir) {
  const names = (await fsp.readdir(dir)).sort();
  const pairs = [];
  for (const n of names.filter((x) => /^\d{4}\.body$/.test(x))) {
    const base = n.slice(0, 4);
    const metaFile = path.join(dir, `${base}.meta.json`);
    pairs.push({
      name: base,
      meta: JSON.parse(await fsp.readFile(metaFile, 'utf8')),
      metaText: await fsp.readFile(metaFile, 'utf8'),
      body: await fsp.readFile(path.join(dir, n)),
      bodyMode: (await fsp.stat(path.join(dir, n))).mode & 0o777,
      metaMode: (await fsp.stat(metaFile)).mode & 0o777,
    });
  }
  return { names, pairs };
}

// Sends one captured request to `port` with its method, path and headers.
function replay(port, { meta, body }) {
  const headers = {};
  for (const [k, v] of Object.entries(meta.headers)) {
    if (!/^(host|content-length|connection)$/i.test(k)) headers[k] = v;
  }
  headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: meta.method, path: meta.path,
      headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(body);
  });
}

test('scrubd capture: real posthog-js records against it; the raw pairs replay through serve',
  { timeout: 150000 }, async (t) => {
    const tmp = await makeTmpDir('capture');
    const outDir = path.join(tmp, 'capture');
    const cleanups = [];
    try {
      const cap = await startCapture(outDir, path.join(tmp, 'capture.log'), ['--duration', '2m']);
      cleanups.push(() => cap.stop());
      const web = await startStaticServer({
        '/e2e-config.js': () => ({ type: 'text/javascript',
          body: `window.E2E = ${JSON.stringify({ apiHost: cap.url, token: TOKEN })};` }),
      });
      cleanups.push(() => web.close());
      const browser = await launchChromium();
      cleanups.push(() => browser.close());

      // ---- 1. record into scrubd capture ---------------------------------------------------
      const { sessionId, sent } = await recordCheckout(browser, web, cap.url);
      t.diagnostic(`session ${sessionId}; requests to capture: ${sent.length}`);
      // A beacon cut off by the navigation can show as failed in the page (status <= 0); an
      // answer is always 200.
      const answered = sent.filter((r) => r.status > 0);
      assert.ok(answered.length >= 3, `capture answered posthog-js (${answered.length})`);
      assert.deepEqual(answered.filter((r) => r.status !== 200), [],
        'every answer capture gave posthog-js is 200');
      const exit = await cap.stop();
      assert.equal(exit.code, 0, `capture exits 0 on SIGTERM: ${JSON.stringify(exit)}`);
      const out = cap.output();
      assert.match(out, /WARNING: .*personal data/, 'capture prints the personal-data warning');
      const stopped = out.match(/stopped \(signal\): (\d+) requests, (\d+) bytes written/);
      assert.ok(stopped, `capture prints what it wrote: ${out}`);
      assert.deepEqual(scanTextForNeedles(out, defaultAbsentNeedles()), [],
        'no captured value in capture\'s own output');

      // ---- 2. the directory: private pairs in the fixture format, raw -------------------------
      assert.equal(fs.statSync(outDir).mode & 0o777, 0o700, 'capture dir is 0700');
      const { names, pairs } = await readCapture(outDir);
      assert.equal(names.length, 2 * pairs.length, `only NNNN pairs in the dir: ${names}`);
      assert.equal(pairs.length, Number(stopped[1]), 'the printed count is the pair count');
      assert.ok(pairs.length >= 3, `several requests captured (${pairs.length})`);
      let bytes = 0;
      pairs.forEach((p, i) => {
        assert.equal(p.name, String(i).padStart(4, '0'), 'numbered from 0000 without gaps');
        assert.equal(p.bodyMode, 0o600, `${p.name}.body is 0600`);
        assert.equal(p.metaMode, 0o600, `${p.name}.meta.json is 0600`);
        assert.deepEqual(Object.keys(p.meta), ['method', 'path', 'headers', 'len']);
        assert.equal(p.metaText, JSON.stringify(p.meta, null, 1), 'fixture layout (indent 1)');
        assert.equal(p.meta.len, p.body.length, `${p.name}: len is the body size`);
        assert.ok(p.meta.headers['User-Agent']?.includes('HeadlessChrome'),
          `${p.name}: headers kept with their names as sent`);
        bytes += p.body.length + Buffer.byteLength(p.metaText);
      });
      assert.equal(bytes, Number(stopped[2]), 'the printed byte count is what is on disk');
      const paths = pairs.map((p) => `${p.meta.method} ${p.meta.path}`);
      t.diagnostic(`captured: ${paths.join(', ')}`);
      assert.ok(paths.some((p) => p.startsWith(`GET /array/${TOKEN}/config`)), 'remote config');
      const snapshots = pairs.filter((p) => p.meta.path.startsWith('/s/'));
      assert.ok(snapshots.length >= 1, '/s/ requests captured');
      assert.ok(pairs.some((p) => p.meta.path.startsWith('/e/')), '/e/ requests captured');
      // Raw: the typed email and the custom event's property are in the captured bodies.
      const raw = await scanDirForNeedles(outDir, [TYPED['#email'], PLANTED.captureEmail]);
      assert.ok(raw.some((h) => h.needle === TYPED['#email']), 'the typed email is captured raw');
      assert.ok(raw.some((h) => h.needle === PLANTED.captureEmail), 'the event is captured raw');
      assert.ok(snapshots.every((p) => p.body[0] === 0x1f && p.body[1] === 0x8b &&
        zlib.gunzipSync(p.body).length > p.body.length), '/s/ bodies kept gzip, as sent');

      // ---- 3. the capture replays through scrubd serve into a clean stored session ----------
      const dataDir = path.join(tmp, 'data');
      await fsp.mkdir(dataDir);
      const serve = await startScrubd({ dataDir,
        policy: path.join(REPO_DIR, 'policies', 'default.yaml'),
        logFile: path.join(tmp, 'serve.log') });
      cleanups.push(() => serve.stop());
      // Every recording request must be accepted. An /e/ batch serve itself rejects (it has
      // been seen: 400 "routing id looks like personal data" on a real $autocapture batch, as
      // it is live) is reported, not failed: that is serve's verdict, not the capture's.
      const replayed = [];
      for (const p of pairs) {
        const status = await replay(serve.port, p);
        replayed.push(`${p.name} ${p.meta.method} ${p.meta.path.split('?')[0]} -> ${status}`);
        if (!p.meta.path.startsWith('/e/')) {
          assert.equal(status, 200, `${p.name} (${p.meta.method} ${p.meta.path}) replays 200`);
        }
      }
      t.diagnostic(`replayed into serve: ${replayed.join(', ')}`);
      assert.equal((await serve.stop()).code, 0);
      const exp = await scrubdExport(dataDir, sessionId);
      assert.equal(exp.code, 0, `export of the replayed session: ${exp.stderr}`);
      const events = parseExport(exp.stdout);
      assert.ok(events?.some((e) => e.type === 2), 'the replayed session has its FullSnapshot');
      assert.ok(events.some((e) => e.type === 3 && e.data?.source === 5), 'and its Input events');
      const visible = await scanDirForNeedles(dataDir, ['E2E Checkout']);
      assert.ok(visible.length > 0, 'stored page text is visible to the scan (control)');
      assert.deepEqual(await scanDirForNeedles(dataDir, defaultAbsentNeedles()), [],
        'no planted value stored from the replayed capture');
    } finally {
      for (const fn of cleanups.reverse()) await fn().catch(() => {});
    }
  });
