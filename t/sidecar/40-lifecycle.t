#!/usr/bin/perl

# hubgated's life as a process, behind nginx: SIGHUP with a broken file
# keeps the running configuration and says why, with a good one applies
# it; SIGTERM lets a request in flight finish (held on a row lock) and
# exits 0 without its socket; after kill -9 a restart finds every
# integration and every sealed credential still opens; KEK rotation
# (`vault rotate`), a kek_file missing a version still in use (refused at
# start, naming it), and `tenant delete` destroying the data key.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use IO::Socket::UNIX;
use JSON::PP ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $s = Hubgate::Sidecar->new($t);
$s->migrate;
my $A_ID = $s->tenant_create('acme');
my $D_ID = $s->tenant_create('doomed');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf);
$t->run;

# nginx logs [crit] for a request made while hubgated is down on purpose
$t->allow_alerts(qr{\[crit\] .*connect\(\) to unix:\S+/hubgated\.sock failed}
    . qr{ \(2: No such file or directory\) .*request: "GET /healthz });

my %TOK = (
    A => $s->token(tenant => 'acme', subject => 'alice'),
    D => $s->token(tenant => 'doomed', subject => 'dora'),
);

my %KEYS = (
    stripe => 'sk_test_' . 'LifeStripeKey' . int(rand(1e9)),
    mailchimp => 'fedcba9876543210' . sprintf('%016x', int(rand(2**48)))
        . '-us7',
    square => 'EAAAl' . 'DoomedSquareToken_' . int(rand(1e9)),
);
$s->add_secret(map { ("$_ key" => $KEYS{$_}) } keys %KEYS);

my $J = JSON::PP->new->canonical;
my $U = '/api/v1/integrations';

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

sub api {
    my ($who, $method, $uri, $data) = @_;

    return $t->request($method => $uri, headers => [
        Authorization => "Bearer $TOK{$who}",
        defined $data ? ('Content-Type' => 'application/json') : () ],
        defined $data ? (body => $J->encode($data)) : ());
}

sub list {
    my ($who) = @_;
    return [ sort map { $_->{id} } @{ js(api($who, GET => $U))->{data}
        || [] } ];
}

sub healthy {
    my $r = $t->request(GET => '/healthz');
    return $r->status == 200 && (js($r)->{status} // '') eq 'ok';
}

my %ID;
for my $p (qw(stripe mailchimp)) {
    $ID{$p} = js(api(A => POST => $U, { provider => $p, auth => 'api_key',
        api_key => $KEYS{$p} }))->{id};
}
$ID{allegro} = js(api(A => POST => $U, { provider => 'allegro' }))->{id};
$ID{square} = js(api(D => POST => $U, { provider => 'square',
    auth => 'api_key', api_key => $KEYS{square} }))->{id};

is(scalar(grep { defined } values %ID), 4, 'four integrations, three sealed'
    . ' API keys');
my $LIST_A = list('A');


###############################################################################
# SIGHUP

my $mark = $s->log_mark;
$s->write_conf(_raw => "no_such_key = 1\n");
$s->hup;

ok($s->wait_log(qr/reload_failed/, $mark),
    'SIGHUP with an unknown key: reload_failed logged');
my ($failed) = grep { ($_->{event} // '') eq 'reload_failed' }
    $s->log_events($mark);
like($failed && $failed->{msg} // '', qr/unknown key 'no_such_key'/,
    '... naming the key');
like($failed && $failed->{kept} // '', qr/running configuration/,
    '... and keeping the running configuration');
ok(healthy(), 'still serving /healthz');
is_deeply(list('A'), $LIST_A, 'still serving the API');

$mark = $s->log_mark;
$s->write_conf(log_format => 'text', database_pool_size => 3);
$s->hup;
ok($s->wait_log(qr/^\S+ info reloaded file=/m, $mark),
    'SIGHUP with log_format text: reloaded, logged as text');
like($s->log_since($mark), qr/database_pool_size changed; restart hubgated/,
    '... a restart-only key changed is named, not applied');
api(A => GET => $U);
ok($s->wait_log(qr/^\S+ info request .*route=\/v1\/integrations status=200/m,
    $mark), 'requests are logged as text now');

$mark = $s->log_mark;
$s->write_conf(log_format => 'json');
$s->hup;
ok($s->wait_log(qr/^\{.*"event":"reloaded"/m, $mark),
    'SIGHUP back to json: reloaded, logged as JSON');

my $m = $t->request(GET => '/metrics')->body;
like($m, qr/^hubgated_config_reloads_total\{result="error"\} 1$/m,
    'metrics: 1 failed reload');
like($m, qr/^hubgated_config_reloads_total\{result="ok"\} 2$/m,
    'metrics: 2 reloads');


###############################################################################
# SIGTERM while a request waits on a row lock

my $lock = $s->psql_session;
$lock->send("BEGIN; SELECT 1 FROM integrations WHERE id = '$ID{stripe}'"
    . " FOR UPDATE; SELECT 'locked';");
ok($lock->wait_output(qr/locked/), 'psql holds the stripe row lock');

my $put = '{"syncFrequencyMinutes":30}';
my $held = $t->http("PUT $U/$ID{stripe}/settings HTTP/1.1\r\n"
    . "Host: localhost\r\nConnection: close\r\n"
    . "Authorization: Bearer $TOK{A}\r\nContent-Type: application/json\r\n"
    . "Content-Length: " . length($put) . "\r\n\r\n$put", start => 1);
ok($t->wait_for(sub { $s->waiting_backends('UPDATE integrations SET settings%') == 1 }),
    'PUT settings waits on the lock');

$mark = $s->log_mark;
my $pid = $s->pid;
kill 'TERM', $pid;
ok($s->wait_log(qr/"event":"stopping"/, $mark), 'SIGTERM: stopping logged');
ok($t->wait_for(sub { !-e $s->socket }), 'the socket is removed at once');
ok($s->alive, 'the process waits for the request in flight');
ok(!IO::Socket::UNIX->new(Peer => $s->socket), 'no new connection');

$lock->send('COMMIT;');
my $r = parse_response($t->http('', socket => $held));
close $held;
is($r->status, 200, 'lock released: the PUT completes with 200');
is(js($r)->{syncFrequencyMinutes}, 30, '... with its settings');
is($s->wait_exit, 0, 'then hubgated exits 0');
like($s->log_since($mark), qr/"event":"stopped"/, 'stopped logged');
unlike($s->log_since($mark), qr/still running after shutdown_timeout/,
    'no request cut');
is($lock->close, 0, 'psql session ended');
is(scalar $s->psql("SELECT settings->>'syncFrequencyMinutes' FROM"
    . " integrations WHERE id = '$ID{stripe}';"), 30, 'the PUT is stored');

$r = $t->request(GET => '/healthz');
is($r->status, 502, 'nginx: 502 while hubgated is down');


###############################################################################
# kill -9, restart

ok($s->start, 'started again');
kill 'KILL', $s->pid;
is($s->wait_exit, 128 + 9, 'kill -9');
ok(-S $s->socket, 'the socket stays behind');

$mark = $s->log_mark;
ok($s->start, 'restart after kill -9 (the stale socket is replaced)');
is_deeply(list('A'), $LIST_A, 'every integration is still there');
is(js(api(A => GET => "$U/$ID{stripe}/settings"))->{syncFrequencyMinutes},
    30, 'settings too');
ok(js(api(A => GET => "$U/$ID{mailchimp}"))->{connected},
    'the API-key integration is still connected');

# the server closes every pooled connection (as a PostgreSQL restart
# would): requests go on, on fresh connections, without a 5xx
my $killed = $s->psql("SELECT count(pg_terminate_backend(pid))"
    . " FROM pg_stat_activity WHERE datname = current_database()"
    . " AND usename = 'hubgate_app';", role => 'postgres');
ok(defined $killed && $killed >= 1,
    "hubgated's database connections terminated ($killed)");
my @after = map { api(A => GET => $U)->status } 1 .. 3;
is("@after", '200 200 200', 'the next requests reconnect: 200 200 200');
like($s->log_since($mark), qr/retry.*on another connection/,
    'the log says the lost connection was replaced');

my $decrypts = sub {
    return scalar $s->psql("SELECT count(*) FROM audit_log WHERE action ="
        . " 'vault.decrypt' AND details->>'ok' = 'true';");
};
my $d0 = $decrypts->();
my ($rc, $out, $err) = $s->cmd('vault', 'verify');
is($rc, 0, 'vault verify: exit 0') or diag("$out$err");
like($out, qr/3 credentials opened, 0 failed/, 'vault verify: 3 opened');
is($decrypts->() - $d0, 3, 'audit_log: 3 more vault.decrypt rows');


###############################################################################
# KEK versions

my $kek1 = $s->kek_hex;
my $sealed = sub {
    sha256_hex(scalar $s->psql('SELECT string_agg(encode(sealed, \'hex\'),'
        . ' \',\' ORDER BY id) FROM credentials;'));
};
my $sealed0 = $sealed->();

# version 1 removed before anything was rotated: refused at start
is($s->stop, 0, 'stopped');
$s->add_kek(2);
$s->remove_kek(1);
$mark = $s->log_mark;
ok(!$s->start, 'a kek_file without version 1 (still in use): no start');
ok(defined $s->exit_code && $s->exit_code != 0,
    'hubgated exits non-zero (' . ($s->exit_code // 'none') . ')');
like($s->log_since($mark), qr/start_failed.*KEK version 1 \(2 data keys\)/,
    'the log names version 1 and its 2 data keys');
ok(!-e $s->socket, 'no socket');

($rc, $out, $err) = $s->cmd('vault', 'verify');
isnt($rc, 0, 'vault verify without version 1 fails too');

# version 1 present but the wrong key: refused at start, not at a decrypt
$s->add_kek(1);
$mark = $s->log_mark;
ok(!$s->start, 'a wrong key under version 1: no start');
like($s->log_since($mark),
    qr/start_failed.*KEK version 1 is not the key that wrapped/,
    'the log says version 1 is the wrong key');
ok(!-e $s->socket, 'no socket');

# both versions: start, rotate
$s->add_kek(1, $kek1);
ok($s->start, 'with versions 1 and 2: started');
($rc, $out, $err) = $s->cmd('vault', 'rotate');
is($rc, 0, 'vault rotate: exit 0') or diag($err);
like($out, qr/2 data keys re-wrapped with KEK version 2/,
    'vault rotate: 2 data keys re-wrapped with version 2');
is(scalar $s->psql('SELECT string_agg(DISTINCT kek_version::text, \',\')'
    . ' FROM tenant_keys;'), '2', 'every data key is wrapped by version 2');
is($sealed->(), $sealed0, 'the sealed credentials are untouched');
($rc, $out) = $s->cmd('vault', 'rotate');
like($out, qr/0 data keys re-wrapped/, 'a second rotate has nothing to do');

($rc, $out, $err) = $s->cmd('vault', 'verify');
ok($rc == 0 && $out =~ /3 credentials opened, 0 failed/,
    'vault verify after the rotation: all 3 open') or diag("$out$err");

# version 1 is no longer needed
is($s->stop, 0, 'stopped');
$s->remove_kek(1);
ok($s->start, 'with version 2 alone: started');
($rc, $out, $err) = $s->cmd('vault', 'verify');
ok($rc == 0 && $out =~ /3 credentials opened, 0 failed/,
    'vault verify with version 2 alone: all 3 open') or diag("$out$err");

my $new = api(A => POST => $U, { provider => 'stripe', auth => 'api_key',
    api_key => $KEYS{stripe} });
is($new->status, 201, 'a new API key is sealed after the rotation');
($rc, $out) = $s->cmd('vault', 'verify');
like($out, qr/4 credentials opened, 0 failed/, '... and opens');


###############################################################################
# tenant delete

is(scalar $s->psql("SELECT count(*) FROM tenant_keys WHERE tenant_id ="
    . " '$D_ID';"), 1, 'tenant doomed has a data key');

($rc, $out, $err) = $s->cmd('tenant', 'delete', 'doomed');
isnt($rc, 0, 'tenant delete without --yes refuses');
is(scalar $s->psql("SELECT count(*) FROM tenants WHERE id = '$D_ID';"), 1,
    '... and deletes nothing');

($rc, $out, $err) = $s->cmd('tenant', 'delete', 'doomed', '--yes');
is($rc, 0, 'tenant delete doomed --yes: exit 0') or diag($err);
like($out, qr/data key is destroyed/, '... says the data key is destroyed');
is(scalar $s->psql("SELECT (SELECT count(*) FROM tenant_keys WHERE tenant_id"
    . " = '$D_ID') + (SELECT count(*) FROM credentials WHERE tenant_id ="
    . " '$D_ID') + (SELECT count(*) FROM integrations WHERE tenant_id ="
    . " '$D_ID');"), 0, 'its tenant_keys, credentials and integrations rows'
    . ' are gone');
is(api(D => GET => $U)->status, 403, 'its token is refused now (403)');
is_deeply([ grep { $_ ne js($new)->{id} } @{ list('A') } ], $LIST_A,
    'the other tenant keeps everything');

($rc, $out, $err) = $s->cmd('tenant', 'delete', 'doomed', '--yes');
isnt($rc, 0, 'deleting it again fails');


###############################################################################
# plain SIGTERM

is($s->stop, 0, 'SIGTERM: exit 0');
ok(!-e $s->socket, 'the socket is removed');

$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
