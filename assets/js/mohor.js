// Mohor client for web pages: talks to the Mohor signing agent running on
// the person's own computer (a WebSocket on 127.0.0.1, ports 21760-21763).
//
//   import { Mohor, MohorError, describeError } from './mohor.js';
//   const mohor = await Mohor.connect();
//   const { document } = await mohor.signPdf({ document: file, fileName: file.name },
//                                             { onProgress: stage => show(stage) });
//
// Dependency-free ES module. The protocol it speaks is docs/PROTOCOL.md.
// The PIN is never handled here: Mohor asks for it in its own window.

export const DEFAULT_PORTS = Object.freeze([21760, 21761, 21762, 21763]);

/** Binary inputs up to this many bytes travel inline (base64) in the request;
 *  larger ones are uploaded in chunks first (upload.begin / upload.chunk). */
export const INLINE_LIMIT = 6 * 1024 * 1024;

/** Reasons the library itself reports (the agent's own reasons are in docs/PROTOCOL.md). */
export const CLIENT_REASONS = Object.freeze({
  /** No Mohor answered on any port: not running, or this site is not allowed. */
  NOT_RUNNING: 'NOT_RUNNING',
  /** The connection closed while a request was waiting. */
  CONNECTION_LOST: 'CONNECTION_LOST',
});

export class MohorError extends Error {
  /**
   * @param {string} message what happened
   * @param {{reason?: string, hint?: string, code?: number, closeCode?: number}} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = 'MohorError';
    /** Stable code to branch on, e.g. 'USER_CANCELLED', 'PIN_LOCKED', 'NOT_RUNNING'. */
    this.reason = details.reason || 'INTERNAL';
    /** What the person can do next (from Mohor), may be ''. */
    this.hint = details.hint || '';
    /** JSON-RPC error code (-32000 for application errors), or 0 for client-side errors. */
    this.code = details.code ?? 0;
    /** WebSocket close code when the connection ended (1006 = refused or vanished). */
    this.closeCode = details.closeCode ?? 0;
  }
}

// Plain words for each reason, for people rather than developers.
const REASON_TEXT = {
  USER_CANCELLED: 'The signing was cancelled. Nothing was signed.',
  ORIGIN_NOT_ALLOWED: 'This website is not allowed to use your signing token. Ask your IT desk to allow it in Mohor.',
  PIN_LOCKED: "Your token's PIN is blocked. Contact the Certifying Authority that issued your DSC to unblock it.",
  PIN_GUARD_LOCKED: 'Mohor has stopped asking for the PIN after wrong tries, so that your token does not get blocked. Open Mohor to unlock it once you are sure of the PIN.',
  PIN_INCORRECT: 'The PIN was not correct. Check it and try again carefully: tokens block after a few wrong tries.',
  TOKEN_NOT_PRESENT: 'No signing token was found. Insert your DSC USB token and try again.',
  TOKEN_REMOVED: 'The token was removed while signing. Insert it again and retry.',
  NO_MATCHING_CERTIFICATE: 'No suitable signing certificate was found on your token. Check that you inserted the right token.',
  CERTIFICATE_NOT_USABLE: 'This certificate cannot be used for signing (it may have expired or not be meant for signing). Renew your DSC or pick another certificate.',
  DOCUMENT_REFUSED: 'This document cannot be signed: it may be damaged, password-protected, or locked against changes.',
  BUSY: 'Mohor is still busy with an earlier request. Wait a moment and try again.',
  INVALID_REQUEST: 'The website sent a request Mohor could not accept. Please report this to the website’s support desk.',
  TOO_LARGE: 'The document is too large to sign here.',
  TIMEOUT: 'The signing took too long and was stopped. Try again, and answer Mohor’s windows when they appear.',
  MODULE_ERROR: "The token's driver did not respond properly. Remove and re-insert the token, or reinstall the driver from your token provider.",
  IO_ERROR: 'Mohor could not read or write a file on this computer. Check that the disk is not full.',
  INTERNAL: 'Something went wrong inside Mohor. Try again; if it happens again, restart Mohor.',
  NOT_RUNNING: 'Mohor is not running on this computer, or this website is not allowed to use it. Start Mohor (look for the seal icon near the clock). If it is already running, ask your IT desk to allow this website.',
  CONNECTION_LOST: 'The connection to Mohor was lost. Check that Mohor is still running and try again.',
};

/** A sentence for the person, for a MohorError, a reason code, or any error. */
export function describeError(errorOrReason) {
  const reason = typeof errorOrReason === 'string' ? errorOrReason : errorOrReason && errorOrReason.reason;
  return REASON_TEXT[reason] || REASON_TEXT.INTERNAL;
}

/** Progress stages, in the order they usually come. */
export const STAGES = Object.freeze(['waiting-for-consent', 'waiting-for-pin', 'signing', 'done']);

// ---- base64 -----------------------------------------------------------

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
  let out = '';
  // A multiple of 3, so every piece encodes to whole base64 groups and the
  // pieces concatenate to valid base64; small enough for fromCharCode.apply.
  const step = 3 * 8192;
  for (let i = 0; i < bytes.length; i += step) {
    out += btoa(String.fromCharCode.apply(null, bytes.subarray(i, i + step)));
  }
  return out;
}

/** @param {string} text base64 */
export function fromBase64(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function toBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof Blob !== 'undefined' && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (typeof value === 'string') return new TextEncoder().encode(value);
  throw new MohorError('expected bytes (Uint8Array, ArrayBuffer, Blob/File) or text', { reason: 'INVALID_REQUEST' });
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- connecting ---------------------------------------------------------

function wsUrl(host, port) {
  return `ws://${host}:${port}/`;
}

/** Opens one socket and says hello; resolves {ws, info} only if Mohor answers. */
function tryPort(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    let ws;
    try {
      ws = new WebSocket(wsUrl(host, port));
    } catch (e) {
      reject(new MohorError(String(e), { reason: 'NOT_RUNNING' }));
      return;
    }
    let settled = false;
    const finish = (fn, arg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      fn(arg);
    };
    const timer = setTimeout(() => {
      try { ws.close(); } catch (_) { /* ignore */ }
      finish(reject, new MohorError(`no answer on port ${port}`, { reason: 'NOT_RUNNING' }));
    }, timeoutMs);
    ws.onopen = () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'hello', method: 'hello' }));
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { msg = null; }
      if (msg && msg.id === 'hello' && msg.result && msg.result.product === 'Mohor') {
        finish(resolve, { ws, info: msg.result });
      } else {
        try { ws.close(); } catch (_) { /* ignore */ }
        finish(reject, new MohorError(`port ${port} is not Mohor`, { reason: 'NOT_RUNNING' }));
      }
    };
    // A refused handshake (site not allowed) and a port nobody listens on look
    // the same to a page: close code 1006. Browsers hide the difference on purpose.
    ws.onclose = (ev) => finish(reject, new MohorError(`closed (${ev.code}) on port ${port}`, { reason: 'NOT_RUNNING', closeCode: ev.code }));
    ws.onerror = () => { /* a close event follows */ };
  });
}

async function findAgent(host, ports, timeoutMs) {
  const attempts = ports.map((p) => tryPort(host, p, timeoutMs).then((r) => ({ ...r, port: p })));
  const settled = await Promise.allSettled(attempts);
  let chosen = null;
  for (const s of settled) {
    if (s.status !== 'fulfilled') continue;
    if (!chosen) chosen = s.value;
    else s.value.ws.close(1000, 'another port answered first');
  }
  return chosen;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the client ---------------------------------------------------------

export class Mohor {
  /**
   * Finds the running agent.
   * @param {object} [options]
   * @param {number[]} [options.ports] ports to try, in order of preference (default 21760-21763)
   * @param {string} [options.host] '127.0.0.1' (default) or 'localhost'
   * @param {number} [options.timeoutMs] per attempt (default 3000)
   * @param {number} [options.retryForMs] keep retrying this long, e.g. while the person answers
   *        Mohor's "trust this site?" question (default 0: one attempt)
   * @param {(ev: CloseEvent) => void} [options.onClose] called when the connection closes
   * @returns {Promise<Mohor>} rejects with MohorError reason NOT_RUNNING
   */
  static async connect(options = {}) {
    const host = options.host || '127.0.0.1';
    const ports = options.ports && options.ports.length ? options.ports : DEFAULT_PORTS;
    const timeoutMs = options.timeoutMs || 3000;
    const deadline = Date.now() + (options.retryForMs || 0);
    for (;;) {
      const found = await findAgent(host, ports, timeoutMs);
      if (found) return new Mohor(found.ws, found.port, found.info, host, options);
      if (Date.now() >= deadline) {
        throw new MohorError('Mohor did not answer on ports ' + ports.join(', '), { reason: 'NOT_RUNNING', closeCode: 1006 });
      }
      await sleep(1000);
    }
  }

  /** @private use Mohor.connect() */
  constructor(ws, port, info, host, options) {
    /** The port the agent answered on. */
    this.port = port;
    /** The hello result: {product, version, protocol, capabilities}. */
    this.info = info;
    this._host = host;
    this._options = options;
    this._nextId = 1;
    this._pending = new Map();
    this._attach(ws);
  }

  _attach(ws) {
    this._ws = ws;
    ws.onmessage = (ev) => this._onMessage(ev);
    ws.onclose = (ev) => this._onClose(ev);
    ws.onerror = () => { /* a close event follows */ };
  }

  _onMessage(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (_) { return; }
    if (msg.method === 'progress' && msg.params) {
      const p = this._pending.get(msg.params.id);
      if (p && p.onProgress) {
        try { p.onProgress(msg.params.stage); } catch (_) { /* the page's callback failed; keep going */ }
      }
      return;
    }
    if (!('id' in msg)) return;
    const p = this._pending.get(msg.id);
    if (!p) return;
    this._pending.delete(msg.id);
    if (msg.error) {
      const data = msg.error.data || {};
      p.reject(new MohorError(msg.error.message, { reason: data.reason || 'INTERNAL', hint: data.hint || '', code: msg.error.code }));
    } else {
      p.resolve(msg.result);
    }
  }

  _onClose(ev) {
    const reason = ev.code === 1009 ? 'TOO_LARGE' : 'CONNECTION_LOST';
    const message = ev.code === 1009 ? 'Mohor refused a message that was too large' : `the connection to Mohor closed (${ev.code})`;
    for (const p of this._pending.values()) {
      p.reject(new MohorError(message, { reason, closeCode: ev.code }));
    }
    this._pending.clear();
    if (this._options.onClose) {
      try { this._options.onClose(ev); } catch (_) { /* ignore */ }
    }
  }

  /** Reconnects (same port first) if the agent closed an idle connection. */
  async _ensureOpen() {
    if (this._ws.readyState === WebSocket.OPEN) return;
    if (this._reopening) return this._reopening;
    this._reopening = (async () => {
      const timeoutMs = this._options.timeoutMs || 3000;
      const ports = [this.port, ...(this._options.ports || DEFAULT_PORTS).filter((p) => p !== this.port)];
      const found = await findAgent(this._host, ports, timeoutMs);
      if (!found) throw new MohorError('Mohor is no longer answering', { reason: 'NOT_RUNNING', closeCode: 1006 });
      this.port = found.port;
      this.info = found.info;
      this._attach(found.ws);
    })();
    try {
      await this._reopening;
    } finally {
      this._reopening = null;
    }
  }

  /** Sends one request; resolves with its raw `result`. */
  async _send(method, params, opts = {}) {
    await this._ensureOpen();
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, onProgress: opts.onProgress });
      if (opts.signal) {
        const onAbort = () => {
          if (this._pending.has(id)) this._ws.send(JSON.stringify({ jsonrpc: '2.0', id: `cancel-${id}`, method: 'cancel', params: { id } }));
        };
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      const message = { jsonrpc: '2.0', id, method };
      if (params !== undefined) message.params = params;
      this._ws.send(JSON.stringify(message));
    });
  }

  /**
   * Any method, with raw JSON params and result (binary as base64). Answers
   * too large for one message are fetched with download.read transparently.
   */
  async call(method, params, opts = {}) {
    const result = await this._send(method, params, opts);
    if (result && typeof result === 'object' && result.$download) {
      return this._download(result.$download);
    }
    return result;
  }

  async _download({ downloadId }) {
    const parts = [];
    let offset = 0;
    for (;;) {
      const r = await this._send('download.read', { downloadId, offset });
      parts.push(r.text);
      offset = r.next;
      if (r.done) break;
    }
    return JSON.parse(parts.join(''));
  }

  /**
   * A binary param: inline base64 when small, else an upload reference.
   * @returns {Promise<string | {upload: string}>}
   */
  async _binary(value, onUpload) {
    if (value && typeof value === 'object' && typeof value.upload === 'string') return value;
    const bytes = await toBytes(value);
    if (bytes.length <= INLINE_LIMIT) return toBase64(bytes);
    return { upload: await this.upload(bytes, onUpload) };
  }

  /**
   * Uploads bytes in chunks; returns an id to use once as `{upload: id}`.
   * @param {Uint8Array} bytes
   * @param {(sent: number, total: number) => void} [onUpload]
   */
  async upload(bytes, onUpload) {
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    const { uploadId, chunkSize } = await this._send('upload.begin', { size: bytes.length, sha256 });
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      const part = bytes.subarray(offset, Math.min(offset + chunkSize, bytes.length));
      await this._send('upload.chunk', { uploadId, offset, data: toBase64(part) });
      if (onUpload) onUpload(offset + part.length, bytes.length);
    }
    return uploadId;
  }

  // ---- the methods --------------------------------------------------------

  /** The agent's {product, version, protocol, capabilities}. */
  async hello() {
    this.info = await this.call('hello');
    return this.info;
  }

  /** Certificates on the inserted tokens. @param {object} [filter] {issuer, class, keyUsage, validNow, pan} */
  async certificates(filter, opts) {
    const r = await this.call('certificates.list', filter ? { filter } : {}, opts);
    return r.certificates;
  }

  /**
   * Signs a PDF (PAdES). Resolves with {document: Uint8Array, signer, field, ...}.
   * @param {{document: Uint8Array|ArrayBuffer|Blob, fileName: string, certificateId?: string,
   *          reason?: string, location?: string, appearance?: 'auto'|{page:number,x:number,y:number,width:number,height:number},
   *          certify?: boolean}} params
   * @param {{onProgress?: (stage: string) => void, onUpload?: (sent: number, total: number) => void, signal?: AbortSignal}} [opts]
   */
  async signPdf(params, opts = {}) {
    const p = { ...params, document: await this._binary(params.document, opts.onUpload) };
    const r = await this.call('sign.pdf', stripUndefined(p), opts);
    return { ...r, document: fromBase64(r.document) };
  }

  /**
   * Detached CMS (CAdES) signature over bytes or text (text is UTF-8).
   * `cosign`: an existing .p7s over the same data, to add this signer to it.
   * Resolves with {signature: Uint8Array, signer, ...}.
   */
  async signData(params, opts = {}) {
    const p = { ...params, data: await this._binary(params.data, opts.onUpload) };
    if (params.cosign !== undefined) p.cosign = await this._binary(params.cosign);
    const r = await this.call('sign.data', stripUndefined(p), opts);
    return { ...r, signature: fromBase64(r.signature) };
  }

  /** Signs a digest computed by the page. digestAlgorithm: 'sha256' | 'sha384' | 'sha512'. */
  async signHash(params, opts = {}) {
    const digest = toBase64(await toBytes(params.digest));
    const r = await this.call('sign.hash', stripUndefined({ ...params, digest }), opts);
    return { ...r, signature: fromBase64(r.signature) };
  }

  /**
   * Several documents with one consent and one PIN.
   * @param {Array<{method: 'sign.pdf'|'sign.data'|'sign.hash', params: object}>} items
   *        binary fields as for signPdf / signData / signHash
   * Resolves with {results: [...]} in item order; `document` / `signature` decoded to Uint8Array.
   * An item Mohor did not sign is `{error: MohorError}` (its reason and hint); the others are
   * signed all the same, so check each result.
   */
  async signBatch(items, opts = {}) {
    const wire = [];
    for (const item of items) {
      const params = { ...item.params };
      if (item.method === 'sign.pdf') params.document = await this._binary(params.document, opts.onUpload);
      if (item.method === 'sign.data') {
        params.data = await this._binary(params.data, opts.onUpload);
        if (params.cosign !== undefined) params.cosign = await this._binary(params.cosign);
      }
      if (item.method === 'sign.hash') params.digest = toBase64(await toBytes(params.digest));
      wire.push({ method: item.method, params: stripUndefined(params) });
    }
    const r = await this.call('sign.batch', { items: wire }, opts);
    const results = (r.results || []).map((x) => {
      const out = { ...x };
      if (x.error) {
        const data = x.error.data || {};
        out.error = new MohorError(x.error.message || 'not signed', { reason: data.reason, hint: data.hint });
      }
      if (typeof x.document === 'string') out.document = fromBase64(x.document);
      if (typeof x.signature === 'string') out.signature = fromBase64(x.signature);
      return out;
    });
    return { ...r, results };
  }

  /** Checks the signatures of a PDF, or of a .p7s over `data`. */
  async verify(params, opts = {}) {
    const p = { document: await this._binary(params.document, opts.onUpload) };
    if (params.data !== undefined) p.data = await this._binary(params.data, opts.onUpload);
    return this.call('verify', p, opts);
  }

  /** Closes the connection; waiting requests fail with CONNECTION_LOST. */
  close() {
    try { this._ws.close(1000, 'bye'); } catch (_) { /* ignore */ }
  }
}

function stripUndefined(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

export default Mohor;
