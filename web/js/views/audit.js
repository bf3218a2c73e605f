// The audit log: who did what, when, with which request id. Filters are sent to the API as
// query parameters and also applied to the rows shown, so a filter never shows a row it excludes.
import { h, replace } from '../dom.js';
import { guarded, loading, table, when, str } from '../ui.js';

const FIELDS = {
	at: (r) => r.at ?? r.created_at ?? r.time ?? null,
	actor: (r) => {
		const a = r.actor ?? r.actor_name ?? r.token_name ?? r.token_id ?? '';
		return typeof a === 'object' && a !== null ? (a.name || a.id || JSON.stringify(a)) : String(a);
	},
	tenant: (r) => str(r.tenant ?? ''),
	action: (r) => str(r.action ?? ''),
	target: (r) => str(r.target ?? r.resource ?? ''),
	request: (r) => str(r.request_id ?? ''),
};

export function auditView(ctx) {
	const { api, view } = ctx;
	const admin = ctx.role === 'admin';
	const input = (id, placeholder, value = '') => h('input', { type: 'text', id, placeholder, value, spellcheck: 'false' });
	const fTenant = admin ? input('audit-tenant', 'any tenant') : null;
	const fAction = input('audit-action', 'e.g. deployment.create');
	const fActor = input('audit-actor', 'token name or id');
	const fTarget = input('audit-target', 'contains…');
	const fSince = h('input', { type: 'datetime-local', id: 'audit-since' });
	const list = h('div', null, loading());
	const more = h('button', { type: 'button', id: 'audit-more', hidden: true }, 'Load more');

	let rows = [];
	let cursor = null;
	let query = {};

	const form = h('form', { class: 'card filters', id: 'audit-filters', onsubmit: (ev) => {
		ev.preventDefault();
		reload();
	} },
	h('div', { class: 'row' },
		fTenant ? h('label', null, 'Tenant ', fTenant) : null,
		h('label', null, 'Action ', fAction),
		h('label', null, 'Actor ', fActor),
		h('label', null, 'Target ', fTarget),
		h('label', null, 'Since ', fSince),
		h('button', { type: 'submit', class: 'primary' }, 'Filter')));
	replace(view, h('div', { class: 'view-head' }, h('h1', null, 'Audit log')), form, list, more);

	function matches(r) {
		const has = (val, f) => !f || val.toLowerCase().includes(f.toLowerCase());
		if (fTenant && !has(FIELDS.tenant(r), fTenant.value.trim()))
			return false;
		if (!has(FIELDS.action(r), fAction.value.trim()) || !has(FIELDS.actor(r), fActor.value.trim())
			|| !has(FIELDS.target(r), fTarget.value.trim()))
			return false;
		if (fSince.value) {
			const at = Date.parse(FIELDS.at(r) || '');
			if (!Number.isNaN(at) && at < new Date(fSince.value).getTime())
				return false;
		}
		return true;
	}

	function render() {
		const shown = rows.filter(matches);
		replace(list, table([
			{ label: 'When', cell: (r) => when(FIELDS.at(r)) },
			{ label: 'Actor', cell: (r) => FIELDS.actor(r) },
			{ label: 'Tenant', cell: (r) => FIELDS.tenant(r) },
			{ label: 'Action', cell: (r) => h('code', null, FIELDS.action(r)) },
			{ label: 'Target', cell: (r) => FIELDS.target(r) },
			{ label: 'Request id', cell: (r) => h('code', { class: 'mono' }, FIELDS.request(r)) },
		], shown, { class: 'audit', empty: 'No audit rows match.' }));
		more.hidden = !cursor;
	}

	async function page() {
		const res = await guarded(() => api.get('/v1/audit', { ...query, limit: 100, cursor }));
		if (!res)
			return;
		rows = rows.concat(Array.isArray(res.items) ? res.items : []);
		cursor = res.next_cursor || null;
		render();
	}

	function reload() {
		rows = [];
		cursor = null;
		query = {
			tenant: fTenant ? fTenant.value.trim() : undefined,
			action: fAction.value.trim(),
			actor: fActor.value.trim(),
			since: fSince.value ? new Date(fSince.value).toISOString() : undefined,
		};
		replace(list, loading());
		page();
	}

	more.addEventListener('click', page);
	reload();
}
