// Drives posthog-js on the subjects page (same client settings as checkout.js: client-side
// masking off, bot filter off). The test calls window.e2eAddText(text) to make a DOM mutation
// and posthog.identify / posthog.capture directly.
/* global posthog, E2E */
const marker = new URLSearchParams(location.search).get('marker') || '';
document.getElementById('marker').textContent = `Favourite word: ${marker}`;

posthog.init(E2E.token, {
  api_host: E2E.apiHost,
  disable_session_recording: false,
  capture_pageview: true,
  opt_out_useragent_filter: true,
  session_recording: {
    maskAllInputs: false,
    maskTextSelector: null,
    maskTextClass: 'e2e-client-mask-off',
    blockClass: 'e2e-client-block-off',
  },
  loaded: () => {
    window.__e2eLoaded = true;
  },
});

// Appends a paragraph (an rrweb mutation carrying `text`).
window.e2eAddText = (text) => {
  const p = document.createElement('p');
  p.textContent = text;
  document.getElementById('log').appendChild(p);
};
