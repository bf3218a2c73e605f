// Debian's Chromium under Playwright (playwright-core only: no downloaded browsers, no network),
// with the flags the machine needs and a new, empty profile per run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeplane-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}
