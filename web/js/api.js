// The REST client of the dashboard: only the public /v1 API, same origin, bearer token.
// Errors become ApiError carrying the problem+json fields (RFC 9457) and the request id, so
// views can show the server's own explanation.

export class ApiError extends Error {
	constructor(status, problem, requestId) {
		const p = problem && typeof problem === 'object' ? problem : {};
		super(p.detail || p.title || `HTTP ${status}`);
		this.status = status;
		this.type = typeof p.type === 'string' ? p.type : 'about:blank';
		this.title = typeof p.title === 'string' ? p.title : `HTTP ${status}`;
		this.detail = typeof p.detail === 'string' ? p.detail : '';
		this.requestId = requestId || '';
	}
}

// A random Idempotency-Key: a double click or a retried POST does the work once.
// getRandomValues works outside secure contexts too (unlike randomUUID).
function idempotencyKey() {
	const b = new Uint8Array(16);
	crypto.getRandomValues(b);
	return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Api {
	// onUnauthorized is called on any 401 (token revoked or expired) before the error is thrown.
	constructor(token, onUnauthorized) {
		this.token = token;
		this.onUnauthorized = onUnauthorized || (() => {});
	}

	// request('GET', '/v1/pops', {query: {limit: 50}}) → parsed JSON (null for an empty body).
	async request(method, path, opts = {}) {
		const url = new URL(path, window.location.origin);
		for (const [k, v] of Object.entries(opts.query || {}))
			if (v !== undefined && v !== null && v !== '')
				url.searchParams.set(k, String(v));
		const headers = { Accept: 'application/json, application/problem+json' };
		if (this.token)
			headers.Authorization = `Bearer ${this.token}`;
		let body;
		if (opts.body !== undefined) {
			headers['Content-Type'] = 'application/json';
			body = JSON.stringify(opts.body);
		}
		if (method === 'POST')
			headers['Idempotency-Key'] = idempotencyKey();
		let resp;
		try {
			resp = await fetch(url, { method, headers, body, cache: 'no-store', credentials: 'omit' });
		} catch (e) {
			throw new ApiError(0, { title: 'Network error', detail: `The control plane did not answer (${e.message}).` });
		}
		const text = await resp.text();
		let data = null;
		if (text) {
			try {
				data = JSON.parse(text);
			} catch {
				data = null;
			}
		}
		if (!resp.ok) {
			if (resp.status === 401 && !opts.noAuthHook)
				this.onUnauthorized();
			throw new ApiError(resp.status, data, resp.headers.get('X-Request-Id'));
		}
		return data;
	}

	get(path, query, opts = {}) {
		return this.request('GET', path, { ...opts, query });
	}

	post(path, body, opts = {}) {
		return this.request('POST', path, { ...opts, body: body === undefined ? {} : body });
	}

	del(path) {
		return this.request('DELETE', path);
	}

	// Follows next_cursor up to maxItems and returns every item (lists are paginated).
	async list(path, query = {}, maxItems = 2000) {
		const items = [];
		let cursor;
		for (;;) {
			const page = await this.get(path, { ...query, limit: 500, cursor });
			const got = page && Array.isArray(page.items) ? page.items : [];
			items.push(...got);
			cursor = page ? page.next_cursor : null;
			if (!cursor || got.length === 0 || items.length >= maxItems)
				return items;
		}
	}
}

// Path building with every slug encoded (slugs are validated server side, but a name typed by a
// user must never change the path's shape).
export function p(...segments) {
	return '/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}
