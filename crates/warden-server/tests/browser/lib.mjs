// What the browser walks share: the environment ../browser.rs sets (WARDEN_URL,
// WARDEN_BOOTSTRAP_TOKEN, CHROMIUM, ARTIFACTS), TOTP codes computed like an authenticator app,
// assertions that print what they checked, a malicious pickle, and launching Chromium in the
// flags this machine needs (no background networking: the network is closed).
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';

export const url = process.env.WARDEN_URL;
export const token = process.env.WARDEN_BOOTSTRAP_TOKEN;
export const artifacts = process.env.ARTIFACTS || '.';

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret. */
export function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const digest = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 15;
  const code = (digest.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

/** Throws `message` unless `condition`; prints it when it holds. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

/** A protocol-0 pickle that calls os.system when loaded. */
export const maliciousPickle = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');

/** Headless Chromium and a page that records any script it is asked to load. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const scripts = [];
  page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(r.url()); });
  return { browser, page, scripts };
}
