#!/usr/bin/perl

# No secret in any log or command output, and no API key in clear in the
# database.  Drives hubgated (log_level debug, JSON then text) and nginx
# through the paths that handle secrets: API keys accepted and refused,
# keys in malformed or oversized bodies (with Idempotency-Key, whose
# answers are stored), good, tampered and foreign JWTs, forged identity
# signatures, a database password, a secret pasted into hubgated.conf,
# a failed start, the operator commands; then searches hubgated's log,
# nginx's error.log and access.log and every command's output for the
# API keys, the KEK, the identity secret, the signing key, the JWTs and
# the password, and a data dump of the database for the API keys.

use strict;
use warnings;

use JSON::PP ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $PW = 'Pw' . int(rand(1e9)) . 'S3cretDbPass';
my $s = Hubgate::Sidecar->new($t, conf => { log_level => 'debug',
    request_body_limit => '2k' });
$s->add_secret('database password' => $PW);
$s->write_conf(database_url => $s->conninfo('hubgate_app')
    . " password=$PW");    # trust authentication: accepted, unused

$s->migrate;
$s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf);
$t->run;

my $TOK = $s->token(tenant => 'acme', subject => 'alice',
    roles => 'user,admin');
my $FOREIGN = $s->token(tenant => 'nosuch', subject => 'mallory');

my $n = int(rand(1e9));
my %KEYS = (
    stripe => "sk_test_StripeSecret${n}Key",
    square => "EAAAlSquareSecret${n}Token",
    mailchimp => sprintf('%032x', $n) . '-us21',
    ksef => "ksef-Secret-$n-Token",
    'stripe publishable' => "pk_test_Publishable${n}Key",
    'stripe webhook secret' => "whsec_WebhookSecret${n}Value",
    'short square' => "EAAA${n}",
    # short (jansson quotes up to 20 bytes near a syntax error)
    'key with a control character' => 'sk_test_' . substr("C$n$n", 0, 10),
    'key with a bad escape' => 'ksef' . substr("$n$n$n", 0, 12),
    'key in an oversized body' => "sk_test_Oversized${n}Key",
);
$s->add_secret(map { ("$_ API key" => $KEYS{$_}) } keys %KEYS);

my $J = JSON::PP->new->canonical;
my $U = '/api/v1/integrations';
my $idem = 0;

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

sub post {
    my ($body, %h) = @_;

    return $t->request(POST => $U, headers => {
        Authorization => "Bearer $TOK", 'Content-Type' => 'application/json',
        'Idempotency-Key' => 'secrets-' . ++$idem, %h },
        body => ref $body ? $J->encode($body) : $body);
}

# everything is run twice: JSON log lines, then text ones
sub exercise {
    my ($round) = @_;

    my @st;

    for my $p (qw(stripe square mailchimp ksef)) {
        push @st, post({ provider => $p, auth => 'api_key',
            api_key => $KEYS{$p}, display_name => "$p $round" })->status;
    }

    is("@st", '201 201 201 201', "$round: four API keys accepted");

    @st = map { post({ provider => $_->[0], auth => 'api_key',
        api_key => $KEYS{ $_->[1] } })->status }
        [ stripe => 'stripe publishable' ],
        [ stripe => 'stripe webhook secret' ], [ square => 'short square' ];
    is("@st", '422 422 422', "$round: three keys refused (422)");

    my $ctl = "{\"provider\":\"stripe\",\"auth\":\"api_key\",\"api_key\":"
        . "\"$KEYS{'key with a control character'}\x01\"}";
    my $esc = "{\"provider\":\"ksef\",\"api_key\":"
        . "\"$KEYS{'key with a bad escape'}\\q\"}";
    my $big = $J->encode({ provider => 'stripe', auth => 'api_key',
        api_key => $KEYS{'key in an oversized body'}, pad => 'x' x 3000 });
    @st = map { post($_)->status } $ctl, $esc, $big;
    is("@st", '400 400 413', "$round: keys in malformed (400) and oversized"
        . ' (413) bodies');

    my $r = post($ctl);
    ok($r->status == 400 && index($r->raw, $KEYS{'key with a control'
        . ' character'}) < 0, "$round: the 400 answer does not quote the"
        . ' key');

    # one character of the signature changed (not the last: its low bits
    # may be padding)
    my $bad = $TOK;
    substr($bad, -20, 1) = substr($bad, -20, 1) eq 'A' ? 'B' : 'A';
    $s->add_secret("tampered token $round" => $bad);

    @st = map { $t->request(GET => $U,
        headers => { Authorization => "Bearer $_" })->status }
        $TOK, $bad, $FOREIGN, "$TOK.extra";
    is("@st", '200 401 403 401', "$round: good, tampered, foreign tenant and"
        . ' malformed tokens');

    @st = map { $t->request(GET => "/api/v1/admin/summary",
        headers => { Authorization => "Bearer $_" })->status } $TOK;
    is("@st", '200', "$round: admin summary");

    # a pasted-in token and forged signatures straight to the socket
    @st = map { $s->request(GET => '/v1/integrations', headers => $_)
        ->status } { Authorization => "Bearer $TOK" },
        { 'X-Hubgate-Tenant' => 'acme', 'X-Hubgate-Auth' =>
            $s->ident(method => 'GET', uri => '/v1/integrations',
                tenant => 'acme', secret => 'e' x 64) };
    is("@st", '401 401', "$round: unsigned and forged calls to the socket");
}

exercise('json');

# a reload that fails on a broken database_url holding the password, and
# one on a secret pasted into the file
my $mark = $s->log_mark;
$s->write_conf(database_url => undef, _raw => 'database_url = "'
    . $s->conninfo('hubgate_app') . " password=$PW\n");
$s->hup;
ok($s->wait_log(qr/reload_failed.*unterminated quote/, $mark),
    'a database_url with an unterminated quote: reload_failed');

$mark = $s->log_mark;
$s->write_conf(database_url => $s->conninfo('hubgate_app')
    . " password=$PW", _raw => 'identity_secret = ' . $s->identity_secret
    . "\n");
$s->hup;
ok($s->wait_log(qr/reload_failed/, $mark), 'a secret pasted into the'
    . ' conf as an unknown key: reload_failed');

$mark = $s->log_mark;
$s->write_conf(database_url => $s->conninfo('hubgate_app')
    . " password=$PW", log_format => 'text');
$s->hup;
ok($s->wait_log(qr/ reloaded /, $mark), 'log_format text: reloaded');

exercise('text');

# the operator commands, their output kept for the search
my %out;
for my $c ([ 'config', 'check' ], [ 'tenant', 'list' ],
    [ 'integrations', 'list' ], [ 'vault', 'verify' ],
    [ 'vault', 'rotate' ], [ 'token', 'jwks' ])
{
    my ($rc, $o, $e) = $s->cmd(@$c);
    $out{"@$c"} = $o;
    $t->write_file(join('-', 'cmd', @$c) . '.out', "$o$e");
    is($rc, 0, "hubgated @$c: exit 0") or diag($e);
}

like($out{'config check'}, qr/password=\*\*\*/, 'config check hides the'
    . ' password');
like($out{'vault verify'}, qr/8 credentials opened, 0 failed/,
    'vault verify opened the 8 keys');

# a failed start: the KEK file readable by others
is($s->stop, 0, 'stopped');
my $kek = $s->testdir . '/kek';
chmod 0644, $kek;
$mark = $s->log_mark;
ok(!$s->start, 'a KEK file of mode 0644: refused');
like($s->log_since($mark), qr/start_failed.*kek/i, '... and the log says'
    . ' why');
chmod 0600, $kek;
ok($s->start, 'mode 0600: started');
is($s->stop, 0, 'stopped');

$t->stop;

my $log = $s->log;
ok($log =~ /^\{"ts":/m && $log =~ /^\S+Z info request /m,
    "hubgated's log holds JSON and text lines");
ok(length($t->read_file('access.log') // '') > 0
    && length($t->read_file('error.log') // '') > 0,
    "nginx's access.log and error.log were written");
like($t->read_file('error.log'), qr/jwt rejected: .*signature/i,
    'error.log speaks of the tampered token');

$s->no_secrets_ok;
$s->log_clean_ok;

# at rest: nothing in the database holds an API key in clear
my $dump = $s->testdir . '/db.dump';
my $rc = system(($ENV{HUBGATE_PG_BIN} // '/usr/lib/postgresql/15/bin')
    . '/pg_dump --data-only -h ' . $s->pg_host . ' -p ' . $s->pg_port
    . ' -U postgres ' . $s->db . " >'$dump' 2>/dev/null");
my $data = $t->read_file($dump) // '';
ok($rc == 0 && $data =~ /COPY public\.idempotency_keys/
    && $data =~ /COPY public\.credentials/, 'pg_dump of the test database')
    or diag("pg_dump exit $rc");

my @found = grep { index($data, $_->[1]) >= 0
    || index($data, unpack('H*', $_->[1])) >= 0 } $s->secrets;
ok(!@found, 'no secret in the database, in text or hex ('
    . scalar(my @all = $s->secrets) . ' secrets)')
    or diag(join "\n", map { $_->[0] } @found);

$t->done_testing;
