// Process and browser plumbing for the scrubd end-to-end tests: start/stop scrubd, a static
// server for the test pages, Chromium via playwright-core, and byte-level PII scans of a data
// directory. Everything here is bounded by a timeout and cleans up after itself.
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = path.resolve(E2E_DIR, '..', '..');

// Paths come from the environment (ctest sets them) with repo-relative defaults.
export const SCRUBD_BIN = path.resolve(
  process.env.SCRUBD_BIN || path.join(REPO_DIR, 'build', 'daemon', 'scrubd'));
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Children we must never leak, killed on any exit path (including a test timeout).
const liveChildren = new Set();
process.on('exit', () => {
  for (const c of liveChildren) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

export async function makeTmpDir(prefix) {
  const base = process.env.SCRUBD_E2E_TMP || os.tmpdir();
  await fsp.mkdir(base, { recursive: true });
  return fsp.mkdtemp(path.join(base, `scrubd-e2e-${prefix}-`));
}

// Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns that value.
export async function waitFor(what, fn, { timeoutMs = 30000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
    (lastErr ? ` (last error: ${lastErr.message})` : ''));
}

// Starts `scrubd serve` on an ephemeral port and resolves once it says where it listens.
export async function startScrubd({ dataDir, policy, logFile, extraArgs = [] }) {
  if (!fs.existsSync(SCRUBD_BIN)) {
    throw new Error(`scrubd binary not found at ${SCRUBD_BIN} (build it or set SCRUBD_BIN)`);
  }
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--policy', policy,
    ...extraArgs];
  const child = spawn(SCRUBD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const log = fs.createWriteStream(logFile);
  let output = '';
  let exited = null;
  const onData = (chunk) => {
    log.write(chunk);
    if (output.length < 1 << 20) output += chunk.toString('utf8');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      liveChildren.delete(child);
      log.end();
      resolve(exited);
    });
  });
  const port = await waitFor('scrubd to print "listening on http://127.0.0.1:PORT"', () => {
    if (exited) {
      throw new Error(`scrubd exited early (${JSON.stringify(exited)}): ${output.slice(-2000)}`);
    }
    const m = output.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    return m && Number(m[1]);
  }, { timeoutMs: 15000, intervalMs: 50 }).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n--- scrubd output ---\n${output.slice(-4000)}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    // Graceful stop (SIGTERM), SIGKILL after `graceMs`. Resolves with the exit status.
    async stop(graceMs = 5000) {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, graceMs);
      const r = await exitPromise;
      clearTimeout(timer);
      return r;
    },
  };
}

// Runs `scrubd export --data-dir DIR --session ID`; resolves {code, stdout, stderr}.
export function scrubdExport(dataDir, sessionId, extraArgs = []) {
  return new Promise((resolve) => {
    execFile(SCRUBD_BIN, ['export', '--data-dir', dataDir, '--session', sessionId, ...extraArgs],
      { timeout: 15000, maxBuffer: 256 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

// Parses an export; returns the event array or null when it is not (yet) a JSON array.
export function parseExport(stdout) {
  try {
    const v = JSON.parse(stdout);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json',
};

// A static server on 127.0.0.1:0 for pages/ and node_modules/; `routes` maps extra paths to
// functions returning {type, body}. Only files under those two folders are served.
export async function startStaticServer(routes = {}) {
  const roots = { '/pages/': path.join(E2E_DIR, 'pages'),
    '/node_modules/': path.join(E2E_DIR, 'node_modules') };
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://localhost');
    try {
      if (routes[u.pathname]) {
        const { type, body } = await routes[u.pathname](u, req);
        res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
        return res.end(body);
      }
      for (const [prefix, dir] of Object.entries(roots)) {
        if (!u.pathname.startsWith(prefix)) continue;
        const file = path.resolve(dir, '.' + decodeURIComponent(u.pathname.slice(prefix.length - 1)));
        if (!file.startsWith(dir + path.sep)) break;
        const body = await fsp.readFile(file);
        res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
          'Cache-Control': 'no-store' });
        return res.end(body);
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    } catch (e) {
      res.writeHead(e.code === 'ENOENT' ? 404 : 500, { 'Content-Type': 'text/plain' });
      res.end(String(e.message));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.keepAliveTimeout = 1000;
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

// Launches Debian's Chromium through playwright-core (never a downloaded browser). playwright
// gives every launch a fresh, empty --user-data-dir of its own.
export async function launchChromium() {
  const { chromium } = await import('playwright-core').catch((e) => {
    throw new Error(`playwright-core is not installed (run .ci/install-deps): ${e.message}`);
  });
  if (!fs.existsSync(CHROMIUM_BIN)) {
    throw new Error(`Chromium not found at ${CHROMIUM_BIN} (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Every regular file under `dir`, recursively.
export async function listFiles(dir) {
  const out = [];
  for (const ent of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...await listFiles(p));
    else if (ent.isFile()) out.push(p);
  }
  return out;
}

// Text forms under which a value could sit in a file: as is, percent-encoded (URLs, cookies),
// form-encoded, and JSON \u-escaped '@'.
export function needleForms(value) {
  const forms = new Set([value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+'),
    value.replace(/@/g, '\\u0040')]);
  return [...forms].filter((f) => f.length >= 4).map((f) => f.toLowerCase());
}

// The decoded bytes of a zstd file (store chunks since format v2), by the zstd CLI (node 20 has
// no zstd). Throws when it cannot decode: an unread file must not pass for a clean one.
function unzstd(file) {
  return execFileSync('zstd', ['-dcq', '--', file], { maxBuffer: 1 << 30 });
}

// Searches the bytes of every file under `dir` (and the decoded bytes of whole-file gzip, zlib
// or zstd streams) for every needle, case-insensitively. Returns [{needle, form, file}] per hit.
export async function scanDirForNeedles(dir, needles) {
  const hits = [];
  for (const file of await listFiles(dir)) {
    const raw = await fsp.readFile(file);
    const views = [raw];
    if (raw.length > 4 && raw.readUInt32LE(0) === 0xfd2fb528) {
      views.push(unzstd(file));
    } else if (raw.length > 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
      try { views.push(zlib.gunzipSync(raw)); } catch { /* not really gzip */ }
    } else if (raw.length > 2 && raw[0] === 0x78 && (raw[0] * 256 + raw[1]) % 31 === 0) {
      try { views.push(zlib.inflateSync(raw)); } catch { /* not really zlib */ }
    }
    for (const buf of views) {
      // latin1 keeps one char per byte, so UTF-8 ASCII needles match byte-for-byte.
      const hay = buf.toString('latin1').toLowerCase();
      for (const needle of needles) {
        for (const form of needleForms(needle)) {
          if (hay.includes(form)) hits.push({ needle, form, file: path.relative(dir, file) });
        }
      }
    }
  }
  return hits;
}

export function scanTextForNeedles(text, needles) {
  const hay = text.toLowerCase();
  const hits = [];
  for (const needle of needles) {
    for (const form of needleForms(needle)) if (hay.includes(form)) hits.push({ needle, form });
  }
  return hits;
}
