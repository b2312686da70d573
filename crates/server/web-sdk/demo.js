// The demo page: signs in (as an integrator's backend would), mints a session token, runs the
// plugin with the chosen actions, then reads the order found by its transaction_id. Every run
// starts from a clean result panel. The demo's "backend" runs in the page for brevity; a real
// integration keeps the access token and the final check on its own server (docs/web-sdk.md).
(function () {
  'use strict';
  var ACTIONS = [
    ['video_selfie_blank', 'Liveness video', 'Look at the camera for a moment'],
    ['auto', 'Random gestures', '1 to 3 gestures the server picks'],
    ['video_selfie_left', 'Turn left', 'A head turn to the left'],
    ['video_selfie_right', 'Turn right', 'A head turn to the right'],
    ['video_selfie_down', 'Look down', 'Tilt the head down'],
    ['video_selfie_high', 'Look up', 'Tilt the head up'],
    ['video_selfie_smile', 'Smile', 'A smile on camera'],
    ['video_selfie_eyes', 'Close the eyes', 'Close, then open the eyes'],
    ['video_selfie_scan', 'Scan', 'Move the face slowly in the frame'],
    ['video_selfie_best', 'Best shot', 'A short video kept for its best frame'],
    ['photo_selfie', 'Selfie photo', 'One photo of the face'],
    ['photo_id_front', 'ID, front', 'A photo of the document with the portrait'],
    ['photo_id_back', 'ID, back', 'A photo of the back of the document']
  ];
  var token = null;
  var run = 0;
  var $ = function (id) { return document.getElementById(id); };

  function status(text, state) {
    $('status').textContent = text;
    $('status').setAttribute('data-state', state || 'idle');
  }
  function detail(text) {
    var li = document.createElement('li');
    li.textContent = text;
    $('details').append(li);
  }
  /** A new run: the result panel forgets the previous one. */
  function reset() {
    $('details').replaceChildren();
    $('bestbox').hidden = true;
    var old = $('best').getAttribute('src');
    if (old) { URL.revokeObjectURL(old); $('best').removeAttribute('src'); }
    $('out').hidden = false;
    status('Starting…', 'busy');
  }
  function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ 'X-Forensic-Access-Token': token || '' }, opts.headers || {});
    return fetch(path, opts);
  }

  ACTIONS.forEach(function (a, i) {
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'action';
    box.value = a[0];
    box.checked = i === 0;
    var label = document.createElement('label');
    label.className = 'card';
    var text = document.createElement('span');
    var strong = document.createElement('strong');
    strong.textContent = a[1];
    var small = document.createElement('small');
    small.textContent = a[2];
    text.append(strong, small);
    label.append(box, text);
    $('actions').append(label);
  });

  $('signin').addEventListener('submit', async function (e) {
    e.preventDefault();
    var r = await fetch('/api/authorize/auth', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ credentials: { email: $('email').value, password: $('password').value } }) });
    var v = await r.json();
    if (!r.ok) { $('who').textContent = 'Sign-in failed: ' + v.error_message; return; }
    token = v.access_token;
    $('who').textContent = 'Signed in as ' + v.user.email + '.';
    $('run').hidden = false;
  });

  $('run').addEventListener('submit', async function (e) {
    e.preventDefault();
    var mine = ++run;
    reset();
    var actions = Array.prototype.filter.call(document.querySelectorAll('input[name=action]'), function (b) { return b.checked; })
      .map(function (b) { return b.value; });
    if (!actions.length) { status('Pick at least one check.', 'warn'); return; }
    var r = await api('/api/authorize/session_token');
    var v = await r.json();
    if (!r.ok) { status('No session token: ' + v.error_message, 'bad'); return; }
    var tx = 'demo-' + Date.now();
    var finished = false;
    status('The plugin is open: follow its instructions.', 'busy');
    OzLiveness.open({
      session_token: v.session_token, lang: $('lang').value, action: actions, meta: { transaction_id: tx },
      handoff: $('handoff').checked ? true : undefined,
      on_result: function () { if (mine === run) status('Processing the capture…', 'busy'); },
      on_error: function (err) {
        finished = true;
        if (mine !== run) return;
        if (err.code === 'user_cancelled') status('Closed before the check finished.', 'warn');
        else status('Error: ' + err.code + ' — ' + err.message, 'bad');
      },
      on_complete: function () { finished = true; if (mine === run) check(tx, mine); },
      on_close: function () { if (!finished && mine === run) status('Closed before the check finished.', 'warn'); }
    });
  });

  // The backend check: never trust the browser, read the verdict from the API.
  async function check(tx, mine) {
    var r = await api('/api/folders/?meta_data=transaction_id==' + encodeURIComponent(tx) + '&with_analyses=true');
    var v = await r.json();
    if (mine !== run) return;
    var f = (v.items || v)[0];
    if (!f) { status('No order for ' + tx, 'bad'); return; }
    var shot = null;
    (f.analyses || []).forEach(function (a) {
      (a.results_media || []).forEach(function (m) {
        var d = m.results_data || {};
        detail(a.type + ': ' + m.resolution_status +
          (d.confidence_spoofing !== undefined ? ', confidence_spoofing ' + d.confidence_spoofing : '') +
          (d.gesture ? ', ' + d.gesture.name + (d.gesture.performed ? ' performed' : ' not performed') : ''));
        (m.output_images || []).forEach(function (i) { shot = shot || i.original_url; });
      });
    });
    var state = { SUCCESS: 'ok', DECLINED: 'bad', OPERATOR_REQUIRED: 'warn' }[f.resolution_status] || 'idle';
    status('Order ' + f.folder_id + ': ' + f.resolution_status, state);
    if (shot) {
      var img = await api(shot);
      if (mine !== run) return;
      $('best').src = URL.createObjectURL(await img.blob());
      $('bestbox').hidden = false;
    }
  }
})();
