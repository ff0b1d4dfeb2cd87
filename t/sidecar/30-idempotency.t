#!/usr/bin/perl

# Idempotency-Key on hubgated's POSTs, through nginx: the same key and body
# give the stored answer (Idempotent-Replayed: true) and do the work once;
# another body is 422; a request still running with that key is 409 (a
# real one held on a row lock, and a claim planted in the table); a
# validation failure is replayed too; malformed keys are 400; keys belong
# to a tenant.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
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
    A => $s->token(tenant => 'acme', subject => 'alice'),
    B => $s->token(tenant => 'globex', subject => 'gina'),
);

my $KEY = 'sk_test_' . 'IdemStripeKey' . int(rand(1e9));
$s->add_secret('stripe key' => $KEY);

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

sub headers {
    my ($who, $key, $body) = @_;

    my @h = (Authorization => "Bearer $TOK{$who}");
    push @h, 'Content-Type' => 'application/json' if defined $body;
    push @h, 'Idempotency-Key' => $key if defined $key;

    return \@h;
}

sub post {
    my ($who, $uri, $key, $body) = @_;

    return $t->request(POST => $uri, headers => headers($who, $key, $body),
        defined $body ? (body => $body) : ());
}

sub count {
    my ($where) = @_;
    return scalar $s->psql("SELECT count(*) FROM integrations"
        . ($where ? " WHERE $where" : '') . ';');
}

sub audits {
    my ($action) = @_;
    return scalar $s->psql("SELECT count(*) FROM audit_log WHERE action ="
        . " '$action';");
}

my $U = '/api/v1/integrations';


###############################################################################
# same key, same body: the stored answer

my $b1 = '{"provider":"allegro","display_name":"Shop"}';
my $r1 = post(A => $U, 'create-1', $b1);
my $r2 = post(A => $U, 'create-1', $b1);

is($r1->status, 201, 'first POST with a key: 201');
ok(!defined $r1->header('Idempotent-Replayed'),
    'first POST: no Idempotent-Replayed');
is($r2->status, 201, 'same key and body again: 201');
is($r2->header('Idempotent-Replayed'), 'true',
    'the repeat: Idempotent-Replayed: true');
is($r2->body, $r1->body, 'the repeat: byte for byte the first body');
is($r2->header('Location'), $r1->header('Location'),
    'the repeat: the same Location');
my $first_id = js($r1)->{id};
like($r1->header('Location') // '', qr{/api/v1/integrations/\Q$first_id\E$},
    'Location names the integration');

my $r3 = post(A => $U, 'create-1', $b1);
ok($r3->status == 201 && $r3->body eq $r1->body, 'and a third time');

is(scalar @{ js($t->request(GET => $U, headers => headers('A')))->{data}
    || [] }, 1, 'the list holds one integration');
is(count(), 1, 'the database holds one integration');
is(audits('integration.create'), 1, 'one integration.create audited');

my $r = post(A => $U, 'create-1', '{"provider":"allegro","display_name":"X"}');
ok($r->status == 422
    && (js($r)->{error}{code} // '') eq 'idempotency_key_reused',
    'same key, another body: 422 idempotency_key_reused') or diag($r->raw);
ok(!defined $r->header('Idempotent-Replayed'), '422: not a replay');

$r = post(A => "$U/$first_id/deactivate", 'create-1');
ok($r->status == 422
    && (js($r)->{error}{code} // '') eq 'idempotency_key_reused',
    'same key on another route: 422') or diag($r->raw);
is(js($t->request(GET => "$U/$first_id", headers => headers('A')))->{status},
    'pending', '... and that route did nothing');
is(count(), 1, 'still one integration');


###############################################################################
# a validation failure is stored and replayed

my $bad = '{"provider":"nosuch"}';
$r1 = post(A => $U, 'bad-1', $bad);
$r2 = post(A => $U, 'bad-1', $bad);
is($r1->status, 422, 'invalid create with a key: 422');
is((js($r1)->{error} // {})->{code}, 'validation_failed',
    '... validation_failed');
ok($r2->status == 422 && $r2->body eq $r1->body,
    'the same again: the same 422, byte for byte');
is($r2->header('Idempotent-Replayed'), 'true', '... Idempotent-Replayed');

$r = post(A => "$U/$first_id/activate", 'activate-pending');
is($r->status, 409, 'activate a pending integration with a key: 409');
$r2 = post(A => "$U/$first_id/activate", 'activate-pending');
ok($r2->status == 409 && $r2->body eq $r->body
    && ($r2->header('Idempotent-Replayed') // '') eq 'true',
    '... replayed as the same 409');


###############################################################################
# keys

$r = post(A => $U, 'has space', $b1);
ok($r->status == 400 && (js($r)->{error}{code} // '') eq 'bad_request',
    'a key with a space: 400') or diag($r->raw);
$r = post(A => $U, 'k' x 256, $b1);
is($r->status, 400, 'a key of 256 characters: 400');
$r = post(A => $U, "caf\xc3\xa9", $b1);
is($r->status, 400, 'a key with non-ASCII bytes: 400');
is(count(), 1, 'malformed keys created nothing');

my $long = 'k' x 255;
$r1 = post(A => $U, $long, '{"provider":"gmail"}');
$r2 = post(A => $U, $long, '{"provider":"gmail"}');
ok($r1->status == 201 && $r2->status == 201 && $r2->body eq $r1->body
    && ($r2->header('Idempotent-Replayed') // '') eq 'true',
    'a key of 255 characters works and replays');
is(count("provider = 'gmail'"), 1, '... one gmail integration');

# keys are per tenant: globex reuses acme's key for its own request
$r = post(B => $U, 'create-1', $b1);
is($r->status, 201, 'tenant B with A\'s key: 201');
ok(!defined $r->header('Idempotent-Replayed'), '... not a replay of A\'s');
isnt(js($r)->{id}, $first_id, '... a new integration');
is(count("tenant_id = '$B_ID'"), 1, '... owned by B');
$r2 = post(B => $U, 'create-1', $b1);
ok(($r2->header('Idempotent-Replayed') // '') eq 'true'
    && $r2->body eq $r->body, 'B repeating it gets B\'s stored answer');
$r = post(B => $U, 'create-1', '{"provider":"amazon"}');
is($r->status, 422, 'B with another body: 422 (B\'s record, not A\'s)');


###############################################################################
# in progress: a request held on a row lock

my $sid = js(post(A => $U, undef, '{"provider":"stripe","auth":"api_key",'
    . '"api_key":"' . $KEY . '"}'))->{id};
ok($sid, 'an API-key integration to activate');
post(A => "$U/$sid/deactivate");
is(js($t->request(GET => "$U/$sid", headers => headers('A')))->{status},
    'inactive', 'deactivated');

my $lock = $s->psql_session;
$lock->send("BEGIN; SELECT 1 FROM integrations WHERE id = '$sid' FOR UPDATE;"
    . " SELECT 'locked';");
ok($lock->wait_output(qr/locked/), 'psql holds the integration\'s row lock');

my $held = $t->http("POST $U/$sid/activate HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\nAuthorization: Bearer $TOK{A}\r\n"
    . "Idempotency-Key: activate-1\r\nContent-Length: 0\r\n\r\n",
    start => 1);
ok($held, 'first activate sent');
ok($t->wait_for(sub { $s->waiting_backends('SELECT i.status, EXISTS%') == 1 }),
    'it waits on the lock in PostgreSQL');

$r = post(A => "$U/$sid/activate", 'activate-1');
ok($r->status == 409
    && (js($r)->{error}{code} // '') eq 'idempotency_in_progress',
    'same key while the first runs: 409 idempotency_in_progress')
    or diag($r->raw);
$r = post(A => "$U/$sid/activate", 'activate-1', '{}');
is($r->status, 422, 'same key, another body, while it runs: 422');

$lock->send('COMMIT;');
my $first = parse_response($t->http('', socket => $held));
close $held;
is($first->status, 200, 'lock released: the first activate answers 200');
is(js($first)->{status}, 'active', '... active');
is($lock->close, 0, 'psql session ended cleanly');

$r = post(A => "$U/$sid/activate", 'activate-1');
ok($r->status == 200 && $r->body eq $first->body
    && ($r->header('Idempotent-Replayed') // '') eq 'true',
    'same key afterwards: the first answer, replayed');
is(audits('integration.activate'), 1, 'one integration.activate audited');


###############################################################################
# in progress: a claim planted in the table

my $body = '{"provider":"amazon"}';
my $hash = sha256_hex("POST\0/v1/integrations\0$body");

$s->psql("INSERT INTO idempotency_keys (tenant_id, key, method, path,"
    . " request_hash) VALUES ('$A_ID', 'planted', 'POST', '/v1/integrations',"
    . " '\\x$hash');");
$r = post(A => $U, 'planted', $body);
ok($r->status == 409
    && (js($r)->{error}{code} // '') eq 'idempotency_in_progress',
    'a claim in progress (planted): 409') or diag($r->raw);
$r = post(A => $U, 'planted', '{"provider":"anaf"}');
is($r->status, 422, '... and another body: 422');
is(count("provider = 'amazon'"), 0, 'nothing created');

# a claim left by a request that died (older than a minute) is taken over
$s->psql("UPDATE idempotency_keys SET created_at = now() - interval"
    . " '2 minutes' WHERE key = 'planted';");
$r = post(A => $U, 'planted', $body);
is($r->status, 201, 'a stale claim is taken over: 201');
is(count("provider = 'amazon'"), 1, '... one amazon integration');
is(scalar $s->psql("SELECT status || ' ' || response_status FROM"
    . " idempotency_keys WHERE key = 'planted';"), 'done 201',
    '... and the key is done with 201');

# a stored answer from over a day ago has expired: the key is new again
$s->psql("UPDATE idempotency_keys SET created_at = now() - interval"
    . " '25 hours' WHERE key = 'create-1' AND tenant_id = '$A_ID';");
$r = post(A => $U, 'create-1', $b1);
ok($r->status == 201 && !defined $r->header('Idempotent-Replayed')
    && (js($r)->{id} // '') ne $first_id,
    'a key older than 24 hours runs the request again');

is($s->stop, 0, 'hubgated stops with exit 0');

$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
