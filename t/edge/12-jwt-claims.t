#!/usr/bin/perl

# hubgate_jwt claim rules and what a valid token exposes: issuer, audience
# (string, array, several configured), leeway, tenant and roles claims (and
# the X-Hubgate-* headers the backend sees), hubgate_jwt_require (403
# insufficient_scope, or 401 with error=401), the variables $jwt_claim_*,
# $jwt_header_*, $hubgate_subject, $hubgate_tenant, $hubgate_roles and
# $hubgate_jwt_error (in headers and the access log), and inheritance:
# http -> server -> location, hubgate_jwt off in a nested location.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(89);

my $rsa = $t->keygen(type => 'rsa', name => 'rsa');
$t->write_file('jwks.json', $t->jwks($t->jwk($rsa, kid => 'k1')));

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    # inherited by every server and location below
    hubgate_jwt_key_file %%TESTDIR%%/jwks.json;

    log_format hg 'uri=$uri status=$status err=[$hubgate_jwt_error] '
                  'sub=[$hubgate_subject] plan=[$jwt_claim_plan]';

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        access_log %%TESTDIR%%/jwt.log hg;

        # every location below requires a JWT unless it says otherwise
        hubgate_jwt api;

        location /inherit/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /open/ {
            hubgate_jwt off;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /nested/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;

            location /nested/public/ {
                hubgate_jwt off;
                proxy_pass http://127.0.0.1:%%PORT_8081%%;
            }

            location /nested/private/ {
                proxy_pass http://127.0.0.1:%%PORT_8081%%;
            }
        }

        location /realm/ {
            hubgate_jwt other;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /iss/ {
            hubgate_jwt_issuer https://id.example.com/;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /aud/ {
            hubgate_jwt_audience hubgate;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /auds/ {
            hubgate_jwt_audience a;
            hubgate_jwt_audience b;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /leeway30/ {
            hubgate_jwt_leeway 30s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /leeway10/ {
            hubgate_jwt_leeway 10s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /tenant/ {
            hubgate_jwt_tenant_claim org;
            add_header X-Tenant $hubgate_tenant;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /roles/ {
            hubgate_jwt_roles_claim perms;
            add_header X-Roles $hubgate_roles;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /admin/ {
            hubgate_jwt_require $jwt_claim_admin;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /admin401/ {
            hubgate_jwt_require $jwt_claim_admin error=401;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /multi/ {
            hubgate_jwt_require $jwt_claim_admin $jwt_claim_plan;
            hubgate_jwt_require $hubgate_tenant;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /vars/ {
            proxy_set_header X-Plan $jwt_claim_plan;
            proxy_set_header X-Kid $jwt_header_kid;
            proxy_set_header X-Alg $jwt_header_alg;
            proxy_set_header X-Sub $hubgate_subject;
            proxy_set_header X-Err "[$hubgate_jwt_error]";
            proxy_set_header X-N $jwt_claim_n;
            proxy_set_header X-Obj $jwt_claim_obj;
            proxy_set_header X-Arr $jwt_claim_arr;
            proxy_set_header X-Flag $jwt_claim_flag;
            proxy_set_header X-Absent "[$jwt_claim_nothing]";

            add_header X-Err "[$hubgate_jwt_error]" always;
            add_header X-Plan $jwt_claim_plan always;
            add_header X-Sub $hubgate_subject always;
            add_header X-Kid $jwt_header_kid always;

            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }

    # claim rules set at server level, inherited or overridden
    server {
        listen 127.0.0.1:%%PORT_8082%%;
        server_name localhost;

        hubgate_jwt srv;
        hubgate_jwt_issuer https://id.example.com/;
        hubgate_jwt_audience hubgate;
        hubgate_jwt_tenant_claim org;
        hubgate_jwt_require $jwt_claim_admin;

        location /a/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /b/ {
            hubgate_jwt_issuer https://other.example.com/;
            hubgate_jwt_require $jwt_claim_plan;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /c/ {
            hubgate_jwt off;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

my $now = time;

sub tok {
    my (%add) = @_;

    return $t->token(key => $rsa, kid => 'k1', add => \%add);
}

sub req {
    my ($uri, $tok, %opts) = @_;

    return $t->request(GET => $uri, %opts, headers => [
        (defined $tok ? (Authorization => "Bearer $tok") : ()),
        @{ $opts{headers} || [] } ]);
}

sub outcome {
    my ($r) = @_;

    return ($r->status // 'none') . ' '
        . ($r->header('WWW-Authenticate') // '-');
}

sub bad {
    my ($reason, $realm) = @_;

    return '401 Bearer realm="' . ($realm // 'api') . '", '
        . "error=\"invalid_token\", error_description=\"$reason\"";
}

# what the backend saw of one header (all values joined by "|"), or "-"

sub seen {
    my ($r, $name) = @_;

    return "status " . $r->status if $r->status != 200;

    my $v = $r->json->{headers}{ lc $name } or return '-';

    return join '|', @$v;
}

my $OK = '200 -';

# issuer

is(outcome(req('/iss/1', tok(iss => 'https://id.example.com/'))), $OK,
    'issuer matches');
is(outcome(req('/iss/2', tok(iss => 'https://evil.example.com/'))),
    bad('bad_issuer'), 'issuer mismatch: bad_issuer');
is(outcome(req('/iss/3', tok(iss => 'https://id.example.com'))),
    bad('bad_issuer'), 'issuer without the trailing slash: bad_issuer');
is(outcome(req('/iss/4', tok())), bad('bad_issuer'),
    'issuer missing: bad_issuer');
is(outcome(req('/iss/5', tok(iss => 42))), bad('bad_claim_type'),
    'issuer not a string: bad_claim_type');
is(outcome(req('/inherit/iss', tok(iss => 'https://evil.example.com/'))),
    $OK, 'no hubgate_jwt_issuer: any issuer');

# audience

is(outcome(req('/aud/1', tok(aud => 'hubgate'))), $OK, 'aud string matches');
is(outcome(req('/aud/2', tok(aud => [ 'x', 'hubgate', 'y' ]))), $OK,
    'aud array containing it');
is(outcome(req('/aud/3', tok(aud => 'other'))), bad('bad_audience'),
    'aud string mismatch: bad_audience');
is(outcome(req('/aud/4', tok(aud => [ 'x', 'y' ]))), bad('bad_audience'),
    'aud array without it: bad_audience');
is(outcome(req('/aud/5', tok(aud => []))), bad('bad_audience'),
    'aud empty array: bad_audience');
is(outcome(req('/aud/6', tok())), bad('bad_audience'),
    'aud missing: bad_audience');
is(outcome(req('/aud/7', tok(aud => 'hubgatex'))), bad('bad_audience'),
    'aud with a suffix: bad_audience');
is(outcome(req('/aud/8', tok(aud => [ 'hubgate', 1 ]))),
    bad('bad_claim_type'), 'aud array with a number: bad_claim_type');
is(outcome(req('/auds/1', tok(aud => 'a'))), $OK,
    'several audiences configured: the first matches');
is(outcome(req('/auds/2', tok(aud => 'b'))), $OK,
    'several audiences configured: the second matches');
is(outcome(req('/auds/3', tok(aud => [ 'c', 'b' ]))), $OK,
    'several audiences configured, array in the token');
is(outcome(req('/auds/4', tok(aud => 'c'))), bad('bad_audience'),
    'several audiences configured, none matches: bad_audience');

# leeway (times taken now, not at the start: ASan runs are slow)

$now = time;

is(outcome(req('/leeway30/1', tok(exp => $now - 20))), $OK,
    'expired 20 s ago, leeway 30s: passes');
is(outcome(req('/leeway10/1', tok(exp => $now - 20))), bad('expired'),
    'expired 20 s ago, leeway 10s: expired');
is(outcome(req('/inherit/lw', tok(exp => $now - 20))), bad('expired'),
    'expired 20 s ago, no leeway: expired');
is(outcome(req('/leeway30/2', tok(nbf => $now + 20))), $OK,
    'nbf 20 s ahead, leeway 30s: passes');
is(outcome(req('/leeway10/2', tok(nbf => $now + 20))), bad('not_yet_valid'),
    'nbf 20 s ahead, leeway 10s: not_yet_valid');
is(outcome(req('/leeway30/3', tok(iat => $now + 20))), $OK,
    'iat 20 s ahead, leeway 30s: passes');

# tenant claim

my $r = req('/tenant/1', tok(org => 'acme'),
    headers => [ 'X-Hubgate-Tenant' => 'evil' ]);
is(seen($r, 'X-Hubgate-Tenant'), 'acme',
    'tenant claim org: the backend sees X-Hubgate-Tenant: acme only');
is($r->header('X-Tenant'), 'acme', '$hubgate_tenant is acme');

$r = req('/tenant/2', tok(org => 42));
is(seen($r, 'X-Hubgate-Tenant'), '42', 'a numeric tenant claim as text');

$r = req('/tenant/3', tok(), headers => [ 'X-Hubgate-Tenant' => 'evil' ]);
is(seen($r, 'X-Hubgate-Tenant'), '-',
    'no org claim (tid is not looked at): no X-Hubgate-Tenant at all');

$r = req('/inherit/tenant', tok(tid => 'tenant-7'));
is(seen($r, 'X-Hubgate-Tenant'), 'tenant-7', 'the default tenant claim: tid');
is(seen($r, 'X-Hubgate-Subject'), 'u1', 'X-Hubgate-Subject from sub');

# roles claim

$r = req('/roles/1', tok(perms => [ 'read', 'write' ], roles => 'x'));
is(seen($r, 'X-Hubgate-Roles'), 'read,write',
    'roles claim perms: an array joined by commas');
is($r->header('X-Roles'), 'read,write', '$hubgate_roles');

$r = req('/roles/2', tok(perms => 'solo'));
is(seen($r, 'X-Hubgate-Roles'), 'solo', 'roles claim as a string');

$r = req('/inherit/roles', tok(roles => [ 'a', 'b', 'c' ]));
is(seen($r, 'X-Hubgate-Roles'), 'a,b,c', 'the default roles claim: roles');

$r = req('/inherit/noroles', tok(), headers => [
    'X-Hubgate-Roles' => 'admin', 'x-hubgate-subject' => 'root' ]);
is(seen($r, 'X-Hubgate-Roles') . ' ' . seen($r, 'X-Hubgate-Subject'),
    '- u1', 'no roles claim: no X-Hubgate-Roles; spoofed ones removed');

# hubgate_jwt_require

my $SCOPE = '403 Bearer realm="api", error="insufficient_scope"';

is(outcome(req('/admin/1', tok(admin => JSON::PP::true))), $OK,
    'require $jwt_claim_admin: true passes');
is(outcome(req('/admin/2', tok(admin => 'yes'))), $OK,
    'require: a non-empty string passes');
is(outcome(req('/admin/3', tok(admin => 1))), $OK, 'require: 1 passes');
is(outcome(req('/admin/4', tok(admin => JSON::PP::false))), $SCOPE,
    'require: false -> 403 insufficient_scope');
is(outcome(req('/admin/5', tok(admin => 0))), $SCOPE, 'require: 0 -> 403');
is(outcome(req('/admin/6', tok(admin => '0'))), $SCOPE,
    'require: "0" -> 403');
is(outcome(req('/admin/7', tok(admin => ''))), $SCOPE,
    'require: "" -> 403');
is(outcome(req('/admin/8', tok())), $SCOPE, 'require: missing -> 403');
is(outcome(req('/admin/9', tok(admin => JSON::PP::true, exp => $now - 60))),
    bad('expired'), 'require after validation: an expired token is 401');
is(outcome(req('/admin/10', undef)), '401 Bearer realm="api"',
    'require: no token is still 401 without an error');

is(outcome(req('/admin401/1', tok(admin => JSON::PP::true))), $OK,
    'require error=401: true passes');
is(outcome(req('/admin401/2', tok(admin => JSON::PP::false))),
    '401 Bearer realm="api", error="invalid_token"',
    'require error=401: false -> 401 invalid_token');
is(outcome(req('/admin401/3', tok())),
    '401 Bearer realm="api", error="invalid_token"',
    'require error=401: missing -> 401 invalid_token');

is(outcome(req('/multi/1', tok(admin => JSON::PP::true, plan => 'pro'))),
    $OK, 'two values and two directives: all set passes');
is(outcome(req('/multi/2', tok(admin => JSON::PP::true))), $SCOPE,
    'two values: the second missing -> 403');
is(outcome(req('/multi/3', tok(admin => JSON::PP::true, plan => 'pro',
    tid => undef))), $SCOPE, 'second directive: no tenant -> 403');

# variables, for a valid token

$r = req('/vars/ok', $t->token(key => $rsa, kid => 'k1', claims => {
    tid => 't1', sub => 'user-9', exp => $now + 3600, plan => 'pro',
    n => 42, obj => { a => [ 1, 2 ] }, arr => [ 'x', 1, JSON::PP::true ],
    flag => JSON::PP::true }));

is($r->status, 200, 'vars: valid token passes');
is(join(' ', map { seen($r, $_) } qw(X-Plan X-Kid X-Alg X-Sub X-Err)),
    'pro k1 RS256 user-9 []',
    '$jwt_claim_plan $jwt_header_kid $jwt_header_alg $hubgate_subject'
    . ' $hubgate_jwt_error (empty) seen by the backend');
is(seen($r, 'X-N'), '42', 'a number claim');
is(seen($r, 'X-Obj'), '{"a":[1,2]}', 'an object claim as compact JSON');
is(seen($r, 'X-Arr'), 'x,1,true', 'an array claim joined by commas');
is(seen($r, 'X-Flag'), 'true', 'a boolean claim');
is(seen($r, 'X-Absent'), '[]', 'an absent claim is empty');
is(join(' ', map { $r->header($_) // '-' } qw(X-Err X-Plan X-Sub X-Kid)),
    '[] pro user-9 k1', 'the same variables in add_header');

# variables, for a bad token: no claims, the reason

$r = req('/vars/expired', tok(plan => 'pro', exp => $now - 60));
is(outcome($r), bad('expired'), 'vars: expired token refused');
is(join(' ', map { $r->header($_) // '-' } qw(X-Err X-Plan X-Sub X-Kid)),
    '[expired] - - -',
    'on a 401: $hubgate_jwt_error is the reason, no claim is exposed');

$r = req('/vars/sig', $t->token(key => scalar $t->keygen(type => 'rsa'),
    kid => 'k1', add => { plan => 'pro' }));
is(join(' ', $r->status, map { $r->header($_) // '-' } qw(X-Err X-Plan)),
    '401 [bad_signature] -', 'a forged token exposes no claim');

$r = req('/vars/missing', undef);
is(join(' ', $r->status, $r->header('X-Err') // '-'), '401 [missing]',
    '$hubgate_jwt_error without a token: missing');

$r = req('/vars/malformed', undef, headers => [ Authorization => 'Bearer' ]);
is(join(' ', $r->status, $r->header('X-Err') // '-'), '400 [malformed]',
    '$hubgate_jwt_error for a malformed bearer value: malformed');

# inheritance in the first server

is(outcome(req('/inherit/1', undef)), '401 Bearer realm="api"',
    'hubgate_jwt from the server level: no token is 401');
is(outcome(req('/inherit/2', tok())), $OK,
    'key file from the http level: a valid token passes');
is(outcome(req('/open/1', undef)), $OK, 'hubgate_jwt off: no token needed');

$r = req('/open/2', undef, headers => [ 'X-Hubgate-Tenant' => 'evil' ]);
is(seen($r, 'X-Hubgate-Tenant'), '-',
    'hubgate_jwt off still removes client-sent X-Hubgate-* headers');

is(outcome(req('/nested/1', undef)), '401 Bearer realm="api"',
    'outer location: 401');
is(outcome(req('/nested/public/1', undef)), $OK,
    'nested location with hubgate_jwt off: no token needed');
is(outcome(req('/nested/private/1', undef)), '401 Bearer realm="api"',
    'nested location without its own hubgate_jwt: inherits, 401');
is(outcome(req('/nested/private/2', tok())), $OK,
    'nested location: a valid token passes');
is(outcome(req('/realm/1', undef)), '401 Bearer realm="other"',
    'a location realm replaces the server one');
is(outcome(req('/realm/2', tok(exp => $now - 1))), bad('expired', 'other'),
    'its realm in invalid_token too');

# inheritance in the second server (claim rules at server level)

my %srv = (iss => 'https://id.example.com/', aud => 'hubgate',
    admin => JSON::PP::true, org => 'acme');
my $p = 8082;

$r = req('/a/1', tok(%srv), port => $p);
is(outcome($r) . ' ' . seen($r, 'X-Hubgate-Tenant'), '200 - acme',
    'server-level issuer, audience, tenant claim and require inherited');
is(outcome(req('/a/2', tok(%srv, iss => 'https://other.example.com/'),
    port => $p)), bad('bad_issuer', 'srv'), 'inherited issuer: mismatch');
is(outcome(req('/a/3', tok(%srv, aud => 'x'), port => $p)),
    bad('bad_audience', 'srv'), 'inherited audience: mismatch');
is(outcome(req('/a/4', tok(%srv, admin => undef), port => $p)),
    '403 Bearer realm="srv", error="insufficient_scope"',
    'inherited require: 403');
is(outcome(req('/b/1', tok(%srv, iss => 'https://other.example.com/',
    admin => undef, plan => 'pro'), port => $p)), $OK,
    'location issuer and require replace the server ones');
is(outcome(req('/b/2', tok(%srv, plan => 'pro'), port => $p)),
    bad('bad_issuer', 'srv'), 'the server issuer no longer applies there');
is(outcome(req('/b/3', tok(%srv, iss => 'https://other.example.com/'),
    port => $p)), '403 Bearer realm="srv", error="insufficient_scope"',
    'the location require applies there');
is(outcome(req('/c/1', undef, port => $p)), $OK,
    'hubgate_jwt off under server-level rules');

# $hubgate_jwt_error and the claims in the access log

my @want = (
    'uri=/vars/ok status=200 err=[] sub=[user-9] plan=[pro]',
    'uri=/vars/expired status=401 err=[expired] sub=[-] plan=[-]',
    'uri=/vars/sig status=401 err=[bad_signature] sub=[-] plan=[-]',
    'uri=/vars/missing status=401 err=[missing] sub=[-] plan=[-]',
    'uri=/vars/malformed status=400 err=[malformed] sub=[-] plan=[-]',
    'uri=/admin/4 status=403 err=[] sub=[u1] plan=[-]',
    'uri=/open/1 status=200 err=[-] sub=[-] plan=[-]',
);

my %log;
$t->wait_for(sub {
    %log = map { /^(uri=\S+)/ ? ($1 => $_) : () }
        split /\n/, $t->read_file('jwt.log') // '';
    return !grep { !$log{ (split ' ', $_)[0] } } @want;
});

for my $w (@want) {
    my ($uri) = split ' ', $w;
    is($log{$uri}, $w, "access log: $uri");
}
