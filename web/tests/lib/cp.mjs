// A real `edgeplane serve` for the browser tests, started the way tests/lib/th.c does it: a
// fresh database on the private PostgreSQL (EDGEPLANE_DATABASE_URL), `edgeplane keygen`,
// `migrate`, `token create --role admin`, then `serve` on a free port with the private Redis.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function requireEnv(name) {
	const v = process.env[name];
	if (!v)
		throw new Error(`${name} is not set (run through web/tests/run.sh)`);
	return v;
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// "postgresql://u@h:p/edgeplane" → same server, database `name`.
function withDatabase(url, name) {
	const u = new URL(url);
	u.pathname = `/${name}`;
	return u.toString();
}

function psql(url, sql) {
	execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class ControlPlane {
	constructor({ bin, webRoot }) {
		this.bin = bin;
		this.webRoot = webRoot;
		this.proc = null;
	}

	env() {
		return {
			...process.env,
			EDGEPLANE_DATABASE_URL: this.dbUrl,
			EDGEPLANE_LISTEN: `127.0.0.1:${this.port}`,
			EDGEPLANE_SIGNING_KEY: this.keyPath,
			EDGEPLANE_REDIS_URL: requireEnv('EDGEPLANE_REDIS_URL'),
			EDGEPLANE_WEB_ROOT: this.webRoot,
		};
	}

	run(args) {
		return execFileSync(this.bin, args, { env: this.env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
	}

	async start() {
		const base = requireEnv('EDGEPLANE_DATABASE_URL');
		// Digits and underscores only: safe to put in the statement.
		this.dbName = `web_${process.pid}_${Date.now()}`;
		psql(base, `CREATE DATABASE ${this.dbName}`);
		this.baseDbUrl = base;
		this.dbUrl = withDatabase(base, this.dbName);
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeplane-web-'));
		this.keyPath = path.join(this.dir, 'signing.key');
		this.logPath = path.join(this.dir, 'edgeplane.log');
		this.port = await freePort();
		this.url = `http://127.0.0.1:${this.port}`;
		this.run(['keygen', '--out', this.keyPath]);
		this.run(['migrate']);
		const out = this.run(['token', 'create', '--role', 'admin', '--name', 'web-test-admin']);
		this.adminToken = out.split(/\r?\n/)[0].trim();
		if (!this.adminToken.startsWith('ept_'))
			throw new Error(`token create printed '${this.adminToken}'`);
		const log = fs.openSync(this.logPath, 'a');
		this.proc = spawn(this.bin, ['serve'], { env: this.env(), stdio: ['ignore', log, log] });
		fs.closeSync(log);
		this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
		const deadline = Date.now() + 20000;
		for (;;) {
			try {
				const r = await fetch(`${this.url}/healthz`);
				if (r.status === 200)
					return;
			} catch {
				// not listening yet
			}
			if (this.proc.exitCode !== null || Date.now() > deadline)
				throw new Error(`edgeplane serve did not become healthy; log:\n${this.log()}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	log() {
		try {
			return fs.readFileSync(this.logPath, 'utf8');
		} catch {
			return '';
		}
	}

	async stop() {
		if (this.proc && this.proc.exitCode === null) {
			this.proc.kill('SIGTERM');
			const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
			await this.exited;
			clearTimeout(t);
		}
		if (this.dbName) {
			try {
				psql(this.baseDbUrl, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
			} catch {
				// the services may already be stopping; the folder is removed with them
			}
		}
		if (this.dir && !process.env.EDGEPLANE_WEB_KEEP)
			fs.rmSync(this.dir, { recursive: true, force: true });
	}
}
