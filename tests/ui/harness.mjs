// Shared helpers for the UI and JavaScript-client tests: start the real mdgw on a
// loopback port (--port 0, port read from its "listening" line, as tests/e2e does),
// make a self-signed certificate with the openssl CLI, and bounded waits.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LISTEN_RE = /mdgw: listening on 127\.0\.0\.1:(\d+)/;

export function mdgwBin() {
  const bin = process.argv[2] || process.env.MDGW_BIN;
  if (!bin) throw new Error('usage: node <test> /path/to/mdgw (or set MDGW_BIN)');
  return bin;
}

let certs = null;
export function makeCerts() {
  if (!certs) {
    const dir = mkdtempSync(join(tmpdir(), 'mdgw-ui-certs-'));
    certs = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
      '-keyout', certs.key, '-out', certs.cert], { stdio: 'ignore', timeout: 60000 });
  }
  return certs;
}

/** Starts mdgw; resolves with {proc, port, stop()} once it listens (15 s at most). */
export function startMdgw({ port = 0, tls = false, args = [] } = {}) {
  const argv = ['--bind', '127.0.0.1', '--port', String(port)];
  if (tls) {
    const { cert, key } = makeCerts();
    argv.push('--cert', cert, '--key', key);
  }
  argv.push(...args);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MDGW_')));
  const proc = spawn(mdgwBin(), argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`mdgw did not listen within 15 s: ${out}\n${stderr}`));
    }, 15000);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`mdgw exited (${code}) before listening: ${out}\n${stderr}`));
    };
    proc.on('exit', onExit);
    const onData = (d) => {
      out += d;
      const m = LISTEN_RE.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.off('exit', onExit);
      proc.stdout.off('data', onData);
      proc.stdout.resume();  // keep draining: mdgw must never block on a full pipe
      resolve({
        proc,
        port: Number(m[1]),
        stderr: () => stderr,
        stop: () => new Promise((res) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return res(proc.exitCode);
          const kill = setTimeout(() => proc.kill('SIGKILL'), 10000);
          proc.once('exit', (code) => { clearTimeout(kill); res(code); });
          proc.kill('SIGTERM');
          return undefined;
        }),
      });
    };
    proc.stdout.on('data', onData);
  });
}

/** Polls `fn` every `everyMs` until it returns a truthy value (an exception counts as
 * not yet); throws after `timeoutMs`, with the last exception. */
export async function waitFor(what, fn, timeoutMs = 10000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson(port, path) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}
