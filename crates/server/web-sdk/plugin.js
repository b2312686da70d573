/* faceproof web plugin — OzLiveness.open/close/hide (docs/web-sdk.md). Served by the faceproof
 * binary; loads nothing from any other host, uses no eval and no inline styles, so a strict
 * Content-Security-Policy on the page does not break it. The browser decides nothing: the server
 * says which actions to perform, receives the captures and keeps the verdict; what the plugin
 * shows of a movement's progress is guidance only (the server judges the movement again).
 *
 * Screens (the dialog's data-state): start → (camera | handoff) → guide → countdown → record →
 * sending → checking → done | retry | error; camera problems (denied, none, busy) get a screen
 * with Try again and the browser's own help; a computer without a camera (or `handoff: true`)
 * shows a QR code that continues the same session on a phone. */
(function () {
  'use strict';
  if (window.OzLiveness && window.OzLiveness.faceproof) return;

  var VERSION = '1.1.0';
  var CSS = '__FACEPROOF_CSS__';
  var script = document.currentScript;
  var BASE = (function () {
    if (!script || !script.src) return '';
    var u = new URL(script.src, location.href);
    var path = u.pathname.replace(/\/(plugin_liveness\.php|web-sdk\/plugin\.js)$/, '');
    return u.origin + path;
  })();

  /* Every text the plugin shows comes from a pack. {n}, {i}, {a} are filled in. */
  var PACKS = {
    en: {
      title: 'Face check', close: 'Close', retry: 'Try again', preparing: 'Preparing…',
      camera_request: 'Allow access to the camera', step: 'Step {i} of {n}',
      hint_no_face: 'No face in the frame', hint_many_faces: 'Only one face, please',
      hint_closer: 'Move closer', hint_back: 'Move back', hint_centre: 'Centre your face in the oval',
      hint_dark: 'Too dark: find more light', hint_still: 'Hold still', hint_ok: 'Good, hold it there',
      doc_none: 'Place your document in the frame', doc_fill: 'Bring the document closer to fill the frame',
      doc_glare: 'Glare on the document: tilt it or move away from the light', doc_ok: 'Document found, hold still',
      doc_aligned: 'Document in position', doc_not_aligned: 'Document not in position',
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
      start_title: 'Before you start',
      start_what: 'You will look at the camera, then follow one or two short movements shown on the screen. It takes about a minute.',
      tip_light: 'Find good light: face a window or a lamp, not a bright background.',
      tip_glasses: 'Take off glasses and hat; keep your face uncovered.',
      tip_camera: 'Allow the camera when your browser asks.',
      start: 'Start', next: 'Next: {a}',
      progress_more: 'A bit more', progress_done: 'Done ✓', progress_other_way: 'Other way',
      denied_title: 'Camera access is blocked', camera_problem_title: 'The camera cannot be used',
      help_chrome: 'Chrome or Edge: click the camera icon (or the lock) in the address bar, choose Allow, then press Try again.',
      help_firefox: 'Firefox: click the crossed-out camera icon in the address bar, remove the block, then press Try again.',
      help_safari: 'Safari (iPhone, iPad or Mac): tap aA (or Safari › Settings for This Website), set Camera to Allow, then press Try again. On an iPhone also check Settings › Safari › Camera.',
      use_phone: 'Use my phone instead', handoff_title: 'Continue on your phone',
      handoff_scan: 'Scan this code with your phone’s camera. The check continues on the phone, and this page updates by itself.',
      handoff_link: 'Or open this link on your phone', handoff_waiting: 'Waiting for your phone…',
      handoff_opened: 'Continuing on your phone…', handoff_done: 'Done. You can go back to your computer.',
      stage_recorded: 'Recorded', stage_sending: 'Sending', stage_checking: 'Checking',
      checking_note: 'This usually takes a few seconds.',
      attempt: 'Attempt {i} of {n}'
    },
    ru: {
      title: 'Проверка лица', close: 'Закрыть', retry: 'Повторить', preparing: 'Подготовка…',
      camera_request: 'Разрешите доступ к камере', step: 'Шаг {i} из {n}',
      hint_no_face: 'Лицо не найдено', hint_many_faces: 'В кадре должно быть одно лицо',
      hint_closer: 'Подойдите ближе', hint_back: 'Отодвиньтесь', hint_centre: 'Поместите лицо в овал',
      hint_dark: 'Слишком темно: добавьте света', hint_still: 'Не двигайтесь', hint_ok: 'Хорошо, замрите',
      doc_none: 'Поместите документ в рамку', doc_fill: 'Поднесите документ ближе, чтобы он заполнил рамку',
      doc_glare: 'Блик на документе: наклоните его или отойдите от света', doc_ok: 'Документ найден, не двигайтесь',
      doc_aligned: 'Документ в рамке', doc_not_aligned: 'Документ не в рамке',
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
      start_title: 'Перед началом',
      start_what: 'Вы посмотрите в камеру, а затем выполните одно-два коротких движения, показанных на экране. Это займёт около минуты.',
      tip_light: 'Найдите хорошее освещение: встаньте лицом к окну или лампе, а не к яркому фону.',
      tip_glasses: 'Снимите очки и головной убор; лицо должно быть открыто.',
      tip_camera: 'Разрешите доступ к камере, когда браузер спросит.',
      start: 'Начать', next: 'Далее: {a}',
      progress_more: 'Ещё немного', progress_done: 'Готово ✓', progress_other_way: 'В другую сторону',
      denied_title: 'Доступ к камере заблокирован', camera_problem_title: 'Камеру не удаётся использовать',
      help_chrome: 'Chrome или Edge: нажмите значок камеры (или замка) в адресной строке, выберите «Разрешить» и нажмите «Повторить».',
      help_firefox: 'Firefox: нажмите перечёркнутый значок камеры в адресной строке, снимите блокировку и нажмите «Повторить».',
      help_safari: 'Safari (iPhone, iPad или Mac): нажмите «аА» (или Safari › Настройки для этого веб-сайта), разрешите камеру и нажмите «Повторить». На iPhone проверьте также Настройки › Safari › Камера.',
      use_phone: 'Продолжить на телефоне', handoff_title: 'Продолжите на телефоне',
      handoff_scan: 'Отсканируйте этот код камерой телефона. Проверка продолжится на телефоне, а эта страница обновится сама.',
      handoff_link: 'Или откройте эту ссылку на телефоне', handoff_waiting: 'Ожидаем телефон…',
      handoff_opened: 'Проверка идёт на телефоне…', handoff_done: 'Готово. Можете вернуться к компьютеру.',
      stage_recorded: 'Записано', stage_sending: 'Отправка', stage_checking: 'Проверка',
      checking_note: 'Обычно это занимает несколько секунд.',
      attempt: 'Попытка {i} из {n}'
    },
    es: {
      title: 'Verificación facial', close: 'Cerrar', retry: 'Reintentar', preparing: 'Preparando…',
      camera_request: 'Permita el acceso a la cámara', step: 'Paso {i} de {n}',
      hint_no_face: 'No se ve ningún rostro', hint_many_faces: 'Solo un rostro, por favor',
      hint_closer: 'Acérquese', hint_back: 'Aléjese', hint_centre: 'Centre su rostro en el óvalo',
      hint_dark: 'Demasiado oscuro: busque más luz', hint_still: 'No se mueva', hint_ok: 'Bien, quédese así',
      doc_none: 'Coloque su documento en el marco', doc_fill: 'Acerque el documento hasta llenar el marco',
      doc_glare: 'Reflejo en el documento: inclínelo o aléjese de la luz', doc_ok: 'Documento encontrado, no se mueva',
      doc_aligned: 'Documento en posición', doc_not_aligned: 'Documento fuera de posición',
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
      start_title: 'Antes de empezar',
      start_what: 'Mirará a la cámara y luego hará uno o dos movimientos cortos que se muestran en la pantalla. Tarda alrededor de un minuto.',
      tip_light: 'Busque buena luz: de frente a una ventana o una lámpara, no delante de un fondo brillante.',
      tip_glasses: 'Quítese las gafas y el sombrero; mantenga el rostro descubierto.',
      tip_camera: 'Permita la cámara cuando el navegador lo pida.',
      start: 'Empezar', next: 'Después: {a}',
      progress_more: 'Un poco más', progress_done: 'Hecho ✓', progress_other_way: 'Hacia el otro lado',
      denied_title: 'El acceso a la cámara está bloqueado', camera_problem_title: 'No se puede usar la cámara',
      help_chrome: 'Chrome o Edge: haga clic en el icono de la cámara (o del candado) en la barra de direcciones, elija Permitir y pulse Reintentar.',
      help_firefox: 'Firefox: haga clic en el icono de la cámara tachada en la barra de direcciones, quite el bloqueo y pulse Reintentar.',
      help_safari: 'Safari (iPhone, iPad o Mac): toque aA (o Safari › Ajustes de este sitio web), ponga Cámara en Permitir y pulse Reintentar. En un iPhone revise también Ajustes › Safari › Cámara.',
      use_phone: 'Usar mi teléfono', handoff_title: 'Continúe en su teléfono',
      handoff_scan: 'Escanee este código con la cámara del teléfono. La verificación continúa en el teléfono y esta página se actualiza sola.',
      handoff_link: 'O abra este enlace en su teléfono', handoff_waiting: 'Esperando al teléfono…',
      handoff_opened: 'Continuando en el teléfono…', handoff_done: 'Listo. Puede volver a su ordenador.',
      stage_recorded: 'Grabado', stage_sending: 'Enviando', stage_checking: 'Verificando',
      checking_note: 'Suele tardar unos segundos.',
      attempt: 'Intento {i} de {n}'
    },
    'pt-BR': {
      title: 'Verificação facial', close: 'Fechar', retry: 'Tentar novamente', preparing: 'Preparando…',
      camera_request: 'Permita o acesso à câmera', step: 'Etapa {i} de {n}',
      hint_no_face: 'Nenhum rosto no quadro', hint_many_faces: 'Apenas um rosto, por favor',
      hint_closer: 'Aproxime-se', hint_back: 'Afaste-se', hint_centre: 'Centralize o rosto no oval',
      hint_dark: 'Muito escuro: procure mais luz', hint_still: 'Fique parado', hint_ok: 'Bom, fique assim',
      doc_none: 'Coloque o documento na moldura', doc_fill: 'Aproxime o documento até preencher a moldura',
      doc_glare: 'Reflexo no documento: incline-o ou afaste-se da luz', doc_ok: 'Documento encontrado, fique parado',
      doc_aligned: 'Documento na posição', doc_not_aligned: 'Documento fora da posição',
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
      start_title: 'Antes de começar',
      start_what: 'Você vai olhar para a câmera e depois fazer um ou dois movimentos curtos mostrados na tela. Leva cerca de um minuto.',
      tip_light: 'Procure boa luz: fique de frente para uma janela ou lâmpada, não para um fundo claro.',
      tip_glasses: 'Tire os óculos e o chapéu; deixe o rosto descoberto.',
      tip_camera: 'Permita a câmera quando o navegador pedir.',
      start: 'Começar', next: 'Depois: {a}',
      progress_more: 'Um pouco mais', progress_done: 'Feito ✓', progress_other_way: 'Para o outro lado',
      denied_title: 'O acesso à câmera está bloqueado', camera_problem_title: 'Não é possível usar a câmera',
      help_chrome: 'Chrome ou Edge: clique no ícone da câmera (ou do cadeado) na barra de endereços, escolha Permitir e toque em Tentar novamente.',
      help_firefox: 'Firefox: clique no ícone da câmera riscada na barra de endereços, remova o bloqueio e toque em Tentar novamente.',
      help_safari: 'Safari (iPhone, iPad ou Mac): toque em aA (ou Safari › Ajustes deste site), defina Câmera como Permitir e toque em Tentar novamente. No iPhone, confira também Ajustes › Safari › Câmera.',
      use_phone: 'Usar meu celular', handoff_title: 'Continue no seu celular',
      handoff_scan: 'Escaneie este código com a câmera do celular. A verificação continua no celular, e esta página se atualiza sozinha.',
      handoff_link: 'Ou abra este link no celular', handoff_waiting: 'Aguardando o celular…',
      handoff_opened: 'Continuando no celular…', handoff_done: 'Pronto. Você pode voltar ao computador.',
      stage_recorded: 'Gravado', stage_sending: 'Enviando', stage_checking: 'Verificando',
      checking_note: 'Geralmente leva alguns segundos.',
      attempt: 'Tentativa {i} de {n}'
    },
    tr: {
      title: 'Yüz doğrulama', close: 'Kapat', retry: 'Tekrar dene', preparing: 'Hazırlanıyor…',
      camera_request: 'Kameraya erişime izin verin', step: 'Adım {i} / {n}',
      hint_no_face: 'Karede yüz yok', hint_many_faces: 'Lütfen yalnızca bir yüz',
      hint_closer: 'Yaklaşın', hint_back: 'Uzaklaşın', hint_centre: 'Yüzünüzü ovalin ortasına getirin',
      hint_dark: 'Çok karanlık: daha fazla ışık bulun', hint_still: 'Kıpırdamayın', hint_ok: 'Güzel, böyle kalın',
      doc_none: 'Belgenizi çerçeveye yerleştirin', doc_fill: 'Belgeyi çerçeveyi dolduracak kadar yaklaştırın',
      doc_glare: 'Belgede parlama var: belgeyi eğin veya ışıktan uzaklaşın', doc_ok: 'Belge bulundu, kıpırdamayın',
      doc_aligned: 'Belge çerçevede', doc_not_aligned: 'Belge çerçevede değil',
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
      start_title: 'Başlamadan önce',
      start_what: 'Kameraya bakacak, ardından ekranda gösterilen bir veya iki kısa hareketi yapacaksınız. Yaklaşık bir dakika sürer.',
      tip_light: 'İyi ışık bulun: parlak bir arka plana değil, pencereye veya lambaya dönün.',
      tip_glasses: 'Gözlüğünüzü ve şapkanızı çıkarın; yüzünüz açık olsun.',
      tip_camera: 'Tarayıcı sorduğunda kameraya izin verin.',
      start: 'Başla', next: 'Sonra: {a}',
      progress_more: 'Biraz daha', progress_done: 'Tamam ✓', progress_other_way: 'Diğer yöne',
      denied_title: 'Kamera erişimi engellendi', camera_problem_title: 'Kamera kullanılamıyor',
      help_chrome: 'Chrome veya Edge: adres çubuğundaki kamera (veya kilit) simgesine tıklayın, “İzin ver”i seçin ve “Tekrar dene”ye basın.',
      help_firefox: 'Firefox: adres çubuğundaki üstü çizili kamera simgesine tıklayın, engeli kaldırın ve “Tekrar dene”ye basın.',
      help_safari: 'Safari (iPhone, iPad veya Mac): aA simgesine (veya Safari › Bu Web Sitesi için Ayarlar) dokunun, Kamera için İzin Ver seçin ve “Tekrar dene”ye basın. iPhone’da Ayarlar › Safari › Kamera bölümünü de kontrol edin.',
      use_phone: 'Telefonumu kullan', handoff_title: 'Telefonunuzda devam edin',
      handoff_scan: 'Bu kodu telefonunuzun kamerasıyla tarayın. Kontrol telefonda devam eder, bu sayfa kendiliğinden güncellenir.',
      handoff_link: 'Ya da bu bağlantıyı telefonunuzda açın', handoff_waiting: 'Telefonunuz bekleniyor…',
      handoff_opened: 'Telefonda devam ediliyor…', handoff_done: 'Tamamlandı. Bilgisayarınıza dönebilirsiniz.',
      stage_recorded: 'Kaydedildi', stage_sending: 'Gönderiliyor', stage_checking: 'Kontrol ediliyor',
      checking_note: 'Bu genellikle birkaç saniye sürer.',
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

  var SVG_NS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  /* The oval as one path from its top, clockwise: the progress ring fills it from 12 o'clock. */
  var OVAL = 'M150 55 A95 135 0 1 1 150 325 A95 135 0 1 1 150 55';

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
    var next = el('div', 'next');
    var stage = el('div', 'stage');
    var video = el('video', null, { playsinline: '', muted: '', autoplay: '' });
    video.muted = true;
    var svg = svgEl('svg', { 'class': 'oval', viewBox: '0 0 300 400', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    var track = svgEl('path', { 'class': 'track', d: OVAL });
    var ring = svgEl('path', { 'class': 'ring', d: OVAL, pathLength: '100', 'stroke-dasharray': '0 100' });
    svg.append(track, ring);
    // The direction to move in, on the side of the (mirrored) preview the head goes to.
    var cue = el('div', 'cue', { 'aria-hidden': 'true' });
    var arrow = svgEl('svg', { viewBox: '0 0 48 48' });
    arrow.appendChild(svgEl('path', { 'class': 'arrow', d: 'M30 8 L14 24 L30 40' }));
    arrow.appendChild(svgEl('path', { 'class': 'smile', d: 'M12 28 Q24 42 36 28' }));
    cue.appendChild(arrow);
    // The document frame (ID-1, 85.6 × 54 mm) shown instead of the oval for photo_id_* actions.
    var card = el('div', 'card', { 'aria-hidden': 'true' });
    var hint = el('div', 'hint', { 'aria-hidden': 'true' });
    var count = el('div', 'count', { 'aria-hidden': 'true' });
    var panel = el('div', 'panel');
    stage.append(video, svg, card, cue, hint, count, panel);
    var msg = el('div', 'msg', { role: 'status', 'aria-live': 'polite' });
    var sr = el('div', 'sr', { role: 'status', 'aria-live': 'polite' });
    var buttons = el('div', 'buttons');
    var primary = el('button', 'primary', { type: 'button', hidden: '' });
    var alt = el('button', 'secondary alt', { type: 'button', hidden: '' });
    var close = el('button', 'secondary close', { type: 'button' });
    buttons.append(primary, alt, close);
    var version = el('div', 'version', { 'aria-hidden': 'true' });
    version.textContent = 'faceproof ' + VERSION;
    if (style.hide_version) version.hidden = true;
    box.append(title, step, next, stage, msg, sr, buttons, version);
    root.appendChild(box);
    (document.body || document.documentElement).appendChild(host);
    var ui = { host: host, root: root, box: box, title: title, step: step, next: next, stage: stage, video: video,
      ring: ring, cue: cue, hint: hint, count: count, panel: panel, msg: msg, sr: sr, primary: primary, alt: alt,
      close: close, lastHint: '' };
    close.addEventListener('click', function () { cancel(run); });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { e.preventDefault(); cancel(run); }
      if (e.key === 'Tab') { // keep focus inside the dialog
        var f = Array.prototype.filter.call(box.querySelectorAll('button, a[href]'), function (b) {
          return !b.hidden && b.offsetParent !== null;
        });
        if (!f.length) return;
        var i = f.indexOf(root.activeElement);
        e.preventDefault();
        f[(i + (e.shiftKey ? f.length - 1 : 1)) % f.length].focus();
      }
    });
    return ui;
  }

  function t(run, id, vars) { return fmt(run.texts[id] !== undefined ? run.texts[id] : id, vars); }

  function applyTexts(run) {
    var ui = run.ui;
    ui.close.textContent = t(run, 'close');
    ui.box.setAttribute('aria-label', t(run, 'aria_dialog'));
    ui.video.setAttribute('aria-label', t(run, 'aria_camera'));
  }

  /* The status line under the stage (read out politely by screen readers). */
  function say(run, text, isError) {
    run.ui.msg.textContent = text;
    run.ui.msg.className = isError ? 'msg error' : 'msg';
  }

  /* A polite announcement for screen readers only (hints, progress). */
  function announce(run, text) {
    if (text) run.ui.sr.textContent = text;
  }

  function setState(run, state) {
    run.ui.box.setAttribute('data-state', state);
  }

  function heading(run, title, step, next) {
    run.ui.title.textContent = title || '';
    run.ui.step.textContent = step || '';
    run.ui.next.textContent = next || '';
  }

  function setHint(run, id, aligned) {
    var ui = run.ui, doc = ui.stage.classList.contains('doc');
    ui.stage.classList.toggle('aligned', !!aligned);
    var text = id ? t(run, id) : '';
    ui.hint.textContent = text;
    if (text && text !== ui.lastHint) { // announced, and never by colour alone
      announce(run, text + '. ' + t(run, (doc ? 'doc_' : '') + (aligned ? 'aligned' : 'not_aligned')));
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

  /* ---------- panels: the screens shown in the stage instead of the camera ---------- */
  /* Show a panel built by `fill(panel)` over the stage; buttons: {primary, alt} texts (hidden
   * when absent). Returns the panel. */
  function showPanel(run, cls, fill, buttons) {
    var ui = run.ui;
    ui.panel.textContent = '';
    ui.panel.className = 'panel on ' + cls;
    ui.stage.classList.add('paneled');
    ui.stage.classList.remove('aligned', 'rec', 'pulse', 'moving', 'done');
    ui.hint.textContent = '';
    ui.count.textContent = '';
    if (fill) fill(ui.panel);
    setButtons(run, buttons || {});
    return ui.panel;
  }

  function hidePanel(run) {
    var ui = run.ui;
    ui.panel.textContent = '';
    ui.panel.className = 'panel';
    ui.stage.classList.remove('paneled');
    setButtons(run, {});
  }

  function setButtons(run, b) {
    var ui = run.ui;
    ui.primary.hidden = !b.primary;
    ui.primary.textContent = b.primary || '';
    ui.alt.hidden = !b.alt;
    ui.alt.textContent = b.alt || '';
  }

  /* Resolves with 'primary' or 'alt' when one of the shown buttons is pressed. */
  function choice(run) {
    var ui = run.ui;
    return new Promise(function (resolve, reject) {
      function done(which) {
        ui.primary.removeEventListener('click', p);
        ui.alt.removeEventListener('click', a);
        resolve(which);
      }
      function p() { done('primary'); }
      function a() { done('alt'); }
      ui.primary.addEventListener('click', p);
      ui.alt.addEventListener('click', a);
      run.aborts.push(function () { reject(new Aborted()); });
    });
  }

  function icon(kind) {
    var s = svgEl('svg', { 'class': 'icon ' + kind, viewBox: '0 0 48 48', 'aria-hidden': 'true' });
    s.appendChild(svgEl('circle', { cx: '24', cy: '24', r: '21' }));
    var d = { ok: 'M14 25 L21 32 L35 17', warn: 'M24 12 V28 M24 34 V36', again: 'M33 17 A12 12 0 1 0 36 26 M33 9 V17 H25',
      camera: 'M12 18 H36 V34 H12 Z M20 18 L22 14 H26 L28 18 M24 22 A4 4 0 1 0 24.01 22', phone: 'M18 10 H30 V38 H18 Z M22 34 H26' }[kind];
    s.appendChild(svgEl('path', { d: d }));
    return s;
  }

  function para(cls, text) {
    var p = el('p', cls);
    p.textContent = text;
    return p;
  }

  /* ---------- callbacks ---------- */
  function emit(run, name, payload) {
    if (run.closed) return;
    var f = run.opts[name];
    if (typeof f === 'function') {
      try { f(payload); } catch (e) { if (run.opts.debug && window.console) console.error(e); }
    }
  }

  /* What the page is told of a result: as the server's result_mode shows it, less the hand-off
   * state meant for the plugin. */
  function pageResult(run, r) {
    var out = {};
    for (var k in r) if (k !== 'handoff') out[k] = r[k];
    out.event_session_id = run.session.session_id;
    return out;
  }

  function fail(run, err) {
    if (run.closed || run.failed) return;
    run.failed = true;
    var code = err instanceof PluginError ? err.code : 'network_error';
    stopCamera(run);
    if (run.monitor) run.monitor.stop();
    setHint(run, '', false);
    heading(run, t(run, 'title'));
    setState(run, 'error');
    var message = t(run, 'error_' + code);
    showPanel(run, 'error', function (p) {
      p.append(icon('warn'), para('lead', message));
    });
    say(run, '');
    announce(run, message);
    run.ui.close.focus();
    emit(run, 'on_error', { code: code, message: message,
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

  /* A JSON body as text/plain: a CORS "simple" request, no preflight. */
  function textBody(v) { return new Blob([JSON.stringify(v)], { type: 'text/plain' }); }

  function json(resp) { return resp.json().catch(function () { return {}; }); }

  function startError(resp, v) {
    var code = v.error_code === 8 ? 'session_expired'
      : (v.error_code === 7 || v.error_code === 3 || v.error_code === 6) ? 'session_invalid'
        : v.error_code === 9 ? 'origin_not_allowed' : 'network_error';
    return new PluginError(code, { status: resp.status, error_code: v.error_code, reason: v.details && v.details.reason });
  }

  /* The session: started with the page's token, or — on a phone — taken over with a hand-off
   * token from a QR code. */
  async function startSession(run) {
    var o = run.opts, path, body;
    if (o.handoff_token) {
      path = '/web-sdk/handoff';
      body = { handoff_token: String(o.handoff_token), lang: o.lang };
    } else {
      path = '/web-sdk/session';
      body = { session_token: o.session_token, action: o.action, lang: o.lang, meta: o.meta || {}, params: o.params || {} };
    }
    var resp;
    try {
      resp = await post(run, path, textBody(body));
    } catch (e) {
      if (!(e instanceof PluginError)) throw e;
      // Unreadable answer: a server that answers at all refused this page's origin (CORS).
      var reachable = await fetch(BASE + '/api/version', { mode: 'no-cors', credentials: 'omit' })
        .then(function () { return true; }, function () { return false; });
      throw new PluginError(reachable ? 'origin_not_allowed' : 'network_error', e.context);
    }
    var v = await json(resp);
    if (!resp.ok) throw startError(resp, v);
    return v;
  }

  async function sessionCall(run, what, body) {
    body = body || {};
    body.session_key = run.session.session_key;
    var resp = await post(run, '/web-sdk/session/' + run.session.session_id + '/' + what, textBody(body));
    var v = await json(resp);
    if (resp.status === 401 && v.error_code === 8) throw new PluginError('session_expired');
    if (!resp.ok) throw new PluginError('network_error', { status: resp.status, error_code: v.error_code,
      reason: v.details && v.details.reason });
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

  /* Whether this device has a camera at all (asked without a permission prompt). */
  async function hasCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return false;
    try {
      var list = await navigator.mediaDevices.enumerateDevices();
      return list.some(function (d) { return d.kind === 'videoinput'; });
    } catch (e) {
      return true; // unknown: try the camera, its error screen offers the phone
    }
  }

  /* An ID document is photographed with the rear camera where the device has one (a plain
   * facingMode is a preference: a computer's only camera is used all the same), at a higher
   * resolution than a face needs (the MRZ's characters are small); the page's cameraFacingMode
   * wins. */
  function isDocument(a) { return !!a && (a.action === 'photo_id_front' || a.action === 'photo_id_back'); }
  function facingFor(run, a) { return run.opts.cameraFacingMode || (isDocument(a) ? 'environment' : 'user'); }

  async function startCamera(run, facing) {
    var o = run.opts;
    facing = facing || facingFor(run, run.session && run.session.actions && run.session.actions[0]);
    var doc = facing === 'environment';
    var video = { facingMode: facing, width: { ideal: doc ? 1920 : 1280 }, height: { ideal: doc ? 1080 : 720 } };
    run.facing = facing;
    run.ui.box.setAttribute('data-facing', facing);
    if (o.device_id) video.deviceId = { exact: o.device_id };
    var timeout = Number(o.get_user_media_timeout) || 40000;
    run.cameraRequests = (run.cameraRequests || 0) + 1;
    run.ui.box.setAttribute('data-camera-requests', String(run.cameraRequests));
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
    if (!run.metrics.first_frame_ms) run.metrics.first_frame_ms = Math.round(performance.now() - run.metrics.opened_at);
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

  /* Which help to show first when the camera is blocked. */
  function browserKind() {
    var ua = navigator.userAgent || '';
    if (/Firefox\/|FxiOS\//.test(ua)) return 'firefox';
    if (/iPhone|iPad|iPod/.test(ua) || (/Safari\//.test(ua) && !/Chrome\/|Chromium\/|Edg\//.test(ua))) return 'safari';
    if (/Chrome\/|Chromium\/|Edg\//.test(ua)) return 'chrome';
    return null;
  }

  /* A hand-off is possible where the plugin uploads itself (not the capture architecture) and
   * the page did not turn it off; not from the phone a session was handed to. */
  function handoffAllowed(run) {
    return run.opts.handoff !== false && !run.opts.handoff_token && run.session.architecture !== 'capture';
  }

  /* The camera, or — when it cannot be had — a screen that says why, with Try again, the
   * browser's help and the phone. Resolves with 'camera' or 'handoff'; closing from that screen
   * reports the camera's error to the page. */
  async function openCamera(run) {
    for (;;) {
      setState(run, 'camera');
      if (!run.ui.panel.classList.contains('problem')) {
        heading(run, t(run, 'title'));
        showPanel(run, 'camera', function (p) {
          p.append(icon('camera'), para('lead', t(run, 'camera_request')));
        });
      }
      say(run, '');
      announce(run, t(run, 'camera_request'));
      try {
        await startCamera(run);
        run.pendingError = null;
        hidePanel(run);
        return 'camera';
      } catch (e) {
        if (!(e instanceof PluginError) || ['camera_denied', 'camera_not_found', 'camera_in_use', 'camera_timeout'].indexOf(e.code) < 0) throw e;
        run.pendingError = e;
        var phone = handoffAllowed(run);
        heading(run, t(run, e.code === 'camera_denied' ? 'denied_title' : 'camera_problem_title'));
        setState(run, e.code === 'camera_denied' ? 'denied' : 'camera_problem');
        showPanel(run, 'problem', function (p) {
          p.append(icon('camera'), para('lead', t(run, 'error_' + e.code)));
          if (e.code === 'camera_denied') {
            var kind = browserKind(), list = el('ul', 'help');
            (kind ? [kind] : ['chrome', 'firefox', 'safari']).forEach(function (k) {
              var li = el('li');
              li.textContent = t(run, 'help_' + k);
              list.appendChild(li);
            });
            p.appendChild(list);
          }
        }, { primary: t(run, 'retry'), alt: phone ? t(run, 'use_phone') : null });
        say(run, '');
        announce(run, t(run, 'error_' + e.code));
        run.ui.primary.focus();
        if ((await choice(run)) === 'alt') return 'handoff';
        // Try again: the panel stays until the camera answers.
      }
    }
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

  /* One 320-px frame to the server: faces, brightness and the largest face's pose (and smile,
   * when `smile`). */
  async function checkFrame(run, smile) {
    var blob = await toBlob(grab(run, 320), 'image/jpeg', 0.8);
    var fd = new FormData();
    fd.append('session_key', run.session.session_key);
    if (smile) fd.append('smile', '1');
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
      var r = await checkFrame(run, false);
      var h = hintFor(r, prev);
      prev = h;
      good = h.ok ? good + 1 : 0;
      setHint(run, h.id, h.ok);
      if (r.pose && h.ok) run.restPoses.push(r.pose);
      if (good >= 2) return;
      await sleep(300, run);
    }
  }

  /* ---------- guidance for an ID document: simple checks of the preview, in the browser ---------- */
  /* The card frame's rectangle in the pixels of a grabbed frame `c` (the preview shows the video
   * cropped to the stage, object-fit: cover; the frame is 86 % of the stage's width, ID-1). */
  function cardRect(run, c) {
    var st = run.ui.stage, sw = st.clientWidth || 4, sh = st.clientHeight || 3;
    var sa = sw / sh, va = c.width / c.height;
    var vw = va > sa ? c.height * sa : c.width, vh = va > sa ? c.height : c.width / sa;
    var w = vw * 0.86, h = Math.min(vh, w / (85.6 / 54));
    return { x: Math.round((c.width - w) / 2), y: Math.round((c.height - h) / 2), w: Math.round(w), h: Math.round(h) };
  }

  /* What the preview shows of a document, from one 320-px frame: too dark; glare (saturated spots
   * on a page that is not itself white); no document (hardly any edges in the frame: a document
   * is full of print); too far (its print covers less than 60 % of the frame's width). */
  function docCheck(run) {
    var c = grab(run, 320), r = cardRect(run, c);
    var px = c.getContext('2d').getImageData(r.x, r.y, r.w, r.h).data;
    var n = r.w * r.h, y = new Float32Array(n), sum = 0, bright = 0, i;
    for (i = 0; i < n; i++) {
      y[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
      sum += y[i];
      if (y[i] >= 250) bright++;
    }
    var hist = new Uint32Array(256);
    for (i = 0; i < n; i++) hist[Math.min(255, y[i] | 0)]++;
    var median = 0;
    for (var acc = 0; median < 256 && (acc += hist[median]) < n / 2; median++);
    var cols = new Uint32Array(r.w), edges = 0;
    for (var row = 1; row < r.h - 1; row++) {
      for (var x = 1; x < r.w - 1; x++) {
        var k = row * r.w + x;
        if (Math.abs(y[k + 1] - y[k - 1]) + Math.abs(y[k + r.w] - y[k - r.w]) > 60) { cols[x]++; edges++; }
      }
    }
    // The print's extent across the frame: from the 5th to the 95th percentile of edge columns.
    var lo = 0, hi = r.w - 1, seen = 0;
    for (x = 0; x < r.w && seen < edges * 0.05; x++) { seen += cols[x]; lo = x; }
    for (seen = 0, x = r.w - 1; x >= 0 && seen < edges * 0.05; x--) { seen += cols[x]; hi = x; }
    var out = { brightness: sum / n, glare: bright / n, edges: edges / n, extent: (hi - lo) / r.w, median: median };
    run.ui.box.setAttribute('data-doc-check', JSON.stringify(out));
    if (out.brightness < 45) return { id: 'hint_dark' };
    if (out.glare > 0.01 && median < 215) return { id: 'doc_glare' };
    if (out.edges < 0.02) return { id: 'doc_none' };
    if (out.extent < 0.6) return { id: 'doc_fill' };
    return { id: 'doc_ok', ok: true };
  }

  /* Wait until the document is in the frame (twice in a row), or `guidance_timeout` ms pass. */
  async function guideDocument(run) {
    var limit = Number(run.opts.guidance_timeout) || 8000;
    var started = performance.now(), good = 0;
    while (performance.now() - started < limit) {
      var h = docCheck(run);
      good = h.ok ? good + 1 : 0;
      setHint(run, h.id, h.ok);
      if (good >= 2) return;
      await sleep(300, run);
    }
  }

  /* ---------- live progress toward a movement ---------- */
  /* Each movement the server checks, as the pose model measures it against the resting pose
   * (engine `gesture.rs`: 20° of yaw for a turn, 15° of pitch for a nod, "happy" 0.5 for a
   * smile). The plugin asks for a quarter more before it says "done", so that the frames the
   * server judges are past its threshold too; "left" is the person's own left, yaw negative,
   * and the mirrored preview shows it on the screen's left. */
  var MOVES = {
    video_selfie_left: { dir: 'left', axis: 'yaw', sign: -1, threshold: 20 },
    video_selfie_right: { dir: 'right', axis: 'yaw', sign: 1, threshold: 20 },
    video_selfie_down: { dir: 'down', axis: 'pitch', sign: -1, threshold: 15 },
    video_selfie_high: { dir: 'up', axis: 'pitch', sign: 1, threshold: 15 },
    video_selfie_smile: { dir: 'smile', axis: 'smile', sign: 1, threshold: 0.5 }
  };
  var TARGET = 1.25, MORE_FROM = 0.45, OTHER_WAY = -0.6;
  /* After "done", recording goes on this long (the peak frames the server needs), then stops
   * early once enough frontal frames were recorded for passive liveness. */
  var HOLD_MS = 600, MIN_RECORD_MS = 1500, FRONTAL_READINGS = 4;

  function median(xs) {
    if (!xs.length) return 0;
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s[Math.floor(s.length / 2)];
  }

  /* The resting pose (clamped like the server's: a phone held a little low or to the side). */
  function restPose(poses) {
    var yaw = median(poses.map(function (p) { return p.yaw; }));
    var pitch = median(poses.map(function (p) { return p.pitch; }));
    return { yaw: Math.max(-15, Math.min(15, yaw)), pitch: Math.max(-25, Math.min(5, pitch)) };
  }

  /* Progress toward `move` in one reading: 1 = the target; negative = the other way. */
  function progressOf(move, r, rest) {
    if (!r.pose) return null;
    if (move.axis === 'smile') return typeof r.smile === 'number' ? r.smile / (move.threshold * TARGET) : null;
    var delta = move.sign * (r.pose[move.axis] - rest[move.axis]);
    return delta / (move.threshold * TARGET);
  }

  /* A face looking at the camera (for passive liveness, which the server judges on near-frontal
   * frames). */
  function frontal(r, rest) {
    return !!r.pose && Math.abs(r.pose.yaw) < 15 && Math.abs(r.pose.pitch - rest.pitch) < 12;
  }

  /* Guidance frames sent while the countdown and the recording run (one at a time, about four
   * a second), each reading kept with the phase it was taken in. Advisory: a failed one is
   * skipped, the capture's upload reports real trouble. */
  function startMonitor(run) {
    var m = { readings: [], phase: 'countdown', smile: false, stopped: false, onReading: null };
    m.stop = function () { m.stopped = true; };
    (async function () {
      while (!m.stopped && !run.closed) {
        var t0 = performance.now(), phase = m.phase;
        try {
          var r = await checkFrame(run, m.smile);
          if (m.stopped) return;
          r.phase = phase;
          r.at = t0;
          m.readings.push(r);
          if (m.onReading) m.onReading(r);
        } catch (e) {
          if (e instanceof Aborted || run.closed) return;
        }
        var wait = 220 - (performance.now() - t0);
        if (wait > 0) {
          try { await sleep(wait, run); } catch (e) { return; }
        }
      }
    })();
    return m;
  }

  /* Show a movement's progress: the ring around the oval, the arrow, the pill — never "hold it
   * there" while a movement is asked. */
  function showProgress(run, move, p, done) {
    var ui = run.ui, pct = done ? 100 : Math.max(0, Math.min(100, Math.round((p || 0) * 100)));
    ui.ring.setAttribute('stroke-dasharray', pct + ' 100');
    ui.ring.style.setProperty('visibility', pct > 0 ? 'visible' : 'hidden'); // no dot at 0
    ui.box.setAttribute('data-progress', String(pct));
    ui.stage.classList.toggle('done', !!done);
    ui.stage.classList.toggle('moving', !done);
    ui.cue.className = 'cue ' + (done ? '' : move.dir);
    var text = done ? t(run, 'progress_done')
      : p !== null && p <= OTHER_WAY ? t(run, 'progress_other_way')
        : p !== null && p >= MORE_FROM ? t(run, 'progress_more')
          : t(run, 'action_' + move.action);
    if (ui.hint.textContent !== text) {
      ui.hint.textContent = text;
      announce(run, text);
    }
  }

  function clearProgress(run) {
    var ui = run.ui;
    ui.ring.setAttribute('stroke-dasharray', '0 100');
    ui.box.removeAttribute('data-progress');
    ui.stage.classList.remove('moving', 'done');
    ui.cue.className = 'cue';
    ui.hint.textContent = '';
  }

  /* ---------- capture ---------- */
  /* The countdown's last REST_MS are the person's frontal rest: recorded at the capture's rate and
   * sent with a video action as rest frames (`…_rest.jpg`), which passive liveness is judged on
   * and a movement is measured from. A rest is only a rest when the guidance frames taken during
   * it show the face looking at the camera: a person still turned (or moving) when the countdown
   * ends is asked to look straight, for up to REST_WAIT_MS more, and the rest is the last
   * REST_MS that the guidance saw frontal throughout. Otherwise the server would measure every
   * movement from a turned head and judge passive liveness on turned frames. */
  var CAPTURE_FPS = 8, REST_MS = 1250, REST_WAIT_MS = 6000, REST_READINGS = 3, REST_SPAN_MS = 750;

  /* The latest stretch the guidance saw frontal without a break: consecutive frontal readings
   * (at least `fewest`) spanning at least `span` ms — the frames between them are a rest; those
   * before the first or after the last reading are not known to be. `{start, end}` or null. */
  function frontalRest(mon, restAt, from, fewest, span) {
    var rs = mon.readings.filter(function (r) { return r.phase === 'rest' && r.at >= from; })
      .sort(function (x, y) { return x.at - y.at; });
    var best = null, run0 = null, n = 0;
    rs.forEach(function (r) {
      if (!frontal(r, restAt)) { run0 = null; n = 0; return; }
      if (run0 === null) run0 = r.at;
      n++;
      if (n >= fewest && r.at - run0 >= span) best = { start: Math.max(run0, r.at - REST_MS), end: r.at };
    });
    return best;
  }

  async function countdown(run, a, mon) {
    run.ui.stage.classList.add('pulse');
    var grabbed = [], total = 3000, t0 = performance.now(), shown = 0, end = null, asked = false;
    var collect = a && a.kind !== 'photo';
    var restAt = restPose(run.restPoses.slice(-3));
    for (var i = 0; ; i++) {
      var now = performance.now(), elapsed = now - t0;
      if (elapsed >= total) {
        if (!collect || !mon) break;
        end = frontalRest(mon, restAt, t0 + total - REST_MS, REST_READINGS, REST_SPAN_MS);
        if (end !== null) break;
        if (elapsed >= total + REST_WAIT_MS) {
          // Guidance slow to answer (a busy server): a shorter frontal stretch will do.
          end = frontalRest(mon, restAt, t0 + total - REST_MS, 1, 0);
          break;
        }
        if (!asked) {
          asked = true;
          run.ui.count.textContent = '';
          setHint(run, '', false);
          run.ui.hint.textContent = t(run, 'action_video_selfie_blank');
          announce(run, run.ui.hint.textContent);
        }
      } else {
        var n = Math.ceil((total - elapsed) / 1000);
        if (n !== shown) {
          shown = n;
          run.ui.count.textContent = String(n);
          say(run, t(run, 'countdown', { n: n }));
        }
      }
      if (collect && elapsed >= total - REST_MS) {
        if (mon) mon.phase = 'rest';
        grabbed.push({ frame: grab(run, 640), at: performance.now() });
        // Frames older than the longest rest that can still be chosen are not kept.
        while (grabbed.length && grabbed[0].at < now - REST_MS - 5000) grabbed.shift();
      }
      var next = t0 + (i + 1) * 1000 / CAPTURE_FPS;
      await sleep(Math.max(0, next - performance.now()), run);
    }
    if (asked) run.ui.hint.textContent = '';
    run.ui.count.textContent = '';
    run.ui.stage.classList.remove('pulse');
    // Without a frontal stretch seen in time, the last REST_MS stand: the server judges them
    // (and asks for another attempt when too few are usable).
    var last = grabbed.length ? grabbed[grabbed.length - 1].at : 0;
    var chosen = end !== null ? end : { start: last - REST_MS, end: last };
    if (end !== null && end.end - end.start < 250) {
      // One reading: the frames right around it.
      chosen = { start: end.end - 250, end: end.end + 250 };
    }
    if (mon) {
      mon.readings.forEach(function (r) {
        if (r.phase === 'rest' && (r.at > chosen.end + 1 || r.at < chosen.start - 1)) r.phase = 'countdown';
      });
    }
    return grabbed.filter(function (g) { return g.at <= chosen.end + 1 && g.at >= chosen.start - 1; })
      .map(function (g) { return g.frame; });
  }

  /* The steps a person sees: each gesture of `auto` is its own. */
  function stepsOf(a) {
    return a.gestures && a.gestures.length ? a.gestures : [a.action];
  }

  function stepLine(run, i) {
    var s = t(run, 'step', { i: i + 1, n: run.totalSteps });
    if ((run.session.attempt || 1) > 1) s += ' · ' + t(run, 'attempt', { i: run.session.attempt, n: run.session.attempts });
    return s;
  }

  /* Record one action. A movement's progress is shown from the guidance frames; once it was
   * seen (and held HOLD_MS) the next gesture of `auto` starts, and after the last one the
   * recording ends early when enough frontal frames are in — never past the server's time. */
  async function record(run, a, rest, mon, firstStep) {
    var frames = [], ui = run.ui;
    ui.stage.classList.add('rec');
    setState(run, 'record');
    setHint(run, '', false);
    if (a.kind === 'photo') {
      frames.push(grab(run, isDocument(a) ? 1920 : 1280));
      ui.stage.classList.remove('rec');
      frames.rest = rest || [];
      return frames;
    }
    var fps = CAPTURE_FPS, max = Math.max(4, Math.round(a.seconds * fps));
    var steps = stepsOf(a), auto = !!(a.gestures && a.gestures.length);
    var restAt = restPose(mon.readings.filter(function (r) { return r.phase === 'rest' && r.pose; }).map(function (r) { return r.pose; })
      .concat(run.restPoses.slice(-3)).slice(0, 8));
    var frontalSeen = mon.readings.filter(function (r) { return r.phase === 'rest' && frontal(r, restAt); }).length;
    // k: the step shown (-1: the resting second of `auto`); its start, its readings past target.
    var k = auto ? -1 : 0, kStart = 0, prevP = 0, doneAt = null, allDone = false;
    var show = function (idx, now) {
      k = idx; kStart = now; prevP = 0; doneAt = null;
      var g = idx < 0 ? null : steps[idx];
      var move = g && MOVES[g] ? Object.assign({ action: g }, MOVES[g]) : null;
      mon.smile = !!(move && move.axis === 'smile');
      ui.step.textContent = stepLine(run, firstStep + Math.max(0, idx));
      heading(run, t(run, idx < 0 ? 'action_video_selfie_blank' : 'action_' + g), ui.step.textContent,
        idx + 1 < steps.length && auto ? t(run, 'next', { a: t(run, 'action_' + steps[idx + 1]) }) : '');
      say(run, t(run, 'recording'));
      announce(run, ui.title.textContent);
      if (move) showProgress(run, move, 0, false); else clearProgress(run);
      run.move = move;
    };
    mon.phase = 'record';
    mon.onReading = function (r) {
      if (frontal(r, restAt)) frontalSeen++;
      var move = run.move;
      if (!move || doneAt !== null) return;
      // Done: at the target, coming from most of the way there (one noisy reading is not a
      // movement); the frames around it are past the server's threshold.
      var p = progressOf(move, r, restAt);
      var seen = p !== null && p >= 1 && prevP >= 0.8;
      prevP = p === null ? 0 : p;
      if (seen) {
        doneAt = performance.now();
        showProgress(run, move, 1, true);
      } else {
        showProgress(run, move, p, false);
      }
    };
    var t0 = performance.now();
    show(k, t0);
    for (var i = 0; i < max; i++) {
      var now = performance.now(), elapsed = now - t0;
      if (auto && k < 0 && elapsed >= a.rest_seconds * 1000) show(0, now);
      else if (auto && k >= 0 && k + 1 < steps.length &&
        ((doneAt !== null && now - doneAt >= HOLD_MS) || now - kStart >= a.gesture_seconds * 1000)) show(k + 1, now);
      // Not in the capture architecture: there the page's backend uploads the frames, and may
      // leave the rest frames (which the early end counts on) out.
      allDone = k === steps.length - 1 && run.move && doneAt !== null && now - doneAt >= HOLD_MS &&
        run.session.architecture !== 'capture';
      if (allDone && elapsed >= MIN_RECORD_MS && frontalSeen >= FRONTAL_READINGS) break;
      frames.push(grab(run, 640));
      var next = t0 + (i + 1) * 1000 / fps;
      await sleep(Math.max(0, next - performance.now()), run);
    }
    mon.onReading = null;
    run.move = null;
    ui.stage.classList.remove('rec');
    frames.rest = rest || [];
    frames.ended_early = frames.length < max;
    return frames;
  }

  function additionalInfo(run) {
    return JSON.stringify({ plugin: 'faceproof-web ' + VERSION, user_agent: navigator.userAgent,
      screen: [screen.width, screen.height], language: navigator.language,
      first_frame_ms: run.metrics.first_frame_ms, page: location.origin,
      handoff: run.opts.handoff_token ? true : undefined });
  }

  /* The screen while a capture is sent and checked: the last frame, dimmed, behind the stages
   * (recorded ✓, sending, checking) and a bar. */
  function progressPanel(run, last) {
    var parts = {};
    showPanel(run, 'progress', function (p) {
      if (last) {
        var c = el('canvas', 'frozen', { 'aria-hidden': 'true' });
        c.width = last.width; c.height = last.height;
        c.getContext('2d').drawImage(last, 0, 0);
        p.appendChild(c);
      }
      var list = el('ol', 'stages');
      ['recorded', 'sending', 'checking'].forEach(function (k) {
        var li = el('li', k);
        li.textContent = t(run, 'stage_' + k);
        list.appendChild(li);
        parts[k] = li;
      });
      var bar = el('div', 'bar', { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' });
      var fill = el('div', 'fill');
      bar.appendChild(fill);
      var note = para('note', '');
      p.append(list, bar, note);
      parts.bar = bar; parts.fill = fill; parts.note = note;
    });
    parts.recorded.className = 'recorded done';
    return parts;
  }

  function setStage(run, parts, stage, pct) {
    ['sending', 'checking'].forEach(function (k) {
      parts[k].className = k + (k === stage ? ' now' : (stage === 'checking' && k === 'sending' ? ' done' : ''));
    });
    setState(run, stage);
    if (pct === null) {
      parts.bar.classList.add('busy');
      parts.bar.removeAttribute('aria-valuenow');
    } else {
      parts.bar.classList.remove('busy');
      parts.fill.style.setProperty('width', pct + '%');
      parts.bar.setAttribute('aria-valuenow', String(pct));
    }
    parts.note.textContent = stage === 'checking' ? t(run, 'checking_note') : '';
  }

  async function upload(run, a, frames, parts) {
    var file, name;
    if (a.kind === 'photo') {
      file = await toBlob(frames[0], 'image/jpeg', 0.92); name = a.action + '.jpg';
    } else {
      var entries = [], all = (frames.rest || []).concat(frames), nrest = (frames.rest || []).length;
      for (var i = 0; i < all.length; i++) {
        var b = await toBlob(all[i], 'image/jpeg', 0.85);
        entries.push({ name: 'frame_' + String(i).padStart(4, '0') + (i < nrest ? '_rest' : '') + '.jpg',
          data: new Uint8Array(await b.arrayBuffer()) });
        if (i % 4 === 0) setStage(run, parts, 'sending', Math.round(60 * (i + 1) / all.length));
      }
      file = zip(entries); name = a.action + '.zip';
    }
    setStage(run, parts, 'sending', 75);
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
        setStage(run, parts, 'sending', 100);
        return out;
      } catch (e) {
        if (!(e instanceof PluginError) || e.code === 'session_expired' || attempt >= 3) throw e;
        say(run, t(run, 'error_' + e.code), true);
        setButtons(run, { primary: t(run, 'retry') });
        run.ui.primary.focus();
        await choice(run);
        setButtons(run, {});
        say(run, t(run, 'uploading'));
      }
    }
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

  async function captureResult(run, a, frames, parts) {
    var located = [];
    for (var i = 0; i < frames.length; i++) {
      located.push(await locate(run, frames[i]));
      setStage(run, parts, 'sending', Math.round(100 * (i + 1) / frames.length));
    }
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
  /* What will happen, light, glasses and hat; Start. Shown before the session starts, so closing
   * here spends no token. Skipped with `start_screen: false`. */
  async function startScreen(run) {
    setState(run, 'start');
    heading(run, t(run, 'start_title'));
    showPanel(run, 'start', function (p) {
      p.appendChild(para('lead', t(run, 'start_what')));
      var list = el('ol', 'tips');
      ['tip_light', 'tip_glasses', 'tip_camera'].forEach(function (k) {
        var li = el('li');
        li.textContent = t(run, k);
        list.appendChild(li);
      });
      p.appendChild(list);
    }, { primary: t(run, 'start') });
    say(run, '');
    run.ui.primary.focus();
    await choice(run);
    hidePanel(run);
  }

  async function flow(run) {
    var o = run.opts;
    if (!window.fetch || !window.Promise) throw new PluginError('not_supported');
    if (o.start_screen !== false) await startScreen(run);
    setState(run, 'preparing');
    heading(run, t(run, 'title'));
    say(run, t(run, 'preparing'));
    // No session_token: the server decides (a company may allow tokenless pages,
    // web_sdk.require_session_token: false); otherwise it answers session_invalid.
    run.session = await startSession(run);
    run.texts = packFor(run.session.lang || o.lang, o.lang_pack || o.texts);
    applyTexts(run);
    var forced = o.handoff === true || o.handoff === 'always';
    var wantPhone = handoffAllowed(run) && (forced || (window.isSecureContext && !(await hasCamera())));
    if (wantPhone) return handoff(run);
    if (!window.isSecureContext) throw new PluginError('insecure_context');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new PluginError('not_supported');
    if ((await openCamera(run)) === 'handoff') return handoff(run);
    for (;;) {
      var outcome = await runAttempt(run);
      if (outcome.done) return;
      // The server found the capture unusable (never a spoof verdict) and allows another try, in
      // the same session and folder: the reason in words, then "Try again".
      await askAgain(run, outcome.retry);
      var v = await sessionCall(run, 'retry');
      run.session.actions = v.actions;
      run.session.attempt = v.attempt;
      run.session.attempts = v.attempts;
      if ((await openCamera(run)) === 'handoff') return handoff(run);
    }
  }

  /* One attempt: every action captured and sent, then the result awaited. Resolves with
   * { done: true } when the session is finished, or { retry } when the server asks for another. */
  async function runAttempt(run) {
    var o = run.opts;
    var actions = run.session.actions, captures = [], submitted = null, parts = null, last = null;
    run.totalSteps = actions.reduce(function (n, a) { return n + stepsOf(a).length; }, 0);
    var stepAt = 0;
    for (var i = 0; i < actions.length; i++) {
      var a = actions[i], steps = stepsOf(a);
      var moving = a.kind !== 'photo' && steps.some(function (g) { return MOVES[g]; });
      hidePanel(run);
      clearProgress(run);
      // Until the recording, a movement's instruction is what comes next: the title asks to look
      // straight (which is what the hints judge), so title and hints agree.
      var title = moving ? t(run, 'action_video_selfie_blank') : t(run, 'action_' + a.action);
      var next = moving ? t(run, 'next', { a: t(run, 'action_' + steps[0]) }) : '';
      heading(run, title, stepLine(run, stepAt), next);
      setState(run, 'guide');
      say(run, '');
      announce(run, moving ? title + '. ' + next : title);
      run.restPoses = [];
      // An ID document: the card frame, the rear camera (switched when the previous action used
      // the other one), the document's guidance.
      var doc = isDocument(a);
      run.ui.stage.classList.toggle('doc', doc);
      run.ui.box.setAttribute('data-frame', doc ? 'card' : 'oval');
      if (run.stream && run.facing !== facingFor(run, a)) {
        stopCamera(run);
        await startCamera(run, facingFor(run, a));
      }
      if (doc) await guideDocument(run);
      else await guide(run);
      setHint(run, '', false);
      setState(run, 'countdown');
      // A photo of a document needs no face readings while the countdown runs.
      var mon = doc ? { readings: [], phase: 'countdown', stop: function () {} } : startMonitor(run);
      run.monitor = mon;
      var rest, frames;
      try {
        rest = await countdown(run, a, mon);
        frames = await record(run, a, rest, mon, stepAt);
      } finally {
        mon.stop();
      }
      stepAt += steps.length;
      last = frames[frames.length - 1];
      clearProgress(run);
      if (run.session.architecture === 'capture') {
        if (i === actions.length - 1) stopCamera(run);
        heading(run, t(run, 'title'));
        parts = progressPanel(run, last);
        say(run, t(run, 'preparing'));
        captures.push(await captureResult(run, a, frames, parts));
      } else {
        if (i === actions.length - 1) stopCamera(run);
        heading(run, t(run, 'title'));
        parts = progressPanel(run, last);
        setStage(run, parts, 'sending', 0);
        say(run, t(run, 'uploading'));
        submitted = await upload(run, a, frames, parts);
      }
    }
    stopCamera(run);
    heading(run, t(run, 'title'));
    if (run.session.architecture === 'capture') {
      var payload = captures[0];
      payload.actions = captures;
      showDone(run, t(run, 'done'));
      emit(run, 'on_capture_complete', payload);
      return { done: true };
    }
    emit(run, 'on_submit', { event_session_id: run.session.session_id, submitted: !!(submitted && submitted.submitted) });
    setStage(run, parts, 'checking', null);
    say(run, t(run, 'processing'));
    var deadline = performance.now() + (Number(o.result_timeout) || 180000);
    for (;;) {
      var r = await sessionCall(run, 'result');
      if (r.state === 'finished' && r.retry) {
        emit(run, 'on_result', pageResult(run, r));
        return { retry: r.retry };
      }
      if (r.state === 'finished') {
        showDone(run, t(run, o.handoff_token ? 'handoff_done' : 'done'));
        emit(run, 'on_complete', pageResult(run, r));
        return { done: true };
      }
      emit(run, 'on_result', pageResult(run, r));
      if (performance.now() > deadline) throw new PluginError('timeout');
      await sleep(1000, run);
    }
  }

  function showDone(run, text) {
    heading(run, t(run, 'title'));
    setState(run, 'done');
    showPanel(run, 'result', function (p) {
      p.append(icon('ok'), para('lead', text));
    });
    say(run, '');
    announce(run, text);
    run.ui.close.focus();
  }

  /* Say why the capture must be taken again and wait for "Try again". */
  async function askAgain(run, retry) {
    var reason = t(run, 'retry_' + retry.reason);
    setState(run, 'retry');
    heading(run, t(run, 'title'), t(run, 'attempt', { i: retry.attempt, n: retry.attempts }));
    showPanel(run, 'retry', function (p) {
      p.append(icon('again'), para('lead', reason));
    }, { primary: t(run, 'retry') });
    say(run, '');
    announce(run, reason);
    run.ui.primary.focus();
    await choice(run);
    hidePanel(run);
  }

  /* ---------- continue on a phone ---------- */
  /* The QR code of a one-time link to this session's capture page; then the session's result
   * is polled until the phone's capture is judged (a new code when one expires unused). */
  async function handoff(run) {
    stopCamera(run);
    run.pendingError = null;
    setState(run, 'handoff');
    heading(run, t(run, 'handoff_title'));
    var status = null, code = null;
    async function mint() {
      code = await sessionCall(run, 'handoff', { lang: run.session.lang });
      code.until = performance.now() + code.expires_in * 1000;
      showPanel(run, 'handoff', function (p) {
        p.appendChild(para('lead', t(run, 'handoff_scan')));
        var qr = el('div', 'qr', { role: 'img', 'aria-label': t(run, 'handoff_title') });
        var doc = new DOMParser().parseFromString(code.qr_svg, 'image/svg+xml');
        var svg = doc.documentElement;
        if (svg && svg.nodeName.toLowerCase() === 'svg') qr.appendChild(document.importNode(svg, true));
        var link = el('a', 'link', { href: code.handoff_url, target: '_blank', rel: 'noopener noreferrer' });
        link.textContent = t(run, 'handoff_link');
        status = para('wait', t(run, 'handoff_waiting'));
        p.append(qr, link, status);
      });
      say(run, '');
      announce(run, t(run, 'handoff_title') + '. ' + t(run, 'handoff_scan'));
    }
    await mint();
    run.ui.close.focus();
    var opened = false;
    for (;;) {
      await sleep(2000, run);
      var r = await sessionCall(run, 'result');
      if (r.handoff === 'opened' && !opened) {
        opened = true;
        status.textContent = t(run, 'handoff_opened');
        status.className = 'wait opened';
        run.ui.panel.classList.add('opened');
        setState(run, 'handoff_opened');
        announce(run, t(run, 'handoff_opened'));
      }
      if (opened && r.state === 'finished' && !r.retry) {
        showDone(run, t(run, 'done'));
        emit(run, 'on_complete', pageResult(run, r));
        return;
      }
      if (opened) emit(run, 'on_result', pageResult(run, r));
      if (!opened && performance.now() > code.until) await mint();
    }
  }

  function cancel(run) {
    if (!run.closed && !run.finished && !run.failed) {
      // Closing from a camera problem's screen reports that problem, not a cancellation.
      var e = run.pendingError, code = e ? e.code : 'user_cancelled';
      emit(run, 'on_error', { code: code, message: t(run, 'error_' + code),
        event_session_id: run.session ? run.session.session_id : null, context: e ? e.context : {} });
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
    // Focus goes back to what opened the plugin (a keyboard user continues where they were).
    var opener = run.opener;
    if (opener && opener.isConnected && typeof opener.focus === 'function') {
      try { opener.focus(); } catch (e) { /* not focusable any more */ }
    }
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
    /* A text of the open (or last) session's language, e.g. for the page around it. */
    text: function (id) { return t({ texts: last ? last.texts : packFor('en') }, id); },
    open: function (options) {
      var opener = document.activeElement && document.activeElement !== document.body ? document.activeElement : null;
      if (current) {
        if (!opener) opener = current.opener;
        teardown(current);
      }
      var opts = options || {};
      var run = { opts: opts, abort: new AbortController(), aborts: [], closed: false, failed: false,
        finished: false, metrics: { opened_at: performance.now() }, opener: opener, restPoses: [] };
      run.texts = packFor(opts.lang, opts.lang_pack || opts.texts);
      current = run;
      last = run;
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
  var last = null;
  window.OzLiveness = OzLiveness;
})();
