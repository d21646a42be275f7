// Shared by the browser tests: processes, a static web server, Chromium.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { mkdirSync, createReadStream, statSync } from 'node:fs';
import { promisify } from 'node:util';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const targetDir = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
/** Screenshots and downloaded files land here (the brief: target/test-artifacts). */
export const artifacts = path.join(repoRoot, 'target', 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

export const run = promisify(execFile);

/** A port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `dir` (the repo's assets/) on http://127.0.0.1:port, like `python3 -m http.server`. */
export function serveStatic(dir, port) {
  const root = path.resolve(dir);
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file = path.resolve(root, '.' + decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = path.join(file, 'index.html');
      statSync(file);
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Starts a process and waits for the first stdout line matching `ready`.
 * Returns {child, match, output()}; stderr and stdout are kept for diagnostics.
 */
export function startProcess(cmd, args, { env, ready, timeoutMs = 120_000 } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const log = [];
  child.stderr.on('data', (d) => log.push(d.toString()));
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${cmd} did not become ready:\n${log.join('')}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code} before becoming ready:\n${log.join('')}`));
    });
    lines.on('line', (line) => {
      log.push(line + '\n');
      const m = line.match(ready);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, match: m, output: () => log.join('') });
      }
    });
  });
}

/** Stops a child started by startProcess (closing stdin first, then SIGTERM). */
export async function stopProcess(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** The test binary of tests/ws_fake_agent.rs (built if needed). */
export async function fakeAgentBinary() {
  // --all-features: the same build as tests/run-all.sh's `cargo test`, so nothing is rebuilt there.
  const { stdout } = await run('cargo', ['test', '--all-features', '--test', 'ws_fake_agent', '--no-run', '--message-format=json'], {
    cwd: repoRoot,
    maxBuffer: 64 << 20,
  });
  for (const line of stdout.split('\n')) {
    if (!line.includes('"executable"')) continue;
    const msg = JSON.parse(line);
    if (msg.executable && msg.target && msg.target.name === 'ws_fake_agent') return msg.executable;
  }
  throw new Error('could not find the ws_fake_agent test binary');
}

/** Starts the fake agent; resolves {child, port}. */
export async function startFakeAgent({ origins, idleMs } = {}) {
  const bin = await fakeAgentBinary();
  const env = { FAKE_AGENT_ORIGIN: origins.join(',') };
  if (idleMs) env.FAKE_AGENT_IDLE_MS = String(idleMs);
  const { child, match } = await startProcess(bin, ['--ignored', '--exact', 'fake_agent', '--nocapture'], {
    env,
    ready: /^PORT (\d+)$/,
  });
  return { child, port: Number(match[1]) };
}

/** The `mohor` binary with the scripted-prompts test hook (MOHOR_BIN, or built here
 *  with --all-features like tests/run-all.sh, so that build is reused). */
export async function mohorBinary() {
  if (process.env.MOHOR_BIN) return process.env.MOHOR_BIN;
  await run('cargo', ['build', '--all-features', '--bin', 'mohor'], { cwd: repoRoot, maxBuffer: 64 << 20 });
  return path.join(targetDir, 'debug', 'mohor');
}

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A context that may download, with Local Network Access granted when Chromium knows it. */
export async function newContext(browser, origin) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 1000 } });
  try {
    await context.grantPermissions(['local-network-access'], { origin });
  } catch {
    // Older Chromium or Playwright without the permission: nothing to grant.
  }
  return context;
}

/** Collects console messages and page errors, for failure messages. */
export function watchConsole(page) {
  const lines = [];
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  return () => lines.join('\n');
}

/**
 * A valid one-page PDF (text "Office order"), with a correct xref table.
 * `padding` bytes of no-op operators (`q Q`) make it as large as a test needs.
 */
export function makePdf(title = 'Office order No. 12/2026', padding = 0) {
  const text = `BT /F1 18 Tf 72 720 Td (${title}) Tj ET\nBT /F1 12 Tf 72 690 Td (Approved for issue.) Tj ET\n`;
  const content = text + 'q Q\n'.repeat(Math.ceil(padding / 4));
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}endstream`,
  ];
  let out = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** Raw WebSocket handshake from Node: the HTTP status the agent answers. */
export function handshakeStatus(port, origin) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          (origin ? `Origin: ${origin}\r\n` : '') +
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let data = '';
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n\r\n')) {
        s.destroy();
        resolve({ status: Number(data.split(' ')[1]), response: data });
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve({ status: Number(data.split(' ')[1]) || 0, response: data }));
  });
}
