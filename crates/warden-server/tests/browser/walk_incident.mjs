// The incident browser test: a new administrator signs in from the bootstrap link, enrols a TOTP
// second factor, registers a model and uploads a malicious version; the incident rules open an
// incident, which she walks from detection to closure through the incident page (triage, contain,
// mitigate, recover, close, each with a note), records the root cause and lessons, and reads the
// printable post-incident review. Run by ../browser.rs with WARDEN_URL, WARDEN_BOOTSTRAP_TOKEN,
// CHROMIUM (executable) and ARTIFACTS (screenshots on failure) set.
import { artifacts, check, launch, maliciousPickle, token, totp, url } from './lib.mjs';

const { browser, page, scripts } = await launch();
try {
  await page.goto(`${url}/bootstrap?token=${token}`);
  await page.fill('input[name=username]', 'grace');
  await page.fill('input[name=password]', 'a long browser password');
  await Promise.all([page.waitForURL('**/ui/account**'), page.click('button[type=submit]')]);
  await Promise.all([page.waitForLoadState(), page.click('#totp-start button')]);
  const secret = (await page.textContent('#totp-secret')).trim();
  await page.fill('#totp-confirm input[name=code]', totp(secret));
  await Promise.all([page.waitForLoadState(), page.click('#totp-confirm button')]);
  check((await page.textContent('#session-mfa')).includes('yes'), 'the administrator signed in with a second factor');

  await page.goto(`${url}/ui/assets`);
  await page.selectOption('#asset-form select[name=kind]', 'model');
  await page.fill('#asset-form input[name=name]', 'claims-triage');
  await Promise.all([page.waitForLoadState(), page.click('#asset-form button[type=submit]')]);
  await page.goto(`${url}/ui/models`);
  await Promise.all([page.waitForLoadState(), page.locator('#models-table tr', { hasText: 'claims-triage' }).locator('a').first().click()]);
  await page.fill('#upload-form input[name=version]', '1.0.0');
  await page.setInputFiles('#upload-form input[type=file]', { name: 'model.pkl', mimeType: 'application/octet-stream', buffer: maliciousPickle });
  await Promise.all([page.waitForLoadState(), page.click('#upload-form button[type=submit]')]);
  check((await page.textContent('#scan-1\\.0\\.0')).includes('critical'), 'the malicious upload was scanned');

  await page.click('header nav a[href="/ui/incidents"]');
  await page.waitForLoadState();
  const row = page.locator('#incidents-table tr', { hasText: 'claims-triage' });
  check(await row.count() === 1, 'the upload opened one incident for the model');
  check((await row.textContent()).includes('critical'), 'the incident is critical');
  await Promise.all([page.waitForLoadState(), row.locator('a').first().click()]);
  check((await page.textContent('#incident-title')).includes('claims-triage'), 'the incident page opens');
  const timeline = await page.textContent('#incident-timeline');
  check(timeline.includes('opened') && timeline.includes('pickle.'), 'the timeline starts with the detection and its finding');

  // Walk forward; a playbook may have contained it already, so take each step still offered.
  const order = ['detected', 'triaged', 'contained', 'mitigated', 'recovered', 'closed'];
  const walked = [];
  for (const [to, note] of [['triaged', 'confirmed: os.system in the pickle'], ['contained', 'version quarantined'],
    ['mitigated', 'uploader key revoked'], ['recovered', 'production on the previous version'], ['closed', 'review written']]) {
    if (await page.locator(`#advance-form select[name=to] option[value=${to}]`).count() === 0) continue;
    await page.selectOption('#advance-form select[name=to]', to);
    await page.fill('#advance-form input[name=note]', note);
    await Promise.all([page.waitForLoadState(), page.click('#advance-form button[type=submit]')]);
    // The playbook may move it further meanwhile; never backwards.
    const now = (await page.textContent('#incident-status')).trim();
    check(order.indexOf(now) >= order.indexOf(to), `the incident is ${to} (or beyond: ${now})`);
    if (now === to) walked.push(note);
  }
  check(walked.length >= 2 && (await page.textContent('#incident-status')).trim() === 'closed', `walked to closure (${walked.length} steps by hand)`);
  check(await page.locator('#advance-form').count() === 0, 'a closed incident offers no way back');
  check((await page.textContent('#reached-closed')).includes('UTC'), 'closing has its time');

  await page.fill('#comment-form textarea[name=text]', 'handed over to the model owners');
  await Promise.all([page.waitForLoadState(), page.click('#comment-form button[type=submit]')]);
  await page.fill('#review-form textarea[name=root_cause]', 'a model pulled from an unvetted hub');
  await page.fill('#review-form textarea[name=lessons]', 'scan before registering; pin sources');
  await Promise.all([page.waitForLoadState(), page.click('#review-form button[type=submit]')]);
  const after = await page.textContent('#incident-timeline');
  for (const note of walked) check(after.includes(note), `the timeline shows "${note}"`);
  check(after.includes('handed over to the model owners'), 'the timeline shows the comment');

  await Promise.all([page.waitForLoadState(), page.click('#review-link')]);
  const review = await page.textContent('body');
  check((await page.textContent('#review-title')).includes('Incident review'), 'the review opens');
  check(review.includes('a model pulled from an unvetted hub') && review.includes('scan before registering; pin sources'), 'the review has the root cause and lessons');
  for (const note of walked) check(review.includes(note), `the review's timeline shows "${note}"`);
  await page.emulateMedia({ media: 'print' });
  check(await page.locator('.noprint').isHidden(), 'the review prints without its navigation');
  check(scripts.length === 0, 'no page loaded a script');
  console.log('incident walk passed');
} catch (err) {
  await page.screenshot({ path: `${artifacts}/incident-failure.png`, fullPage: true }).catch(() => {});
  console.error(`incident walk failed at ${page.url()}: ${err.message}`);
  console.error((await page.content().catch(() => '')).slice(0, 4000));
  process.exitCode = 1;
} finally {
  await browser.close();
}
