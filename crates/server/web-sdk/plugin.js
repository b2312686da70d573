/* faceproof web plugin — OzLiveness.open/close/hide (docs/web-sdk.md). Served by the faceproof
 * binary; loads nothing from any other host, uses no eval and no inline styles, so a strict
 * Content-Security-Policy on the page does not break it. The browser decides nothing: the server
 * says which actions to perform, receives the captures and keeps the verdict. */
(function () {
  'use strict';
  if (window.OzLiveness && window.OzLiveness.faceproof) return;

  var VERSION = '1.0.0';
  var CSS = '__FACEPROOF_CSS__';
  var script = document.currentScript;
  var BASE = (function () {
    if (!script || !script.src) return '';
    var u = new URL(script.src, location.href);
    var path = u.pathname.replace(/\/(plugin_liveness\.php|web-sdk\/plugin\.js)$/, '');
    return u.origin + path;
  })();

  /* Every text the plugin shows comes from a pack. {n}, {i} are filled in. */
  var PACKS = {
    en: {
      title: 'Face check', close: 'Close', retry: 'Try again', preparing: 'Preparing…',
      camera_request: 'Allow access to the camera', step: 'Step {i} of {n}',
      hint_no_face: 'No face in the frame', hint_many_faces: 'Only one face, please',
      hint_closer: 'Move closer', hint_back: 'Move back', hint_centre: 'Centre your face in the oval',
      hint_dark: 'Too dark: find more light', hint_still: 'Hold still', hint_ok: 'Good, hold it there',
      countdown: 'Starting in {n}', recording: 'Recording…', uploading: 'Sending…',
      processing: 'Checking…', done: 'Done. Thank you!', aria_dialog: 'Face liveness check',
      aria_camera: 'Camera preview', aligned: 'Face in position', not_aligned: 'Face not in position',
      action_photo_id_front: 'Show the front of your ID document',
      action_photo_id_back: 'Show the back of your ID document',
      action_photo_selfie: 'Look straight at the camera',
      action_video_selfie_left: 'Turn your head to the left',
      action_video_selfie_right: 'Turn your head to the right',
      action_video_selfie_down: 'Tilt your head down',
      action_video_selfie_high: 'Raise your head',
      action_video_selfie_smile: 'Smile',
      action_video_selfie_eyes: 'Blink',
      action_video_selfie_scan: 'Look at the screen and hold still',
      action_video_selfie_blank: 'Look straight at the camera',
      action_video_selfie_best: 'Look straight at the camera',
      action_auto: 'Follow the instructions on the screen',
      error_camera_denied: 'Camera access was denied. Allow the camera in your browser settings and try again.',
      error_camera_not_found: 'No camera was found.',
      error_camera_in_use: 'The camera is used by another application.',
      error_insecure_context: 'The camera needs a secure (https) page.',
      error_camera_timeout: 'The camera did not start in time.',
      error_network_error: 'The server cannot be reached. Check your connection.',
      error_session_expired: 'This session has expired. Please start again.',
      error_session_invalid: 'This session is not valid. Please start again.',
      error_origin_not_allowed: 'This page may not run the face check.',
      error_user_cancelled: 'The check was cancelled.',
      error_not_supported: 'This browser cannot run the face check.',
      error_capture_failed: 'The capture could not be sent.',
      error_timeout: 'The check took too long.',
      retry_gesture_not_performed: 'We could not see the movement asked for. Follow the instruction on the screen.',
      retry_no_face: 'Your face was lost during the capture. Keep your face in the oval.',
      retry_too_few_frames: 'The picture was not clear enough. Look straight at the camera, hold still and find more light.',
      attempt: 'Attempt {i} of {n}'
    },
    ru: {
      title: 'Проверка лица', close: 'Закрыть', retry: 'Повторить', preparing: 'Подготовка…',
      camera_request: 'Разрешите доступ к камере', step: 'Шаг {i} из {n}',
      hint_no_face: 'Лицо не найдено', hint_many_faces: 'В кадре должно быть одно лицо',
      hint_closer: 'Подойдите ближе', hint_back: 'Отодвиньтесь', hint_centre: 'Поместите лицо в овал',
      hint_dark: 'Слишком темно: добавьте света', hint_still: 'Не двигайтесь', hint_ok: 'Хорошо, замрите',
      countdown: 'Начало через {n}', recording: 'Запись…', uploading: 'Отправка…',
      processing: 'Проверка…', done: 'Готово. Спасибо!', aria_dialog: 'Проверка живости лица',
      aria_camera: 'Изображение с камеры', aligned: 'Лицо в овале', not_aligned: 'Лицо не в овале',
      action_photo_id_front: 'Покажите лицевую сторону документа',
      action_photo_id_back: 'Покажите оборотную сторону документа',
      action_photo_selfie: 'Смотрите прямо в камеру',
      action_video_selfie_left: 'Поверните голову влево',
      action_video_selfie_right: 'Поверните голову вправо',
      action_video_selfie_down: 'Наклоните голову вниз',
      action_video_selfie_high: 'Поднимите голову',
      action_video_selfie_smile: 'Улыбнитесь',
      action_video_selfie_eyes: 'Моргните',
      action_video_selfie_scan: 'Смотрите на экран и не двигайтесь',
      action_video_selfie_blank: 'Смотрите прямо в камеру',
      action_video_selfie_best: 'Смотрите прямо в камеру',
      action_auto: 'Следуйте инструкциям на экране',
      error_camera_denied: 'Доступ к камере запрещён. Разрешите камеру в настройках браузера и повторите.',
      error_camera_not_found: 'Камера не найдена.',
      error_camera_in_use: 'Камера занята другим приложением.',
      error_insecure_context: 'Для камеры нужна защищённая (https) страница.',
      error_camera_timeout: 'Камера не включилась вовремя.',
      error_network_error: 'Сервер недоступен. Проверьте соединение.',
      error_session_expired: 'Сессия истекла. Начните заново.',
      error_session_invalid: 'Сессия недействительна. Начните заново.',
      error_origin_not_allowed: 'Этой странице не разрешена проверка лица.',
      error_user_cancelled: 'Проверка отменена.',
      error_not_supported: 'Этот браузер не поддерживает проверку лица.',
      error_capture_failed: 'Не удалось отправить запись.',
      error_timeout: 'Проверка заняла слишком много времени.',
      retry_gesture_not_performed: 'Не удалось увидеть нужное движение. Следуйте инструкции на экране.',
      retry_no_face: 'Лицо пропало из кадра во время записи. Держите лицо в овале.',
      retry_too_few_frames: 'Изображение недостаточно чёткое. Смотрите прямо в камеру, не двигайтесь, найдите больше света.',
      attempt: 'Попытка {i} из {n}'
    },
    es: {
      title: 'Verificación facial', close: 'Cerrar', retry: 'Reintentar', preparing: 'Preparando…',
      camera_request: 'Permita el acceso a la cámara', step: 'Paso {i} de {n}',
      hint_no_face: 'No se ve ningún rostro', hint_many_faces: 'Solo un rostro, por favor',
      hint_closer: 'Acérquese', hint_back: 'Aléjese', hint_centre: 'Centre su rostro en el óvalo',
      hint_dark: 'Demasiado oscuro: busque más luz', hint_still: 'No se mueva', hint_ok: 'Bien, quédese así',
      countdown: 'Empieza en {n}', recording: 'Grabando…', uploading: 'Enviando…',
      processing: 'Verificando…', done: 'Listo. ¡Gracias!', aria_dialog: 'Verificación de prueba de vida',
      aria_camera: 'Vista de la cámara', aligned: 'Rostro en posición', not_aligned: 'Rostro fuera de posición',
      action_photo_id_front: 'Muestre el anverso de su documento',
      action_photo_id_back: 'Muestre el reverso de su documento',
      action_photo_selfie: 'Mire directamente a la cámara',
      action_video_selfie_left: 'Gire la cabeza a la izquierda',
      action_video_selfie_right: 'Gire la cabeza a la derecha',
      action_video_selfie_down: 'Incline la cabeza hacia abajo',
      action_video_selfie_high: 'Levante la cabeza',
      action_video_selfie_smile: 'Sonría',
      action_video_selfie_eyes: 'Parpadee',
      action_video_selfie_scan: 'Mire la pantalla y no se mueva',
      action_video_selfie_blank: 'Mire directamente a la cámara',
      action_video_selfie_best: 'Mire directamente a la cámara',
      action_auto: 'Siga las instrucciones de la pantalla',
      error_camera_denied: 'Se denegó el acceso a la cámara. Permítalo en la configuración del navegador y reintente.',
      error_camera_not_found: 'No se encontró ninguna cámara.',
      error_camera_in_use: 'Otra aplicación está usando la cámara.',
      error_insecure_context: 'La cámara necesita una página segura (https).',
      error_camera_timeout: 'La cámara no se inició a tiempo.',
      error_network_error: 'No se puede contactar con el servidor. Compruebe su conexión.',
      error_session_expired: 'La sesión ha caducado. Empiece de nuevo.',
      error_session_invalid: 'La sesión no es válida. Empiece de nuevo.',
      error_origin_not_allowed: 'Esta página no puede realizar la verificación facial.',
      error_user_cancelled: 'La verificación se canceló.',
      error_not_supported: 'Este navegador no puede realizar la verificación facial.',
      error_capture_failed: 'No se pudo enviar la captura.',
      error_timeout: 'La verificación tardó demasiado.',
      retry_gesture_not_performed: 'No pudimos ver el movimiento pedido. Siga la instrucción de la pantalla.',
      retry_no_face: 'Su cara se perdió durante la captura. Mantenga la cara dentro del óvalo.',
      retry_too_few_frames: 'La imagen no fue lo bastante clara. Mire de frente a la cámara, quédese quieto y busque más luz.',
      attempt: 'Intento {i} de {n}'
    },
    'pt-BR': {
      title: 'Verificação facial', close: 'Fechar', retry: 'Tentar novamente', preparing: 'Preparando…',
      camera_request: 'Permita o acesso à câmera', step: 'Etapa {i} de {n}',
      hint_no_face: 'Nenhum rosto no quadro', hint_many_faces: 'Apenas um rosto, por favor',
      hint_closer: 'Aproxime-se', hint_back: 'Afaste-se', hint_centre: 'Centralize o rosto no oval',
      hint_dark: 'Muito escuro: procure mais luz', hint_still: 'Fique parado', hint_ok: 'Bom, fique assim',
      countdown: 'Começa em {n}', recording: 'Gravando…', uploading: 'Enviando…',
      processing: 'Verificando…', done: 'Pronto. Obrigado!', aria_dialog: 'Verificação de prova de vida',
      aria_camera: 'Imagem da câmera', aligned: 'Rosto na posição', not_aligned: 'Rosto fora da posição',
      action_photo_id_front: 'Mostre a frente do seu documento',
      action_photo_id_back: 'Mostre o verso do seu documento',
      action_photo_selfie: 'Olhe diretamente para a câmera',
      action_video_selfie_left: 'Vire a cabeça para a esquerda',
      action_video_selfie_right: 'Vire a cabeça para a direita',
      action_video_selfie_down: 'Incline a cabeça para baixo',
      action_video_selfie_high: 'Levante a cabeça',
      action_video_selfie_smile: 'Sorria',
      action_video_selfie_eyes: 'Pisque',
      action_video_selfie_scan: 'Olhe para a tela e fique parado',
      action_video_selfie_blank: 'Olhe diretamente para a câmera',
      action_video_selfie_best: 'Olhe diretamente para a câmera',
      action_auto: 'Siga as instruções na tela',
      error_camera_denied: 'O acesso à câmera foi negado. Permita a câmera nas configurações do navegador e tente novamente.',
      error_camera_not_found: 'Nenhuma câmera encontrada.',
      error_camera_in_use: 'A câmera está em uso por outro aplicativo.',
      error_insecure_context: 'A câmera precisa de uma página segura (https).',
      error_camera_timeout: 'A câmera não iniciou a tempo.',
      error_network_error: 'Não foi possível contatar o servidor. Verifique sua conexão.',
      error_session_expired: 'A sessão expirou. Comece novamente.',
      error_session_invalid: 'A sessão não é válida. Comece novamente.',
      error_origin_not_allowed: 'Esta página não pode fazer a verificação facial.',
      error_user_cancelled: 'A verificação foi cancelada.',
      error_not_supported: 'Este navegador não pode fazer a verificação facial.',
      error_capture_failed: 'Não foi possível enviar a captura.',
      error_timeout: 'A verificação demorou demais.',
      retry_gesture_not_performed: 'Não conseguimos ver o movimento pedido. Siga a instrução na tela.',
      retry_no_face: 'Seu rosto saiu do quadro durante a captura. Mantenha o rosto dentro do oval.',
      retry_too_few_frames: 'A imagem não ficou nítida o bastante. Olhe para a câmera, fique parado e procure mais luz.',
      attempt: 'Tentativa {i} de {n}'
    },
    tr: {
      title: 'Yüz doğrulama', close: 'Kapat', retry: 'Tekrar dene', preparing: 'Hazırlanıyor…',
      camera_request: 'Kameraya erişime izin verin', step: 'Adım {i} / {n}',
      hint_no_face: 'Karede yüz yok', hint_many_faces: 'Lütfen yalnızca bir yüz',
      hint_closer: 'Yaklaşın', hint_back: 'Uzaklaşın', hint_centre: 'Yüzünüzü ovalin ortasına getirin',
      hint_dark: 'Çok karanlık: daha fazla ışık bulun', hint_still: 'Kıpırdamayın', hint_ok: 'Güzel, böyle kalın',
      countdown: '{n} saniye içinde başlıyor', recording: 'Kaydediliyor…', uploading: 'Gönderiliyor…',
      processing: 'Kontrol ediliyor…', done: 'Tamamlandı. Teşekkürler!', aria_dialog: 'Yüz canlılık kontrolü',
      aria_camera: 'Kamera görüntüsü', aligned: 'Yüz doğru konumda', not_aligned: 'Yüz doğru konumda değil',
      action_photo_id_front: 'Kimlik belgenizin ön yüzünü gösterin',
      action_photo_id_back: 'Kimlik belgenizin arka yüzünü gösterin',
      action_photo_selfie: 'Doğrudan kameraya bakın',
      action_video_selfie_left: 'Başınızı sola çevirin',
      action_video_selfie_right: 'Başınızı sağa çevirin',
      action_video_selfie_down: 'Başınızı aşağı eğin',
      action_video_selfie_high: 'Başınızı kaldırın',
      action_video_selfie_smile: 'Gülümseyin',
      action_video_selfie_eyes: 'Gözlerinizi kırpın',
      action_video_selfie_scan: 'Ekrana bakın ve kıpırdamayın',
      action_video_selfie_blank: 'Doğrudan kameraya bakın',
      action_video_selfie_best: 'Doğrudan kameraya bakın',
      action_auto: 'Ekrandaki talimatları izleyin',
      error_camera_denied: 'Kamera erişimi reddedildi. Tarayıcı ayarlarından kameraya izin verip tekrar deneyin.',
      error_camera_not_found: 'Kamera bulunamadı.',
      error_camera_in_use: 'Kamera başka bir uygulama tarafından kullanılıyor.',
      error_insecure_context: 'Kamera için güvenli (https) bir sayfa gerekir.',
      error_camera_timeout: 'Kamera zamanında başlamadı.',
      error_network_error: 'Sunucuya ulaşılamıyor. Bağlantınızı kontrol edin.',
      error_session_expired: 'Oturumun süresi doldu. Lütfen yeniden başlayın.',
      error_session_invalid: 'Oturum geçerli değil. Lütfen yeniden başlayın.',
      error_origin_not_allowed: 'Bu sayfa yüz doğrulaması yapamaz.',
      error_user_cancelled: 'Kontrol iptal edildi.',
      error_not_supported: 'Bu tarayıcı yüz doğrulamasını desteklemiyor.',
      error_capture_failed: 'Kayıt gönderilemedi.',
      error_timeout: 'Kontrol çok uzun sürdü.',
      retry_gesture_not_performed: 'İstenen hareketi göremedik. Ekrandaki talimatı izleyin.',
      retry_no_face: 'Çekim sırasında yüzünüz kayboldu. Yüzünüzü ovalin içinde tutun.',
      retry_too_few_frames: 'Görüntü yeterince net değildi. Doğrudan kameraya bakın, kıpırdamayın ve daha fazla ışık bulun.',
      attempt: 'Deneme {i} / {n}'
    }
  };

  /* The published error codes (docs/web-sdk.md). */
  var ERRORS = ['camera_denied', 'camera_not_found', 'camera_in_use', 'insecure_context', 'camera_timeout',
    'network_error', 'session_expired', 'session_invalid', 'origin_not_allowed', 'user_cancelled',
    'not_supported', 'capture_failed', 'timeout'];

  var STYLE_VARS = {
    frame_color_aligned: '--fp-frame-ok', frame_color_not_aligned: '--fp-frame-bad',
    hint_text_color: '--fp-hint-color', hint_background: '--fp-hint-bg', background: '--fp-bg',
    text_color: '--fp-text', button_color: '--fp-button-bg', button_text_color: '--fp-button-color',
    font_family: '--fp-font'
  };

  var current = null;

  function fmt(s, vars) {
    return String(s).replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? vars[k] : ''; });
  }

  function sleep(ms, run) {
    return new Promise(function (resolve, reject) {
      var t = setTimeout(resolve, ms);
      run.aborts.push(function () { clearTimeout(t); reject(new Aborted()); });
    });
  }

  function Aborted() { this.name = 'Aborted'; }

  function PluginError(code, context) { this.code = code; this.context = context || {}; }

  /* ---------- ZIP (stored entries) of the captured frames: a SHOTS_SET ---------- */
  var CRC = (function () {
    var t = new Uint32Array(256);
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    return t;
  })();
  function crc32(u8) {
    var c = 0xFFFFFFFF;
    for (var i = 0; i < u8.length; i++) c = CRC[(c ^ u8[i]) & 0xFF] ^ (c >>> 8);
    return (c ^ 0xFFFFFFFF) >>> 0;
  }
  function zip(files) {
    var parts = [], central = [], offset = 0, enc = new TextEncoder();
    files.forEach(function (f) {
      var name = enc.encode(f.name), crc = crc32(f.data), size = f.data.length;
      var h = new DataView(new ArrayBuffer(30));
      h.setUint32(0, 0x04034b50, true); h.setUint16(4, 20, true); h.setUint16(12, 0x21, true);
      h.setUint32(14, crc, true); h.setUint32(18, size, true); h.setUint32(22, size, true);
      h.setUint16(26, name.length, true);
      parts.push(h.buffer, name, f.data);
      var c = new DataView(new ArrayBuffer(46));
      c.setUint32(0, 0x02014b50, true); c.setUint16(4, 20, true); c.setUint16(6, 20, true);
      c.setUint16(14, 0x21, true); c.setUint32(16, crc, true); c.setUint32(20, size, true);
      c.setUint32(24, size, true); c.setUint16(28, name.length, true); c.setUint32(42, offset, true);
      central.push(c.buffer, name);
      offset += 30 + name.length + size;
    });
    var cdSize = central.reduce(function (s, p) { return s + p.byteLength; }, 0);
    var e = new DataView(new ArrayBuffer(22));
    e.setUint32(0, 0x06054b50, true); e.setUint16(8, files.length, true); e.setUint16(10, files.length, true);
    e.setUint32(12, cdSize, true); e.setUint32(16, offset, true);
    return new Blob(parts.concat(central, [e.buffer]), { type: 'application/zip' });
  }

  /* ---------- UI ---------- */
  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  function buildUi(run) {
    var host = el('div', null, { id: 'faceproof-liveness' });
    var root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && 'replaceSync' in CSSStyleSheet.prototype) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el('link', null, { rel: 'stylesheet', href: BASE + '/web-sdk/plugin.css' }));
    }
    var style = run.opts.style || {};
    for (var k in STYLE_VARS) if (style[k]) host.style.setProperty(STYLE_VARS[k], String(style[k]));
    var box = el('div', 'fp', { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'fp-title' });
    var title = el('h2', null, { id: 'fp-title' });
    var step = el('div', 'step');
    var stage = el('div', 'stage');
    var video = el('video', null, { playsinline: '', muted: '', autoplay: '' });
    video.muted = true;
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'oval'); svg.setAttribute('viewBox', '0 0 300 400');
    svg.setAttribute('preserveAspectRatio', 'none'); svg.setAttribute('aria-hidden', 'true');
    var ellipse = document.createElementNS(ns, 'ellipse');
    ellipse.setAttribute('cx', '150'); ellipse.setAttribute('cy', '190');
    ellipse.setAttribute('rx', '95'); ellipse.setAttribute('ry', '135');
    svg.appendChild(ellipse);
    var hint = el('div', 'hint', { 'aria-hidden': 'true' });
    var count = el('div', 'count', { 'aria-hidden': 'true' });
    stage.append(video, svg, hint, count);
    var msg = el('div', 'msg', { role: 'status', 'aria-live': 'polite' });
    var alert = el('div', 'sr', { role: 'alert' });
    var buttons = el('div', 'buttons');
    var retry = el('button', null, { type: 'button', hidden: '' });
    var close = el('button', 'secondary', { type: 'button' });
    buttons.append(retry, close);
    var version = el('div', 'version', { 'aria-hidden': 'true' });
    version.textContent = 'faceproof ' + VERSION;
    if (style.hide_version) version.hidden = true;
    box.append(title, step, stage, msg, alert, buttons, version);
    root.appendChild(box);
    (document.body || document.documentElement).appendChild(host);
    var ui = { host: host, box: box, title: title, step: step, stage: stage, video: video, hint: hint,
      count: count, msg: msg, alert: alert, retry: retry, close: close, lastHint: '' };
    close.addEventListener('click', function () { cancel(run); });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { e.preventDefault(); cancel(run); }
      if (e.key === 'Tab') { // keep focus inside the dialog
        var f = [retry, close].filter(function (b) { return !b.hidden; });
        var i = f.indexOf(root.activeElement);
        e.preventDefault();
        f[(i + (e.shiftKey ? f.length - 1 : 1)) % f.length].focus();
      }
    });
    return ui;
  }

  function texts(run) { return run.texts; }
  function t(run, id, vars) { return fmt(texts(run)[id] !== undefined ? texts(run)[id] : id, vars); }

  function applyTexts(run) {
    var ui = run.ui;
    ui.title.textContent = t(run, 'title');
    ui.close.textContent = t(run, 'close');
    ui.retry.textContent = t(run, 'retry');
    ui.box.setAttribute('aria-label', t(run, 'aria_dialog'));
    ui.video.setAttribute('aria-label', t(run, 'aria_camera'));
  }

  function say(run, text, isError) {
    run.ui.msg.textContent = text;
    run.ui.msg.className = isError ? 'msg error' : 'msg';
  }

  function setHint(run, id, aligned) {
    var ui = run.ui;
    ui.stage.classList.toggle('aligned', !!aligned);
    var text = id ? t(run, id) : '';
    ui.hint.textContent = text;
    if (text && text !== ui.lastHint) { // announced, and never by colour alone
      ui.alert.textContent = text + '. ' + t(run, aligned ? 'aligned' : 'not_aligned');
    }
    ui.lastHint = text;
  }

  function packFor(lang, custom) {
    var base = {}, k;
    for (k in PACKS.en) base[k] = PACKS.en[k];
    var p = PACKS[lang] || {};
    for (k in p) base[k] = p[k];
    for (k in custom || {}) base[k] = custom[k];
    return base;
  }

  /* ---------- callbacks ---------- */
  function emit(run, name, payload) {
    if (run.closed) return;
    var f = run.opts[name];
    if (typeof f === 'function') {
      try { f(payload); } catch (e) { if (run.opts.debug && window.console) console.error(e); }
    }
  }

  function fail(run, err) {
    if (run.closed || run.failed) return;
    run.failed = true;
    var code = err instanceof PluginError ? err.code : 'network_error';
    stopCamera(run);
    setHint(run, '', false);
    run.ui.count.textContent = '';
    say(run, t(run, 'error_' + code), true);
    run.ui.alert.textContent = t(run, 'error_' + code);
    run.ui.close.focus();
    emit(run, 'on_error', { code: code, message: t(run, 'error_' + code),
      event_session_id: run.session ? run.session.session_id : null,
      context: err instanceof PluginError ? err.context : { error: String(err && err.message || err) } });
  }

  /* ---------- server calls ---------- */
  function post(run, path, body) {
    return fetch(BASE + path, { method: 'POST', body: body, credentials: 'omit', mode: 'cors',
      signal: run.abort.signal }).catch(function (e) {
      if (run.closed) throw new Aborted();
      throw new PluginError('network_error', { error: String(e && e.message || e) });
    });
  }

  function json(resp) { return resp.json().catch(function () { return {}; }); }

  async function startSession(run) {
    var o = run.opts;
    var body = JSON.stringify({ session_token: o.session_token, action: o.action, lang: o.lang,
      meta: o.meta || {}, params: o.params || {} });
    var resp;
    try {
      resp = await post(run, '/web-sdk/session', new Blob([body], { type: 'text/plain' }));
    } catch (e) {
      if (!(e instanceof PluginError)) throw e;
      // Unreadable answer: a server that answers at all refused this page's origin (CORS).
      var reachable = await fetch(BASE + '/api/version', { mode: 'no-cors', credentials: 'omit' })
        .then(function () { return true; }, function () { return false; });
      throw new PluginError(reachable ? 'origin_not_allowed' : 'network_error', e.context);
    }
    var v = await json(resp);
    if (!resp.ok) {
      var code = v.error_code === 8 ? 'session_expired'
        : (v.error_code === 7 || v.error_code === 3 || v.error_code === 6) ? 'session_invalid'
          : v.error_code === 9 ? 'origin_not_allowed' : 'network_error';
      throw new PluginError(code, { status: resp.status, error_code: v.error_code, reason: v.details && v.details.reason });
    }
    return v;
  }

  /* ---------- camera ---------- */
  function cameraError(e) {
    var n = e && e.name;
    if (n === 'NotAllowedError' || n === 'SecurityError' || n === 'PermissionDeniedError') return 'camera_denied';
    if (n === 'NotFoundError' || n === 'OverconstrainedError' || n === 'DevicesNotFoundError') return 'camera_not_found';
    if (n === 'NotReadableError' || n === 'AbortError' || n === 'TrackStartError') return 'camera_in_use';
    if (n === 'TypeError') return 'not_supported';
    return 'camera_in_use';
  }

  async function startCamera(run) {
    var o = run.opts;
    var video = { facingMode: o.cameraFacingMode || 'user', width: { ideal: 1280 }, height: { ideal: 720 } };
    if (o.device_id) video.deviceId = { exact: o.device_id };
    var timeout = Number(o.get_user_media_timeout) || 40000;
    var stream = await new Promise(function (resolve, reject) {
      var done = false;
      var timer = setTimeout(function () { done = true; reject(new PluginError('camera_timeout')); }, timeout);
      navigator.mediaDevices.getUserMedia({ video: video, audio: false }).then(function (s) {
        clearTimeout(timer);
        if (done || run.closed) { s.getTracks().forEach(function (x) { x.stop(); }); return; }
        resolve(s);
      }, function (e) {
        clearTimeout(timer);
        reject(new PluginError(cameraError(e), { name: e && e.name }));
      });
    });
    run.stream = stream;
    var v = run.ui.video;
    v.srcObject = stream;
    await new Promise(function (resolve) {
      if (v.readyState >= 2) return resolve();
      v.addEventListener('loadeddata', resolve, { once: true });
    });
    try { await v.play(); } catch (e) { /* autoplay of a muted stream is allowed */ }
    run.metrics.first_frame_ms = Math.round(performance.now() - run.metrics.opened_at);
  }

  function stopCamera(run) {
    if (run.stream) run.stream.getTracks().forEach(function (x) { x.stop(); });
    run.stream = null;
  }

  function grab(run, maxSide) {
    var v = run.ui.video, w = v.videoWidth, h = v.videoHeight;
    var s = Math.min(1, maxSide / Math.max(w, h));
    var c = document.createElement('canvas');
    c.width = Math.round(w * s); c.height = Math.round(h * s);
    c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
    return c;
  }

  function toBlob(canvas, type, q) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, type || 'image/jpeg', q || 0.88); });
  }

  /* ---------- guidance: frames checked by the server's detector ---------- */
  function hintFor(r, prev) {
    var faces = (r.faces || []).filter(function (f) { return f.score >= 0.7; });
    if (faces.length === 0) return { id: 'hint_no_face' };
    if (faces.length > 1) return { id: 'hint_many_faces' };
    var b = faces[0].box, W = r.width, H = r.height, side = Math.min(W, H);
    var size = (b[2] - b[0]) / side;
    var cx = (b[0] + b[2]) / 2 / W - 0.5, cy = (b[1] + b[3]) / 2 / H - 0.5;
    var centre = { x: cx, y: cy };
    if (r.brightness < 45) return { id: 'hint_dark', centre: centre };
    if (size < 0.22) return { id: 'hint_closer', centre: centre };
    if (size > 0.8) return { id: 'hint_back', centre: centre };
    if (Math.abs(cx) > 0.17 || Math.abs(cy) > 0.2) return { id: 'hint_centre', centre: centre };
    if (prev && prev.centre && Math.hypot(cx - prev.centre.x, cy - prev.centre.y) > 0.06) {
      return { id: 'hint_still', centre: centre };
    }
    return { id: 'hint_ok', centre: centre, ok: true };
  }

  async function checkFrame(run) {
    var blob = await toBlob(grab(run, 320), 'image/jpeg', 0.8);
    var fd = new FormData();
    fd.append('session_key', run.session.session_key);
    fd.append('frame', blob, 'frame.jpg');
    var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/frame', fd);
    var v = await json(resp);
    if (resp.status === 401 && v.error_code === 8) throw new PluginError('session_expired');
    if (!resp.ok) throw new PluginError('network_error', { status: resp.status, error_code: v.error_code });
    return v;
  }

  /* Wait until the face is in the oval (twice in a row), or `guidance_timeout` ms pass. */
  async function guide(run) {
    var limit = Number(run.opts.guidance_timeout) || 8000;
    var started = performance.now(), prev = null, good = 0;
    while (performance.now() - started < limit) {
      var r = await checkFrame(run);
      var h = hintFor(r, prev);
      prev = h;
      good = h.ok ? good + 1 : 0;
      setHint(run, h.id, h.ok);
      run.lastGuidance = r;
      if (good >= 2) return;
      await sleep(300, run);
    }
  }

  /* ---------- capture ---------- */
  /* The countdown's last REST_MS are the person's frontal rest: recorded at the capture's rate and
   * sent with a video action as rest frames (`…_rest.jpg`), which passive liveness is judged on
   * and a movement is measured from. */
  var CAPTURE_FPS = 8, REST_MS = 1250;
  async function countdown(run, a) {
    run.ui.stage.classList.add('pulse');
    var rest = [], total = 3000, t0 = performance.now(), shown = 0;
    var collect = a && a.kind !== 'photo';
    for (var i = 0; ; i++) {
      var elapsed = performance.now() - t0;
      if (elapsed >= total) break;
      var n = Math.ceil((total - elapsed) / 1000);
      if (n !== shown) {
        shown = n;
        run.ui.count.textContent = String(n);
        say(run, t(run, 'countdown', { n: n }));
      }
      if (collect && elapsed >= total - REST_MS) rest.push(grab(run, 640));
      var next = t0 + (i + 1) * 1000 / CAPTURE_FPS;
      await sleep(Math.max(0, next - performance.now()), run);
    }
    run.ui.count.textContent = '';
    run.ui.stage.classList.remove('pulse');
    return rest;
  }

  async function record(run, a, rest) {
    var frames = [];
    run.ui.stage.classList.add('rec');
    say(run, t(run, 'recording'));
    if (a.kind === 'photo') {
      frames.push(grab(run, 1280));
    } else {
      var fps = CAPTURE_FPS, n = Math.max(4, Math.round(a.seconds * fps));
      var t0 = performance.now(), shown = -1;
      for (var i = 0; i < n; i++) {
        if (a.gestures) shown = cue(run, a, i / fps, shown);
        frames.push(grab(run, 640));
        var next = t0 + (i + 1) * 1000 / fps;
        await sleep(Math.max(0, next - performance.now()), run);
      }
    }
    run.ui.stage.classList.remove('rec');
    frames.rest = rest || [];
    return frames;
  }

  /* An `auto` capture is one continuous recording: the resting pose first ("look straight"),
   * then each gesture the server drew gets its own seconds, with its instruction shown and
   * announced as its turn comes. Returns the index of the cue now shown (-1: the rest). */
  function cue(run, a, elapsed, shown) {
    var k = elapsed < a.rest_seconds ? -1
      : Math.min(a.gestures.length - 1, Math.floor((elapsed - a.rest_seconds) / a.gesture_seconds));
    if (k === shown && elapsed > 0) return shown;
    var text = t(run, k < 0 ? 'action_video_selfie_blank' : 'action_' + a.gestures[k]);
    run.ui.title.textContent = text;
    say(run, text);
    return k;
  }

  function additionalInfo(run) {
    return JSON.stringify({ plugin: 'faceproof-web ' + VERSION, user_agent: navigator.userAgent,
      screen: [screen.width, screen.height], language: navigator.language,
      first_frame_ms: run.metrics.first_frame_ms, page: location.origin });
  }

  async function upload(run, a, frames) {
    var file, name;
    if (a.kind === 'photo') {
      file = await toBlob(frames[0], 'image/jpeg', 0.92); name = a.action + '.jpg';
    } else {
      var entries = [], all = (frames.rest || []).concat(frames), nrest = (frames.rest || []).length;
      for (var i = 0; i < all.length; i++) {
        var b = await toBlob(all[i], 'image/jpeg', 0.85);
        entries.push({ name: 'frame_' + String(i).padStart(4, '0') + (i < nrest ? '_rest' : '') + '.jpg',
          data: new Uint8Array(await b.arrayBuffer()) });
      }
      file = zip(entries); name = a.action + '.zip';
    }
    var v = run.ui.video;
    for (var attempt = 1; ; attempt++) {
      var fd = new FormData();
      fd.append('session_key', run.session.session_key);
      fd.append('action', a.action);
      fd.append('orientation', v.videoWidth > v.videoHeight ? 'landscape' : 'portrait');
      fd.append('additional_info', additionalInfo(run));
      fd.append('capture', file, name);
      try {
        var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/capture', fd);
        var out = await json(resp);
        if (resp.status === 401 && out.error_code === 8) throw new PluginError('session_expired');
        if (!resp.ok) throw new PluginError('capture_failed', { status: resp.status, error_code: out.error_code, message: out.error_message });
        return out;
      } catch (e) {
        if (!(e instanceof PluginError) || e.code === 'session_expired' || attempt >= 3) throw e;
        await askRetry(run, e);
      }
    }
  }

  /* Show the failure with a "Try again" button; resolves when the user presses it. */
  function askRetry(run, e) {
    say(run, t(run, 'error_' + e.code), true);
    var b = run.ui.retry;
    b.hidden = false;
    b.focus();
    return new Promise(function (resolve) {
      b.addEventListener('click', function () { b.hidden = true; say(run, t(run, 'uploading')); resolve(); }, { once: true });
    });
  }

  function dataUrl(canvas, type) { return canvas.toDataURL(type || 'image/jpeg', 0.9); }

  /* The media tags the page's backend should upload the capture with (as the server tags it in
   * the normal architecture): an `auto` capture carries its gestures in the order performed. */
  function captureTags(run, a) {
    if (a.kind === 'photo') return null;
    var v = run.ui.video, tags = ['video_selfie'];
    if (a.gestures) tags = tags.concat(a.gestures);
    else if (a.action === 'video_selfie_best') tags.push('video_selfie_oneshot');
    else tags.push(a.action);
    tags.push(v.videoWidth > v.videoHeight ? 'orientation_landscape' : 'orientation_portrait');
    return tags;
  }

  /* The face box and five landmarks of one recorded frame, in its pixels, from the server's
   * detector (the same model that judges the capture); nulls when it sees no face. */
  async function locate(run, canvas) {
    var fd = new FormData();
    fd.append('session_key', run.session.session_key);
    fd.append('landmarks', '1');
    fd.append('frame', await toBlob(canvas, 'image/jpeg', 0.85), 'frame.jpg');
    var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/frame', fd);
    var v = await json(resp);
    if (resp.status === 401 && v.error_code === 8) throw new PluginError('session_expired');
    if (!resp.ok) throw new PluginError('network_error', { status: resp.status, error_code: v.error_code });
    var f = v.faces && v.faces[0] ? v.faces[0].box : null;
    return {
      box: f ? { left: Math.round(f[0]), top: Math.round(f[1]), right: Math.round(f[2]), bottom: Math.round(f[3]) } : null,
      landmarks: v.landmarks ? v.landmarks.map(function (p) { return [Math.round(p[0]), Math.round(p[1])]; }) : null,
    };
  }

  async function captureResult(run, a, frames) {
    var located = [];
    for (var i = 0; i < frames.length; i++) located.push(await locate(run, frames[i]));
    var bi = Math.floor(frames.length / 2), best = frames[bi];
    return { action: a.action, gestures: a.gestures || null, tags: captureTags(run, a),
      best_frame: dataUrl(best), best_frame_png: dataUrl(best, 'image/png'),
      best_frame_bounding_box: located[bi].box, best_frame_landmarks: located[bi].landmarks,
      frame_list: frames.map(function (c) { return dataUrl(c); }),
      rest_frame_list: (frames.rest || []).map(function (c) { return dataUrl(c); }),
      frame_bounding_box_list: located.map(function (l) { return l.box; }),
      frame_landmarks: located.map(function (l) { return l.landmarks; }),
      additional_info: additionalInfo(run) };
  }

  /* ---------- the flow ---------- */
  async function flow(run) {
    var o = run.opts;
    if (!window.isSecureContext) throw new PluginError('insecure_context');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch || !window.Promise) {
      throw new PluginError('not_supported');
    }
    // No session_token: the server decides (a company may allow tokenless pages,
    // web_sdk.require_session_token: false); otherwise it answers session_invalid.
    say(run, t(run, 'preparing'));
    run.session = await startSession(run);
    run.texts = packFor(run.session.lang || o.lang, o.lang_pack || o.texts);
    applyTexts(run);
    say(run, t(run, 'camera_request'));
    await startCamera(run);
    for (;;) {
      var outcome = await runAttempt(run);
      if (outcome.done) return;
      // The server found the capture unusable (never a spoof verdict) and allows another try, in
      // the same session and folder: the reason in words, then "Try again".
      await askAgain(run, outcome.retry);
      var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/retry',
        new Blob([JSON.stringify({ session_key: run.session.session_key })], { type: 'text/plain' }));
      var v = await json(resp);
      if (resp.status === 401 && v.error_code === 8) throw new PluginError('session_expired');
      if (!resp.ok) throw new PluginError('network_error', { status: resp.status, error_code: v.error_code });
      run.session.actions = v.actions;
      run.session.attempt = v.attempt;
      run.session.attempts = v.attempts;
      say(run, t(run, 'camera_request'));
      await startCamera(run);
    }
  }

  /* One attempt: every action captured and sent, then the result awaited. Resolves with
   * { done: true } when the session is finished, or { retry } when the server asks for another. */
  async function runAttempt(run) {
    var o = run.opts;
    var actions = run.session.actions, captures = [], submitted = null;
    for (var i = 0; i < actions.length; i++) {
      var a = actions[i];
      var step = t(run, 'step', { i: i + 1, n: actions.length });
      if ((run.session.attempt || 1) > 1) {
        step += ' · ' + t(run, 'attempt', { i: run.session.attempt, n: run.session.attempts });
      }
      run.ui.step.textContent = step;
      run.ui.title.textContent = t(run, 'action_' + a.action);
      say(run, t(run, 'action_' + a.action));
      await guide(run);
      var rest = await countdown(run, a);
      var frames = await record(run, a, rest);
      setHint(run, '', false);
      if (run.session.architecture === 'capture') {
        captures.push(await captureResult(run, a, frames));
      } else {
        say(run, t(run, 'uploading'));
        submitted = await upload(run, a, frames);
      }
    }
    stopCamera(run);
    run.ui.title.textContent = t(run, 'title');
    run.ui.step.textContent = '';
    if (run.session.architecture === 'capture') {
      var payload = captures[0];
      payload.actions = captures;
      say(run, t(run, 'done'));
      emit(run, 'on_capture_complete', payload);
      return { done: true };
    }
    emit(run, 'on_submit', { event_session_id: run.session.session_id, submitted: !!(submitted && submitted.submitted) });
    say(run, t(run, 'processing'));
    var deadline = performance.now() + (Number(o.result_timeout) || 180000);
    for (;;) {
      var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/result',
        new Blob([JSON.stringify({ session_key: run.session.session_key })], { type: 'text/plain' }));
      var r = await json(resp);
      if (!resp.ok) throw new PluginError(r.error_code === 8 ? 'session_expired' : 'network_error', { status: resp.status });
      r.event_session_id = run.session.session_id;
      if (r.state === 'finished' && r.retry) {
        emit(run, 'on_result', r);
        return { retry: r.retry };
      }
      if (r.state === 'finished') {
        say(run, t(run, 'done'));
        run.ui.close.focus();
        emit(run, 'on_complete', r);
        return { done: true };
      }
      emit(run, 'on_result', r);
      if (performance.now() > deadline) throw new PluginError('timeout');
      await sleep(1000, run);
    }
  }

  /* Say why the capture must be taken again and wait for "Try again". */
  function askAgain(run, retry) {
    var reason = t(run, 'retry_' + retry.reason);
    say(run, reason, true);
    run.ui.alert.textContent = reason;
    var b = run.ui.retry;
    b.hidden = false;
    b.focus();
    return new Promise(function (resolve) {
      b.addEventListener('click', function () {
        b.hidden = true;
        run.ui.alert.textContent = '';
        resolve();
      }, { once: true });
    });
  }

  function cancel(run) {
    if (!run.closed && !run.finished && !run.failed) {
      emit(run, 'on_error', { code: 'user_cancelled', message: t(run, 'error_user_cancelled'),
        event_session_id: run.session ? run.session.session_id : null, context: {} });
    }
    teardown(run);
  }

  function teardown(run) {
    if (run.closed) return;
    run.closed = true;
    run.abort.abort();
    run.aborts.forEach(function (f) { f(); });
    stopCamera(run);
    if (run.ui && run.ui.host.parentNode) run.ui.host.parentNode.removeChild(run.ui.host);
    if (current === run) current = null;
    var f = run.opts.on_close;
    if (typeof f === 'function') { try { f(); } catch (e) { /* the page's own error */ } }
  }

  var OzLiveness = {
    faceproof: true,
    version: VERSION,
    error_codes: ERRORS.slice(),
    languages: Object.keys(PACKS),
    /* Last session's figures (time to first camera frame, ms). */
    metrics: {},
    add_lang: function (id, strings) { PACKS[id] = strings; this.languages = Object.keys(PACKS); },
    open: function (options) {
      if (current) teardown(current);
      var opts = options || {};
      var run = { opts: opts, abort: new AbortController(), aborts: [], closed: false, failed: false,
        finished: false, metrics: { opened_at: performance.now() } };
      run.texts = packFor(opts.lang, opts.lang_pack || opts.texts);
      current = run;
      OzLiveness.metrics = run.metrics;
      try {
        run.ui = buildUi(run);
      } catch (e) { // no shadow DOM: nothing can be shown
        current = null;
        emit(run, 'on_error', { code: 'not_supported', message: run.texts.error_not_supported,
          event_session_id: null, context: { error: String(e && e.message || e) } });
        return;
      }
      applyTexts(run);
      run.ui.close.focus();
      flow(run).then(function () { run.finished = true; }, function (e) {
        if (e instanceof Aborted || run.closed) return;
        fail(run, e);
      });
    },
    close: function () { if (current) teardown(current); },
    hide: function () { if (current) current.ui.host.style.display = 'none'; }
  };
  window.OzLiveness = OzLiveness;
})();
