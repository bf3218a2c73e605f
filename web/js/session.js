// Sign-in: the API token lives in sessionStorage only (gone when the tab closes; never in a URL,
// a cookie or localStorage). The role is learnt from the API itself, since there is no
// "who am I" endpoint: GET /v1/tenants answers only admins; a tenant-scoped token is tried on its
// tenant, and a write that cannot succeed (a module without a name) tells a deployer (validation
// error) from a reader (403) without changing anything.
import { Api, ApiError, p } from './api.js';

const KEY_TOKEN = 'edgeplane.token';
const KEY_TENANT = 'edgeplane.tenant';
const KEY_ROLE = 'edgeplane.role';

export function saved() {
	const token = sessionStorage.getItem(KEY_TOKEN);
	if (!token)
		return null;
	return { token, tenant: sessionStorage.getItem(KEY_TENANT) || '', role: sessionStorage.getItem(KEY_ROLE) || '' };
}

export function save(s) {
	sessionStorage.setItem(KEY_TOKEN, s.token);
	sessionStorage.setItem(KEY_ROLE, s.role);
	if (s.tenant)
		sessionStorage.setItem(KEY_TENANT, s.tenant);
	else
		sessionStorage.removeItem(KEY_TENANT);
}

export function clear() {
	sessionStorage.removeItem(KEY_TOKEN);
	sessionStorage.removeItem(KEY_TENANT);
	sessionStorage.removeItem(KEY_ROLE);
}

// Works out what the token may do. Returns {token, role, tenant, tenants}; throws ApiError with
// a detail a person can act on.
export async function identify(token, tenantHint) {
	const api = new Api(token);
	try {
		const tenants = await api.list('/v1/tenants', {}, 5000);
		return { token, role: 'admin', tenant: '', tenants };
	} catch (e) {
		if (!(e instanceof ApiError))
			throw e;
		if (e.status === 401)
			throw new ApiError(401, { title: 'Sign-in failed', detail: 'The control plane does not accept this token (unknown, revoked or expired).' }, e.requestId);
		if (e.status !== 403 && e.status !== 404)
			throw e;
	}
	const tenant = (tenantHint || '').trim() || await discoverTenant(api);
	if (!tenant)
		throw new ApiError(400, { title: 'Tenant needed', detail: 'This token belongs to one tenant: type the tenant slug next to the token.' });
	try {
		await api.get(p('v1', 'tenants', tenant, 'modules'), { limit: 1 });
	} catch (e) {
		if (e instanceof ApiError && e.status === 404)
			throw new ApiError(404, { title: 'Unknown tenant', detail: `This token has no tenant named "${tenant}".` }, e.requestId);
		if (e instanceof ApiError && e.status === 403)
			throw new ApiError(403, { title: 'Not a dashboard token', detail: 'This token cannot read modules (an agent token?). Use an admin, deployer or reader token.' }, e.requestId);
		throw e;
	}
	let role = 'reader';
	try {
		await api.post(p('v1', 'tenants', tenant, 'modules'), {}, { noAuthHook: true });
		role = 'deployer'; // cannot happen (no name), but a success is a write right too
	} catch (e) {
		if (!(e instanceof ApiError) || e.status === 0)
			throw e;
		role = e.status === 403 || e.status === 401 ? 'reader' : 'deployer';
	}
	return { token, role, tenant, tenants: [] };
}

// A tenant-scoped token's tenant, when the audit log or the fleet names it.
async function discoverTenant(api) {
	for (const [path, pick] of [
		['/v1/audit', (it) => it.tenant],
		['/v1/pops', (it) => (Array.isArray(it.modules) && it.modules[0] ? it.modules[0].tenant : null)],
	]) {
		try {
			const page = await api.get(path, { limit: 20 });
			for (const it of (page && page.items) || []) {
				const t = pick(it);
				if (typeof t === 'string' && t)
					return t;
			}
		} catch {
			// not readable by this role: try the next source
		}
	}
	return '';
}
