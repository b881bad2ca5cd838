// End-to-end: posthog-js -> scrubd (policy from SCRUBD_POLICY, default policies/default.yaml)
// -> local store -> export -> rrweb-player. Run: node --test record.test.mjs
import path from 'node:path';
import test from 'node:test';

import { REPO_DIR } from './lib/harness.mjs';
import { defaultAbsentNeedles, runScenario } from './lib/scenario.mjs';

const policy = path.resolve(process.env.SCRUBD_POLICY ||
  path.join(REPO_DIR, 'policies', 'default.yaml'));

test('default policy: recording stored, planted PII gone everywhere, replay works',
  { timeout: 120000 }, async (t) => {
    await runScenario(t, {
      name: 'default',
      policy,
      absent: defaultAbsentNeedles(),
      // Not personal data under the default policy: must survive (guards over-redaction).
      present: ['E2E Checkout', 'Zanzibarquay'],
      maskedSelectors: ['#masked-note'],
      blockedSelectors: ['#private-block'],
    });
  });
