#!/usr/bin/perl

# OAuth connections against the fake providers, straight to hubgated's
# socket (no nginx): POST /v1/integrations answers an authorize_url (state
# + PKCE S256 for Allegro); the test plays the browser on the fake (no
# redirect following) and brings code and state back to the callback.
# Success for Allegro and Stripe Connect (active, account_id, credentials
# sealed: no token in plaintext anywhere in the database or the logs);
# a tampered, replayed or expired state; a tampered PKCE challenge
# (provider refuses: 502 provider_error, nothing stored); a state of one
# tenant never completes another's; denied consent; HTML and JSON
# answers; an unconfigured provider; delete revokes at Stripe and only
# destroys the credentials at Allegro.

use strict;
use warnings;

use File::Basename qw(dirname);
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

my $HAVE_STRIPE = -f "$REPO/t/fakes/fake_stripe.pl";
my $DIR = $t->testdir;
my %CLIENT = (allegro => 'hg-t70-allegro', stripe => 'ca_hgT70stripe');
my %SECRET = (allegro => 'allegro-secret-' . int(rand(1e12)),
    stripe => 'sk_test_hgT70' . int(rand(1e12)));
my $REDIRECT = 'https://hubgate.example/api/v1/oauth/callback';

# what every Allegro token starts with (base64url of its JWT header)
my $ALLEGRO_TOKEN_HEAD = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9';

for my $p (qw(allegro stripe)) {
    $t->write_file("$p.secret", "$SECRET{$p}\n");
    chmod 0600, "$DIR/$p.secret";
}

$s->add_secret('allegro client secret' => $SECRET{allegro},
    'stripe secret key' => $SECRET{stripe},
    'allegro token' => $ALLEGRO_TOKEN_HEAD);

my %FAKE = (allegro => Hubgate::Fake->new($t, 'allegro',
    FAKE_ALLEGRO_CLIENT_ID => $CLIENT{allegro},
    FAKE_ALLEGRO_CLIENT_SECRET => $SECRET{allegro}));
$FAKE{stripe} = Hubgate::Fake->new($t, 'stripe',
    FAKE_STRIPE_CLIENT_ID => $CLIENT{stripe},
    FAKE_STRIPE_PLATFORM_KEY => $SECRET{stripe}) if $HAVE_STRIPE;
my %PORT = map { $_ => $FAKE{$_} ? $FAKE{$_}->port : $t->port($_) }
    qw(allegro stripe);

$s->write_conf(
    allegro_api_url => "http://127.0.0.1:$PORT{allegro}",
    allegro_auth_url => "http://127.0.0.1:$PORT{allegro}",
    allegro_client_id => $CLIENT{allegro},
    allegro_client_secret_file => "$DIR/allegro.secret",
    stripe_api_url => "http://127.0.0.1:$PORT{stripe}",
    stripe_connect_url => "http://127.0.0.1:$PORT{stripe}",
    stripe_client_id => $CLIENT{stripe},
    stripe_secret_key_file => "$DIR/stripe.secret",
    oauth_redirect_uri => $REDIRECT,
    test_clock => 'on',
    token_refresh_margin => '5m',
    http_timeout => '5s',
);

$s->migrate;
my $A_ID = $s->tenant_create('acme');
my $B_ID = $s->tenant_create('bravo');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

my $J = JSON::PP->new->canonical;

sub js { my ($r) = @_; return (eval { $r->json }) // {} }

sub api {
    my ($tenant, $method, $uri, $data, %o) = @_;

    return $s->request($method => $uri,
        ident => { tenant => $tenant, subject => 'u1',
                   ($o{roles} ? (roles => $o{roles}) : ()) },
        defined $data ? (json => $data) : ());
}

sub fake { my ($p, @a) = @_; return $FAKE{$p}->control(@a) }

sub fake_stats { return $FAKE{ $_[0] }->stats }

sub sql { return scalar $s->psql($_[0]) }

# create an OAuth integration: (response, decoded)
sub create {
    my ($tenant, $p) = @_;

    my $r = api($tenant, POST => '/api/v1/integrations',
        { provider => $p, auth => 'oauth' });
    return ($r, js($r));
}

# the browser at the provider: the authorize URL's path and query sent to
# the fake, optionally with one query parameter replaced; returns the
# query of the Location it redirects to (code, state or error)
sub authorize {
    my ($p, $url, %edit) = @_;

    my ($path) = $url =~ m{^https?://[^/]+(/[^?]*)} or return undef;
    my ($q) = $url =~ /\?(.*)$/;
    my @kv = split /&/, $q // '';

    for my $kv (@kv) {
        my ($k) = split /=/, $kv, 2;
        $kv = "$k=$edit{$k}" if exists $edit{$k};
    }

    my $res = $FAKE{$p}->request(GET => "$path?" . join('&', @kv));
    my $loc = $res->headers->location // return undef;

    return undef if index($loc, $REDIRECT) != 0;
    my ($back) = $loc =~ /\?(.*)$/;

    return $back;
}

sub callback {
    my ($query, %o) = @_;

    return $s->request(GET => "/api/v1/oauth/callback?$query",
        ident => $o{ident} // {},
        headers => [ Accept => $o{accept} // 'application/json' ]);
}

sub param {
    my ($query, $name) = @_;
    my ($v) = ($query // '') =~ /(?:^|&)\Q$name\E=([^&]*)/;
    return $v;
}

sub integration { return js(api($_[0], GET => "/api/v1/integrations/$_[1]")) }

sub creds {
    my ($id) = @_;
    return sql("SELECT string_agg(purpose, ',' ORDER BY purpose)"
        . " FROM credentials WHERE integration_id = '$id'") // '';
}

sub error_is {
    my ($r, $status, $code, $name) = @_;

    my $got = js($r)->{error}{code} // '';
    ok(($r->status // 0) == $status && $got eq $code, $name)
        or diag('got ' . ($r->status // 'none') . " $got: "
            . ($r->body // ''));
}


###############################################################################
# Allegro: a full connection

my ($r, $c) = create('acme', 'allegro');
is($r->status, 201, 'allegro: created') or diag($r->body);
is($c->{status}, 'pending', 'allegro: pending until the callback');
my $URL = $c->{authorize_url} // '';
like($URL, qr{^http://127\.0\.0\.1:$PORT{allegro}/auth/oauth/authorize\?},
    'allegro: authorize_url points at the configured auth URL');
like($URL, qr/[?&]code_challenge_method=S256(?:&|$)/, 'allegro: PKCE S256');
like(param((split /\?/, $URL)[1], 'code_challenge') // '',
    qr/^[A-Za-z0-9_-]{43}$/, 'allegro: a 43-character challenge');
like(param((split /\?/, $URL)[1], 'state') // '', qr/^[A-Za-z0-9_-]{43}$/,
    'allegro: a 256-bit base64url state');
my $AL = $c->{id};

is(sql("SELECT count(*) FROM oauth_sessions WHERE integration_id = '$AL'"
    . " AND used_at IS NULL AND expires_at BETWEEN now() + interval '9 min'"
    . " AND now() + interval '11 min'"), 1,
    'allegro: one session, expiring in 10 minutes');
is(sql("SELECT count(*) FROM oauth_sessions WHERE integration_id = '$AL'"
    . " AND position(convert_to('" . param((split /\?/, $URL)[1], 'state')
    . "', 'UTF8') IN state_hash) > 0"), 0, 'allegro: the state is not stored');

my $back = authorize('allegro', $URL);
ok(param($back, 'code') && param($back, 'state'), 'allegro: code and state'
    . ' come back') or diag($back // 'no redirect');
$s->add_secret('allegro code' => param($back, 'code'));

$r = callback($back);
is($r->status, 200, 'allegro: callback 200') or diag($r->body);
is(js($r)->{status}, 'active', 'allegro: callback says active');
is(js($r)->{integration_id}, $AL, 'allegro: callback names the integration');

$c = integration('acme', $AL);
is($c->{status}, 'active', 'allegro: integration active');
is($c->{account_id}, '46968690', 'allegro: account_id from /me');
ok($c->{connected}, 'allegro: connected');
is(creds($AL), 'access_token,refresh_token', 'allegro: both tokens stored');
is(sql("SELECT count(*) FROM credentials WHERE integration_id = '$AL'"
    . " AND purpose = 'access_token' AND expires_at > now()"), 1,
    'allegro: the access token has its expiry');
is(fake_stats('allegro')->{token_calls}{authorization_code}, 1,
    'allegro: one code exchange');
is(sql("SELECT count(*) FROM audit_log WHERE action = 'integration.connect'"
    . " AND target = 'integration:$AL'"), 1, 'allegro: connect audited');

# the tokens are sealed: neither the text nor its hex anywhere in a dump
sub pg_dump {
    my $pg = $ENV{HUBGATE_PG_BIN} // '/usr/lib/postgresql/15/bin';
    my @cmd = ("$pg/pg_dump", '-h', $s->pg_host, '-p', $s->pg_port,
        '-U', 'hubgate', '--data-only', $s->db);
    open my $keep, '>&', \*STDERR or return '';
    open STDERR, '>', '/dev/null';
    my $ok = open my $fh, '-|', @cmd;
    open STDERR, '>&', $keep;
    return '' if !$ok;
    local $/;
    my $dump = <$fh> // '';
    close $fh;
    return $dump;
}

sub dump_has {
    my ($needle) = @_;

    my $dump = pg_dump();
    return 'empty dump' if length $dump < 100;

    my $hex = unpack 'H*', $needle;
    return index($dump, $needle) >= 0 || index(lc $dump, $hex) >= 0;
}

# Stripe's tokens: sk_test_ or rt_ and 36 more characters
sub stripe_dump_has {
    my $dump = pg_dump();
    return 'empty dump' if length $dump < 100;
    return $dump =~ /(?:sk_test_|rt_)[A-Za-z0-9_-]{30}/
        || index(lc $dump, unpack('H*', 'sk_test_')) >= 0;
}

like(pg_dump(), qr/46968690/, 'the dump holds the data (the account id)');
ok(!dump_has($ALLEGRO_TOKEN_HEAD),
    'allegro: no token in plaintext in the database');

# replay of the same state: state_used, nothing changes
my $before = sql("SELECT updated_at FROM integrations WHERE id = '$AL'");
$r = callback($back);
error_is($r, 400, 'state_used', 'replayed state: 400 state_used');
is(sql("SELECT updated_at FROM integrations WHERE id = '$AL'"), $before,
    'replayed state: the integration is untouched');
is(fake_stats('allegro')->{token_calls}{authorization_code}, 1,
    'replayed state: no second code exchange');


###############################################################################
# tampered state, PKCE, expiry, tenants, denial

($r, $c) = create('acme', 'allegro');
my $X = $c->{id};
$back = authorize('allegro', $c->{authorize_url});
my $st = param($back, 'state');
my $bad = (substr($st, 0, 1) eq 'A' ? 'B' : 'A') . substr($st, 1);

$r = callback('code=' . param($back, 'code') . "&state=$bad");
error_is($r, 400, 'invalid_state', 'tampered state: 400 invalid_state');
error_is(callback('code=' . param($back, 'code')), 400, 'invalid_state',
    'no state: 400 invalid_state');
is(integration('acme', $X)->{status}, 'pending',
    'tampered state: still pending');
is(creds($X), '', 'tampered state: no credentials');

# the genuine state, brought back by 5 callers at once: exactly one wins
{
    my $out = "$DIR/race.txt";
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;
    STDOUT->flush;
    STDERR->flush;

    for (1 .. 5) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            close $wr;
            Test::More->builder->no_ending(1);
            my $go = <$rd>;
            my $r = callback($back);
            open my $fh, '>>', $out or POSIX::_exit(1);
            print $fh ($r->status // 0), ' ', (js($r)->{error}{code} // ''),
                "\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    close $rd;
    close $wr;
    waitpid($_, 0) for @pids;
    open my $fh, '<', $out;
    my @got = sort map { chomp; $_ } <$fh>;
    is_deeply(\@got, [ '200 ', ('400 state_used') x 4 ],
        'the same state 5 times at once: one 200, four state_used')
        or diag(join ', ', @got);
}
is(integration('acme', $X)->{status}, 'active', 'that completed it');

# PKCE: the challenge the provider sees is not the one of our verifier
($r, $c) = create('acme', 'allegro');
my $P = $c->{id};
my $ch = param((split /\?/, $c->{authorize_url})[1], 'code_challenge');
my $ig = fake_stats('allegro')->{invalid_grant} // 0;
$back = authorize('allegro', $c->{authorize_url}, code_challenge =>
    (substr($ch, 0, 1) eq 'A' ? 'B' : 'A') . substr($ch, 1));
$r = callback($back);
error_is($r, 502, 'provider_error', 'tampered PKCE: 502 provider_error');
is(js($r)->{error}{provider_code}, 'invalid_grant',
    'tampered PKCE: the provider code is named');
is(fake_stats('allegro')->{invalid_grant}, $ig + 1,
    'tampered PKCE: the fake refused the verifier');
$c = integration('acme', $P);
is($c->{status}, 'pending', 'tampered PKCE: still pending');
like($c->{last_error} // '', qr/invalid_grant/,
    'tampered PKCE: last_error says why');
is(creds($P), '', 'tampered PKCE: no credentials');
error_is(callback($back), 400, 'state_used', 'tampered PKCE: the state is'
    . ' used up');

# expiry: 11 minutes later the state is refused
($r, $c) = create('acme', 'allegro');
my $E = $c->{id};
$back = authorize('allegro', $c->{authorize_url});
$r = api('acme', POST => '/api/v1/admin/test-clock', { advance_seconds => 660 },
    roles => 'admin');
is($r->status, 200, 'test clock advanced 11 minutes') or diag($r->body);
error_is(callback($back), 400, 'state_expired', 'expired state: 400'
    . ' state_expired');
is(integration('acme', $E)->{status}, 'pending', 'expired state: pending');
is(creds($E), '', 'expired state: no credentials');
error_is(callback($back), 400, 'state_used', 'expired state: used up too');

# a state of acme, brought back signed for bravo: refused, nothing stored
($r, $c) = create('acme', 'allegro');
my $T = $c->{id};
$back = authorize('allegro', $c->{authorize_url});
$r = callback($back, ident => { tenant => 'bravo', subject => 'eve' });
error_is($r, 400, 'invalid_state', 'a state of acme signed for bravo:'
    . ' invalid_state');
is(integration('acme', $T)->{status}, 'pending', 'cross-tenant: pending');
is(creds($T), '', 'cross-tenant: no credentials');
is(sql("SELECT count(*) FROM integrations WHERE tenant_id = '$B_ID'"), 0,
    'cross-tenant: bravo got nothing');
is(js(api('bravo', GET => "/api/v1/integrations/$T"))->{error}{code},
    'not_found', 'cross-tenant: bravo cannot see it');

# denied consent
fake('allegro', POST => '/_fake/config', { deny => JSON::PP::true });
($r, $c) = create('acme', 'allegro');
my $D = $c->{id};
$back = authorize('allegro', $c->{authorize_url});
is(param($back, 'error'), 'access_denied', 'denied: the fake says'
    . ' access_denied');
$r = callback($back);
error_is($r, 400, 'access_denied', 'denied: 400 access_denied');
is(integration('acme', $D)->{status}, 'pending', 'denied: pending');
is(creds($D), '', 'denied: nothing stored');

# the same as a browser: a page, escaped, no external assets
($r, $c) = create('acme', 'allegro');
$back = authorize('allegro', $c->{authorize_url});
$r = callback($back, accept => 'text/html,application/xhtml+xml,'
    . 'application/xml;q=0.9,*/*;q=0.8');
is($r->status, 400, 'denied, HTML: 400');
like($r->header('Content-Type') // '', qr{^text/html}, 'denied, HTML: a page');
like($r->body, qr/Not connected/, 'denied, HTML: says not connected');
unlike($r->body, qr/(?:src|href)\s*=/i, 'denied, HTML: no external assets');
fake('allegro', POST => '/_fake/config', { deny => JSON::PP::false });

($r, $c) = create('acme', 'allegro');
$back = authorize('allegro', $c->{authorize_url});
$r = callback($back, accept => 'text/html');
is($r->status, 200, 'HTML success: 200') or diag($r->body);
like($r->body, qr/<h1>Connected<\/h1>/, 'HTML success: says connected');
my $H = $c->{id};

$r = callback('state=%3Cscript%3E&code=x', accept => 'text/html');
is($r->status, 400, 'HTML error: 400');
unlike($r->body, qr/<script/i, 'HTML error: nothing of the input is echoed'
    . ' unescaped');


###############################################################################
# delete: Allegro cannot revoke, the credentials are destroyed

$r = api('acme', DELETE => "/api/v1/integrations/$H");
is($r->status, 204, 'allegro delete: 204') or diag($r->body);
is(sql("SELECT count(*) FROM credentials WHERE integration_id = '$H'"), 0,
    'allegro delete: credentials destroyed');
is(sql("SELECT count(*) FROM audit_log WHERE action LIKE 'integration.revoke%'"
    . " AND target = 'integration:$H'"), 0,
    'allegro delete: no revocation attempted');


###############################################################################
# an OAuth provider without a client id: 409 before anything is written

{
    my $n = sql('SELECT count(*) FROM integrations');
    $s->write_conf(
        allegro_api_url => "http://127.0.0.1:$PORT{allegro}",
        allegro_auth_url => "http://127.0.0.1:$PORT{allegro}",
        allegro_client_id => '',
        allegro_client_secret_file => "$DIR/allegro.secret",
        stripe_api_url => "http://127.0.0.1:$PORT{stripe}",
        stripe_connect_url => "http://127.0.0.1:$PORT{stripe}",
        stripe_client_id => $CLIENT{stripe},
        stripe_secret_key_file => "$DIR/stripe.secret",
        oauth_redirect_uri => $REDIRECT,
        test_clock => 'on',
        token_refresh_margin => '5m',
        http_timeout => '5s',
    );
    $s->hup;
    my $ok = $t->wait_for(sub {
        (create('acme', 'allegro'))[0]->status == 409 });
    ok($ok, 'no allegro_client_id: create answers 409');
    error_is((create('acme', 'allegro'))[0], 409, 'provider_not_configured',
        'no allegro_client_id: provider_not_configured');
    is(sql('SELECT count(*) FROM integrations'), $n,
        'no allegro_client_id: nothing written');
}


###############################################################################
# Stripe Connect: no PKCE, the token answer names the account; delete
# deauthorizes

SKIP: {
    skip 't/fakes/fake_stripe.pl is not there', 14 if !$HAVE_STRIPE;

    ($r, $c) = create('acme', 'stripe');
    is($r->status, 201, 'stripe: created') or diag($r->body);
    my $S1 = $c->{id};
    like($c->{authorize_url} // '',
        qr{^http://127\.0\.0\.1:$PORT{stripe}/oauth/authorize\?},
        'stripe: authorize_url at the Connect URL');
    $back = authorize('stripe', $c->{authorize_url});
    $r = callback($back);
    is($r->status, 200, 'stripe: callback 200') or diag($r->body);
    $c = integration('acme', $S1);
    is($c->{status}, 'active', 'stripe: active');
    like($c->{account_id} // '', qr/^acct_/, 'stripe: account_id acct_...');
    is(creds($S1) =~ /access_token/ ? 1 : 0, 1, 'stripe: token stored');

    ok(!stripe_dump_has(), 'stripe: no token in plaintext in the database');

    $r = api('acme', POST => "/api/v1/integrations/$S1/test");
    is($r->status, 200, 'stripe: test connection 200') or diag($r->body);
    is(js($r)->{account_id}, $c->{account_id}, 'stripe: the same account');

    # the platform acting for the account sees it while it is connected
    my $acct = $c->{account_id} // '';
    my $as = sub {
        return $FAKE{stripe}->api(GET => '/v1/account',
            token => $SECRET{stripe}, account => $acct)->code;
    };
    is($as->(), 200, 'stripe: the account is connected at the fake');

    $r = api('acme', DELETE => "/api/v1/integrations/$S1");
    is($r->status, 204, 'stripe delete: 204') or diag($r->body);
    is($as->(), 403, 'stripe delete: deauthorized at the fake (its keys'
        . ' revoked)');
    is(creds($S1), '', 'stripe delete: credentials destroyed');
    is(sql("SELECT count(*) FROM audit_log WHERE action ="
        . " 'integration.revoke' AND target = 'integration:$S1'"), 1,
        'stripe delete: revocation audited');
}

$s->no_secrets_ok('no secret, token or code in any log');
$s->stop;

done_testing;
