// The browser test: a new administrator signs in from the bootstrap link, enrols a TOTP second
// factor, registers a model, uploads a malicious version, sees the scanner's findings and the
// incident playbook quarantine it, quarantines a second version by hand, and finds every step in
// the audit log. Run by ../browser.rs with WARDEN_URL,
// WARDEN_BOOTSTRAP_TOKEN, CHROMIUM (executable) and ARTIFACTS (screenshots on failure) set.
import { artifacts, check, launch, maliciousPickle, token, totp, url } from './lib.mjs';

const { browser, page, scripts } = await launch();
try {
  await page.goto(`${url}/bootstrap?token=${token}`);
  await page.fill('input[name=username]', 'ada');
  await page.fill('input[name=password]', 'a long browser password');
  await Promise.all([page.waitForURL('**/ui/account**'), page.click('button[type=submit]')]);
  check((await page.textContent('#account-username')).trim() === 'ada', 'the bootstrap link created the administrator and signed her in');

  await Promise.all([page.waitForLoadState(), page.click('#totp-start button')]);
  const secret = (await page.textContent('#totp-secret')).trim();
  check(await page.locator('#totp-qr svg').count() === 1, 'enrolment shows a QR code and the key once');
  await page.fill('#totp-confirm input[name=code]', totp(secret));
  await Promise.all([page.waitForLoadState(), page.click('#totp-confirm button')]);
  check((await page.textContent('#totp-status')).includes('enrolled'), 'the second factor is enrolled');
  check((await page.textContent('#session-mfa')).includes('yes'), 'the session now counts as having used it');

  await page.goto(`${url}/ui/assets`);
  await page.selectOption('#asset-form select[name=kind]', 'model');
  await page.fill('#asset-form input[name=name]', 'fraud-scorer');
  await Promise.all([page.waitForLoadState(), page.click('#asset-form button[type=submit]')]);
  await page.goto(`${url}/ui/models`);
  const modelRow = page.locator('#models-table tr', { hasText: 'fraud-scorer' });
  check(await modelRow.count() === 1, 'the model is in the registry');
  await Promise.all([page.waitForLoadState(), modelRow.locator('a').first().click()]);
  check((await page.textContent('#model-name')).trim() === 'fraud-scorer', 'the model page opens');

  const modelPage = page.url();
  const upload = async (version, bytes) => {
    await page.fill('#upload-form input[name=version]', version);
    await page.setInputFiles('#upload-form input[type=file]', { name: 'model.pkl', mimeType: 'application/octet-stream', buffer: bytes });
    await Promise.all([page.waitForLoadState(), page.click('#upload-form button[type=submit]')]);
  };

  // A clean version, quarantined by hand.
  await upload('1.0.0', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]));
  check((await page.textContent('#scan-1\\.0\\.0')).includes('clean'), 'a clean upload scans clean');
  const row = page.locator('#version-1\\.0\\.0');
  await row.locator('input[name=reason][required]').fill('pulled while we investigate');
  await Promise.all([page.waitForLoadState(), row.locator('button.danger').click()]);
  check(await page.locator('#download-refused-1\\.0\\.0').count() === 1, 'quarantined by hand: its download is refused');
  await page.goto(modelPage);

  // A malicious version: the scanner's findings show, and the incident playbook quarantines it.
  await upload('2.0.0', maliciousPickle);
  const scan = await page.textContent('#scan-2\\.0\\.0');
  check(scan.includes('critical'), `the upload was scanned: ${scan.trim().replace(/\s+/g, ' ')}`);
  await page.click('#findings-2\\.0\\.0 summary');
  const findings = await page.textContent('#findings-2\\.0\\.0');
  check(findings.includes('pickle.') && findings.includes('system'), 'its findings name the dangerous call');
  let quarantined = false;
  for (let i = 0; i < 40 && !quarantined; i++) {
    quarantined = await page.locator('#download-refused-2\\.0\\.0').count() === 1;
    if (!quarantined) { await page.waitForTimeout(250); await page.reload(); }
  }
  check(quarantined, 'the incident playbook quarantined the malicious version by itself');

  // The audit page shows 100 entries at a time: the oldest hundred and the newest hundred cover
  // this walk.
  await page.goto(`${url}/ui/audit?from=0`);
  let log = await page.textContent('#audit-entries');
  await page.goto(`${url}/ui/audit`);
  log += await page.textContent('#audit-entries');
  for (const op of ['registry.upload', 'registry.quarantine', 'asset.create']) {
    check(log.includes(op), `the audit log shows ${op}`);
  }
  check(scripts.length === 0, 'no page loaded a script');
  console.log('browser walk passed');
} catch (err) {
  await page.screenshot({ path: `${artifacts}/failure.png`, fullPage: true }).catch(() => {});
  console.error(`browser walk failed at ${page.url()}: ${err.message}`);
  console.error((await page.content().catch(() => '')).slice(0, 4000));
  process.exitCode = 1;
} finally {
  await browser.close();
}
