// hubgate bench peer: RS256 JWT verification in njs (WebCrypto).
//
// Used by bench/run.sh as the "njs" peer of hubgate_jwt: a js_content
// handler that answers 200 "ok\n" for a valid bearer token and 401/403
// otherwise, doing what an operator would write by hand with njs:
// parse the compact token, check the header alg, verify the RS256
// signature with crypto.subtle, check exp and the tenant claim.
//
// The public key comes from bench_key.js, which run.sh writes next to a
// copy of this file: `export default "<base64 SPKI DER>";`.  The SPKI is
// decoded once, at configuration time; the CryptoKey has to be imported
// per request, because njs (0.7) runs each request in a fresh clone of
// the VM and imported keys are promises, not values of the top level.

import spkiB64 from 'bench_key.js';

const spki = Buffer.from(spkiB64, 'base64');
const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

function deny(r, status, err) {
    r.headersOut['WWW-Authenticate'] =
        'Bearer realm="bench", error="' + err + '"';
    r.return(status);
}

async function verify(r) {
    const auth = r.headersIn['Authorization'];

    if (!auth || auth.slice(0, 7) !== 'Bearer ') {
        r.headersOut['WWW-Authenticate'] = 'Bearer realm="bench"';
        r.return(401);
        return;
    }

    const token = auth.slice(7);
    const parts = token.split('.');

    if (parts.length !== 3) {
        deny(r, 401, 'invalid_token');
        return;
    }

    let header, claims;

    try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch (e) {
        deny(r, 401, 'invalid_token');
        return;
    }

    if (header.alg !== 'RS256') {
        deny(r, 401, 'invalid_token');
        return;
    }

    let ok;

    try {
        const key = await crypto.subtle.importKey('spki', spki, alg, false,
                                                  ['verify']);
        ok = await crypto.subtle.verify(alg, key,
                                        Buffer.from(parts[2], 'base64url'),
                                        Buffer.from(parts[0] + '.' + parts[1]));
    } catch (e) {
        r.error('bench verify: ' + e);
        r.return(500);
        return;
    }

    if (!ok) {
        deny(r, 401, 'invalid_token');
        return;
    }

    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) {
        deny(r, 401, 'invalid_token');
        return;
    }

    if (typeof claims.tid !== 'string' || claims.tid.length === 0) {
        deny(r, 403, 'insufficient_scope');
        return;
    }

    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, 'ok\n');
}

export default { verify };
