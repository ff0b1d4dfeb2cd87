#!/usr/bin/perl

# Tenant isolation end to end.  Through nginx: tenant A cannot see or
# change tenant B's integrations, and client-sent X-Hubgate-* headers change
# nothing (the edge strips them).  Straight to hubgated's socket: a missing,
# forged, tampered, replayed or stale identity signature is refused, an
# unknown tenant is 403.  In PostgreSQL, as the daemon's role hubgate_app,
# row-level security shows and accepts only the scoped tenant's rows.

use strict;
use warnings;

use JSON::PP ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $s = Hubgate::Sidecar->new($t);
$s->migrate;
my $A_ID = $s->tenant_create('acme');
my $B_ID = $s->tenant_create('globex');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf);
$t->run;

my %TOK = (
    A => $s->token(tenant => 'acme', subject => 'alice', roles => 'user'),
    B => $s->token(tenant => 'globex', subject => 'gina', roles => 'user'),
    X => $s->token(tenant => 'nosuch', subject => 'xavier',
        roles => 'user,admin'),
);

my $KEY_A = 'sk_test_' . 'AcmeStripeKey' . int(rand(1e9));
my $KEY_B = 'EAAAl' . 'GlobexSquareToken_' . int(rand(1e9));
$s->add_secret('acme key' => $KEY_A, 'globex key' => $KEY_B);

my $J = JSON::PP->new->canonical;

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

sub api {
    my ($who, $method, $uri, %o) = @_;

    my %h = (Authorization => "Bearer $TOK{$who}",
        %{ delete $o{headers} || {} });

    if (exists $o{json}) {
        $o{body} = $J->encode(delete $o{json});
        $h{'Content-Type'} = 'application/json';
    }

    return $t->request($method => $uri, headers => \%h, %o);
}

sub ids {
    my ($r) = @_;
    return [ sort map { $_->{id} } @{ js($r)->{data} || [] } ];
}

my %A = (
    stripe => js(api(A => POST => '/api/v1/integrations', json => {
        provider => 'stripe', auth => 'api_key', api_key => $KEY_A }))->{id},
    allegro => js(api(A => POST => '/api/v1/integrations', json => {
        provider => 'allegro' }))->{id},
);
my %B = (
    square => js(api(B => POST => '/api/v1/integrations', json => {
        provider => 'square', auth => 'api_key', api_key => $KEY_B }))->{id},
    allegro => js(api(B => POST => '/api/v1/integrations', json => {
        provider => 'allegro' }))->{id},
);

ok(4 == grep({ defined && /^[0-9a-f-]{36}$/ } values %A, values %B),
    'two integrations for each tenant');


###############################################################################
# through nginx

is_deeply(ids(api(A => GET => '/api/v1/integrations')), [ sort values %A ],
    'A lists only its own integrations');
is_deeply(ids(api(B => GET => '/api/v1/integrations')), [ sort values %B ],
    'B lists only its own integrations');

my $bsq = "/api/v1/integrations/$B{square}";
my $before = $s->psql("SELECT status, settings::text, updated_at FROM"
    . " integrations WHERE id = '$B{square}';");

for my $case ([ GET => $bsq ], [ GET => "$bsq/settings" ],
    [ PUT => "$bsq/settings", json => { syncFrequencyMinutes => 5 } ],
    [ POST => "$bsq/deactivate" ], [ POST => "$bsq/activate" ],
    [ DELETE => $bsq ])
{
    my ($m, $u, @o) = @$case;
    my $r = api(A => $m, $u, @o);
    ok($r->status == 404 && (js($r)->{error}{code} // '') eq 'not_found',
        "A: $m " . ($u =~ s/^.*\Q$B{square}\E/{B's id}/r) . ": 404")
        or diag($r->raw);
}

is(scalar $s->psql("SELECT status, settings::text, updated_at FROM"
    . " integrations WHERE id = '$B{square}';"), $before,
    "B's integration is untouched");
is(js(api(B => GET => $bsq))->{status}, 'active', 'B still sees it, active');

# client-sent identity headers are removed by the edge
for my $h ([ 'X-Hubgate-Tenant' => 'globex' ],
    [ 'x-hubgate-tenant' => 'globex' ], [ 'X-HUBGATE-TENANT' => 'globex' ])
{
    my $r = api(A => GET => '/api/v1/integrations', headers => { @$h });
    is_deeply(ids($r), [ sort values %A ], "A sending $h->[0]: globex"
        . " still lists A's");
}

my $r = api(A => GET => $bsq, headers => { 'X-Hubgate-Tenant' => 'globex' });
is($r->status, 404, "A sending X-Hubgate-Tenant: globex cannot GET B's");

$r = api(A => GET => '/api/v1/admin/summary', headers => {
    'X-Hubgate-Roles' => 'admin', 'X-Hubgate-Subject' => 'root' });
is($r->status, 403, 'a user sending X-Hubgate-Roles: admin is still not'
    . ' admin');

$r = api(A => GET => '/api/v1/integrations', headers => {
    'X-Hubgate-Auth' => $s->ident(method => 'GET',
        uri => '/api/v1/integrations', tenant => 'globex') });
is_deeply(ids($r), [ sort values %A ], 'A sending a signature made for'
    . ' globex: still A');

$r = api(X => GET => '/api/v1/integrations');
ok($r->status == 403 && (js($r)->{error}{code} // '') eq 'forbidden'
    && (js($r)->{error}{message} // '') =~ /nosuch/,
    'a valid token of an unknown tenant: 403 from hubgated')
    or diag($r->raw);


###############################################################################
# straight to the socket

my $U = '/api/v1/integrations';
my %ID = (tenant => 'acme', subject => 'alice', roles => 'user');

$r = $s->request(GET => $U, ident => \%ID);
is_deeply(ids($r), [ sort values %A ], 'socket: a valid signature for acme'
    . ' lists its integrations');

$r = $s->request(GET => '/healthz');
is($r->status, 200, 'socket: /healthz needs no signature');

$r = $s->request(GET => '/v1/providers', ident => {});
is($r->status, 200, 'socket: a signed identity without a tenant may read'
    . ' /v1/providers');

sub refused {
    my ($r, $name, $why) = @_;

    my $e = js($r)->{error} // {};

    ok($r->status == 401 && ($e->{code} // '') eq 'unauthorized'
        && ($e->{message} // '') =~ $why, "socket: $name: 401")
        or diag($r->raw);
}

my $mark = $s->log_mark;

refused($s->request(GET => $U), 'no signature', qr/no identity signature/);
refused($s->request(GET => $U, headers => { 'X-Hubgate-Tenant' => 'acme' }),
    'tenant header without a signature', qr/no identity signature/);

refused($s->request(GET => $U, ident => { %ID,
    secret => 'f' x 64 }), 'signed with another secret', qr/not valid/);

refused($s->request(GET => $U, headers => [ 'X-Hubgate-Tenant' => 'globex',
    'X-Hubgate-Subject' => 'alice', 'X-Hubgate-Roles' => 'user',
    'X-Hubgate-Auth' => $s->ident(method => 'GET', uri => $U, %ID) ]),
    'valid signature, tenant header changed to globex', qr/not valid/);

refused($s->request(GET => $U, headers => [ 'X-Hubgate-Tenant' => 'acme',
    'X-Hubgate-Subject' => 'alice', 'X-Hubgate-Roles' => 'user,admin',
    'X-Hubgate-Auth' => $s->ident(method => 'GET', uri => $U, %ID) ]),
    'valid signature, admin added to the roles', qr/not valid/);

refused($s->request(GET => $U, headers => [ 'X-Hubgate-Tenant' => 'acme',
    'X-Hubgate-Subject' => 'alice', 'X-Hubgate-Roles' => 'user',
    'X-Hubgate-Webhook' => 'stripe',
    'X-Hubgate-Auth' => $s->ident(method => 'GET', uri => $U, %ID) ]),
    'valid signature, a webhook header added', qr/not valid/);

refused($s->request(GET => "$U/$A{stripe}", ident => { %ID,
    uri => $U }), 'signature of another URI replayed', qr/not valid/);
refused($s->request(GET => "$U?limit=1", ident => { %ID,
    uri => $U }), 'signature replayed with a query added', qr/not valid/);
refused($s->request(DELETE => "$U/$A{stripe}", ident => { %ID,
    method => 'GET', uri => "$U/$A{stripe}" }),
    'signature of GET replayed on DELETE', qr/not valid/);
is(js($s->request(GET => "$U/$A{stripe}", ident => \%ID))->{id}, $A{stripe},
    'and the integration is still there');

refused($s->request(GET => $U, ident => { %ID, time => time - 60 }),
    'signed 60 s ago', qr/too old/);
refused($s->request(GET => $U, ident => { %ID, time => time + 60 }),
    'signed 60 s in the future', qr/too old/);
refused($s->request(GET => $U, headers => [ 'X-Hubgate-Tenant' => 'acme',
    'X-Hubgate-Auth' => 't=' . time . ',v1=' . ('0' x 64) ]),
    'a well-formed made-up MAC', qr/not valid/);
refused($s->request(GET => $U, headers => [ 'X-Hubgate-Tenant' => 'acme',
    'X-Hubgate-Auth' => 'garbage' ]), 'a malformed header', qr/not valid/);

refused($s->request(GET => $U, ident => { subject => 'alice' }),
    'a valid signature naming no tenant', qr/no tenant/);

$r = $s->request(GET => $U, ident => { tenant => 'nosuch',
    subject => 'x' });
ok($r->status == 403 && (js($r)->{error}{code} // '') eq 'forbidden',
    'socket: a valid signature for an unknown tenant: 403')
    or diag($r->raw);

my @refusals = grep { ($_->{event} // '') eq 'identity_refused' }
    $s->log_events($mark);
my %reasons;
$reasons{ $_->{reason} // '' }++ for @refusals;
ok($reasons{missing} && $reasons{signature} && $reasons{stale},
    'the log says why each signature was refused (missing, signature,'
    . ' stale)')
    or diag(explain \%reasons);

{
    my $tool = $t->repo . '/build/hg-jwt';

    my $now = time;
    my $out = `$tool ident --secret ${\ $s->testdir}/identity.secret \\
        --method GET --uri $U --tenant acme --subject alice --roles user \\
        --time $now`;
    chomp $out;
    is($out, $s->ident(method => 'GET', uri => $U, %ID, time => $now),
        "hg-jwt ident and this file's signer agree");
}


###############################################################################
# row-level security for the daemon's role

sub as_app {
    my ($sql) = @_;
    return $s->psql($sql, role => 'hubgate_app');
}

my ($rc, $out, $err) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " SELECT count(*) FROM integrations; COMMIT;");
is($out, 2, 'hubgate_app scoped to A: count(*) with no WHERE sees A\'s 2')
    or diag($err);

($rc, $out) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " SELECT string_agg(id::text, ',' ORDER BY id) FROM integrations;"
    . " COMMIT;");
is($out, join(',', sort values %A), 'scoped to A: exactly A\'s rows');

($rc, $out) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " SELECT count(*) FROM credentials; SELECT count(*) FROM tenant_keys;"
    . " SELECT count(*) FROM tenants; COMMIT;");
is($out, "1\n1\n1", 'scoped to A: one credential, one data key, one tenant');

($rc, $out, $err) = as_app('SELECT count(*) FROM integrations;');
is($out, 0, 'hubgate_app with no tenant set: 0 rows') or diag($err);
($rc, $out) = as_app('SELECT count(*) FROM credentials;');
is($out, 0, 'no tenant set: 0 credentials');

($rc, $out, $err) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " INSERT INTO integrations (tenant_id, provider) VALUES ('$B_ID',"
    . " 'allegro'); COMMIT;");
ok($rc != 0 && $err =~ /row-level security/,
    "scoped to A, inserting a row of B fails (row-level security)")
    or diag("rc $rc: $err");

($rc, $out, $err) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " UPDATE integrations SET display_name = 'pwned' WHERE id ="
    . " '$B{square}'; DELETE FROM integrations WHERE tenant_id = '$B_ID';"
    . " COMMIT;");
is($rc, 0, 'scoped to A, UPDATE and DELETE of B\'s rows run') or diag($err);
is(scalar $s->psql("SELECT count(*) FROM integrations WHERE tenant_id ="
    . " '$B_ID' AND display_name IS NULL;"), 2, '... and change nothing');

($rc, $out, $err) = as_app("BEGIN; SET LOCAL hubgate.tenant = '$A_ID';"
    . " UPDATE integrations SET tenant_id = '$B_ID' WHERE id = '$A{allegro}';"
    . " COMMIT;");
ok($rc != 0 && $err =~ /row-level security/,
    'scoped to A, moving A\'s row to B fails') or diag("rc $rc: $err");

is($s->stop, 0, 'hubgated stops with exit 0');

$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
