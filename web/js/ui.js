// Shared pieces of the views: the confirmation dialog, the error banner, tables, badges and
// time formatting. Everything renders through h(), so data is always text.
import { h, replace } from './dom.js';
import { ApiError } from './api.js';

// Asks before an action. Resolves true on Confirm, false on Cancel or Escape.
// `details` is a list of [label, value] pairs shown as a definition list.
export function confirmAction(title, message, details = [], confirmLabel = 'Confirm') {
	return new Promise((resolve) => {
		const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' });
		const done = (ok) => {
			dlg.close();
			dlg.remove();
			resolve(ok);
		};
		const dl = h('dl', { class: 'kv' }, details.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
		append(dlg, [
			h('h2', { id: 'confirm-title' }, title),
			h('p', null, message),
			details.length ? dl : null,
			h('div', { class: 'actions' },
				h('button', { type: 'button', class: 'cancel', onclick: () => done(false) }, 'Cancel'),
				h('button', { type: 'button', class: 'confirm primary', onclick: () => done(true) }, confirmLabel)),
		]);
		dlg.addEventListener('cancel', (ev) => {
			ev.preventDefault();
			done(false);
		});
		document.body.append(dlg);
		dlg.showModal();
		dlg.querySelector('button.confirm').focus();
	});
}

function append(el, list) {
	for (const c of list)
		if (c)
			el.append(c);
}

// The error banner: shows the problem+json title, status, detail and request id.
export function showError(err) {
	const box = document.getElementById('error');
	if (!box)
		return;
	if (!err) {
		box.hidden = true;
		replace(box);
		return;
	}
	const e = err instanceof ApiError ? err : new ApiError(0, { title: 'Error', detail: String(err && err.message || err) });
	replace(box,
		h('strong', { class: 'problem-title' }, e.title),
		e.status ? h('span', { class: 'problem-status' }, ` (${e.status})`) : null,
		e.detail ? h('p', { class: 'problem-detail' }, e.detail) : null,
		e.requestId ? h('small', { class: 'problem-request' }, `request id ${e.requestId}`) : null,
		h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => showError(null) }, '×'));
	box.hidden = false;
}

// Runs an async action, showing any error in the banner; returns its result or undefined.
export async function guarded(fn) {
	try {
		showError(null);
		return await fn();
	} catch (e) {
		showError(e);
		return undefined;
	}
}

// A table: columns [{label, cell: (row) => node|string}], rows, optional row class function.
export function table(columns, rows, opts = {}) {
	return h('table', { class: ['data', opts.class] },
		h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
		h('tbody', null, rows.length === 0
			? h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, opts.empty || 'Nothing yet.'))
			: rows.map((r) => h('tr', { class: opts.rowClass ? opts.rowClass(r) : null, dataset: opts.rowData ? opts.rowData(r) : undefined },
				columns.map((c) => h('td', { class: c.class }, c.cell(r)))))));
}

// A state badge: the class is derived from a fixed list, never from the raw string.
const KNOWN_STATES = new Set(['pending', 'running', 'paused', 'succeeded', 'failed', 'aborted',
	'rolled_back', 'activating', 'baking', 'passed', 'active', 'stale', 'current', 'retired']);
export function badge(state) {
	const s = state === null || state === undefined ? 'unknown' : String(state);
	return h('span', { class: ['badge', KNOWN_STATES.has(s) ? `st-${s}` : 'st-other'], 'data-state': s }, s);
}

// "12 s ago" with the exact RFC 3339 time in the tooltip.
export function when(ts) {
	if (!ts)
		return h('span', { class: 'muted' }, 'never');
	const t = Date.parse(ts);
	if (Number.isNaN(t))
		return String(ts);
	return h('time', { datetime: String(ts), title: String(ts) }, ago(t));
}

export function ago(t) {
	const s = Math.round((Date.now() - t) / 1000);
	if (s < 0)
		return 'just now';
	if (s < 90)
		return `${s} s ago`;
	if (s < 5400)
		return `${Math.round(s / 60)} min ago`;
	if (s < 172800)
		return `${Math.round(s / 3600)} h ago`;
	return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function bytes(n) {
	if (typeof n !== 'number')
		return '';
	if (n < 1024)
		return `${n} B`;
	if (n < 1048576)
		return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1048576).toFixed(2)} MiB`;
}

// A long value (digest, signature) shortened for display, the full value in the tooltip and
// selectable.
export function mono(v, keep = 19) {
	const s = v === null || v === undefined ? '' : String(v);
	return h('code', { title: s, class: 'mono' }, s.length > keep + 1 ? `${s.slice(0, keep)}…` : s);
}

export function loading() {
	return h('p', { class: 'loading' }, 'Loading…');
}

// The tenant a principal writes its name as (string or {slug}).
export function str(v) {
	if (v === null || v === undefined)
		return '';
	if (typeof v === 'object')
		return JSON.stringify(v);
	return String(v);
}

// A view's refresh loop: later(fn, ms) runs fn after ms unless the view has been left by then;
// alive() says whether it is still shown (an answer that comes back after leaving is dropped).
export function poller(ctx) {
	let timer = null;
	let alive = true;
	ctx.onCleanup(() => {
		alive = false;
		clearTimeout(timer);
	});
	return {
		alive: () => alive,
		later(fn, ms) {
			clearTimeout(timer);
			if (alive)
				timer = setTimeout(fn, ms);
		},
		cancel: () => clearTimeout(timer),
	};
}
