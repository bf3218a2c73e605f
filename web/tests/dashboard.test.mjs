// Browser tests of the dashboard: Debian's Chromium driven by Playwright against a real
// `edgeplane serve` (fresh database, private PostgreSQL and Redis) and simulated agents.
// Run through web/tests/run.sh; screenshots go to $WEB_SCREENSHOTS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SimAgent } from './lib/agents.mjs';
import { Client, secretOf, sleep, tinyWasm, waitFor } from './lib/api.mjs';
import { launch } from './lib/browser.mjs';
import { ControlPlane, freePort, requireEnv } from './lib/cp.mjs';

const TOP = requireEnv('EDGEPLANE_TOP');
const BIN = requireEnv('EDGEPLANE_BIN');
const SHOTS = requireEnv('WEB_SCREENSHOTS');
const XSS = '<img src=x onerror=alert(1)>';
const POPS = [['hnd1', 'ap-northeast'], ['fra1', 'eu-central'], ['iad1', 'us-east'], ['sfo1', 'us-west']];
const T = 'acme';

const w = {};        // shared state of the run
const dialogs = [];  // every JavaScript dialog (alert/confirm/prompt) any page opened: must stay empty

// A copy of web/ (the site only) with symlinks planted to check that none leads out.
function webRootCopy() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeplane-webroot-'));
	const site = path.join(TOP, 'web');
	fs.cpSync(site, dir, { recursive: true, filter: (src) => path.relative(site, src).split(path.sep)[0] !== 'tests' });
	fs.mkdirSync(path.join(dir, 'tests'), { recursive: true });
	fs.writeFileSync(path.join(dir, 'tests', 'secret.txt'), 'harness');
	fs.writeFileSync(path.join(dir, '.hidden'), 'hidden');
	fs.symlinkSync('/etc/hostname', path.join(dir, 'leak.txt'));
	fs.symlinkSync('/etc', path.join(dir, 'leakdir'));
	fs.symlinkSync('app.css', path.join(dir, 'alias.css'));
	fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside.txt`), 'outside');
	return dir;
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

function watch(page) {
	page.on('dialog', async (d) => {
		dialogs.push(`${d.type()}: ${d.message()}`);
		await d.dismiss();
	});
	page.on('pageerror', (e) => w.pageErrors.push(String(e)));
}

// Opens /ui/ in a new tab (its own sessionStorage) and signs in.
async function signIn(token, tenant) {
	const page = await w.browser.context.newPage();
	watch(page);
	await page.goto(`${w.cp.url}/ui/`);
	await page.fill('#token', token);
	if (tenant)
		await page.fill('#tenant', tenant);
	await page.click('#signin');
	await page.waitForSelector('#role');
	return page;
}

async function confirmDialog(page, screenshot) {
	const dlg = page.locator('dialog.confirm[open]');
	await dlg.waitFor();
	if (screenshot)
		await shot(page, screenshot);
	await dlg.locator('button.confirm').click();
	await dlg.waitFor({ state: 'detached' });
}

async function deployment(id) {
	return w.admin.must('GET', `/v1/tenants/${T}/deployments/${id}`);
}

function needScheduler() {
	if (w.schedulerError)
		throw new Error(`the deployment endpoints are not usable: ${w.schedulerError}`);
}

// Raw HTTP GET that keeps the path exactly as written (fetch would normalise "..").
function rawGet(pathname, headers = {}, method = 'GET', port = w.cp.port) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
		});
		req.on('error', reject);
		req.end();
	});
}

describe('dashboard', { concurrency: false }, () => {
	before(async () => {
		w.pageErrors = [];
		fs.mkdirSync(SHOTS, { recursive: true });
		w.webRoot = webRootCopy();
		w.cp = new ControlPlane({ bin: path.join(BIN, 'edgeplane'), webRoot: w.webRoot });
		await w.cp.start();
		const admin = new Client(w.cp.url, w.cp.adminToken);
		w.admin = admin;
		await admin.must('POST', '/v1/tenants', { slug: T, name: 'Acme Corp' });
		await admin.must('POST', '/v1/tenants', { slug: 'xss', name: XSS });
		await admin.must('POST', `/v1/tenants/${T}/domains`, { domain: 'acme.example' });
		await admin.must('POST', `/v1/tenants/${T}/modules`, { name: 'hello' });
		w.v1 = await admin.must('POST', `/v1/tenants/${T}/modules/hello/versions?label=first`, tinyWasm('hello-1'));
		w.v2 = await admin.must('POST', `/v1/tenants/${T}/modules/hello/versions?label=second`, tinyWasm('hello-2'));
		await admin.must('POST', `/v1/tenants/${T}/routes`, { host: 'api.acme.example', path: '/v1/*', module: 'hello' });
		await admin.must('POST', '/v1/tenants/xss/modules', { name: 'widget' });
		// The label is tenant-supplied text too; it is encoded in the query string.
		w.xssLabel = await admin.req('POST', `/v1/tenants/xss/modules/widget/versions?label=${encodeURIComponent(XSS)}`, tinyWasm('xss-1'));
		w.reader = secretOf(await admin.must('POST', '/v1/tokens', { role: 'reader', tenant: T, name: 'dash-reader' }));
		w.deployer = secretOf(await admin.must('POST', '/v1/tokens', { role: 'deployer', tenant: T, name: 'dash-deployer' }));
		w.agents = [];
		for (const [name, region] of POPS) {
			await admin.must('POST', '/v1/pops', { name, region, labels: {} });
			const tok = secretOf(await admin.must('POST', '/v1/tokens', { role: 'agent', pop: name, name: `agent-${name}` }));
			const a = new SimAgent(w.cp.url, name, tok);
			a.start();
			w.agents.push(a);
		}
		// Everyone runs v1 before the browser starts (an immediate deployment over the API).
		try {
			const d = await admin.must('POST', `/v1/tenants/${T}/deployments`, { module: 'hello', version: w.v1.version, strategy: 'immediate' });
			await waitFor('the v1 deployment to succeed', async () => (await deployment(d.id)).state === 'succeeded', 40000);
		} catch (e) {
			w.schedulerError = e.message;
		}
		w.browser = await launch();
	});

	after(async () => {
		if (w.browser)
			await w.browser.close();
		for (const a of w.agents || [])
			await a.stop();
		if (w.cp)
			await w.cp.stop();
		if (w.webRoot) {
			fs.rmSync(w.webRoot, { recursive: true, force: true });
			fs.rmSync(`${w.webRoot}-outside.txt`, { force: true });
		}
	});

	it('serves /ui/ with CSP, nosniff, content types, ETag and 304', async () => {
		const redirect = await rawGet('/ui');
		assert.equal(redirect.status, 301);
		assert.equal(redirect.headers.location, '/ui/');
		const cases = [
			['/ui/', 'text/html', '<script type="module" src="/ui/js/main.js">'],
			['/ui/index.html', 'text/html', '<div id="app">'],
			['/ui/js/main.js', 'text/javascript', 'import'],
			['/ui/app.css', 'text/css', ':root'],
			['/ui/favicon.svg', 'image/svg+xml', '<svg'],
			['/ui/alias.css', 'text/css', ':root'], // a symlink inside the root is fine
		];
		for (const [p, type, needle] of cases) {
			const r = await rawGet(p);
			assert.equal(r.status, 200, p);
			assert.ok(r.headers['content-type'].startsWith(type), `${p}: ${r.headers['content-type']}`);
			assert.ok(r.body.includes(needle), `${p} body`);
			const csp = r.headers['content-security-policy'] || '';
			for (const rule of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"])
				assert.ok(csp.includes(rule), `${p}: CSP lacks ${rule}: ${csp}`);
			assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${p}: CSP allows inline or eval`);
			assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
			assert.match(r.headers.etag || '', /^"[^"]+"$/, `${p}: ETag`);
			const again = await rawGet(p, { 'If-None-Match': r.headers.etag });
			assert.equal(again.status, 304, `${p}: revalidation`);
			assert.equal(again.body, '');
			assert.equal(again.headers.etag, r.headers.etag);
			const weak = await rawGet(p, { 'If-None-Match': `"nope", W/${r.headers.etag}` });
			assert.equal(weak.status, 304, `${p}: weak match in a list`);
			const other = await rawGet(p, { 'If-None-Match': '"something-else"' });
			assert.equal(other.status, 200, `${p}: other ETag`);
		}
		const head = await rawGet('/ui/app.css', {}, 'HEAD');
		assert.equal(head.status, 200);
		assert.equal(head.body, '');
		assert.equal(head.headers.etag, (await rawGet('/ui/app.css')).headers.etag);
		// A changed file gets a new ETag.
		const before1 = await rawGet('/ui/favicon.svg');
		await sleep(20);
		fs.appendFileSync(path.join(w.webRoot, 'favicon.svg'), '\n');
		const after1 = await rawGet('/ui/favicon.svg', { 'If-None-Match': before1.headers.etag });
		assert.equal(after1.status, 200);
		assert.notEqual(after1.headers.etag, before1.headers.etag);
	});

	it('refuses traversal (plain and encoded), hidden files, the test folder and symlinks out of the root', async () => {
		const outside = `${path.basename(w.webRoot)}-outside.txt`;
		const bad = [
			`/ui/../${outside}`, `/ui/%2e%2e/${outside}`, `/ui/%2E%2E/${outside}`, `/ui/..%2f${outside}`,
			`/ui/%2e%2e%2f${outside}`, `/ui/js/../../${outside}`, `/ui/js/%2e%2e/%2e%2e/${outside}`,
			`/ui/%252e%252e/${outside}`, '/ui/..%5c..%5cetc%5chostname', '/ui/./index.html', '/ui/js//main.js',
			'/ui/.hidden', '/ui/%2ehidden', '/ui/tests/secret.txt', '/ui/leak.txt', '/ui/leakdir/hostname',
			'/ui/leakdir/', '/ui/js', '/ui/js/', '/ui/nope.html',
		];
		for (const p of bad) {
			const r = await rawGet(p);
			assert.equal(r.status, 404, `${p} → ${r.status}`);
			assert.ok(!r.body.includes('outside') && !r.body.includes('harness') && !r.body.includes('hidden\n'), `${p} leaked`);
		}
		const post = await w.admin.req('POST', '/ui/index.html', {});
		assert.equal(post.status, 405);
	});

	it('without EDGEPLANE_WEB_ROOT, serves the checkout\'s web/ found from the binary', async () => {
		const env = { ...w.cp.env(), EDGEPLANE_LISTEN: `127.0.0.1:${await freePort()}` };
		delete env.EDGEPLANE_WEB_ROOT;
		delete env.EDGEPLANE_TOP;
		const port = Number(env.EDGEPLANE_LISTEN.split(':')[1]);
		const proc = spawn(path.join(BIN, 'edgeplane'), ['serve', '--no-migrate'], { env, cwd: os.tmpdir(), stdio: 'ignore' });
		try {
			const r = await waitFor('the second control plane', async () => {
				const x = await rawGet('/ui/js/main.js', {}, 'GET', port).catch(() => null);
				return x && x.status === 200 ? x : null;
			}, 20000);
			assert.equal(r.body, fs.readFileSync(path.join(TOP, 'web', 'js', 'main.js'), 'utf8'));
			assert.equal((await rawGet('/ui/tests/package.json', {}, 'GET', port)).status, 404, 'the test harness is not served');
			assert.equal((await rawGet('/ui/tests/run.sh', {}, 'GET', port)).status, 404);
		} finally {
			proc.kill('SIGTERM');
			await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
		}
	});

	it('uses no HTML-parsing sinks in the dashboard code', () => {
		const dir = path.join(TOP, 'web', 'js');
		const files = fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js'));
		assert.ok(files.length >= 5);
		for (const f of files) {
			const src = fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\s*\/\/.*$/gm, '');
			for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'localStorage.setItem'])
				assert.ok(!src.includes(sink), `${f} uses ${sink}`);
		}
		const html = fs.readFileSync(path.join(TOP, 'web', 'index.html'), 'utf8');
		assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'no inline script');
		assert.ok(!/\sstyle=|<style/.test(html), 'no inline style');
	});

	it('signs in with a pasted admin token and shows the fleet', async () => {
		const page = await w.browser.context.newPage();
		watch(page);
		w.page = page;
		await page.goto(`${w.cp.url}/ui/`);
		await page.waitForSelector('#token');
		await shot(page, '01-signin');
		await page.fill('#token', 'ept_not-a-real-token');
		await page.click('#signin');
		await page.waitForSelector('#signin-error:not([hidden])');
		assert.match(await page.textContent('#signin-error'), /token/i);
		await page.fill('#token', w.cp.adminToken);
		await page.click('#signin');
		await page.waitForSelector('#role');
		assert.equal(await page.textContent('#role'), 'admin');
		assert.ok(!page.url().includes(w.cp.adminToken), 'the token must never be in the URL');
		const storage = await page.evaluate(() => ({ s: sessionStorage.getItem('edgeplane.token'), l: localStorage.length }));
		assert.equal(storage.s, w.cp.adminToken);
		assert.equal(storage.l, 0, 'nothing in localStorage');
		await page.waitForSelector('table.fleet tbody tr[data-pop]');
		for (const [name, region] of POPS) {
			const row = page.locator(`table.fleet tr[data-pop="${name}"]`);
			await row.locator('.badge', { hasText: 'active' }).waitFor();
			assert.ok((await row.textContent()).includes(region));
		}
		await shot(page, '02-fleet');
		// The version each PoP runs (needs the scheduler to have rolled v1 out).
		needScheduler();
		for (const [name] of POPS)
			await page.locator(`table.fleet tr[data-pop="${name}"] [data-module="acme/hello"]`).filter({ hasText: `v${w.v1.version}` }).waitFor();
		await shot(page, '02-fleet');
	});

	it('renders tenant-supplied strings as text (XSS)', async () => {
		const page = w.page || await signIn(w.cp.adminToken);
		w.page = page;
		const options = await page.locator('#tenant-picker option').allTextContents();
		assert.ok(options.some((o) => o.includes(XSS)), `tenant picker shows the name literally: ${options}`);
		await page.goto(`${w.cp.url}/ui/#/t/xss/modules/widget`);
		await page.waitForSelector('table.versions');
		if (w.xssLabel.status === 200 || w.xssLabel.status === 201)
			await page.locator('table.versions td', { hasText: XSS }).waitFor();
		await shot(page, '03-xss-label');
		await page.goto(`${w.cp.url}/ui/#/audit`);
		await page.waitForSelector('table.audit');
		const imgs = await page.evaluate(() => document.querySelectorAll('#app img').length);
		assert.equal(imgs, 0, 'no <img> made from data');
		assert.deepEqual(dialogs, [], 'no script ran');
		await shot(page, '03-xss-audit');
		await page.goto(`${w.cp.url}/ui/#/t/${T}/modules`);
	});

	it('shows modules and versions with digest, size, key id, label and time', async () => {
		const page = w.page;
		await page.goto(`${w.cp.url}/ui/#/t/${T}/modules`);
		await page.click('a.module-link:text("hello")');
		await page.waitForSelector('table.versions tr[data-version]');
		for (const v of [w.v1, w.v2]) {
			const row = page.locator(`table.versions tr[data-version="${v.version}"]`);
			const text = await row.textContent();
			assert.ok(text.includes(v.digest.slice(0, 19)), `digest of v${v.version}`);
			assert.ok(await row.locator(`code[title="${v.digest}"]`).count() === 1);
			assert.ok(text.includes(String(v.key_id)), `key id of v${v.version}`);
			assert.ok(text.includes(v.version === w.v1.version ? 'first' : 'second'));
			assert.ok(text.includes(`${v.size} B`));
			assert.ok(text.includes('web-test-admin'), `uploader of v${v.version}`);
		}
		await shot(page, '04-module-versions');
		await page.click('nav a[data-nav="routes"]');
		await page.locator('table.routes td', { hasText: 'api.acme.example' }).waitFor();
		await shot(page, '05-routes');
	});

	it('starts a canary deployment from the page and shows its waves advance', async () => {
		needScheduler();
		const page = w.page;
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.waitForSelector('#dep-version option', { state: 'attached' });
		await page.selectOption('#dep-module', 'hello');
		await page.waitForSelector(`#dep-version option[value="${w.v2.version}"]`, { state: 'attached' });
		await page.selectOption('#dep-version', String(w.v2.version));
		await page.check('#strategy-canary');
		await page.click('#dep-start');
		await confirmDialog(page, '06-confirm-start');
		await page.waitForURL(/#\/t\/acme\/deployments\/[0-9a-f-]{36}$/);
		w.depId = decodeURIComponent(page.url().split('/').pop());
		const d = await deployment(w.depId);
		assert.equal(d.to_version, w.v2.version);
		assert.ok(d.waves.length >= 2, 'canary has several waves');
		// The first wave activates on the agents, then bakes (60 s for canary): the page shows it
		// without a reload.
		await page.locator('li.wave[data-wave="0"][data-state="baking"], li.wave[data-wave="0"][data-state="passed"]').waitFor({ timeout: 40000 });
		await shot(page, '07-deployment-wave1');
		await page.click('button[data-action="promote"]');
		await confirmDialog(page);
		await page.locator('li.wave[data-wave="0"][data-state="passed"]').waitFor({ timeout: 20000 });
		await page.locator('li.wave[data-wave="1"]:not([data-state="pending"])').waitFor({ timeout: 20000 });
		const progress = await page.locator('li.wave[data-wave="0"] progress').evaluate((el) => [el.value, el.max]);
		assert.equal(progress[0], progress[1], 'a passed wave is full');
		assert.ok((await page.locator('#events li').count()) >= 1, 'events timeline');
		await shot(page, '08-deployment-wave2');
	});

	it('pauses from the page and the API reports paused', async () => {
		needScheduler();
		assert.ok(w.depId, 'needs the canary deployment');
		const page = w.page;
		await page.click('button[data-action="pause"]');
		await confirmDialog(page);
		await page.locator('#dep-state [data-state="paused"]').waitFor({ timeout: 10000 });
		const d = await deployment(w.depId);
		assert.equal(d.state, 'paused');
		assert.equal(await page.locator('button[data-action="resume"]').count(), 1);
		// The API answers 409 to promote and pause on a paused deployment: the page offers neither.
		assert.equal(await page.locator('button[data-action="promote"]').count(), 0, 'no promote while paused');
		assert.equal(await page.locator('button[data-action="pause"]').count(), 0, 'no pause while paused');
		if (d.reason)
			assert.ok((await page.textContent('#dep-reason')).includes(d.reason), 'the reason of the pause is shown');
		await shot(page, '09-deployment-paused');
	});

	it('resumes and promotes wave by wave to success', async () => {
		needScheduler();
		assert.ok(w.depId, 'needs the canary deployment');
		const page = w.page;
		await page.click('button[data-action="resume"]');
		await confirmDialog(page);
		await page.locator('#dep-state [data-state="running"]').waitFor({ timeout: 10000 });
		for (let i = 0; i < 10; i++) {
			const d = await deployment(w.depId);
			if (d.state === 'succeeded')
				break;
			assert.equal(d.state, 'running', `state ${d.state} (${d.reason})`);
			const cw = d.current_wave;
			await page.locator(`li.wave[data-wave="${cw}"][data-state="baking"], li.wave[data-wave="${cw}"][data-state="passed"]`).waitFor({ timeout: 40000 });
			if ((await page.locator('button[data-action="promote"]').count()) === 0)
				continue;
			await page.click('button[data-action="promote"]');
			await confirmDialog(page);
			await waitFor(`wave ${cw} to pass`, async () => {
				const x = await deployment(w.depId);
				return x.state === 'succeeded' || x.current_wave !== cw;
			}, 20000);
		}
		await page.locator('#dep-state [data-state="succeeded"]').waitFor({ timeout: 40000 });
		const d = await deployment(w.depId);
		assert.ok(d.pops.every((x) => x.observed_version === w.v2.version), 'every PoP observed v2');
		await shot(page, '10-deployment-succeeded');
	});

	it('rolls back from the page', async () => {
		needScheduler();
		assert.ok(w.depId, 'needs the canary deployment');
		const page = w.page;
		await page.click('button[data-action="rollback"]');
		await confirmDialog(page, '11-confirm-rollback');
		await page.waitForURL((u) => !u.toString().endsWith(w.depId) && /deployments\/[0-9a-f-]{36}$/.test(u.toString()));
		const rbId = decodeURIComponent(page.url().split('/').pop());
		const rb = await deployment(rbId);
		assert.equal(rb.to_version, w.v1.version);
		await page.locator('#dep-state [data-state="succeeded"]').waitFor({ timeout: 40000 });
		await shot(page, '12-rollback-succeeded');
		await page.click('nav a[data-nav="fleet"]');
		for (const [name] of POPS)
			await page.locator(`table.fleet tr[data-pop="${name}"] [data-module="acme/hello"]`).filter({ hasText: `v${w.v1.version}` }).waitFor({ timeout: 15000 });
		await shot(page, '13-fleet-after-rollback');
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.waitForSelector(`tr[data-id="${rbId}"]`);
		await shot(page, '14-deployments');
	});

	it('a failed gate rolls back by itself and the page shows why', async () => {
		needScheduler();
		const page = w.page;
		const v3 = await w.admin.must('POST', `/v1/tenants/${T}/modules/hello/versions?label=broken`, tinyWasm('hello-3'));
		for (const a of w.agents)
			a.failing.add(`${T}/hello@${v3.version}`);
		// Already on this page: the nav link reloads it (and so lists the new version).
		assert.ok(page.url().endsWith(`#/t/${T}/deployments`));
		await page.click('nav a[data-nav="deployments"]');
		await page.waitForSelector(`#dep-version option[value="${v3.version}"]`, { state: 'attached' });
		await page.selectOption('#dep-version', String(v3.version));
		await page.check('#strategy-custom');
		await page.fill('#dep-waves', 'hnd1\n100%');
		await page.fill('#dep-bake', '1');
		await page.fill('#dep-activation', '5');
		await page.check('#dep-auto-rollback');
		await page.click('#dep-start');
		await confirmDialog(page);
		await page.waitForURL(/#\/t\/acme\/deployments\/[0-9a-f-]{36}$/);
		const id = decodeURIComponent(page.url().split('/').pop());
		await page.locator('#dep-state [data-state="rolled_back"]').waitFor({ timeout: 40000 });
		const d = await deployment(id);
		assert.equal(d.state, 'rolled_back');
		assert.ok(d.reason, 'the API gives a reason');
		assert.ok((await page.textContent('#dep-reason')).includes(d.reason), 'the page shows the reason');
		assert.ok(await page.locator('li.wave[data-state="failed"]').count() >= 1, 'the failed wave is marked');
		await shot(page, '15-deployment-rolled-back');
		for (const a of w.agents)
			a.failing.clear();
	});

	it('aborts from the page and every touched PoP returns to the previous version', async () => {
		needScheduler();
		const page = w.page;
		await page.click('nav a[data-nav="deployments"]');
		await page.waitForSelector(`#dep-version option[value="${w.v2.version}"]`, { state: 'attached' });
		await page.selectOption('#dep-version', String(w.v2.version));
		await page.check('#strategy-canary');
		await page.click('#dep-start');
		await confirmDialog(page);
		await page.waitForURL(/#\/t\/acme\/deployments\/[0-9a-f-]{36}$/);
		const id = decodeURIComponent(page.url().split('/').pop());
		await page.locator('li.wave[data-wave="0"][data-state="baking"]').waitFor({ timeout: 40000 });
		const touched = (await deployment(id)).waves[0].pops;
		await page.click('button[data-action="abort"]');
		await confirmDialog(page);
		await page.locator('#dep-state [data-state="aborted"]').waitFor({ timeout: 10000 });
		assert.equal((await deployment(id)).state, 'aborted');
		await waitFor('the touched PoPs to run v1 again', async () => {
			const d = await deployment(id);
			return touched.every((name) => d.pops.some((x) => x.pop === name && x.observed_version === w.v1.version));
		}, 20000);
		assert.equal(await page.locator('button[data-action]:not([data-action="rollback"])').count(), 0, 'no controls left on an ended deployment');
		await shot(page, '16-deployment-aborted');
	});

	it('refreshes the deployments list by itself while a rollout is live', async () => {
		needScheduler();
		const page = w.page;
		const d = await w.admin.must('POST', `/v1/tenants/${T}/deployments`, { module: 'hello', version: w.v2.version, strategy: 'canary' });
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.locator(`tr[data-id="${d.id}"] [data-state="pending"], tr[data-id="${d.id}"] [data-state="running"]`).waitFor({ timeout: 10000 });
		// Changed behind the page's back (another operator, or the CLI): the row follows without a reload.
		await w.admin.must('POST', `/v1/tenants/${T}/deployments/${d.id}/abort`, {});
		await page.locator(`tr[data-id="${d.id}"] [data-state="aborted"]`).waitFor({ timeout: 10000 });
		await waitFor('the aborted PoPs to run v1 again', async () => {
			const x = await deployment(d.id);
			return x.pops.every((pp) => pp.observed_version === w.v1.version);
		}, 20000);
	});

	it('shows an API error with its problem+json detail', async () => {
		const page = w.page || await signIn(w.cp.adminToken);
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.waitForSelector(`#dep-version option[value="${w.v2.version}"]`, { state: 'attached' });
		await page.selectOption('#dep-version', String(w.v2.version));
		await page.check('#strategy-custom');
		await page.fill('#dep-waves', 'nowhere1\n100%');
		await page.click('#dep-start');
		await confirmDialog(page);
		await page.waitForSelector('#error:not([hidden])');
		const body = { module: 'hello', version: w.v2.version, strategy: { waves: [{ pops: ['nowhere1'] }, { percent: 100 }], bake_seconds: 60, activation_timeout_seconds: 120, max_error_rate: 0.05, auto_rollback: true } };
		const api = await w.admin.req('POST', `/v1/tenants/${T}/deployments`, body);
		assert.ok(api.status >= 400 && api.status < 500, `the API refuses it too (${api.status})`);
		assert.equal(await page.textContent('#error .problem-status'), ` (${api.status})`);
		assert.equal(await page.textContent('#error .problem-detail'), api.json.detail);
		await shot(page, '17-error');
	});

	it('filters the audit log', async () => {
		const page = w.page || await signIn(w.cp.adminToken);
		await page.goto(`${w.cp.url}/ui/#/audit`);
		await page.waitForSelector('table.audit tbody tr');
		// Newest first: the top row is among the latest rows the API has (a rollout still
		// running may have added a few since the page loaded).
		const newest = await w.admin.must('GET', '/v1/audit?order=desc&limit=10');
		const top = (await page.textContent('table.audit tbody tr:first-child td:nth-child(6)')).trim();
		assert.ok(newest.items.some((r) => r.request_id === top), `top row ${top} is not among the newest`);
		const all = await w.admin.must('GET', '/v1/audit?limit=100');
		assert.ok(all.items.length > 0, 'the set-up left audit rows');
		const action = all.items.map((r) => r.action).find((a) => a === 'tenant.create') || all.items[0].action;
		await page.fill('#audit-action', action);
		await page.click('#audit-filters button[type=submit]');
		await page.waitForFunction((a) => {
			const cells = [...document.querySelectorAll('table.audit tbody tr td:nth-child(4)')];
			return cells.length > 0 && cells.every((c) => c.textContent.includes(a));
		}, action);
		const shown = await page.locator('table.audit tbody tr').count();
		assert.ok(shown >= all.items.filter((r) => r.action === action).length, 'every matching row is shown');
		assert.ok(shown < all.items.length || all.items.every((r) => r.action.includes(action)), 'others are filtered out');
		await shot(page, '18-audit');
	});

	it('a reader sees its tenant but is offered no actions', async () => {
		// No tenant typed: the page finds it from what the token may read.
		const page = await signIn(w.reader);
		assert.equal(await page.textContent('#role'), 'reader');
		assert.equal(await page.textContent('.tenant-fixed'), T);
		await page.waitForSelector('table.fleet');
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.waitForSelector('table.data');
		assert.equal(await page.locator('#start-deployment').count(), 0, 'no start form');
		if (w.depId) {
			await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments/${w.depId}`);
			await page.waitForSelector('#dep-state');
			assert.equal(await page.locator('button[data-action]').count(), 0, 'no action buttons');
		}
		// Another tenant is out of reach: the page falls back to the token's own tenant.
		await page.goto(`${w.cp.url}/ui/#/t/xss/modules`);
		await page.waitForURL(/#\/t\/acme\/modules$/);
		await shot(page, '19-reader');
		await page.close();
	});

	it('refuses agent tokens, unknown tokens and a tenant that is not the token\'s', async () => {
		const agentTok = w.agents[0].client.token;
		for (const [token, tenant, want] of [
			[agentTok, '', /Not a dashboard token.*agent token of PoP/],
			['ept_not-a-real-token', '', /Sign-in failed/],
			[w.reader, 'xss', /Unknown tenant.*belongs to "acme"/],
		]) {
			const page = await w.browser.context.newPage();
			watch(page);
			await page.goto(`${w.cp.url}/ui/`);
			await page.fill('#token', token);
			if (tenant)
				await page.fill('#tenant', tenant);
			await page.click('#signin');
			await page.waitForSelector('#signin-error:not([hidden])');
			assert.match(await page.textContent('#signin-error'), want);
			assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'nothing kept');
			await page.close();
		}
	});

	it('a deployer can act; signing out forgets the token', async () => {
		const page = await signIn(w.deployer, T);
		assert.equal(await page.textContent('#role'), 'deployer');
		await page.goto(`${w.cp.url}/ui/#/t/${T}/deployments`);
		await page.waitForSelector('#start-deployment');
		await page.click('#signout');
		await page.waitForSelector('#token');
		assert.equal(await page.evaluate(() => sessionStorage.length), 0);
		await page.close();
	});

	it('marks an agent that stopped reporting as stale', async () => {
		// The last test: a PoP whose agent is silent would hold up rollouts.
		await w.admin.must('POST', '/v1/pops', { name: 'ams1', region: 'eu-west', labels: {} });
		const tok = secretOf(await w.admin.must('POST', '/v1/tokens', { role: 'agent', pop: 'ams1', name: 'agent-ams1' }));
		const silent = new SimAgent(w.cp.url, 'ams1', tok);
		await silent.tick(); // one heartbeat, then nothing
		const page = w.page || await signIn(w.cp.adminToken);
		await page.goto(`${w.cp.url}/ui/#/fleet`);
		const row = page.locator('table.fleet tr[data-pop="ams1"]');
		await row.locator('.badge', { hasText: 'active' }).waitFor();
		// Three missed 10 s heartbeats; the page refreshes by itself meanwhile.
		await row.locator('.badge', { hasText: 'stale' }).waitFor({ timeout: 45000 });
		assert.equal(await page.locator('table.fleet tr.stale').count(), 1, 'only the silent PoP is stale');
		await shot(page, '20-fleet-stale');
	});

	it('ran no script from data and threw no page errors', () => {
		assert.deepEqual(dialogs, []);
		assert.deepEqual(w.pageErrors, []);
	});
});
