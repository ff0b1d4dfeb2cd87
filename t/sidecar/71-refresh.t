#!/usr/bin/perl

# Token refresh against the fake Allegro (rotating refresh tokens), through
# POST /v1/integrations/{id}/test: proactive within token_refresh_margin;
# 50 concurrent callers that all need a refresh make exactly one token
# call and no invalid_grant; the rotated refresh token is the one the next
# refresh uses; a 401 with a token that looks fresh refreshes once; a
# refresh token revoked at the provider makes the integration
# needs_reconnect (with last_error, 409 on /test, one invalid_grant even
# under concurrency), and POST /reconnect brings it back.

use strict;
use warnings;

use IO::Handle;
use JSON::PP ();
use POSIX ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;

my $REPO = Hubgate::Test->repo;
my $t = Hubgate::Test->new;
my $s = Hubgate::Sidecar->new($t);

my $DIR = $t->testdir;
my $CLIENT = 'hg-t71-allegro';
my $SECRET = 'allegro-secret-' . int(rand(1e12));
my $REDIRECT = 'https://hubgate.example/api/v1/oauth/callback';
my $N = 50;

$t->write_file('allegro.secret', "$SECRET\n");
chmod 0600, "$DIR/allegro.secret";
$s->add_secret('allegro client secret' => $SECRET,
    'allegro token' => 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9');

my $FAKE = Hubgate::Fake->new($t, 'allegro',
    FAKE_ALLEGRO_CLIENT_ID => $CLIENT, FAKE_ALLEGRO_CLIENT_SECRET => $SECRET);
my $PORT = $FAKE->port;

$s->write_conf(
    allegro_api_url => "http://127.0.0.1:$PORT",
    allegro_auth_url => "http://127.0.0.1:$PORT",
    allegro_client_id => $CLIENT,
    allegro_client_secret_file => "$DIR/allegro.secret",
    oauth_redirect_uri => $REDIRECT,
    test_clock => 'on',
    token_refresh_margin => '5m',
    http_timeout => '10s',
    database_pool_size => 8,
);

$s->migrate;
$s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

my $J = JSON::PP->new->canonical;

sub js { my ($r) = @_; return (eval { $r->json }) // {} }

sub api {
    my ($method, $uri, $data, %o) = @_;

    return $s->request($method => $uri,
        ident => { tenant => 'acme', subject => 'u1',
                   ($o{roles} ? (roles => $o{roles}) : ()) },
        defined $data ? (json => $data) : (), timeout => 30);
}

sub fake { return $FAKE->control(@_) }

sub stats { return $FAKE->stats }
sub refreshes { return stats()->{token_calls}{refresh_token} // 0 }
sub invalid_grants { return stats()->{invalid_grant} // 0 }

sub advance {
    my ($seconds) = @_;

    my $r = api(POST => '/api/v1/admin/test-clock',
        { advance_seconds => $seconds }, roles => 'admin');
    return $r->status == 200;
}

# the authorize URL played as a browser; the callback's answer
sub complete {
    my ($url) = @_;

    my ($path, $q) = ($url // '') =~ m{^https?://[^/]+(/[^?]*)\?(.*)$}
        or return undef;
    my $res = $FAKE->request(GET => "$path?$q");
    my ($back) = ($res->headers->location // '') =~ /\?(.*)$/
        or return undef;

    return $s->request(GET => "/api/v1/oauth/callback?$back", ident => {},
        headers => [ Accept => 'application/json' ]);
}

# $n concurrent POST /test, released together: burst_start gives a handle,
# burst_wait the list of statuses once every caller answered
sub burst_start {
    my ($id, $n) = @_;

    my $out = "$DIR/burst-" . int(rand(1e9)) . '.txt';
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;

    STDOUT->flush;
    STDERR->flush;

    for my $i (1 .. $n) {
        my $pid = fork() // die "fork: $!";

        if ($pid == 0) {
            close $wr;
            Test::More->builder->no_ending(1);
            my $go = <$rd>;       # EOF when the parent closes: all at once
            my $r = api(POST => "/api/v1/integrations/$id/test");
            my $code = js($r)->{error}{code} // '';
            if (open my $fh, '>>', $out) {
                $fh->autoflush(1);
                print $fh (($r->status // 0) . " $code\n");
                close $fh;
            }
            POSIX::_exit(0);
        }

        push @pids, $pid;
    }

    close $rd;
    close $wr;

    return { pids => \@pids, out => $out };
}

sub burst_wait {
    my ($b) = @_;

    waitpid($_, 0) for @{ $b->{pids} };

    open my $fh, '<', $b->{out} or return ();
    my @st = map { (split ' ', $_)[0] } <$fh>;
    close $fh;

    return @st;
}

sub burst { return burst_wait(burst_start(@_)) }

sub count_of {
    my ($want, @st) = @_;
    return scalar grep { $_ == $want } @st;
}

sub integration { return js(api(GET => "/api/v1/integrations/$_[0]")) }


###############################################################################
# connect with one-hour access tokens

fake(POST => '/_fake/config', { access_ttl => 3600 });

my $r = api(POST => '/api/v1/integrations', { provider => 'allegro' });
is($r->status, 201, 'created') or diag($r->body);
my $ID = js($r)->{id};

$r = complete(js($r)->{authorize_url});
is($r && $r->status, 200, 'connected') or diag($r ? $r->body : 'no flow');

$r = api(POST => "/api/v1/integrations/$ID/test");
is($r->status, 200, 'test connection: 200') or diag($r->body);
is(js($r)->{ok}, JSON::PP::true, 'test connection: ok');
is(js($r)->{account_id}, '46968690', 'test connection: the account');
is(refreshes(), 0, 'a fresh token: no refresh');


###############################################################################
# 50 concurrent callers inside the margin: one refresh

ok(advance(56 * 60), 'clock moved to 4 minutes before expiry');

# The access token's row is held locked meanwhile, so whoever refreshes
# cannot commit: every caller is inside the refresh at the same time,
# queued on a lock (the database pool has 8 connections), before the
# first one may finish.
my $ig0 = invalid_grants();
my $lock = $s->psql_session;
$lock->send("BEGIN;\nSELECT 'held' FROM credentials WHERE integration_id ="
    . " '$ID' AND purpose = 'access_token' FOR UPDATE;\n");
ok($lock->wait_output(qr/held/, 10), 'the access token row is held');
my $b = burst_start($ID, $N);
ok($t->wait_for(sub { $s->waiting_backends >= 8 }, 30),
    '8 callers at once wait on a lock');
$lock->send("COMMIT;\n");
$lock->close;
my @st = burst_wait($b);
is(scalar @st, $N, "$N callers answered");
is(count_of(200, @st), $N, "all $N got 200")
    or diag(join ' ', @st);
is(refreshes(), 1, 'exactly one refresh_token call');
is(invalid_grants(), $ig0, 'no invalid_grant');
is($s->psql("SELECT count(*) FROM credentials WHERE integration_id = '$ID'"
    . " AND purpose = 'access_token' AND expires_at > now() + interval"
    . " '1 hour'"), 1, 'the new access token expires an hour after the'
    . ' test clock');

# the second cycle works only with the rotated refresh token: the one
# before is dead at the fake (rotation), so reusing it would be an
# invalid_grant
ok(advance(56 * 60), 'clock moved inside the margin again');
@st = burst($ID, 10);
is(count_of(200, @st), 10, 'second cycle: all 10 got 200')
    or diag(join ' ', @st);
is(refreshes(), 2, 'second cycle: one more refresh');
is(invalid_grants(), $ig0, 'second cycle: the rotated refresh token worked');


###############################################################################
# a 401 with a token that looks fresh: refreshed once

fake(POST => '/_fake/tokens', { action => 'expire', which => 'access' });
$r = api(POST => "/api/v1/integrations/$ID/test");
is($r->status, 200, 'expired at the provider: /test still 200')
    or diag($r->body);
is(refreshes(), 3, 'expired at the provider: one refresh (stale token)');
$r = api(POST => "/api/v1/integrations/$ID/test");
is(refreshes(), 3, 'and the refreshed token is used from then on');


###############################################################################
# revoked at the provider: needs_reconnect

fake(POST => '/_fake/tokens', { action => 'revoke', which => 'all' });
ok(advance(56 * 60), 'clock moved inside the margin');
@st = burst($ID, 5);
is(count_of(409, @st), 5, 'revoked: all 5 callers got 409')
    or diag(join ' ', @st);
is(invalid_grants(), $ig0 + 1, 'revoked: one invalid_grant, not five');

my $c = integration($ID);
is($c->{status}, 'needs_reconnect', 'revoked: status needs_reconnect');
# a sync job of the scheduler may meet the same refusal and word it its way
like($c->{last_error} // '', qr/invalid_grant|refused/, 'revoked: last_error'
    . ' says the provider refused');
is($s->psql("SELECT count(*) FROM audit_log WHERE action ="
    . " 'integration.needs_reconnect' AND target = 'integration:$ID'"
    . " AND details->>'reason' LIKE '%invalid_grant%'"), 1,
    'revoked: needs_reconnect audited once, naming invalid_grant');
$r = api(POST => "/api/v1/integrations/$ID/test");
is(js($r)->{error}{code}, 'needs_reconnect', 'revoked: /test answers 409'
    . ' needs_reconnect');
is($r->status, 409, 'revoked: 409');
is(invalid_grants(), $ig0 + 1, 'revoked: no further token call');
is(js(api(POST => "/api/v1/integrations/$ID/activate"))->{error}{code},
    'not_connected', 'revoked: activate refuses');

# reconnect
my $n0 = stats()->{token_calls}{authorization_code};
$r = api(POST => "/api/v1/integrations/$ID/reconnect");
is($r->status, 200, 'reconnect: 200') or diag($r->body);
like(js($r)->{authorize_url} // '', qr{/auth/oauth/authorize\?.*state=},
    'reconnect: a new authorize_url');
$r = complete(js($r)->{authorize_url});
is($r && $r->status, 200, 'reconnect: callback 200')
    or diag($r ? $r->body : 'no flow');
$c = integration($ID);
is($c->{status}, 'active', 'reconnect: active again');
is($c->{last_error}, undef, 'reconnect: last_error cleared');
is(stats()->{token_calls}{authorization_code}, $n0 + 1,
    'reconnect: one code exchange');
$r = api(POST => "/api/v1/integrations/$ID/test");
is($r->status, 200, 'reconnect: /test 200') or diag($r->body);

$r = api(POST => "/api/v1/integrations/$ID/reconnect");
is(js($r)->{error}{code}, 'already_connected',
    'reconnect of an active integration: 409 already_connected');

$s->no_secrets_ok('no secret or token in any log');
$s->stop;

done_testing;
