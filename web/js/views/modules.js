// A tenant's modules, and one module's versions (digest, size, signing key id, label, when and by
// whom), with a module rollback for deployers and admins.
import { h, replace, route } from '../dom.js';
import { p } from '../api.js';
import { bytes, confirmAction, guarded, loading, mono, table, when } from '../ui.js';

export function modulesView(ctx) {
	const { api, view, tenant } = ctx;
	const list = h('div', null, loading());
	replace(view, h('div', { class: 'view-head' }, h('h1', null, 'Modules'), h('p', { class: 'muted' }, `Tenant ${tenant}`)), list);
	guarded(async () => {
		const mods = await api.list(p('v1', 'tenants', tenant, 'modules'));
		mods.sort((a, b) => String(a.name).localeCompare(String(b.name)));
		replace(list, table([
			{ label: 'Module', cell: (m) => h('a', { href: route('t', tenant, 'modules', m.name), class: 'module-link' }, m.name) },
			{ label: 'Latest version', cell: (m) => (m.latest_version ? `v${m.latest_version}` : '') },
			{ label: 'Created', cell: (m) => when(m.created_at) },
		], mods, { empty: 'No modules yet.', rowData: (m) => ({ module: m.name }) }));
	});
}

export function moduleView(ctx) {
	const { api, view, tenant, id: name } = ctx;
	const list = h('div', null, loading());
	const rollbackBox = ctx.canAct ? rollbackForm(ctx, name) : null;
	replace(view,
		h('div', { class: 'view-head' },
			h('h1', null, 'Module ', h('span', { id: 'module-name' }, name)),
			h('a', { href: route('t', tenant, 'modules') }, '← all modules')),
		rollbackBox,
		h('h2', null, 'Versions'),
		list);
	guarded(async () => {
		const vs = await api.list(p('v1', 'tenants', tenant, 'modules', name, 'versions'));
		vs.sort((a, b) => b.version - a.version);
		replace(list, table([
			{ label: 'Version', cell: (v) => h('strong', null, `v${v.version}`) },
			{ label: 'Label', cell: (v) => v.label ?? '' },
			{ label: 'Digest', cell: (v) => mono(v.digest, 19) },
			{ label: 'Size', cell: (v) => bytes(v.size) },
			{ label: 'Key id', cell: (v) => mono(v.key_id ?? v.manifest?.key_id, 16) },
			{ label: 'Uploaded', cell: (v) => when(v.created_at ?? v.manifest?.created_at) },
			{ label: 'By', cell: (v) => v.created_by ?? '' },
		], vs, { class: 'versions', empty: 'No versions uploaded.', rowData: (v) => ({ version: v.version }) }));
	});
}

function rollbackForm(ctx, name) {
	const { api, tenant } = ctx;
	const to = h('input', { type: 'number', min: 1, id: 'rb-version', placeholder: 'previous' });
	const strat = h('select', { id: 'rb-strategy' },
		h('option', { value: 'immediate' }, 'immediate'), h('option', { value: 'canary' }, 'canary'));
	const form = h('form', { class: 'card rollback', onsubmit: async (ev) => {
		ev.preventDefault();
		const body = { strategy: strat.value };
		if (to.value)
			body.to_version = Number(to.value);
		const ok = await confirmAction('Roll back module',
			`Start a deployment of ${name} back to ${body.to_version ? `v${body.to_version}` : 'the version it ran before its latest successful deployment'}.`,
			[['Module', name], ['Back to', body.to_version ? `v${body.to_version}` : 'previous version'], ['Strategy', body.strategy]],
			'Roll back');
		if (!ok)
			return;
		const d = await guarded(() => api.post(p('v1', 'tenants', tenant, 'modules', name, 'rollback'), body));
		if (d && d.id)
			ctx.go(route('t', tenant, 'deployments', d.id));
	} },
	h('h2', null, 'Roll back'),
	h('div', { class: 'row' },
		h('label', null, 'To version ', to),
		h('label', null, 'Strategy ', strat),
		h('button', { type: 'submit', class: 'danger', id: 'rb-start' }, 'Roll back…')));
	return form;
}
