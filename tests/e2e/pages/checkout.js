// Drives posthog-js on the recorded page. Client-side masking is switched OFF on purpose so the
// only thing keeping personal data out of the store is scrubd.
/* global posthog, E2E */
posthog.init(E2E.token, {
  api_host: E2E.apiHost,
  disable_session_recording: false,
  enable_recording_console_log: true,
  capture_pageview: true,
  // HeadlessChrome's user agent is on posthog-js's bot list; without this nothing is sent.
  opt_out_useragent_filter: true,
  session_recording: {
    maskAllInputs: false,
    maskTextSelector: null,
    // rrweb's class-based defaults (ph-mask / ph-no-capture) pointed at classes nobody uses.
    maskTextClass: 'e2e-client-mask-off',
    blockClass: 'e2e-client-block-off',
  },
  loaded: () => {
    window.__e2eLoaded = true;
  },
});

document.getElementById('pay').addEventListener('click', () => {
  const email = document.getElementById('email').value;
  // A DOM mutation carrying PII (arrives as a cv-compressed mutation `adds`).
  const receipt = document.createElement('p');
  receipt.id = 'receipt';
  receipt.textContent = 'Receipt sent to receipt.e2e@example.org for order 1001';
  const status = document.getElementById('status');
  status.textContent = 'Paid, thank you';
  status.appendChild(receipt);
  console.log('newsletter signup for', 'console.e2e@example.com');
  posthog.capture('checkout', { email: 'capture.e2e@example.com', plan: 'pro', typed: email.length });
  window.__e2ePaid = true;
});
