// The fleet: one row per PoP, one column per tenant/module, each cell the version the PoP runs.
// Stale agents (no heartbeat for 3 heartbeat periods) are marked. Refreshes every few seconds.
import { h, replace } from '../dom.js';
import { badge, guarded, loading, poller, table, when } from '../ui.js';

const HEARTBEAT_SECONDS = 10;
const STALE_AFTER_MS = 3 * HEARTBEAT_SECONDS * 1000;
const REFRESH_MS = 5000;

// The field names below follow DESIGN.md's wording ("PoPs, with their agents, last heartbeat and
// running versions"); a few spellings are accepted so the page keeps working as the API grows.
function lastHeartbeat(pop) {
	let best = pop.last_heartbeat || pop.last_heartbeat_at || pop.last_seen_at || null;
	for (const a of Array.isArray(pop.agents) ? pop.agents : []) {
		const t = a.last_heartbeat || a.last_heartbeat_at || a.last_seen_at;
		if (t && (!best || Date.parse(t) > Date.parse(best)))
			best = t;
	}
	return best;
}

function isStale(pop) {
	if (pop.stale === true || pop.state === 'stale' || pop.status === 'stale')
		return true;
	const agents = Array.isArray(pop.agents) ? pop.agents : [];
	if (agents.length > 0 && agents.every((a) => a.stale === true || a.state === 'stale'))
		return true;
	const hb = lastHeartbeat(pop);
	return hb !== null && Date.now() - Date.parse(hb) > STALE_AFTER_MS;
}

function running(pop) {
	const list = pop.modules || pop.running || pop.versions || [];
	return Array.isArray(list) ? list : [];
}

function plural(n, word) {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function modKey(m) {
	return `${m.tenant || ''}/${m.module || m.name || ''}`;
}

export function fleetView(ctx) {
	const { api, view } = ctx;
	const body = h('div', { class: 'fleet-body' }, loading());
	replace(view,
		h('div', { class: 'view-head' },
			h('h1', null, 'Fleet'),
			h('p', { class: 'muted' }, 'PoPs × modules: the version each PoP runs. Refreshes every 5 s.')),
		body);

	const poll = poller(ctx);

	async function load() {
		const pops = await guarded(() => api.list('/v1/pops'));
		if (!poll.alive())
			return;
		if (pops !== undefined)
			render(pops);
		poll.later(load, REFRESH_MS);
	}

	function render(pops) {
		const cols = new Map();
		for (const pop of pops)
			for (const m of running(pop))
				if (!cols.has(modKey(m)))
					cols.set(modKey(m), m);
		const modCols = [...cols.keys()].sort().map((key) => ({
			label: h('span', { class: 'modcol' }, h('span', { class: 'muted' }, `${cols.get(key).tenant}/`), cols.get(key).module || cols.get(key).name),
			class: 'version-cell',
			cell: (pop) => {
				const m = running(pop).find((x) => modKey(x) === key);
				if (!m)
					return h('span', { class: 'muted' }, '—');
				const failed = m.state === 'failed';
				return h('span', { class: ['ver', failed ? 'ver-failed' : null], 'data-module': key, title: m.error ? String(m.error) : (m.state || '') },
					`v${m.version}`, failed ? ' ' : null, failed ? badge('failed') : null);
			},
		}));
		const columns = [
			{ label: 'PoP', cell: (pop) => h('strong', { class: 'pop-name' }, pop.name) },
			{ label: 'Region', cell: (pop) => pop.region || '' },
			{ label: 'Agent', cell: (pop) => {
				const agents = Array.isArray(pop.agents) ? pop.agents : [];
				const hb = lastHeartbeat(pop);
				if (!hb && agents.length === 0)
					return h('span', { class: 'muted' }, 'no agent');
				return isStale(pop) ? badge('stale') : badge('active');
			} },
			{ label: 'Last heartbeat', cell: (pop) => when(lastHeartbeat(pop)) },
			...modCols,
		];
		const up = pops.filter((x) => lastHeartbeat(x) && !isStale(x)).length;
		replace(body,
			h('p', { class: 'summary' }, `${plural(pops.length, 'PoP')}, ${up} reporting, ${pops.length - up} stale or without agent; ${plural(cols.size, 'module')}.`),
			table(columns, pops, {
				class: 'fleet',
				empty: 'No PoPs yet. An admin adds them with POST /v1/pops.',
				rowClass: (pop) => (isStale(pop) ? 'stale' : null),
				rowData: (pop) => ({ pop: pop.name }),
			}));
	}

	load();
}
