// Peer timing for bench/rules_bench: npm redact-pii (SyncRedactor, built-in patterns) over the
// same strings. Usage: node run.js <strings.json> [min_seconds]. Prints "MBps <value>".
'use strict';
const fs = require('fs');
const { SyncRedactor } = require('redact-pii');
const strings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const minSeconds = Number(process.argv[3] || 2);
const redactor = new SyncRedactor();
let bytes = 0;
for (const s of strings) bytes += Buffer.byteLength(s, 'utf8');
let altered = 0;
for (const s of strings) if (redactor.redact(s) !== s) altered++;  // warm-up + count
let iters = 0;
const t0 = process.hrtime.bigint();
let elapsed = 0;
do {
  for (const s of strings) redactor.redact(s);
  iters++;
  elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
} while (elapsed < minSeconds);
console.log(`altered ${altered} of ${strings.length}`);
console.log(`MBps ${(bytes * iters / 1e6 / elapsed).toFixed(2)}`);
