#!/usr/bin/perl

# Configuration mistakes fail `nginx -t` with a message that names the
# directive (one case each), and the complete deployment of
# conf.examples/nginx.conf, minus TLS and with test paths, passes nginx -t
# and serves.

use strict;
use warnings;

use Digest::SHA ();
use JSON::PP;
use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);

# a response body as JSON, or {}: a failed request fails its own
# assertions, not the rest of the file
sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;

# key files for the cases

my $rsa = $t->keygen(type => 'rsa');
my $rsa1024 = $t->keygen(type => 'rsa1024');
my $hmac16 = $t->keygen(type => 'hmac', bytes => 16);

$t->write_file('good.json', $t->jwks($t->jwk($rsa, kid => 'r1')));
$t->write_file('rsa1024.json', $t->jwks($t->jwk($rsa1024, kid => 'weak')));
$t->write_file('hmac16.json', $t->jwks($t->jwk($hmac16, kid => 'short')));
$t->write_file('broken.json', '{"keys": [ {"kty": "RSA", ');
$t->write_file('short.secret', 'x' x 20);

# each case: name, http-level lines, location-level lines, what the
# message must say (it always names the directive)

my $JWT = "hubgate_jwt api;\n"
    . "hubgate_jwt_key_file %%TESTDIR%%/good.json;";
my $ZONE = 'hubgate_limit_zone api size=1m;';

my @cases = (
    [ 'hubgate_jwt without any key', '', 'hubgate_jwt api;',
      qr/hubgate_jwt "api" has no key: add hubgate_jwt_key_file or hubgate_jwt_key_request/ ],

    [ 'hubgate_jwt_key_file: missing file', '',
      "hubgate_jwt api;\nhubgate_jwt_key_file %%TESTDIR%%/missing.json;",
      qr/hubgate_jwt_key_file: cannot open "[^"]*missing\.json"/ ],

    [ 'hubgate_jwt_key_file: RSA-1024 in a JWKS', '',
      "hubgate_jwt api;\nhubgate_jwt_key_file %%TESTDIR%%/rsa1024.json;",
      qr/hubgate_jwt_key_file: "[^"]*rsa1024\.json": key \d+: RSA key of 1024 bits, 2048 to 8192 required/ ],

    [ 'hubgate_jwt_key_file: HMAC key of 16 bytes', '',
      "hubgate_jwt api;\nhubgate_jwt_key_file %%TESTDIR%%/hmac16.json;",
      qr/hubgate_jwt_key_file: "[^"]*hmac16\.json": key \d+: HMAC key of 16 bytes, at least 32 required/ ],

    [ 'hubgate_jwt_key_file: invalid JSON', '',
      "hubgate_jwt api;\nhubgate_jwt_key_file %%TESTDIR%%/broken.json;",
      qr/hubgate_jwt_key_file: "[^"]*broken\.json": invalid JSON at line \d+, column \d+/ ],

    [ 'hubgate_jwt_algorithms none', '', "$JWT\nhubgate_jwt_algorithms none;",
      qr/hubgate_jwt_algorithms: "none" can never be enabled/ ],

    [ 'hubgate_jwt_algorithms: unknown name', '',
      "$JWT\nhubgate_jwt_algorithms RS256 HS999;",
      qr/hubgate_jwt_algorithms: unknown algorithm "HS999"/ ],

    [ 'hubgate_jwt_algorithms: lowercase rs256', '',
      "$JWT\nhubgate_jwt_algorithms rs256;",
      qr/hubgate_jwt_algorithms: unknown algorithm "rs256": names are case-sensitive/ ],

    [ 'hubgate_jwt_require: bad error=', '',
      "$JWT\nhubgate_jwt_require \$hubgate_tenant error=500;",
      qr/hubgate_jwt_require: invalid "error=500": use error=401 or error=403/ ],

    [ 'hubgate_jwt_cache without zone=', 'hubgate_jwt_cache ttl=5m;', $JWT,
      qr/hubgate_jwt_cache: needs zone=<name>:<size>/ ],

    [ 'hubgate_jwt_cache: zone too small', 'hubgate_jwt_cache zone=jwt:8k;',
      $JWT, qr/hubgate_jwt_cache: zone "jwt" is too small: use at least \d+/ ],

    [ 'hubgate_limit: unknown zone', '',
      'hubgate_limit zone=nope key=$remote_addr rate=1r/s;',
      qr/hubgate_limit: unknown zone "nope": declare it first with "hubgate_limit_zone nope size=10m;"/ ],

    [ 'hubgate_limit: zone= names a hubgate_jwt_cache zone',
      'hubgate_jwt_cache zone=jwt:1m;',
      'hubgate_limit zone=jwt key=$remote_addr rate=1r/s;',
      qr/hubgate_limit: .*"jwt"/ ],

    [ 'hubgate_limit: invalid rate 10r/x', $ZONE,
      'hubgate_limit zone=api key=$remote_addr rate=10r/x;',
      qr{hubgate_limit: invalid rate "10r/x": use <n>r/s, <n>r/m or <n>r/h} ],

    [ 'hubgate_limit: missing key=', $ZONE,
      'hubgate_limit zone=api rate=1r/s;',
      qr/hubgate_limit: needs zone=, key= and rate=/ ],

    [ 'hubgate_limit: burst=-1', $ZONE,
      'hubgate_limit zone=api key=$remote_addr rate=1r/s burst=-1;',
      qr/hubgate_limit: invalid parameter "burst=-1"/ ],

    [ 'hubgate_limit_zone without size', 'hubgate_limit_zone api;', '',
      qr/hubgate_limit_zone "api" needs size=<size>/ ],

    [ 'hubgate_limit_zone: size too small', 'hubgate_limit_zone api size=8k;',
      '', qr/hubgate_limit_zone "api": size is too small, use at least \d+/ ],

    [ 'hubgate_limit_zone redis=', 'hubgate_limit_zone api size=1m '
      . 'redis=127.0.0.1:6379;', '',
      qr/hubgate_limit_zone "api": "redis=127\.0\.0\.1:6379" is not available/ ],

    [ 'hubgate_limit_status 200', $ZONE, 'hubgate_limit_status 200;',
      qr/hubgate_limit_status.*(400|599)|(400|599).*hubgate_limit_status/ ],

    [ 'hubgate_limit_log_level bogus', $ZONE,
      'hubgate_limit_log_level bogus;',
      qr/hubgate_limit_log_level.*bogus|bogus.*hubgate_limit_log_level/ ],

    [ 'hubgate_jwt_key_request: not a local URI', '',
      "hubgate_jwt api;\n"
      . 'hubgate_jwt_key_request https://id.example.com/jwks.json;',
      qr{hubgate_jwt_key_request: "https://id\.example\.com/jwks\.json" must be a local URI} ],

    [ 'hubgate_identity_secret: missing file', '',
      'hubgate_identity_secret %%TESTDIR%%/missing.secret;',
      qr/hubgate_identity_secret "[^"]*missing\.secret": cannot open/ ],

    [ 'hubgate_identity_secret: 20 bytes', '',
      'hubgate_identity_secret %%TESTDIR%%/short.secret;',
      qr/hubgate_identity_secret "[^"]*short\.secret": secret of 20 bytes, at least 32/ ],

    [ 'hubgate_jwt: realm with a double quote', '',
      "hubgate_jwt 'a\"b';\nhubgate_jwt_key_file %%TESTDIR%%/good.json;",
      qr/hubgate_jwt: the realm "a"b" must be non-empty and hold no double quote/ ],
);

$t->plan(3 * @cases + 17);

my $n = 0;

for my $case (@cases) {
    my ($name, $http, $loc, $re) = @$case;
    my $file = sprintf 'bad%02d.conf', ++$n;

    s/^/            /mg for $loc;
    s/^/    /mg for $http;

    $t->write_file_expand($file, <<"EOF");
%%MODULE%%

http {
$http

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
$loc
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

    my ($rc, $out) = $t->test_config($file);
    isnt($rc, 0, "$name: nginx -t fails") or diag($out);

    SKIP: {
        skip "$name: nginx -t accepted it", 2 if $rc == 0;

        like($out, $re, "$name: the message names the directive")
            or diag($out);
        like($out, qr/ in \S*\Q$file\E:\d+/, "$name: with file and line")
            or diag($out);
    }
}

###############################################################################
# conf.examples/nginx.conf, minus TLS and with the test's paths

my $example = do {
    local $/;
    open my $fh, '<', $t->repo . '/conf.examples/nginx.conf'
        or die "conf.examples/nginx.conf: $!";
    <$fh>;
};

my @edits = (
    [ qr/^load_module .*;\n/m, "%%MODULE%%\n" ],
    [ qr/^user .*;\n/m, '' ],
    [ qr/^pid .*;\n/m, '' ],
    [ qr/^\s*(access|error)_log \S+;\n/m, '', 2 ],
    [ qr/^\s*ssl_\w+ .*;\n/m, '', 3 ],
    [ qr/listen 443 ssl http2;/, 'listen 127.0.0.1:%%PORT_8080%%;' ],
    [ qr{server unix:/run/hubgate/hubgated\.sock;},
      'server 127.0.0.1:%%PORT_8081%%;' ],
    [ qr{/etc/hubgate/identity\.secret}, '%%TESTDIR%%/identity.secret' ],
    [ qr{proxy_pass https://id\.example\.com/\.well-known/jwks\.json;},
      'proxy_pass http://127.0.0.1:%%PORT_8081%%/jwks.json;' ],
    [ qr{proxy_pass https://www\.googleapis\.com/oauth2/v3/certs;},
      'proxy_pass http://127.0.0.1:%%PORT_8081%%/jwks.json;' ],
);

for my $e (@edits) {
    my ($re, $to, $count) = @$e;
    my $done = $example =~ s/$re/$to/g;
    die "conf.examples/nginx.conf changed: $re matched $done times,"
        . " expected " . ($count // 1) . "\n" if $done != ($count // 1);
}

my $pem = $t->keygen(type => 'rsa', name => 'idp');
my $jwks = $t->jwks($t->jwk($pem, kid => 'idp1'));
$t->write_file('identity.secret', ('s' x 40) . "\n");

$t->backend(port => 8081, handler => sub {
    my ($req) = @_;
    return (200, { 'Content-Type' => 'application/json' }, $jwks)
        if $req->{uri} eq '/jwks.json';
    return (200, { 'Content-Type' => 'application/json' },
        '{"secrets":["whsec_example_secret"]}')
        if $req->{uri} =~ m{^/api/v1/webhook-secrets/stripe/};
    return (200, { 'Content-Type' => 'application/json' },
        encode_json({ uri => $req->{uri}, headers => $req->{headers} }));
});

$t->write_file_expand('nginx.conf', $example);

{
    my ($rc, $out) = $t->test_config;
    is($rc, 0, 'the example deployment passes nginx -t') or diag($out);
    like($out, qr/test is successful/, 'test is successful');
}

$t->run;

my %claims = (iss => 'https://id.example.com/', aud => 'hubgate');
my $tok = $t->token(key => $pem, kid => 'idp1',
    add => { %claims, roles => ['user', 'administrator'] });
my $admin = $t->token(key => $pem, kid => 'idp1',
    add => { %claims, roles => ['user', 'admin'] });

{
    my $r = $t->request(GET => '/api/v1/things',
        headers => { Authorization => "Bearer $tok" });
    is($r->status, 200, 'example: a token from the IdP keys passes');
    my $h = js($r)->{headers};
    is($h->{'x-hubgate-tenant'}[0], 't1', 'tenant forwarded');
    like($h->{'x-hubgate-auth'}[0] // '', qr/^t=\d+,v1=[0-9a-f]{64}$/,
        'identity signed');
    is($h->{authorization}, undef, 'Authorization not forwarded');

    $r = $t->request(GET => '/api/v1/things');
    is($r->status, 401, 'example: no token, 401');

    $r = $t->request(GET => '/api/v1/admin/x',
        headers => { Authorization => "Bearer $tok" });
    is($r->status, 403, 'example: admin area without the admin role, 403');

    $r = $t->request(GET => '/api/v1/admin/x',
        headers => { Authorization => "Bearer $admin" });
    is($r->status, 200, 'example: admin area with the admin role');

    my $other = $t->token(key => $pem, kid => 'idp1',
        add => { %claims, aud => 'someone-else' });
    $r = $t->request(GET => '/api/v1/things',
        headers => { Authorization => "Bearer $other" });
    is($r->status, 401, 'example: another audience, 401');

    # a Stripe webhook, its secret from the "vault" by secret_request
    my $body = '{"id":"evt_example","type":"invoice.paid"}';
    my $ts = time;
    my $sig = Digest::SHA::hmac_sha256_hex("$ts.$body",
        'whsec_example_secret');
    my $url = '/api/v1/webhooks/stripe/0b6f4b8e-5c6d-4f4a-8f5e-1e2d3c4b5a69';
    $r = $t->request(POST => $url, body => $body,
        headers => { 'Stripe-Signature' => "t=$ts,v1=$sig" });
    is($r->status, 200, 'example: a signed Stripe webhook passes');
    is(js($r)->{headers}{'x-hubgate-webhook'}[0], 'scheme=stripe',
        'and reaches hubgated marked as verified');
    $r = $t->request(POST => $url, body => "$body ",
        headers => { 'Stripe-Signature' => "t=$ts,v1=$sig" });
    is($r->status, 401, 'example: a tampered Stripe webhook, 401');

    $r = $t->request(GET => '/_hubgate/status');
    is($r->status, 200, 'example: status page');
    is(js($r)->{jwks}{fetched}, 1, 'keys fetched once by subrequest');
}

# a zone name that JSON and Prometheus must escape: either nginx -t
# refuses it, naming the directive, or the status page stays valid JSON

{
    my $odd = q{q"\z};
    my $line = q{    hubgate_limit_zone 'q"\\z' size=64k;};
    (my $conf = $example) =~ s/(hubgate_limit_zone api size=10m;)/$1\n$line/
        or die "no hubgate_limit_zone api line in the example";
    $t->write_file_expand('odd.conf', $conf);
    my ($rc, $out) = $t->test_config('odd.conf');

    if ($rc != 0) {
        like($out, qr/hubgate_limit_zone/,
            'a zone name with a quote: refused, naming hubgate_limit_zone');
        pass('(nothing to serve)');

    } else {
        $t->write_file_expand('nginx.conf', $conf);
        ok($t->reload, 'a zone name with a quote and a backslash: loaded');
        my $body = $t->request(GET => '/_hubgate/status')->body // '';
        my $s = eval { decode_json($body) };
        ok($s && $s->{limits}{$odd}, 'and the status page is valid JSON '
            . 'that names it') or diag($body);
    }
}
