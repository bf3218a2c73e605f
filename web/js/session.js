// Sign-in: the API token lives in sessionStorage only (gone when the tab closes; never in a URL,
// a cookie or localStorage). What the token may do comes from the API itself: GET /v1/whoami
// names its role and tenant.
import { Api, ApiError } from './api.js';

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
// a detail a person can act on. tenantHint (the optional form field) must match a tenant
// token's own tenant.
export async function identify(token, tenantHint) {
	const api = new Api(token);
	let me;
	try {
		me = await api.get('/v1/whoami', {}, { noAuthHook: true });
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			throw new ApiError(401, { title: 'Sign-in failed', detail: 'The control plane does not accept this token (unknown, revoked or expired).' }, e.requestId);
		throw e;
	}
	const role = me && me.role;
	if (role === 'admin') {
		const tenants = await api.list('/v1/tenants', {}, 5000);
		return { token, role, tenant: '', tenants };
	}
	if (role === 'agent')
		throw new ApiError(403, { title: 'Not a dashboard token', detail: `This is the agent token of PoP "${me.pop || '?'}". Use an admin, deployer or reader token.` });
	if (role !== 'deployer' && role !== 'reader' || typeof me.tenant !== 'string' || !me.tenant)
		throw new ApiError(0, { title: 'Unexpected answer', detail: 'GET /v1/whoami did not name a role and tenant.' });
	const hint = (tenantHint || '').trim();
	if (hint && hint !== me.tenant)
		throw new ApiError(404, { title: 'Unknown tenant', detail: `This token has no tenant named "${hint}" (it belongs to "${me.tenant}").` });
	return { token, role, tenant: me.tenant, tenants: [] };
}
