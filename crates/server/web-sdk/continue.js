// The capture page a hand-off QR code opens (docs/web-sdk.md, "Continue on a phone"): the
// plugin runs on the session the computer started, named by the one-time token in the URL's
// fragment (never sent to a server). The computer's page learns the outcome on its own.
(function () {
  'use strict';
  var token = location.hash.slice(1);
  var lang = new URLSearchParams(location.search).get('lang') || undefined;
  // The token is spent on first use; keep it out of the history and of a screenshot.
  if (token && history.replaceState) history.replaceState(null, '', location.pathname + location.search);
  var status = document.getElementById('status');
  function show(text) { status.textContent = text; }
  if (!token) { show('This link is not complete. Scan the code on your computer again.'); return; }
  document.documentElement.lang = lang || 'en';
  OzLiveness.open({
    handoff_token: token, lang: lang,
    on_complete: function () { show(OzLiveness.text('handoff_done')); },
    on_error: function (e) { show(e.message); },
    on_close: function () { if (!status.textContent) show(OzLiveness.text('error_user_cancelled')); }
  });
})();
