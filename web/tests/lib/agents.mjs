// Simulated agents, one per PoP, speaking DESIGN.md's wire formats over real HTTP: each pulls
// GET /v1/agent/desired and posts POST /v1/agent/report with every desired module `active`
// (a healthy fleet), heartbeating on a short period so waves pass quickly.
import { Client, sleep } from './api.mjs';

export class SimAgent {
	constructor(base, pop, token, periodMs = 300) {
		this.pop = pop;
		this.client = new Client(base, token);
		this.periodMs = periodMs;
		this.running = false;
		this.started = Date.now();
		this.lastError = null;
		this.reports = 0;
		this.observed = [];
		// "tenant/module@version" entries this agent fails to activate (reported `failed`).
		this.failing = new Set();
	}

	async tick() {
		const d = await this.client.req('GET', '/v1/agent/desired');
		if (d.status !== 200)
			throw new Error(`desired → ${d.status}: ${d.text.slice(0, 200)}`);
		const desired = d.json;
		this.observed = (desired.modules || []).map((m) => {
			const bad = this.failing.has(`${m.tenant}/${m.module}@${m.version}`);
			return {
				tenant: m.tenant, module: m.module, version: m.version,
				state: bad ? 'failed' : 'active', error: bad ? 'simulated activation failure' : null,
				requests: bad ? 0 : 20, errors: 0, p99_ms: 1.2,
			};
		});
		const r = await this.client.req('POST', '/v1/agent/report', {
			generation: desired.generation,
			agent: { version: '0.1.0-sim', uptime_seconds: Math.floor((Date.now() - this.started) / 1000) },
			modules: this.observed,
		});
		if (r.status !== 200)
			throw new Error(`report → ${r.status}: ${r.text.slice(0, 200)}`);
		this.reports++;
	}

	start() {
		this.running = true;
		this.loop = (async () => {
			while (this.running) {
				try {
					await this.tick();
					this.lastError = null;
				} catch (e) {
					this.lastError = e;
				}
				await sleep(this.periodMs);
			}
		})();
	}

	async stop() {
		this.running = false;
		await this.loop;
	}
}
