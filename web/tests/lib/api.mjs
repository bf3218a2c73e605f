// The REST API from Node (test set-up and checks of what the page did).
export class Client {
	constructor(base, token) {
		this.base = base;
		this.token = token;
	}

	async req(method, path, body, opts = {}) {
		const headers = { ...(opts.headers || {}) };
		if (this.token)
			headers.Authorization = `Bearer ${this.token}`;
		let payload;
		if (body !== undefined && body !== null) {
			if (body instanceof Uint8Array) {
				headers['Content-Type'] = opts.contentType || 'application/wasm';
				payload = body;
			} else {
				headers['Content-Type'] = 'application/json';
				payload = JSON.stringify(body);
			}
		}
		const r = await fetch(this.base + path, { method, headers, body: payload, redirect: 'manual' });
		const text = await r.text();
		let json = null;
		try {
			json = text ? JSON.parse(text) : null;
		} catch {
			json = null;
		}
		return { status: r.status, json, text, headers: r.headers };
	}

	// Like req, but the status must be one of `ok`.
	async must(method, path, body, ok = [200, 201], opts = {}) {
		const r = await this.req(method, path, body, opts);
		if (!ok.includes(r.status))
			throw new Error(`${method} ${path} → ${r.status}: ${r.text.slice(0, 400)}`);
		return r.json;
	}
}

// The token secret in a POST /v1/tokens answer.
export function secretOf(t) {
	const s = t && (t.secret || t.token);
	if (typeof s !== 'string' || !s.startsWith('ept_'))
		throw new Error(`no token secret in ${JSON.stringify(t)}`);
	return s;
}

// A minimal valid WASI command (exports _start and memory); `tag` goes into a custom section so
// that each tag gives different bytes (and so a new version).
export function tinyWasm(tag) {
	const name = Buffer.from('edgeplane-test');
	const payload = Buffer.from(String(tag));
	const custom = Buffer.concat([Buffer.from([name.length]), name, payload]);
	return new Uint8Array(Buffer.concat([
		Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
		Buffer.from([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]),                // type: () -> ()
		Buffer.from([0x03, 0x02, 0x01, 0x00]),                            // func 0: type 0
		Buffer.from([0x05, 0x03, 0x01, 0x00, 0x01]),                      // memory: min 1 page
		Buffer.from([0x07, 0x13, 0x02,
			0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00,      // "_start" func 0
			0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00]),    // "memory" mem 0
		Buffer.from([0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b]),                // code: empty body
		Buffer.from([0x00, custom.length]), custom,
	]));
}

export function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

// Polls fn until it returns a truthy value or timeoutMs passes (then throws with `what`).
export async function waitFor(what, fn, timeoutMs = 30000, everyMs = 200) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > deadline)
			throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
		await sleep(everyMs);
	}
}
