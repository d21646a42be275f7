// The JS client (assets/js/mohor.js) in Chromium against the real WebSocket
// server with a fake backend (tests/ws_fake_agent.rs): port discovery, chunked
// upload and download, progress, cancel, errors, close codes, reconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  repoRoot, freePort, serveStatic, startFakeAgent, stopProcess, launchBrowser, newContext, watchConsole,
} from './helpers.mjs';

let agent;
let web;
let strangerWeb;
let browser;
let pageOrigin;
let strangerOrigin;

before(async () => {
  const webPort = await freePort();
  const strangerPort = await freePort();
  pageOrigin = `http://127.0.0.1:${webPort}`;
  strangerOrigin = `http://127.0.0.1:${strangerPort}`;
  agent = await startFakeAgent({ origins: [pageOrigin], idleMs: 1500 });
  web = await serveStatic(path.join(repoRoot, 'assets'), webPort);
  strangerWeb = await serveStatic(path.join(repoRoot, 'assets'), strangerPort);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  web?.close();
  strangerWeb?.close();
  await stopProcess(agent?.child);
});

/** A page on `origin` with mohor.js loaded as window.M. */
async function clientPage(origin = pageOrigin) {
  const context = await newContext(browser, origin);
  const page = await context.newPage();
  const consoleText = watchConsole(page);
  await page.goto(`${origin}/js/mohor.d.ts`); // any same-origin page will do
  await page.evaluate(async () => {
    window.M = await import('/js/mohor.js');
  });
  return { page, context, consoleText };
}

test('connect finds the agent among the ports and says hello', async () => {
  const { page, context } = await clientPage();
  const dead = await freePort();
  const r = await page.evaluate(async ([dead, port]) => {
    const m = await window.M.Mohor.connect({ ports: [dead, port] });
    return { port: m.port, info: m.info };
  }, [dead, agent.port]);
  assert.equal(r.port, agent.port);
  assert.equal(r.info.product, 'Mohor');
  assert.equal(r.info.protocol, 1);
  await context.close();
});

test('signData returns the signature bytes and reports progress in order', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const stages = [];
    const { signature } = await m.signData({ data: 'नमस्ते, Mohor' }, { onProgress: (s) => stages.push(s) });
    return { text: new TextDecoder().decode(signature), stages };
  }, agent.port);
  assert.equal(r.text, 'sig(नमस्ते, Mohor)');
  assert.deepEqual(r.stages, ['waiting-for-consent', 'waiting-for-pin', 'signing', 'done']);
  await context.close();
});

test('a 30 MB PDF is uploaded in chunks and arrives intact', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const doc = new Uint8Array(30 * 1024 * 1024);
    for (let i = 0; i < doc.length; i += 4096) doc[i] = (i / 4096) & 0xff;
    doc.set(new TextEncoder().encode('%PDF-1.7'));
    const sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', doc)), (b) => b.toString(16).padStart(2, '0')).join('');
    const uploads = [];
    const result = await m.call('sign.pdf', { document: { upload: await m.upload(doc, (sent) => uploads.push(sent)) }, fileName: 'big.pdf' });
    return { sha, result, chunks: uploads.length };
  }, agent.port);
  assert.equal(r.result.length, 30 * 1024 * 1024);
  assert.equal(r.result.sha256, r.sha);
  assert.ok(r.chunks >= 7, `${r.chunks} chunks`);
  await context.close();
});

test('signPdf uploads large documents by itself', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const doc = new Uint8Array(9 * 1024 * 1024);
    let sent = 0;
    try {
      await m.signPdf({ document: doc, fileName: 'big.pdf' }, { onUpload: (s) => { sent = s; } });
    } catch (e) {
      return { sent, error: e.message };
    }
    return { sent };
  }, agent.port);
  // The fake answers an empty `document` for large input: what matters is the upload.
  assert.equal(r.sent, 9 * 1024 * 1024);
  await context.close();
});

test('an answer larger than a frame is downloaded transparently', async () => {
  const { page, context } = await clientPage();
  const len = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const r = await m.call('sign.data', { data: btoa('BIG:20000000') });
    return r.signature.length;
  }, agent.port);
  assert.equal(len, 20000000);
  await context.close();
});

test('aborting a request cancels it with USER_CANCELLED', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const ac = new AbortController();
    try {
      await m.signData({ data: 'slow' }, { signal: ac.signal, onProgress: () => ac.abort() });
      return { ok: true };
    } catch (e) {
      return { name: e.name, reason: e.reason, text: window.M.describeError(e) };
    }
  }, agent.port);
  assert.equal(r.name, 'MohorError');
  assert.equal(r.reason, 'USER_CANCELLED');
  assert.match(r.text, /cancelled/);
  await context.close();
});

test('agent errors become MohorError with reason, hint and plain words', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    const out = {};
    for (const reason of ['PIN_LOCKED', 'TOKEN_NOT_PRESENT']) {
      try {
        await m.signData({ data: `fail:${reason}` });
      } catch (e) {
        out[reason] = { reason: e.reason, hint: e.hint, code: e.code, text: window.M.describeError(e) };
      }
    }
    try {
      await m.call('sign.data', { data: 'AA==', pin: '123456' });
    } catch (e) {
      out.pin = { reason: e.reason, code: e.code, message: e.message };
    }
    return out;
  }, agent.port);
  assert.equal(r.PIN_LOCKED.reason, 'PIN_LOCKED');
  assert.equal(r.PIN_LOCKED.code, -32000);
  assert.equal(r.PIN_LOCKED.hint, 'a hint');
  assert.match(r.PIN_LOCKED.text, /Certifying Authority/);
  assert.match(r.TOKEN_NOT_PRESENT.text, /Insert your DSC/);
  assert.equal(r.pin.code, -32600);
  assert.match(r.pin.message, /PIN/);
  await context.close();
});

test('an oversized message reaches the page as close code 1009 (TOO_LARGE)', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    const m = await window.M.Mohor.connect({ ports: [port] });
    try {
      await m.call('sign.data', { data: 'A'.repeat(20 * 1024 * 1024) });
      return { ok: true };
    } catch (e) {
      return { reason: e.reason, closeCode: e.closeCode };
    }
  }, agent.port);
  assert.deepEqual(r, { reason: 'TOO_LARGE', closeCode: 1009 });
  await context.close();
});

test('after the agent closes an idle connection the next call reconnects', async () => {
  const { page, context } = await clientPage();
  const r = await page.evaluate(async (port) => {
    let closes = 0;
    const m = await window.M.Mohor.connect({ ports: [port], onClose: () => { closes += 1; } });
    await new Promise((res) => setTimeout(res, 2500));
    const { signature } = await m.signData({ data: 'after idle' });
    return { closes, text: new TextDecoder().decode(signature) };
  }, agent.port);
  assert.equal(r.closes, 1);
  assert.equal(r.text, 'sig(after idle)');
  await context.close();
});

test('a page from a site that is not allowed cannot connect (close 1006, NOT_RUNNING)', async () => {
  const { page, context } = await clientPage(strangerOrigin);
  const r = await page.evaluate(async (port) => {
    try {
      await window.M.Mohor.connect({ ports: [port] });
      return { ok: true };
    } catch (e) {
      return { reason: e.reason, closeCode: e.closeCode, text: window.M.describeError(e) };
    }
  }, agent.port);
  assert.equal(r.reason, 'NOT_RUNNING');
  assert.equal(r.closeCode, 1006);
  assert.match(r.text, /not allowed/);
  await context.close();
});
