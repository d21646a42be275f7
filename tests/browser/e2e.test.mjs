// End to end, as a person would: the demo page in Chromium, the real
// `mohor serve` (built with the scripted-prompts test hook answering the
// consent and PIN windows), and a SoftHSM token from tests/fixtures/make-pki.sh.
// The signed PDF is judged by pyHanko and the text signature by OpenSSL;
// the consent log shows the text the person was asked to sign.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  repoRoot, artifacts, run, freePort, serveStatic, startProcess, stopProcess, mohorBinary,
  launchBrowser, newContext, watchConsole, makePdf, handshakeStatus,
} from './helpers.mjs';

const SOFTHSM_MODULE = process.env.SOFTHSM_MODULE || '/usr/lib/softhsm/libsofthsm2.so';
const PYHANKO = path.join(repoRoot, '.venv', 'bin', 'pyhanko');
const USER_PIN = '123456'; // tests/fixtures/make-pki.sh
const VENV_PYTHON = path.join(repoRoot, '.venv', 'bin', 'python');

// Counts signature fields with pyHanko's own reader (an independent judge).
const COUNT_SIGNATURES = `
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
with open(sys.argv[1], 'rb') as f:
    print(len(PdfFileReader(f).embedded_signatures))
`;

let tmp;
let pki;
let prompts;
let agent;
let agentPort;
let web;
let strangerWeb;
let pageOrigin;
let strangerOrigin;
let browser;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'mohor-e2e-'));
  const fixture = path.join(tmp, 'fixture');
  await run('bash', [path.join(repoRoot, 'tests', 'fixtures', 'make-pki.sh'), fixture], { maxBuffer: 16 << 20 });
  pki = path.join(fixture, 'pki');

  // The dialogs' answers, in order: sign the PDF, sign it again, sign the
  // text, sign the large PDF.
  prompts = path.join(tmp, 'prompts.jsonl');
  const once = [JSON.stringify({ consent: 'approve' }), JSON.stringify({ pin: USER_PIN })];
  writeFileSync(prompts, [...once, ...once, ...once, ...once].join('\n') + '\n');

  const webPort = await freePort();
  const strangerPort = await freePort();
  pageOrigin = `http://127.0.0.1:${webPort}`;
  strangerOrigin = `http://127.0.0.1:${strangerPort}`;
  const port = await freePort();
  const bin = await mohorBinary();
  const home = path.join(tmp, 'home');
  // As installer/run-demo.sh sets up its demo home: the demo CA is trusted.
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(home, 'config.toml'), `trust_roots = [${JSON.stringify(path.join(pki, 'root.pem'))}]\n`);
  const started = await startProcess(
    bin,
    ['--module', SOFTHSM_MODULE, '--prompts', prompts, 'serve', '--port', String(port), '--allow-origin', pageOrigin],
    { env: { SOFTHSM2_CONF: path.join(fixture, 'softhsm2.conf'), MOHOR_HOME: home }, ready: /(\d{2,5})\D*$/ },
  );
  agent = started;
  agentPort = Number(started.match[1]);
  assert.equal(agentPort, port, 'mohor serve names the port it listens on in its first line');

  web = await serveStatic(path.join(repoRoot, 'assets'), webPort);
  strangerWeb = await serveStatic(path.join(repoRoot, 'assets'), strangerPort);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  web?.close();
  strangerWeb?.close();
  await stopProcess(agent?.child);
  if (tmp && !process.env.KEEP_E2E_TMP) rmSync(tmp, { recursive: true, force: true });
});

test('the allowed demo page signs a PDF twice and a text through the real agent and token', async () => {
  const context = await newContext(browser, pageOrigin);
  const page = await context.newPage();
  const consoleText = watchConsole(page);
  try {
    await page.goto(`${pageOrigin}/demo/?port=${agentPort}`);
    await page.waitForSelector('#agent.agent-ok', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector('#certificate').options.length > 1, null, { timeout: 20_000 });
    await page.screenshot({ path: path.join(artifacts, 'demo-before-signing.png'), fullPage: true });

    // 1. A PDF, signed by Asha Verma, then by the next signatory Rahul Iyer
    //    (a certificate on the other token), each picked in the page's list.
    const input = path.join(tmp, 'office-order.pdf');
    writeFileSync(input, makePdf());
    await page.setInputFiles('#pdf-file', input);
    await chooseCertificate(page, /^Asha Verma/i);
    await page.click('#sign-pdf');
    await page.waitForFunction(
      () => document.querySelectorAll('#pdf-signatures li').length === 1 || !document.querySelector('#error').hidden,
      null,
      { timeout: 120_000 },
    );
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
    await chooseCertificate(page, /^Rahul Iyer/i);
    await page.click('#sign-again');
    await page.waitForFunction(
      () => document.querySelectorAll('#pdf-signatures li').length === 2 || !document.querySelector('#error').hidden,
      null,
      { timeout: 120_000 },
    );
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));

    const [pdfDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-pdf')]);
    const signedPdf = path.join(artifacts, 'demo-signed-twice.pdf');
    await pdfDownload.saveAs(signedPdf);
    assert.equal(pdfDownload.suggestedFilename(), 'office-order-signed.pdf');
    const validation = await run(
      PYHANKO,
      ['sign', 'validate', '--trust', path.join(pki, 'root.pem'), '--trust-replace', '--no-revocation-check', signedPdf],
      { maxBuffer: 16 << 20 },
    ).catch((e) => assert.fail(`pyHanko refused the signed PDF:\n${e.stdout}\n${e.stderr}`));
    const fields = await run(VENV_PYTHON, ['-c', COUNT_SIGNATURES, signedPdf]);
    assert.equal(fields.stdout.trim(), '2', 'two signature fields');
    const verdicts = validation.stdout.trim().split('\n');
    assert.equal(verdicts.length, 2, validation.stdout);
    for (const v of verdicts) assert.match(v, /:INTACT:TRUSTED/, validation.stdout);
    // The second signatory was shown the first signature, judged valid.
    const secondConsent = readFileSync(`${prompts}.asked.jsonl`, 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((q) => q.dialog === 'consent')[1].shown.join('\n');
    assert.match(secondConsent, /Already signed by \(as Mohor checked it\):\n {4}- Asha Verma: valid/i, secondConsent);
    const signers = await page.$$eval('#pdf-signatures li', (lis) => lis.map((li) => li.textContent));
    assert.match(signers[0], /Asha Verma/i);
    assert.match(signers[1], /Rahul Iyer/i);

    // 2. A text, as a detached CMS signature.
    const text = await page.inputValue('#text-input');
    await page.click('#sign-text');
    await page.waitForFunction(
      () => document.querySelector('#text-signature').value.length > 0 || !document.querySelector('#error').hidden,
      null,
      { timeout: 120_000 },
    );
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
    // What the person read in the consent window: the text itself.
    const consents = readFileSync(`${prompts}.asked.jsonl`, 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((q) => q.dialog === 'consent');
    const shown = consents.at(-1).shown.join('\n');
    assert.match(shown, /Content, as text \(all of it\):/, shown);
    assert.ok(shown.includes(`    | ${text.trim()}`), shown);
    const [p7sDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-p7s')]);
    const p7s = path.join(artifacts, 'demo-text.p7s');
    await p7sDownload.saveAs(p7s);
    const content = path.join(artifacts, 'demo-text.txt');
    writeFileSync(content, text);
    await run('openssl', [
      'cms', '-verify', '-binary', '-inform', 'DER', '-in', p7s, '-content', content,
      '-CAfile', path.join(pki, 'root.pem'), '-purpose', 'any', '-out', '/dev/null',
    ]).catch((e) => assert.fail(`openssl refused the text signature:\n${e.stderr}`));

    await page.screenshot({ path: path.join(artifacts, 'demo-after-signing.png'), fullPage: true });
  } catch (e) {
    await page.screenshot({ path: path.join(artifacts, 'demo-failure.png'), fullPage: true }).catch(() => {});
    e.message += `\n--- page console ---\n${consoleText()}\n--- mohor output ---\n${agent.output()}`;
    throw e;
  } finally {
    await context.close();
  }
});

test('a 20 MB PDF travels in chunks both ways through the demo page and comes back validly signed', async () => {
  const context = await newContext(browser, pageOrigin);
  const page = await context.newPage();
  const consoleText = watchConsole(page);
  const sent = { 'upload.chunk': 0, 'download.read': 0 };
  page.on('websocket', (ws) =>
    ws.on('framesent', ({ payload }) => {
      const m = /"method":"(upload\.chunk|download\.read)"/.exec(String(payload).slice(0, 200));
      if (m) sent[m[1]] += 1;
    }),
  );
  try {
    await page.goto(`${pageOrigin}/demo/?port=${agentPort}`);
    await page.waitForFunction(() => document.querySelector('#certificate').options.length > 1, null, { timeout: 20_000 });
    const big = path.join(tmp, 'large-bill.pdf');
    writeFileSync(big, makePdf('Bill of quantities', 20 * 1024 * 1024));
    await page.setInputFiles('#pdf-file', big);
    await chooseCertificate(page, /^Asha Verma/i);
    await page.click('#sign-pdf');
    await page.waitForFunction(
      () => document.querySelectorAll('#pdf-signatures li').length === 1 || !document.querySelector('#error').hidden,
      null,
      { timeout: 300_000 },
    );
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-pdf')]);
    const signed = path.join(tmp, 'large-bill-signed.pdf');
    await download.saveAs(signed);
    const validation = await run(
      PYHANKO,
      ['sign', 'validate', '--trust', path.join(pki, 'root.pem'), '--trust-replace', '--no-revocation-check', signed],
      { maxBuffer: 16 << 20 },
    ).catch((e) => assert.fail(`pyHanko refused the signed PDF:\n${e.stdout}\n${e.stderr}`));
    assert.match(validation.stdout, /:INTACT:TRUSTED/, validation.stdout);
    assert.ok(sent['upload.chunk'] >= 5, `uploaded in chunks: ${JSON.stringify(sent)}`);
    assert.ok(sent['download.read'] >= 5, `downloaded in pieces: ${JSON.stringify(sent)}`);
  } catch (e) {
    e.message += `\n--- page console ---\n${consoleText()}\n--- mohor output ---\n${agent.output()}`;
    throw e;
  } finally {
    await context.close();
  }
});

/** Picks the first certificate whose label matches `pattern` in the demo's list. */
async function chooseCertificate(page, pattern) {
  const options = await page.$$eval('#certificate option', (os) => os.map((o) => ({ value: o.value, label: o.textContent })));
  const chosen = options.find((o) => o.value && pattern.test(o.label));
  assert.ok(chosen, `no certificate like ${pattern} in ${JSON.stringify(options)}`);
  await page.selectOption('#certificate', chosen.value);
}

test('a page from an origin that is not allowed is refused at the handshake', async () => {
  // The agent answers the HTTP upgrade itself with 403, before any WebSocket exists.
  const refused = await handshakeStatus(agentPort, strangerOrigin);
  assert.equal(refused.status, 403);
  assert.doesNotMatch(refused.response, /mohor/i);
  const allowed = await handshakeStatus(agentPort, pageOrigin);
  assert.equal(allowed.status, 101);

  const context = await newContext(browser, strangerOrigin);
  const page = await context.newPage();
  try {
    await page.goto(`${strangerOrigin}/demo/?port=${agentPort}`);
    await page.waitForSelector('#agent.agent-down', { timeout: 20_000 });
    assert.equal(await page.textContent('#error-reason'), 'NOT_RUNNING');
    assert.match(await page.textContent('#error-text'), /not allowed to use it/);
    assert.equal(await page.isDisabled('#sign-text'), true);
    await page.screenshot({ path: path.join(artifacts, 'demo-origin-refused.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('a page cannot tell the agent\'s port from a closed one with fetch', async () => {
  // A site's no-cors fetch of the agent's port must fail as it does on a
  // closed port: a 426 (or any answer) would resolve it and tell every site
  // that something listens there. Same for the allowed page: fetch is not
  // how pages talk to Mohor.
  const closedPort = await freePort();
  for (const origin of [strangerOrigin, pageOrigin]) {
    const context = await newContext(browser, origin);
    const page = await context.newPage();
    try {
      await page.goto(`${origin}/demo/?port=${agentPort}`);
      const outcome = await page.evaluate(async (ports) => {
        const probe = async (port) => {
          try {
            await fetch(`http://127.0.0.1:${port}/`, { mode: 'no-cors', cache: 'no-store' });
            return 'resolved';
          } catch {
            return 'rejected';
          }
        };
        return { agent: await probe(ports.agent), closed: await probe(ports.closed) };
      }, { agent: agentPort, closed: closedPort });
      assert.deepEqual(outcome, { agent: 'rejected', closed: 'rejected' }, origin);
    } finally {
      await context.close();
    }
  }
});

test('artifacts exist for people to look at', () => {
  for (const f of ['demo-before-signing.png', 'demo-after-signing.png', 'demo-signed-twice.pdf', 'demo-text.p7s']) {
    assert.ok(existsSync(path.join(artifacts, f)), f);
  }
  assert.ok(readFileSync(path.join(artifacts, 'demo-signed-twice.pdf')).subarray(0, 5).toString() === '%PDF-');
});
