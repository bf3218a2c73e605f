// The audit log: who did what, when, with which request id, newest first.
// The API filters exactly (tenant slug, action, actor token id, request id, since); the page adds
// "contains" matching on the actor's name and the target, so a person can type part of a name.
import { h, replace } from '../dom.js';
import { guarded, loading, table, when, str } from '../ui.js';

const MAX_ROWS = 5000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function actorName(r) {
	const a = r.actor ?? '';
	if (a && typeof a === 'object')
		return String(a.name || a.token_id || '');
	return String(a);
}

function actorId(r) {
	return r.actor && typeof r.actor === 'object' ? String(r.actor.token_id || '') : '';
}

export function auditView(ctx) {
	const { api, view } = ctx;
	const admin = ctx.role === 'admin';
	const input = (id, placeholder, extra = {}) => h('input', { type: 'text', id, placeholder, spellcheck: 'false', ...extra });
	const actions = h('datalist', { id: 'audit-actions' });
	const fTenant = admin ? input('audit-tenant', 'any tenant (slug)') : null;
	const fAction = input('audit-action', 'e.g. deployment.create', { list: 'audit-actions' });
	const fActor = input('audit-actor', 'name or token id');
	const fTarget = input('audit-target', 'contains…');
	const fRequest = input('audit-request', 'request id');
	const fSince = h('input', { type: 'datetime-local', id: 'audit-since' });
	const count = h('p', { class: 'summary', id: 'audit-count' });
	const list = h('div', null, loading());

	const form = h('form', { class: 'card filters', id: 'audit-filters', onsubmit: (ev) => {
		ev.preventDefault();
		load();
	} },
	h('div', { class: 'row' },
		fTenant ? h('label', null, 'Tenant ', fTenant) : null,
		h('label', null, 'Action ', fAction), actions,
		h('label', null, 'Actor ', fActor),
		h('label', null, 'Target ', fTarget),
		h('label', null, 'Request ', fRequest),
		h('label', null, 'Since ', fSince),
		h('button', { type: 'submit', class: 'primary' }, 'Filter')));
	replace(view, h('div', { class: 'view-head' }, h('h1', null, 'Audit log')), form, count, list);

	async function load() {
		const actor = fActor.value.trim();
		const query = {
			order: 'desc',
			tenant: fTenant ? fTenant.value.trim() : undefined,
			action: fAction.value.trim(),
			actor: UUID.test(actor) ? actor : undefined,
			request_id: fRequest.value.trim(),
			since: fSince.value ? new Date(fSince.value).toISOString().replace(/\.\d+Z$/, 'Z') : undefined,
		};
		replace(list, loading());
		const rows = await guarded(() => api.list('/v1/audit', query, MAX_ROWS));
		if (!rows) {
			replace(list);
			return;
		}
		const nameFilter = UUID.test(actor) ? '' : actor.toLowerCase();
		const targetFilter = fTarget.value.trim().toLowerCase();
		const shown = rows.filter((r) => (!nameFilter || actorName(r).toLowerCase().includes(nameFilter))
			&& (!targetFilter || str(r.target).toLowerCase().includes(targetFilter)));
		if (!query.action)
			replace(actions, [...new Set(rows.map((r) => str(r.action)))].sort().map((a) => h('option', { value: a })));
		replace(count, `${shown.length} rows${rows.length >= MAX_ROWS ? ` (the newest ${MAX_ROWS} only: narrow the filters)` : ''}.`);
		replace(list, table([
			{ label: 'When', cell: (r) => when(r.at) },
			{ label: 'Actor', cell: (r) => h('span', { title: actorId(r) }, actorName(r)) },
			{ label: 'Tenant', cell: (r) => str(r.tenant) },
			{ label: 'Action', cell: (r) => h('code', null, str(r.action)) },
			{ label: 'Target', cell: (r) => str(r.target) },
			{ label: 'Request id', cell: (r) => h('code', { class: 'mono' }, str(r.request_id)) },
		], shown, { class: 'audit', empty: 'No audit rows match.' }));
	}

	load();
}
