// Helpers for subjects.test.mjs (data-subject rights end to end): role tokens file, one recorded
// person per browser context with a log of its requests to scrubd, CLI runs, HTTP with bearer
// tokens, a status-callback receiver, /metrics parsing and an rrweb-player replay of an event
// array. Process lifecycle, servers and byte scans stay in harness.mjs.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

import { SCRUBD_BIN, waitFor } from './harness.mjs';
import { NOISY_CONSOLE, TOKEN } from './scenario.mjs';

export { TOKEN };

// scrubd-audit-verify lives in build/audit next to build/daemon/scrubd.
export const AUDIT_VERIFY_BIN = path.resolve(process.env.SCRUBD_AUDIT_VERIFY_BIN ||
  path.join(path.dirname(SCRUBD_BIN), '..', 'audit', 'scrubd-audit-verify'));

/** Lowercase letters only: survives every scrubber rule, unique per run. */
export function randomWord(n = 8) {
  const bytes = crypto.randomBytes(n);
  return [...bytes].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

/** Writes `<role> <token>` lines (mode 0600); returns {admin, dsr, auditor}. */
export async function writeTokensFile(file) {
  const tokens = {};
  for (const role of ['admin', 'dsr', 'auditor']) {
    tokens[role] = crypto.randomBytes(24).toString('hex');
  }
  const body = '# scrubd role tokens: <role> <token>\n' +
    Object.entries(tokens).map(([r, t]) => `${r} ${t}`).join('\n') + '\n';
  await fsp.writeFile(file, body, { mode: 0o600 });
  await fsp.chmod(file, 0o600);
  return tokens;
}

/** Runs a binary; resolves {code, stdout, stderr} (never rejects; code -1 on spawn failure). */
export function run(bin, args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 256 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) code = typeof err.code === 'number' ? err.code : -1;
        if (err && err.killed) stderr += `\n(killed after ${timeoutMs} ms)`;
        if (err && code === -1) stderr += `\n${err.message}`;
        resolve({ code, stdout, stderr });
      });
  });
}

export const scrubd = (args, opts) => run(SCRUBD_BIN, args, opts);

/** Whether this scrubd build knows a `serve` flag (only for the SUBJECTS_E2E_UNTIL=record mode). */
export async function serveKnowsFlag(flag) {
  const r = await scrubd(['serve', '--help'], { timeoutMs: 5000 });
  return (r.stdout + r.stderr).includes(flag);
}

/**
 * Logs every request a page makes to scrubd: {method, path, startedAt, finishedAt, status
 * (-1: failed)}. waitAccepted(prefix, after) waits for one that started after `after` (ms) and
 * was answered 2xx.
 */
export function trackRequests(page, baseUrl) {
  const list = [];
  const started = new Map();
  page.on('request', (req) => started.set(req, Date.now()));
  page.on('requestfinished', async (req) => {
    if (!req.url().startsWith(baseUrl)) return;
    const res = await req.response().catch(() => null);
    list.push({ method: req.method(), path: req.url().slice(baseUrl.length),
      status: res ? res.status() : 0, startedAt: started.get(req) ?? 0, finishedAt: Date.now() });
  });
  page.on('requestfailed', (req) => {
    if (!req.url().startsWith(baseUrl)) return;
    list.push({ method: req.method(), path: req.url().slice(baseUrl.length), status: -1,
      error: req.failure()?.errorText, startedAt: started.get(req) ?? 0, finishedAt: Date.now() });
  });
  const log = () => list.map((r) => `${r.method} ${r.path.slice(0, 60)} -> ${r.status}` +
    (r.error ? ` (${r.error})` : '')).join('\n  ');
  const isPath = (r, prefix) => r.path.startsWith(prefix) || r.path.startsWith(`/i/v0${prefix}`);
  return {
    list,
    log,
    since: (after, prefix) => list.filter((r) => r.startedAt > after && isPath(r, prefix)),
    async waitAccepted(prefix, after, what, timeoutMs = 15000) {
      await waitFor(what, () => list.some((r) => isPath(r, prefix) && r.startedAt > after &&
        r.status >= 200 && r.status < 300), { timeoutMs }).catch((e) => {
        throw new Error(`${e.message}\n  requests to scrubd:\n  ${log()}`);
      });
    },
  };
}

/**
 * Opens the subjects page in a fresh browser context (a new person: own cookies and storage)
 * and waits for posthog-js to record. Returns {context, page, requests, sessionId, distinctId}.
 */
export async function openPerson(browser, { webUrl, scrubdUrl, marker }) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const requests = trackRequests(page, scrubdUrl);
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${webUrl}/pages/subjects.html?marker=${encodeURIComponent(marker)}`);
  await waitFor('posthog-js to start session recording',
    () => page.evaluate(() => window.__e2eLoaded && window.posthog.sessionRecordingStarted()),
    { timeoutMs: 20000 }).catch((e) => {
    throw new Error(`${e.message}\n  requests to scrubd:\n  ${requests.log()}` +
      '\n  page console:\n  ' + consoleLines.slice(-20).join('\n  '));
  });
  return {
    context,
    page,
    requests,
    sessionId: () => page.evaluate(() => window.posthog.get_session_id()),
    distinctId: () => page.evaluate(() => window.posthog.get_distinct_id()),
  };
}

/** fetch with an optional bearer token and JSON body; resolves {status, text, json}. */
export async function httpJson(method, url, { token, body, timeoutMs = 10000 } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs),
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

/** A local server that records every POST body (JSON-parsed when possible); answers 200. */
export async function startCallbackServer() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try { json = JSON.parse(text); } catch { /* kept as text */ }
      if (req.method === 'POST') received.push({ path: req.url, json, text, at: Date.now() });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/opendsr/callback`,
    received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/**
 * Prometheus text -> {tombstone: sum of every sample whose name or labels mention tombstone,
 * dropped: scrubd_events_dropped_total (all label sets summed), lines: the tombstone lines}.
 */
export function parseDropMetrics(text) {
  let tombstone = 0;
  let dropped = 0;
  const lines = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^(\S+?)(\{[^}]*\})?\s+([0-9.eE+-]+)/);
    if (!m) continue;
    const v = Number(m[3]);
    if (/tombstone/i.test(line)) {
      tombstone += v;
      lines.push(line);
    }
    if (m[1] === 'scrubd_events_dropped_total') dropped += v;
  }
  return { tombstone, dropped, lines };
}

/**
 * Replays `events` in rrweb-player on pages/replay.html. `setEvents(json)` must make the static
 * server answer /replay-events.json with it. Returns {replay, dom, errors} where dom holds the
 * replay iframe's title and body text.
 */
export async function replayInPlayer(browser, { webUrl, events, setEvents, screenshot }) {
  setEvents(JSON.stringify(events));
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  try {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !NOISY_CONSOLE.some((re) => re.test(m.text()))) {
        errors.push(`console.error: ${m.text()}`);
      }
    });
    await page.goto(`${webUrl}/pages/replay.html`);
    const replay = await waitFor('rrweb-player to load the events',
      () => page.evaluate(() => window.__replay), { timeoutMs: 20000 });
    const dom = await page.evaluate(() => {
      const doc = document.querySelector('.replayer-wrapper iframe')?.contentDocument;
      if (!doc) return null;
      return { title: doc.querySelector('#title')?.textContent ?? null,
        body: doc.body?.textContent ?? '', nodes: doc.querySelectorAll('*').length };
    });
    if (screenshot) await page.screenshot({ path: screenshot });
    return { replay, dom, errors };
  } finally {
    await ctx.close().catch(() => {});
  }
}
