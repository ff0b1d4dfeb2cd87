#!/usr/bin/perl

# What the upstream may trust: every client-sent X-Hubgate-* header (any
# case) is removed before proxying, in every location, with or without
# hubgate_jwt; the module's own X-Hubgate-Tenant/-Subject/-Roles replace
# them; with hubgate_identity_secret, X-Hubgate-Auth: t=<unix>,v1=<hex>
# is an HMAC-SHA256 over the canonical string of hg_identity.h, checked
# here independently in Perl.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
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
$t->plan(56);

my $pem = $t->keygen(type => 'ec256');
$t->write_file('jwks.json', $t->jwks($t->jwk($pem, kid => 'e1')));

# 64 characters; the trailing newline is not part of the key
my $key = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
$t->write_file('identity.secret', "$key\n");

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # an internal redirect to a named location runs the access phase
        # again, on headers the module itself added the first time
        location /redirect/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            try_files /nonexistent @redirected;
        }

        location @redirected {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the secret is inherited: identity signed, no JWT
        location /open/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8082%%;
        server_name localhost;

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # no hubgate directive at all
        location /plain/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

my @spoofed = (
    'X-Hubgate-Tenant' => 'evil',
    'X-Hubgate-Auth' => 't=1,v1=' . ('0' x 64),
    'x-hubgate-anything' => 'x',
    'X-HUBGATE-SUBJECT' => 'root',
    'x-HuBgAtE-Roles' => 'admin',
    'X-Hubgate-Webhook' => 'wh_1',
    'X-Hubgate-' => 'empty-suffix',
);

sub hubgate_headers {
    my ($seen) = @_;
    return { map { $_ => $seen->{headers}{$_} }
        grep { /^x-hubgate-/ } keys %{ $seen->{headers} } };
}

sub canonical {
    my (%f) = @_;
    return "hubgate-identity-v1\n" . join '', map {
        my $v = $f{$_} // '';
        length($v) . ":$v\n";
    } qw(t method uri tenant subject roles webhook);
}

# verifies an X-Hubgate-Auth value as hubgated would; returns t
sub verify {
    my ($value, %f) = @_;
    my ($ts, $mac) = ($value // '') =~ /^t=(0|[1-9]\d*),v1=([0-9a-f]{64})$/
        or return undef;
    return hmac_sha256_hex(canonical(t => $ts, %f), $key) eq $mac
        ? $ts : undef;
}

###############################################################################
# removal, without any hubgate directive in the location

{
    my $r = $t->request(GET => '/plain/x', port => 8082, headers => [
        @spoofed, 'X-Other' => 'keep', 'X-Hubgateway' => 'keep',
        'X-Hubgate' => 'keep' ]);
    is($r->status, 200, 'no hubgate directive: 200');
    my $seen = js($r);
    is_deeply(hubgate_headers($seen), {},
        'every client X-Hubgate-* header removed (any case)');
    is($seen->{headers}{'x-other'}[0], 'keep', 'other headers kept');
    is($seen->{headers}{'x-hubgateway'}[0], 'keep',
        'X-Hubgateway (no dash) is not ours: kept');
    is($seen->{headers}{'x-hubgate'}[0], 'keep', 'X-Hubgate alone: kept');
    is($seen->{uri}, '/plain/x', 'the request itself untouched');
}

# many headers (several parts of the header list), order kept

{
    my @pad = map { ("X-Pad-$_" => "v$_") } 1 .. 30;
    my @mixed;
    for my $i (0 .. 14) {
        push @mixed, @pad[4 * $i .. 4 * $i + 3];
        push @mixed, "X-Hubgate-Spoof-$i" => 'evil';
    }

    my $r = $t->request(GET => '/plain/many', port => 8082,
        headers => \@mixed);
    is($r->status, 200, '45 request headers: 200');
    my @got = map { "$_->[0]=$_->[1]" }
        grep { $_->[0] =~ /^x-(pad|hubgate)/i }
        @{ js($r)->{header_list} || [] };
    my @want;
    while (my ($n, $v) = splice @pad, 0, 2) { push @want, "$n=$v" }
    is_deeply(\@got, \@want,
        'all 30 other headers arrive in order, none of the 15 spoofed');
}

###############################################################################
# with JWT: the module's values replace the client's; no secret, no Auth

my $tok = $t->token(key => $pem, kid => 'e1',
    add => { roles => [ 'admin', 'billing' ] });

{
    my $r = $t->request(GET => '/api/x', port => 8082, headers => [
        @spoofed, Authorization => "Bearer $tok" ]);
    is($r->status, 200, 'JWT: 200');
    is_deeply(hubgate_headers(js($r)), {
        'x-hubgate-tenant' => [ 't1' ],
        'x-hubgate-subject' => [ 'u1' ],
        'x-hubgate-roles' => [ 'admin,billing' ],
    }, 'only the module\'s own X-Hubgate-* values reach the backend');
}

# a token without tid: no tenant header rather than the client's

{
    my $notid = $t->token(key => $pem, kid => 'e1', add => { tid => undef });
    my $r = $t->request(GET => '/api/x', port => 8082, headers => [
        'X-Hubgate-Tenant' => 'evil', Authorization => "Bearer $notid" ]);
    is($r->status, 200, 'no tid claim: 200');
    is_deeply(hubgate_headers(js($r)),
        { 'x-hubgate-subject' => [ 'u1' ] },
        'no tenant claim: no X-Hubgate-Tenant at all');
}

# a rejected request never reaches the backend

{
    my $before = () = $t->backend_requests('backend_8081');
    my $r = $t->request(GET => '/api/x', port => 8082,
        headers => [ 'X-Hubgate-Tenant' => 't1' ]);
    is($r->status, 401, 'a spoofed tenant is no authentication');
    my $after = () = $t->backend_requests('backend_8081');
    is($after, $before, 'and nothing was proxied');
}

###############################################################################
# X-Hubgate-Auth

my %id = (tenant => 't1', subject => 'u1', roles => 'admin,billing',
    webhook => '');

{
    my $uri = '/api/items?a=1&b=%2Fx';
    my $now = time;
    my $r = $t->request(GET => $uri, headers => [
        @spoofed, Authorization => "Bearer $tok" ]);
    is($r->status, 200, 'identity secret: 200');

    my $h = js($r)->{headers};
    is(scalar @{ $h->{'x-hubgate-auth'} || [] }, 1,
        'exactly one X-Hubgate-Auth (the client\'s removed)');
    my $auth = $h->{'x-hubgate-auth'}[0] // '';
    like($auth, qr/^t=[1-9]\d*,v1=[0-9a-f]{64}$/, 'format t=<unix>,v1=<hex>');
    is_deeply([ map { $h->{"x-hubgate-$_"} } qw(tenant subject roles) ],
        [ [ 't1' ], [ 'u1' ], [ 'admin,billing' ] ],
        'tenant, subject, roles alongside');

    my $ts = verify($auth, method => 'GET', uri => $uri, %id);
    ok(defined $ts, 'the HMAC verifies over the canonical string');
    ok(defined $ts && abs($ts - $now) <= 5, 't is now (within 5 s)');

    ok(!defined verify($auth, method => 'GET', uri => '/api/items', %id),
        'the query string is part of the signed URI');
    ok(!defined verify($auth, method => 'GET', uri => $uri, %id,
        tenant => 'evil'), 'the tenant is signed');
    ok(!defined verify($auth, method => 'GET', uri => $uri, %id,
        webhook => 'wh_1'), 'the (empty) webhook is signed');
    ok(!defined verify($auth, method => 'POST', uri => $uri, %id),
        'the method is signed');

    # the same request signed with another method or URI differs
    my $r2 = $t->request(POST => $uri, body => 'x', headers => [
        Authorization => "Bearer $tok" ]);
    my $auth2 = js($r2)->{headers}{'x-hubgate-auth'}[0] // '';
    ok(defined verify($auth2, method => 'POST', uri => $uri, %id),
        'POST: verifies with method POST');
    isnt(($auth2 =~ /v1=(\w+)/)[0], ($auth =~ /v1=(\w+)/)[0],
        'POST: another signature');

    my $uri3 = '/api/other?a=1&b=%2Fx';
    my $r3 = $t->request(GET => $uri3, headers => [
        Authorization => "Bearer $tok" ]);
    my $auth3 = js($r3)->{headers}{'x-hubgate-auth'}[0] // '';
    ok(defined verify($auth3, method => 'GET', uri => $uri3, %id),
        'another URI: verifies with that URI');
    isnt(($auth3 =~ /v1=(\w+)/)[0], ($auth =~ /v1=(\w+)/)[0],
        'another URI: another signature');

    # the unparsed URI: exactly as the client sent it
    my $uri4 = '/api/a/../b/%7e?q=%20';
    my $r4 = $t->request(GET => $uri4, headers => [
        Authorization => "Bearer $tok" ]);
    my $auth4 = js($r4)->{headers}{'x-hubgate-auth'}[0] // '';
    ok(defined verify($auth4, method => 'GET', uri => $uri4, %id),
        'the signed URI is the unparsed one (no normalization)');
    is(js($r4)->{uri}, $uri4,
        'which is the URI the backend receives (proxy_pass without a URI)');

    # a long URI (about 4 KB) is signed whole
    my $uri5 = '/api/long?' . join '&', map { "k$_=" . ('v' x 50) } 1 .. 70;
    my $r5 = $t->request(GET => $uri5, headers => [
        Authorization => "Bearer $tok" ]);
    is($r5->status, 200, 'a 4 KB URI: 200');
    ok(defined verify(js($r5)->{headers}{'x-hubgate-auth'}[0],
        method => 'GET', uri => $uri5, %id), 'a 4 KB URI: signed whole');
}

# identity headers added to a long header list (several list parts, after
# the spoofed ones were taken out)

{
    my @pad = map { ("X-Pad-$_" => "v$_") } 1 .. 40;
    my $uri = '/api/long';
    my $r = $t->request(GET => $uri, headers => [
        @spoofed, @pad, @spoofed, Authorization => "Bearer $tok" ]);
    is($r->status, 200, '40 headers, 14 spoofed, JWT and secret: 200');
    my $seen = js($r);
    is(scalar(grep { $_->[0] =~ /^X-Pad-/ } @{ $seen->{header_list} || [] }),
        40, 'all 40 other headers arrive');
    is_deeply([ map { $seen->{headers}{"x-hubgate-$_"} }
        qw(tenant subject roles) ],
        [ [ 't1' ], [ 'u1' ], [ 'admin,billing' ] ],
        'the module\'s identity headers, once each');
    ok(defined verify($seen->{headers}{'x-hubgate-auth'}[0],
        method => 'GET', uri => $uri, %id), 'and a valid signature');
}

# through an internal redirect: the identity once, still verifiable, and
# the module's own headers are not taken for the client's

{
    my $uri = '/redirect/x?a=1';
    my $mark = $t->log_mark;
    my $r = $t->request(GET => $uri, headers => [
        Authorization => "Bearer $tok" ]);
    is($r->status, 200, 'internal redirect: 200');
    my $h = hubgate_headers(js($r));
    is_deeply([ map { $h->{"x-hubgate-$_"} } qw(tenant subject roles) ],
        [ [ 't1' ], [ 'u1' ], [ 'admin,billing' ] ],
        'internal redirect: identity headers once each');
    is(scalar @{ $h->{'x-hubgate-auth'} || [] }, 1,
        'internal redirect: one X-Hubgate-Auth');
    ok(defined verify($h->{'x-hubgate-auth'}[0], method => 'GET',
        uri => $uri, %id), 'internal redirect: the signature verifies');
    unlike($t->errlog_since($mark), qr/removed \d+ client-sent X-Hubgate/,
        'internal redirect: the client sent no X-Hubgate-* header, and '
        . 'none is logged as removed');
}

# without JWT but with the secret: signed with an empty identity

{
    my $uri = '/open/x?y=1';
    my $r = $t->request(GET => $uri, headers => [ @spoofed ]);
    is($r->status, 200, 'open location: 200');
    my $h = hubgate_headers(js($r));
    is_deeply([ sort keys %$h ], [ 'x-hubgate-auth' ],
        'only X-Hubgate-Auth, no identity headers');
    ok(defined verify($h->{'x-hubgate-auth'}[0], method => 'GET',
        uri => $uri), 'signed over empty tenant, subject, roles');
}

# without the secret: no X-Hubgate-Auth (checked on port 8082 above too)

{
    my $r = $t->request(GET => '/plain/y', port => 8082,
        headers => [ Authorization => "Bearer $tok" ]);
    is(js($r)->{headers}{'x-hubgate-auth'}, undef,
        'no secret: no X-Hubgate-Auth');
    $r = $t->request(GET => '/api/y', port => 8082,
        headers => [ Authorization => "Bearer $tok" ]);
    is(js($r)->{headers}{'x-hubgate-auth'}, undef,
        'no secret, with JWT: no X-Hubgate-Auth');
}

###############################################################################
# the spoofed-header counter is visible in logs

{
    my $mark = $t->log_mark;
    $t->request(GET => '/plain/z', port => 8082,
        headers => [ 'X-Hubgate-Tenant' => 'a', 'x-hubgate-roles' => 'b' ]);
    ok($t->wait_for(sub { $t->errlog_since($mark)
        =~ /hubgate: removed 2 client-sent X-Hubgate-\* header\(s\)/ }),
        'removal logged with the count');
}

###############################################################################
# secrets shorter than 32 bytes fail nginx -t

for my $case ([ 'short31.secret', 'x' x 31, 31 ],
              [ 'shortws.secret', ('y' x 31) . " \n\t\n", 31 ],
              [ 'empty.secret', '', 0 ])
{
    my ($file, $content, $len) = @$case;
    $t->write_file($file, $content);
    $t->write_file_expand("$file.conf", <<"EOF");
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8090%%;
        hubgate_identity_secret %%TESTDIR%%/$file;
        location / {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF
    my ($rc, $out) = $t->test_config("$file.conf");
    isnt($rc, 0, "$file: nginx -t fails");
    like($out, qr/\[emerg\] hubgate_identity_secret "[^"]*\Q$file\E": (?x)
        secret\ of\ $len\ bytes,\ at\ least\ 32/,
        "$file: names hubgate_identity_secret and the size ($len bytes)");
}

{
    $t->write_file('ok32.secret', ('z' x 32) . "\n");
    $t->write_file_expand('ok32.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8090%%;
        hubgate_identity_secret %%TESTDIR%%/ok32.secret;
        location / {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF
    my ($rc, $out) = $t->test_config('ok32.conf');
    is($rc, 0, 'a 32-byte secret is accepted') or diag($out);
}

{
    $t->write_file_expand('nosecret.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8090%%;
        hubgate_identity_secret %%TESTDIR%%/does-not-exist.secret;
        location / {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF
    my ($rc, $out) = $t->test_config('nosecret.conf');
    isnt($rc, 0, 'a missing secret file fails nginx -t');
    like($out,
        qr/hubgate_identity_secret "[^"]*does-not-exist\.secret": cannot open/,
        'naming the directive and the file');
}
