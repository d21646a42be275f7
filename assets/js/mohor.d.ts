// Types for mohor.js, the client of the Mohor signing agent. See docs/PROTOCOL.md.

export declare const DEFAULT_PORTS: readonly number[];
/** Binary inputs up to this size (6 MiB, per field) travel inline; larger ones are uploaded in
 *  chunks. One request's inline fields together must stay below 16 MiB as base64 (about 12 MiB
 *  raw): upload items of a large signBatch / cosign first (docs/PROTOCOL.md, "When to upload"). */
export declare const INLINE_LIMIT: number;
export declare const STAGES: readonly Stage[];

export type Stage = 'waiting-for-consent' | 'waiting-for-pin' | 'signing' | 'done';

/** Reasons from the agent (stable, see docs/PROTOCOL.md) and from this library. */
export type Reason =
  | 'USER_CANCELLED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'PIN_LOCKED'
  | 'PIN_GUARD_LOCKED'
  | 'PIN_INCORRECT'
  | 'TOKEN_NOT_PRESENT'
  | 'TOKEN_REMOVED'
  | 'NO_MATCHING_CERTIFICATE'
  | 'CERTIFICATE_NOT_USABLE'
  | 'DOCUMENT_REFUSED'
  | 'BUSY'
  | 'INVALID_REQUEST'
  | 'TOO_LARGE'
  | 'TIMEOUT'
  | 'MODULE_ERROR'
  | 'IO_ERROR'
  | 'INTERNAL'
  /** client side: no agent answered (not running, or this site is not allowed) */
  | 'NOT_RUNNING'
  /** client side: the connection closed while a request was waiting */
  | 'CONNECTION_LOST';

export declare const CLIENT_REASONS: Readonly<{ NOT_RUNNING: 'NOT_RUNNING'; CONNECTION_LOST: 'CONNECTION_LOST' }>;

export declare class MohorError extends Error {
  constructor(message: string, details?: { reason?: Reason; hint?: string; code?: number; closeCode?: number });
  readonly name: 'MohorError';
  /** Stable code to branch on. */
  reason: Reason;
  /** What the person can do next, from Mohor ('' when none). */
  hint: string;
  /** JSON-RPC error code (-32700, -32600, -32601, -32602, -32000), 0 for client-side errors. */
  code: number;
  /** WebSocket close code when the connection ended (1006: refused or no agent; 1009: too large). */
  closeCode: number;
}

/** A sentence for the person explaining an error or reason, in plain words. */
export declare function describeError(errorOrReason: MohorError | Reason | string | unknown): string;

export declare function toBase64(bytes: Uint8Array): string;
export declare function fromBase64(text: string): Uint8Array;

export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView | Blob;
/** An id returned by `Mohor.upload`, usable once. */
export interface UploadRef {
  upload: string;
}

export interface ConnectOptions {
  /** Ports to try, in order of preference. Default 21760-21763. */
  ports?: number[];
  /** '127.0.0.1' (default) or 'localhost'. */
  host?: string;
  /** Per attempt, default 3000 ms. */
  timeoutMs?: number;
  /** Keep retrying this long (e.g. while the person answers "trust this site?"). Default 0. */
  retryForMs?: number;
  onClose?: (ev: CloseEvent) => void;
}

export interface CallOptions {
  onProgress?: (stage: Stage) => void;
  /** Aborting sends `cancel`; the call then rejects with USER_CANCELLED at once. A Mohor window
   *  already open stays open until the person closes it (docs/PROTOCOL.md, "Cancelling"). */
  signal?: AbortSignal;
}

export interface UploadOptions extends CallOptions {
  onUpload?: (sentBytes: number, totalBytes: number) => void;
}

export interface HelloResult {
  product: 'Mohor';
  version: string;
  protocol: number;
  capabilities: string[];
}

export interface CertificateFilter {
  /** Case-insensitive part of the issuer's name. */
  issuer?: string;
  /** CCA class: 1, 2 or 3. */
  class?: 1 | 2 | 3;
  /** All of these must be present. */
  keyUsage?: Array<'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement'>;
  validNow?: boolean;
  /** The holder's PAN, e.g. ABCDE1234F. */
  pan?: string;
}

/** As listed by the agent; every field is described in docs/PROTOCOL.md, "Certificate entries". */
export interface Certificate {
  id: string;
  subject: string;
  issuer: string;
  serial?: string;
  validFrom?: string;
  validTo?: string;
  keyUsage?: string[];
  ccaClass?: string | null;
  token?: { label: string; serial: string };
  /** True only if the certificate can sign now. Filters do not hide unusable certificates
   *  (e.g. the encryption certificate beside the signing one): always check this. */
  usable?: boolean;
  /** Why not, for a person; '' when usable. */
  notUsableText?: string;
  [more: string]: unknown;
}

export type Appearance = 'auto' | { page: number; x: number; y: number; width: number; height: number };

export interface SignPdfParams {
  document: Bytes | UploadRef;
  fileName: string;
  certificateId?: string;
  reason?: string;
  location?: string;
  /** Omitted: an invisible signature. Coordinates in PDF points from the page's lower-left corner. */
  appearance?: Appearance;
  /** A certification signature (no changes allowed afterwards except form filling and signatures). */
  certify?: boolean;
  /**
   * The password (user or owner, at most 127 bytes) of an encrypted PDF. Without it Mohor tries
   * the empty user password, as readers do. The signed PDF stays encrypted with the same password.
   */
  password?: string;
}

export interface SignPdfResult {
  document: Uint8Array;
  signer: string;
  field: string;
  certificateId?: string;
  [more: string]: unknown;
}

export interface SignDataParams {
  /** Text is signed as UTF-8. */
  data: Bytes | string | UploadRef;
  certificateId?: string;
  /** An existing detached signature (.p7s) over the same data: add this signer. */
  cosign?: Bytes | UploadRef;
}

export interface VerifyParams {
  /** A signed PDF, or a CMS signature (.p7s/.p7m). */
  document: Bytes | UploadRef;
  /** The signed content of a detached CMS signature. */
  data?: Bytes | UploadRef;
}

/** One signature in a verification report (docs/PROTOCOL.md#verify). */
export interface SignatureVerdict {
  /** PDF field name, or '#1', '#2'… for the SignerInfos of a detached CMS. */
  field: string;
  signer: string;
  signing_time: string | null;
  signing_time_source: 'timestamp' | 'claimed by the signer' | 'not stated; checked at verification time' | null;
  kind: 'pdf' | 'detached';
  sub_filter: string;
  digest_algorithm: string | null;
  intact: boolean;
  trusted: boolean;
  /** Subject CNs, leaf first. */
  chain: string[];
  chain_complete: boolean;
  valid_at_signing_time: boolean;
  modifications: 'none' | 'acceptable' | 'illegal';
  changes: string[];
  certification: 1 | 2 | 3 | null;
  byte_range: [number, number, number, number] | null;
  covers_whole_file: boolean;
  timestamp?: { time: string; authority: string; intact: boolean; trusted: boolean; chain: string[] };
  revocation: { embedded_crls: number; embedded_ocsp_responses: number; checked: false };
  problems: string[];
}

export interface VerifyReport {
  signatures: SignatureVerdict[];
  unsigned_changes_at_end: boolean;
}

export interface SignatureResult {
  /** DER-encoded detached CMS (save as .p7s). */
  signature: Uint8Array;
  signer?: string;
  certificateId?: string;
  [more: string]: unknown;
}

export interface SignHashParams {
  digest: Bytes;
  digestAlgorithm: 'sha256' | 'sha384' | 'sha512';
  certificateId?: string;
}

export type BatchItem =
  | { method: 'sign.pdf'; params: SignPdfParams }
  | { method: 'sign.data'; params: SignDataParams }
  | { method: 'sign.hash'; params: SignHashParams };

export interface BatchResult {
  /** In item order: a signed item has `document` (+ `field`) or `signature`; an item Mohor did
   *  not sign has only `error` (refused before the consent, or failed while signing). */
  results: Array<{ document?: Uint8Array; signature?: Uint8Array; field?: string; error?: MohorError; [more: string]: unknown }>;
  signer?: string;
  certificateId?: string;
}

export declare class Mohor {
  /** Finds the running agent; rejects with reason NOT_RUNNING. */
  static connect(options?: ConnectOptions): Promise<Mohor>;
  /** The port the agent answered on. */
  port: number;
  info: HelloResult;
  hello(): Promise<HelloResult>;
  certificates(filter?: CertificateFilter, opts?: CallOptions): Promise<Certificate[]>;
  signPdf(params: SignPdfParams, opts?: UploadOptions): Promise<SignPdfResult>;
  signData(params: SignDataParams, opts?: UploadOptions): Promise<SignatureResult>;
  signHash(params: SignHashParams, opts?: CallOptions): Promise<SignatureResult>;
  signBatch(items: BatchItem[], opts?: UploadOptions): Promise<BatchResult>;
  /** Checks every signature of a PDF, or of a CMS signature over `data` (docs/PROTOCOL.md#verify). */
  verify(params: VerifyParams, opts?: UploadOptions): Promise<VerifyReport>;
  /** Uploads bytes in chunks; the id is used once as `{upload: id}` in a binary field. */
  upload(bytes: Uint8Array, onUpload?: (sentBytes: number, totalBytes: number) => void): Promise<string>;
  /** Any method with raw JSON params/result (binary as base64); large answers are downloaded transparently. */
  call(method: string, params?: object, opts?: CallOptions): Promise<any>;
  close(): void;
}

export default Mohor;
