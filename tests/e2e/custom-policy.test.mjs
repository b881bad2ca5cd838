// End-to-end with a non-default policy (tests/e2e/policies/custom.yaml, or SCRUBD_CUSTOM_POLICY):
// site-specific block and mask selectors must take effect server-side, console logs dropped.
import path from 'node:path';
import test from 'node:test';

import { E2E_DIR } from './lib/harness.mjs';
import { defaultAbsentNeedles, runScenario } from './lib/scenario.mjs';

const policy = path.resolve(process.env.SCRUBD_CUSTOM_POLICY ||
  path.join(E2E_DIR, 'policies', 'custom.yaml'));

test('custom policy: extra block/mask selectors applied, PII gone, replay works',
  { timeout: 120000 }, async (t) => {
    await runScenario(t, {
      name: 'custom',
      policy,
      absent: [...defaultAbsentNeedles(),
        'Zanzibarquay',          // p.profile-bio is masked by this policy
        'Questions? Write to',   // #support is blocked by this policy
        'newsletter signup for', // console: drop
      ],
      present: ['E2E Checkout', 'for order 1001'],
      maskedSelectors: ['#masked-note', '#bio'],
      blockedSelectors: ['#private-block', '#support'],
    });
  });
