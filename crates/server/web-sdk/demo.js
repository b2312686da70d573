// The demo's "backend" runs in the page for brevity; a real integration keeps the access token
// and the final check on its own server (docs/web-sdk.md).
(function () {
  'use strict';
  var token = null;
  var $ = function (id) { return document.getElementById(id); };
  function status(s) { $('status').textContent = s; }
  function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ 'X-Forensic-Access-Token': token || '' }, opts.headers || {});
    return fetch(path, opts);
  }
  $('signin').addEventListener('submit', async function (e) {
    e.preventDefault();
    var r = await fetch('/api/authorize/auth', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ credentials: { email: $('email').value, password: $('password').value } }) });
    var v = await r.json();
    if (!r.ok) { status('Sign-in failed: ' + v.error_message); return; }
    token = v.access_token;
    $('run').hidden = false;
    status('Signed in.');
  });
  $('run').addEventListener('submit', async function (e) {
    e.preventDefault();
    var r = await api('/api/authorize/session_token');
    var v = await r.json();
    if (!r.ok) { status('No session token: ' + v.error_message); return; }
    var tx = 'demo-' + Date.now();
    var actions = Array.prototype.map.call($('actions').selectedOptions, function (o) { return o.value; });
    $('best').hidden = true;
    OzLiveness.open({
      session_token: v.session_token, lang: $('lang').value, action: actions, meta: { transaction_id: tx },
      handoff: $('handoff').checked ? true : undefined,
      on_result: function (res) { status('Processing… ' + JSON.stringify(res)); },
      on_error: function (err) { status('Error: ' + err.code + ' — ' + err.message); },
      on_complete: function () { check(tx); }
    });
  });
  // The backend check: never trust the browser, read the verdict from the API.
  async function check(tx) {
    var r = await api('/api/folders/?meta_data=transaction_id==' + encodeURIComponent(tx) + '&with_analyses=true');
    var v = await r.json();
    var f = (v.items || v)[0];
    if (!f) { status('No folder for ' + tx); return; }
    var shot = null, details = [];
    (f.analyses || []).forEach(function (a) {
      (a.results_media || []).forEach(function (m) {
        var d = m.results_data || {};
        details.push(a.type + ' ' + m.resolution_status +
          (d.confidence_spoofing !== undefined ? ', confidence_spoofing ' + d.confidence_spoofing : '') +
          (d.gesture ? ', ' + d.gesture.name + (d.gesture.performed ? ' performed' : ' NOT performed') : ''));
        (m.output_images || []).forEach(function (i) { shot = shot || i.original_url; });
      });
    });
    status('Folder ' + f.folder_id + ': ' + f.resolution_status + ' (' + details.join('; ') + ')');
    if (shot) {
      var img = await api(shot);
      $('best').src = URL.createObjectURL(await img.blob());
      $('best').hidden = false;
    }
  }
})();
