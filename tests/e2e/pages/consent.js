// Drives posthog-js on the consent page (client settings as in subjects.js: client-side masking
// off, bot filter off, posthog-js's default consent state, so it records before any opt-in).
// Cookies from E2E.cookies ([{name, value}]) are written first, before posthog.init. The test
// calls window.e2eAddText(text) for a DOM mutation and posthog.opt_in_capturing() directly.
/* global posthog, E2E */
for (const c of E2E.cookies || []) {
  // What a CMP writes: first-party, whole site, a year. The value is already cookie-safe
  // (a base64url TC string, or OneTrust's URL-encoded key=value list).
  document.cookie = `${c.name}=${c.value}; path=/; max-age=31536000; SameSite=Lax`;
}
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
