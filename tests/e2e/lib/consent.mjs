// Helpers of consent.test.mjs (issue 12 section 7): valid TCF v2.2 TC strings (IAB's own
// encoder), OneTrust OptanonConsent values, the "site" server of the reverse-proxy deployment
// (pages from the static server, /ingest/* proxied to scrubd unchanged, cookies included),
// consent metrics, `scrubd consent show`, and a decoder of posthog-js request bodies.
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';

import { GVL, TCModel, TCString } from '@iabtechlabtcf/core';

import { scrubd } from './subjects.mjs';

// ---- TCF ---------------------------------------------------------------------------------
// A minimal Global Vendor List, built in memory so encoding needs no network: purposes 1-11
// (TCF v2.2 has 11) and one vendor, 755, declaring consent purposes 1-4, 7, 9, 10.
export const TCF_VENDOR = 755;
const GVL_JSON = (() => {
  const purposes = {};
  for (let i = 1; i <= 11; i++) purposes[i] = { id: i, name: `Purpose ${i}`, description: '' };
  return {
    gvlSpecificationVersion: 3, vendorListVersion: 150, tcfPolicyVersion: 4,
    lastUpdated: '2026-01-01T00:00:00Z', purposes, specialPurposes: {}, features: {},
    specialFeatures: {}, stacks: {}, dataCategories: {},
    vendors: { [TCF_VENDOR]: { id: TCF_VENDOR, name: 'E2E vendor', purposes: [1, 2, 3, 4, 7, 9, 10],
      legIntPurposes: [], flexiblePurposes: [], specialPurposes: [], features: [],
      specialFeatures: [], cookieMaxAgeSeconds: 31536000, usesCookies: true, cookieRefresh: false,
      usesNonCookieAccess: false, urls: [] } },
  };
})();

/**
 * A TC string (cookie euconsent-v2) encoded by @iabtechlabtcf/core: version 2, TcfPolicyVersion
 * 4 (TCF v2.2), service-specific, created now, with `purposes` consented and vendor 755's
 * consent bit as `vendor`. Decoded again here, so a broken encoder fails loudly.
 */
export function tcString({ purposes, vendor = true }) {
  const m = new TCModel(new GVL(structuredClone(GVL_JSON)));
  m.cmpId = 10;
  m.cmpVersion = 1;
  m.isServiceSpecific = true;
  m.publisherCountryCode = 'DE';
  m.purposeConsents.set(purposes);
  if (vendor) m.vendorConsents.set(TCF_VENDOR);
  m.created = new Date();
  m.lastUpdated = m.created;
  const s = TCString.encode(m);
  const d = TCString.decode(s);
  const got = [...d.purposeConsents.values()].sort((a, b) => a - b);
  if (d.version !== 2 || d.policyVersion < 4 ||
      JSON.stringify(got) !== JSON.stringify([...purposes].sort((a, b) => a - b)) ||
      d.vendorConsents.has(TCF_VENDOR) !== vendor) {
    throw new Error(`TC string round trip failed: v${d.version} p${d.policyVersion} ${got}`);
  }
  return s;
}

/** Fields of a TC string as @iabtechlabtcf/core decodes it (for diagnostics). */
export function describeTcString(s) {
  const d = TCString.decode(s);
  return { version: d.version, policy_version: d.policyVersion,
    is_service_specific: d.isServiceSpecific, created: d.created.toISOString(),
    purposes: [...d.purposeConsents.values()], vendor_consents: [...d.vendorConsents.values()] };
}

// ---- OneTrust --------------------------------------------------------------------------
/**
 * An OptanonConsent cookie value as OneTrust's banner writes it: URL-encoded key=value pairs,
 * `groups` listing category ids with :1 / :0 (C0001 necessary, C0002 performance, C0003
 * functional, C0004 targeting). `consentId` is a random UUID: it must never reach disk.
 */
export function optanonConsent({ C0002 }) {
  const consentId = crypto.randomUUID();
  const datestamp = new Date().toUTCString().replace(/,/g, '');
  const groups = `C0001:1,C0002:${C0002 ? 1 : 0},C0003:1,C0004:0`;
  const fields = [['isGpcEnabled', '0'], ['datestamp', datestamp], ['version', '202409.1.0'],
    ['browserGpcFlag', '0'], ['isIABGlobal', 'false'], ['hosts', ''], ['consentId', consentId],
    ['interactionCount', '1'], ['isAnonUser', '1'], ['landingPath', 'NotLandingPage'],
    ['groups', groups], ['AwaitingReconsent', 'false']];
  const value = fields.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%20/g, '+')}`)
    .join('&');
  return { value, consentId };
}

// ---- the site: pages plus /ingest/* reverse-proxied to scrubd -----------------------------
/**
 * One origin for the page and for posthog, as PostHog's reverse-proxy docs describe: requests
 * under `prefix` go to scrubd with path and every header unchanged (Cookie included; Host
 * rewritten, X-Forwarded-For added as a proxy does), everything else to the static server.
 * `log` holds {method, path, cookie (header or ''), gpc, status, body (decoded text)}.
 */
export async function startSiteServer({ staticUrl, scrubdUrl, prefix = '/ingest' }) {
  const log = [];
  const forward = (req, res, target, entry) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (entry) entry.body = decodePosthogBody(req.url, body);
      const u = new URL(target);
      const headers = { ...req.headers, host: u.host,
        'x-forwarded-for': req.socket.remoteAddress, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const up = http.request({ host: u.hostname, port: u.port, method: req.method,
        path: req.url, headers }, (ur) => {
        if (entry) entry.status = ur.statusCode;
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        if (entry) entry.status = 502;
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`proxy: ${e.code}`);
      });
      up.end(body);
    });
  };
  const server = http.createServer((req, res) => {
    if (req.url.startsWith(`${prefix}/`)) {
      const entry = { method: req.method, path: req.url, cookie: req.headers.cookie ?? '',
        gpc: req.headers['sec-gpc'] ?? '', status: 0, at: Date.now() };
      log.push(entry);
      return forward(req, res, scrubdUrl, entry);
    }
    return forward(req, res, staticUrl, null);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.keepAliveTimeout = 1000;
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    log,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/**
 * The text of a posthog-js request body: gzip (compression=gzip-js or the magic bytes), base64
 * (`data=` form), or as is. Only used to see which events a request carried ($opt_in, $snapshot).
 */
export function decodePosthogBody(url, body) {
  try {
    if (body.length > 2 && body[0] === 0x1f && body[1] === 0x8b) {
      return zlib.gunzipSync(body).toString('utf8');
    }
    const text = body.toString('utf8');
    if (/compression=base64/.test(url) || text.startsWith('data=')) {
      const data = new URLSearchParams(text).get('data') ?? text;
      return Buffer.from(data, 'base64').toString('utf8');
    }
    return text;
  } catch {
    return '';
  }
}

/** Event names in a decoded capture body (a JSON event, an array of them, or {batch}). */
export function eventNames(text) {
  try {
    const v = JSON.parse(text);
    const list = Array.isArray(v) ? v : (Array.isArray(v.batch) ? v.batch : [v]);
    return list.map((e) => e?.event).filter(Boolean);
  } catch {
    return [];
  }
}

// ---- metrics and the ledger -------------------------------------------------------------
/** Prometheus text -> {name or name{labels}: value} for every sample starting scrubd_. */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^(scrubd_[A-Za-z0-9_]+(\{[^}]*\})?)\s+([0-9.eE+-]+)/);
    if (m) out[m[1]] = Number(m[3]);
  }
  return out;
}

export const CONSENT_METRICS = {
  held: 'scrubd_consent_held_batches_total',
  released: 'scrubd_consent_released_batches_total',
  timeout: 'scrubd_consent_timeout_batches_total',
  quarantine: 'scrubd_consent_quarantine_batches',
  droppedConsent: 'scrubd_events_dropped_by_reason_total{reason="consent"}',
  droppedTimeout: 'scrubd_events_dropped_by_reason_total{reason="consent_timeout"}',
};

/** GET /metrics -> the consent counters above (0 when a sample is absent) and the raw map. */
export async function consentMetrics(baseUrl) {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  const all = parseMetrics(text);
  const out = { all };
  for (const [k, name] of Object.entries(CONSENT_METRICS)) out[k] = all[name] ?? 0;
  out.present = Object.values(CONSENT_METRICS).filter((n) => n in all);
  return out;
}

/** `scrubd consent show --data-dir D --session ID --json` -> {code, stdout, stderr, json}. */
export async function consentShow(dataDir, sessionId) {
  const r = await scrubd(['consent', 'show', '--data-dir', dataDir, '--session', sessionId,
    '--json']);
  let json = null;
  try { json = JSON.parse(r.stdout); } catch { /* left null */ }
  return { ...r, json };
}
