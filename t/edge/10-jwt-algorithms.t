#!/usr/bin/perl

# hubgate_jwt: a valid token of every algorithm passes where it is enabled.
# HS256/384/512, RS256/384/512, PS256/384/512 and ES256 by default; ES384,
# ES512 and EdDSA (Ed25519, Ed448) only when named in
# hubgate_jwt_algorithms, and refused with bad_alg otherwise.  Keys from a
# JWKS file (tokens carry a kid) and from a PEM file (no kid); each key is
# bound to its algorithm and type (RFC 8725 3.1); algorithm names in the
# configuration are case-sensitive and "none" can never be enabled.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(49);

# keys: HMAC secrets as long as each hash, one RSA key for RS* and PS*, one
# key per curve

my %key;
$key{hs256} = $t->keygen(type => 'hmac', name => 'hs256', bytes => 32);
$key{hs384} = $t->keygen(type => 'hmac', name => 'hs384', bytes => 48);
$key{hs512} = $t->keygen(type => 'hmac', name => 'hs512', bytes => 64);
$key{rsa} = $t->keygen(type => 'rsa', name => 'rsa');
$key{ec256} = $t->keygen(type => 'ec256', name => 'ec256');
$key{ec384} = $t->keygen(type => 'ec384', name => 'ec384');
$key{ec521} = $t->keygen(type => 'ec521', name => 'ec521');
$key{ed25519} = $t->keygen(type => 'ed25519', name => 'ed25519');
$key{ed448} = $t->keygen(type => 'ed448', name => 'ed448');

$t->write_file('jwks.json', $t->jwks(
    (map { $t->jwk($key{$_}, kid => $_) }
     qw(hs256 hs384 hs512 rsa ec256 ec384 ec521 ed25519 ed448)),
    # the same RSA key pinned to RS256 by its JWK "alg"
    $t->jwk($key{rsa}, kid => 'rsa-pinned', alg => 'RS256'),
));

# one PEM file holding every public key: no kid anywhere
$t->write_file('keys.pem', join '',
    map { $t->read_file("$_.pub.pem") }
    qw(rsa ec256 ec384 ec521 ed25519 ed448));

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        # the default allowlist
        location /default/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # every algorithm named
        location /all/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_algorithms HS256 HS384 HS512 RS256 RS384 RS512
                                   PS256 PS384 PS512 ES256 ES384 ES512
                                   EdDSA;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # only the extra ones
        location /extra/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_algorithms ES384 ES512 EdDSA;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # PEM keys, no kid
        location /pem/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/keys.pem;
            hubgate_jwt_algorithms RS256 RS384 RS512 PS256 PS384 PS512
                                   ES256 ES384 ES512 EdDSA;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

my %signer = (
    HS256 => 'hs256', HS384 => 'hs384', HS512 => 'hs512',
    RS256 => 'rsa', RS384 => 'rsa', RS512 => 'rsa',
    PS256 => 'rsa', PS384 => 'rsa', PS512 => 'rsa',
    ES256 => 'ec256', ES384 => 'ec384', ES512 => 'ec521',
);

my @default = qw(HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512
    ES256);

# token for an algorithm (EdDSA-Ed25519 and EdDSA-Ed448 name the curve)

sub tok {
    my ($name, %opts) = @_;

    my ($alg, $k) = $name =~ /^EdDSA-(Ed\d+)$/
        ? ('EdDSA', lc $1) : ($name, $signer{$name});
    my $kid = exists $opts{kid} ? $opts{kid} : $k;

    return $t->token(key => $key{$k}, alg => $alg,
        (defined $kid ? (kid => $kid) : ()),
        add => { sub => "sub-$name" });
}

# "status www-authenticate" (or "status -" without one)

sub get {
    my ($uri, $tok) = @_;

    my $r = $t->request(GET => $uri,
        headers => { Authorization => "Bearer $tok" });

    return $r;
}

sub outcome {
    my ($r) = @_;

    return ($r->status // 'none') . ' '
        . ($r->header('WWW-Authenticate') // '-');
}

sub bad {
    my ($reason) = @_;

    return '401 Bearer realm="api", error="invalid_token", '
        . "error_description=\"$reason\"";
}

# default allowlist

for my $alg (@default) {
    my $r = get("/default/$alg", tok($alg));

    is(outcome($r) . ' ' . ($r->status == 200
            ? $r->json->{headers}{'x-hubgate-subject'}[0] : ''),
        "200 - sub-$alg", "$alg passes by default (JWKS, kid)");
}

for my $alg (qw(ES384 ES512 EdDSA-Ed25519 EdDSA-Ed448)) {
    is(outcome(get("/default/$alg", tok($alg))), bad('bad_alg'),
        "$alg refused by default: bad_alg");
}

# every algorithm named

for my $alg (@default, qw(ES384 ES512 EdDSA-Ed25519 EdDSA-Ed448)) {
    my $r = get("/all/$alg", tok($alg));

    is(outcome($r) . ' ' . ($r->status == 200 ? $r->json->{uri} : ''),
        "200 - /all/$alg", "$alg passes when named");
}

# only ES384 ES512 EdDSA named: the defaults are gone

is(outcome(get('/extra/1', tok('ES512'))), '200 -', 'ES512 alone: passes');
is(outcome(get('/extra/2', tok('EdDSA-Ed448'))), '200 -',
    'Ed448 with the extra list: passes');
is(outcome(get('/extra/3', tok('RS256'))), bad('bad_alg'),
    'RS256 not in the list: bad_alg');
is(outcome(get('/extra/4', tok('HS256'))), bad('bad_alg'),
    'HS256 not in the list: bad_alg');

# PEM keys: tokens without a kid

for my $alg (qw(RS256 PS512 ES256 ES384 ES512 EdDSA-Ed25519 EdDSA-Ed448)) {
    is(outcome(get("/pem/$alg", tok($alg, kid => undef))), '200 -',
        "$alg with a PEM key, no kid: passes");
}

is(outcome(get('/pem/kid', tok('RS256', kid => 'whatever'))), '200 -',
    'a kid the PEM file does not have: kid-less keys are still tried');
is(outcome(get('/all/nokid', tok('ES384', kid => undef))), '200 -',
    'no kid against a JWKS: every fitting key is tried');

# key binding (RFC 8725 3.1)

is(outcome(get('/all/pinned-rs', tok('RS256', kid => 'rsa-pinned'))),
    '200 -', 'JWK pinned to RS256: RS256 passes');
is(outcome(get('/all/pinned-ps', tok('PS256', kid => 'rsa-pinned'))),
    bad('no_key'), 'JWK pinned to RS256: PS256 with the same key is no_key');

my $r = get('/all/short', $t->token(key => $key{hs256}, alg => 'HS512',
    kid => 'hs256'));
is(outcome($r), bad('no_key'),
    'HS512 with a 32-byte secret: the key does not fit, no_key');

$r = get('/all/curve', $t->token(key => $key{ec256}, alg => 'ES384',
    kid => 'ec256'));
is(outcome($r), bad('no_key'), 'ES384 header with a P-256 key: no_key');

$r = get('/all/edcurve', $t->token(key => $key{ed25519}, alg => 'EdDSA',
    kid => 'ed448'));
is(outcome($r), bad('bad_signature'),
    'Ed25519 signature under the Ed448 kid: bad_signature');

# only the tokens that passed reached the backend

is(scalar(my @seen = $t->backend_requests('backend_8081')),
    10 + 14 + 2 + 7 + 2 + 1, 'the backend saw exactly the accepted requests');

# configuration: names are case-sensitive, none can never be enabled

for my $bad ([ 'none', qr/"none" can never be enabled/ ],
    [ 'es256', qr/unknown algorithm "es256"/ ])
{
    $t->write_file_expand("alg-$bad->[0].conf", <<"EOF");
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8090%%;

        location / {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_algorithms RS256 $bad->[0];
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

    my ($rc, $out) = $t->test_config("alg-$bad->[0].conf");
    ok($rc != 0 && $out =~ $bad->[1],
        "hubgate_jwt_algorithms $bad->[0] fails nginx -t")
        or diag($out);
}
