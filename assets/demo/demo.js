// The demo page: connect to Mohor, sign a PDF (and sign it again as the next
// signatory), download it, and sign a text. Add ?port=N to the address to
// use an agent on a non-default port.
import { Mohor, describeError, toBase64 } from '../js/mohor.js';

const $ = (id) => document.getElementById(id);

const state = {
  mohor: null,
  pdf: null, // Uint8Array: the document as last signed (or as picked)
  pdfName: '',
  signatures: [],
  p7s: null,
  busy: false,
};

function ports() {
  const q = new URLSearchParams(location.search);
  const list = (q.get('port') || q.get('ports') || '')
    .split(',')
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => p > 0 && p < 65536);
  return list.length ? list : undefined;
}

// ---- agent status ---------------------------------------------------------

function setAgent(kind, text) {
  const box = $('agent');
  box.className = `agent agent-${kind}`;
  $('agent-text').textContent = text;
  $('reconnect').hidden = kind !== 'down';
}

async function connect() {
  hideError();
  setAgent('unknown', 'Looking for Mohor…');
  try {
    state.mohor = await Mohor.connect({
      ports: ports(),
      onClose: () => setAgent('unknown', 'Mohor connection idle'),
    });
  } catch (e) {
    state.mohor = null;
    setAgent('down', 'Mohor not found');
    showError(e, 'Mohor is not reachable');
    updateButtons();
    return;
  }
  const { version } = state.mohor.info;
  setAgent('ok', `Mohor ${version} connected`);
  updateButtons();
  await loadCertificates();
}

async function loadCertificates() {
  const select = $('certificate');
  try {
    const certs = await state.mohor.certificates({ validNow: true });
    select.replaceChildren(new Option('Let Mohor ask me', ''));
    const usable = certs.filter((c) => c.usable !== false);
    for (const c of usable) {
      const until = c.validTo ? ` · valid until ${c.validTo.slice(0, 10)}` : '';
      const token = c.token && c.token.label ? ` · token ${c.token.label}` : '';
      select.add(new Option(`${c.subject} — ${c.issuer}${until}${token}`, c.id));
    }
    select.disabled = false;
    $('cert-help').textContent = usable.length
      ? `${usable.length} certificate${usable.length === 1 ? '' : 's'} ready for signing.`
      : 'No usable signing certificate found. Insert your DSC USB token, then reload this page.';
  } catch (e) {
    $('cert-help').textContent = describeError(e);
  }
}

// ---- errors ---------------------------------------------------------------

const TITLES = {
  USER_CANCELLED: 'Signing cancelled',
  NOT_RUNNING: 'Mohor is not reachable',
  PIN_LOCKED: 'PIN blocked',
  PIN_GUARD_LOCKED: 'PIN entry paused for safety',
  PIN_INCORRECT: 'Wrong PIN',
  TOKEN_NOT_PRESENT: 'Token not found',
  TOKEN_REMOVED: 'Token removed',
  DOCUMENT_REFUSED: 'Document cannot be signed',
};

function showError(e, title) {
  const reason = (e && e.reason) || 'INTERNAL';
  $('error-title').textContent = TITLES[reason] || title || 'Could not sign';
  $('error-text').textContent = describeError(e);
  const hint = e && e.hint ? e.hint : '';
  $('error-hint').textContent = hint ? `Mohor says: ${hint}` : '';
  $('error-hint').hidden = !hint;
  $('error-reason').textContent = reason;
  $('error').hidden = false;
}

function hideError() {
  $('error').hidden = true;
}

// ---- progress -------------------------------------------------------------

const STAGE_ORDER = ['waiting-for-consent', 'waiting-for-pin', 'signing', 'done'];

function progress(listId) {
  const list = $(listId);
  list.hidden = false;
  const set = (stage) => {
    const at = STAGE_ORDER.indexOf(stage);
    for (const li of list.children) {
      const i = STAGE_ORDER.indexOf(li.dataset.stage);
      li.className = i < at ? 'passed' : i === at ? 'active' : '';
    }
  };
  set('');
  return set;
}

// ---- PDF ------------------------------------------------------------------

function updateButtons() {
  const ready = Boolean(state.mohor) && !state.busy;
  $('sign-pdf').disabled = !ready || !$('pdf-file').files.length;
  $('sign-again').disabled = !ready || !state.signatures.length;
  $('download-pdf').disabled = state.busy || !state.signatures.length;
  $('sign-text').disabled = !ready || !$('text-input').value.trim();
  $('download-p7s').disabled = state.busy || !state.p7s;
}

async function signPdf(bytes) {
  hideError();
  state.busy = true;
  updateButtons();
  const setStage = progress('pdf-progress');
  try {
    const result = await state.mohor.signPdf(
      {
        document: bytes,
        fileName: state.pdfName,
        certificateId: $('certificate').value || undefined,
        reason: $('reason').value.trim() || undefined,
        location: $('location').value.trim() || undefined,
        appearance: $('visible').checked ? 'auto' : undefined,
      },
      { onProgress: setStage },
    );
    setStage('done');
    state.pdf = result.document;
    state.signatures.push({ signer: result.signer, field: result.field, at: new Date() });
    renderSignatures();
  } catch (e) {
    $('pdf-progress').hidden = true;
    showError(e);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

function renderSignatures() {
  const list = $('pdf-signatures');
  list.replaceChildren(
    ...state.signatures.map((s) => {
      const li = document.createElement('li');
      const time = s.at.toLocaleTimeString('en-IN', { hour: '2-digit', minute: '2-digit' });
      li.textContent = `${s.signer} — field ${s.field}, signed at ${time}`;
      return li;
    }),
  );
  $('pdf-size').textContent = `${state.pdfName}: ${(state.pdf.length / 1024).toFixed(1)} KB`;
  $('pdf-result').hidden = false;
}

function download(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function signedName(name) {
  const base = name.replace(/\.pdf$/i, '');
  return `${base}-signed.pdf`;
}

// ---- text -----------------------------------------------------------------

async function signText() {
  hideError();
  $('text-result').hidden = true;
  state.p7s = null;
  state.busy = true;
  updateButtons();
  const setStage = progress('text-progress');
  try {
    const result = await state.mohor.signData(
      { data: $('text-input').value, certificateId: $('certificate').value || undefined },
      { onProgress: setStage },
    );
    setStage('done');
    state.p7s = result.signature;
    $('text-signature').value = toBase64(result.signature);
    $('text-signer').textContent = result.signer ? `Signed by ${result.signer}.` : 'Signed.';
    $('text-result').hidden = false;
  } catch (e) {
    $('text-progress').hidden = true;
    showError(e);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

// ---- wiring ---------------------------------------------------------------

$('reconnect').addEventListener('click', connect);

$('pdf-file').addEventListener('change', async () => {
  const file = $('pdf-file').files[0];
  state.signatures = [];
  state.pdf = null;
  $('pdf-result').hidden = true;
  $('pdf-progress').hidden = true;
  if (file) {
    state.pdfName = file.name;
    state.pdf = new Uint8Array(await file.arrayBuffer());
  }
  updateButtons();
});

$('sign-pdf').addEventListener('click', async () => {
  const file = $('pdf-file').files[0];
  if (!file) return;
  state.signatures = [];
  state.pdfName = file.name;
  await signPdf(new Uint8Array(await file.arrayBuffer()));
});

$('sign-again').addEventListener('click', () => signPdf(state.pdf));

$('download-pdf').addEventListener('click', () => {
  if (state.pdf) download(state.pdf, signedName(state.pdfName), 'application/pdf');
});

$('text-input').addEventListener('input', updateButtons);
$('sign-text').addEventListener('click', signText);
$('download-p7s').addEventListener('click', () => {
  if (state.p7s) download(state.p7s, 'text.p7s', 'application/pkcs7-signature');
});

connect();
