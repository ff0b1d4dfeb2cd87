#!/usr/bin/perl

# Webhook intake under faults, end to end: 5,000 distinct signed Stripe
# events streamed by four concurrent clients through nginx (the real
# hubgate_webhook stripe, secret=<file>) to hubgated and PostgreSQL,
# while hubgated is killed with SIGKILL and restarted four times and
# PostgreSQL is restarted once (immediate mode: a crash, WAL recovery).
# Every answer is recorded.  Then: every event that got a 2xx is in
# webhook_events exactly once with exactly one webhook.process job and
# the id it was answered with; every event not stored got a 5xx or no
# answer at all (never a 2xx, never a 4xx); no event has two rows or two
# jobs; re-sending a sample of the 2xx'd events stores nothing new
# (duplicate: true, the same id); redelivering every event that was not
# answered 2xx (as a provider does) stores each exactly once.  The faults
# are triggered at fixed shares of the stream, and every wait is on a
# condition (hubgated's /healthz, pg_isready), bounded.

use strict;
use warnings;

use Cwd ();
use IO::Handle;
use JSON::PP ();
use POSIX ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Webhook qw(stripe_sign whsec_new);

my $N = 5000;          # events
my $CLIENTS = 4;       # concurrent client processes
my $SAMPLE = 200;      # 2xx'd events re-sent afterwards
my $PREFIX = 'evt_fault_';

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $PGBIN = $ENV{HUBGATE_PG_BIN} // '/usr/lib/postgresql/15/bin';
Test::More::plan(skip_all => "pg_ctl not found in $PGBIN")
    if !-x "$PGBIN/pg_ctl";

my $s = Hubgate::Sidecar->new($t);
$s->migrate;
$s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

my $WHSEC = whsec_new();
$s->add_secret('stripe endpoint secret' => $WHSEC);
$t->write_file('stripe.whsec', "$WHSEC\n");

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf(
    webhooks => { stripe => 'secret=%%TESTDIR%%/stripe.whsec' }));
$t->run;

# hubgated down on purpose: nginx cannot connect, or loses the request
$t->allow_alerts(qr{\[crit\] .*connect\(\) to unix:\S+/hubgated\.sock failed});

my $TOKEN = $s->token(tenant => 'acme', subject => 'alice');
my $J = JSON::PP->new->canonical;

my $r = $t->request(POST => '/api/v1/integrations', headers => [
    Authorization => "Bearer $TOKEN", 'Content-Type' => 'application/json' ],
    body => $J->encode({ provider => 'stripe', auth => 'api_key',
        api_key => 'sk_test_FaultStripeKey' . int(rand(1e9)) }));
is($r->status, 201, 'a Stripe integration') or BAIL_OUT($r->raw // 'none');
my $INTEG = (eval { $r->json } // {})->{id} // '';
my $URI = "/api/v1/webhooks/stripe/$INTEG";

sub body_of {
    my ($n) = @_;
    return $J->encode({ id => "$PREFIX$n", object => 'event',
        type => 'invoice.paid', created => 1767225600,
        data => { object => { id => "in_fault_$n", object => 'invoice',
            amount_paid => 100 + $n } } });
}

# one delivery: (status, row id, duplicate); status 0 = no answer
sub deliver {
    my ($n) = @_;

    my $body = body_of($n);
    my $r = $t->request(POST => $URI, body => $body, timeout => 15,
        headers => [ 'Content-Type' => 'application/json',
                     stripe_sign($body, secret => $WHSEC) ]);
    my $st = $r->status // 0;
    my $j = $st == 200 ? (eval { $r->json } // {}) : {};

    return ($st, $j->{id} // '', ($j->{duplicate} ? 1 : 0),
        $j->{event_id} // '');
}

$r = $t->request(POST => $URI, body => 'x', headers => [
    'Content-Type' => 'application/json',
    stripe_sign('y', secret => $WHSEC) ]);
is($r->status, 401, 'a bad signature is refused at the edge');


###############################################################################
# the stream

my $out = $t->testdir;
my @kids;

STDOUT->flush;
STDERR->flush;

for my $k (0 .. $CLIENTS - 1) {
    my $pid = fork() // BAIL_OUT("fork: $!");

    if ($pid == 0) {
        open my $fh, '>', "$out/client-$k.tsv" or POSIX::_exit(2);
        $fh->autoflush(1);

        for (my $n = $k; $n < $N; $n += $CLIENTS) {
            my ($st, $id, $dup, $eid) = deliver($n);
            print $fh "$n\t$st\t$id\t$dup\t$eid\n";
            # a provider backs off after a failure; this one briefly, so
            # that the stream goes on across the faults
            select(undef, undef, undef, 0.02) if $st != 200;
        }

        close $fh;
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

sub answered {
    my $n = 0;
    for my $k (0 .. $CLIENTS - 1) {
        open my $fh, '<', "$out/client-$k.tsv" or next;
        $n++ while <$fh>;
        close $fh;
    }
    return $n;
}

sub pg_ready {
    return system("$PGBIN/pg_isready", '-q', '-h', $s->pg_host,
        '-p', $s->pg_port, '-t', '1') == 0;
}

sub pg_restart {
    my $data = Cwd::abs_path($t->repo . '/var/pg');
    my @cmd = ("$PGBIN/pg_ctl", '-D', $data, '-l', "$data/server.log",
        '-m', 'immediate', '-w', '-t', '60', 'restart');
    unshift @cmd, 'runuser', '-u', 'postgres', '--' if $> == 0;

    my $pid = fork() // return 0;
    if ($pid == 0) {
        chdir '/';                        # the test dir may be closed to it
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$out/pg_ctl.out";
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    waitpid($pid, 0);

    return $? == 0;
}

# the faults, at shares of the stream
my @faults = ([0.10, 'kill'], [0.25, 'kill'], [0.45, 'pg'], [0.65, 'kill'],
    [0.85, 'kill']);
my ($kills, $restarts, $pg) = (0, 0, 0);

for my $f (@faults) {
    my ($share, $what) = @$f;

    last if !$t->wait_for(sub { answered() >= $share * $N }, 30);

    if ($what eq 'kill') {
        $s->kill9;
        $kills++;
        # the daemon is gone: requests now fail at the edge; wait until
        # one did, so that the outage is seen by the stream
        my $at = answered();
        $t->wait_for(sub { answered() > $at }, 5);
        $restarts++ if $s->start(timeout => 15);

    } else {
        $pg++ if pg_restart() && $t->wait_for(\&pg_ready, 30);
    }
}

is($kills, 4, 'hubgated killed with SIGKILL 4 times during the stream');
is($restarts, 4, '... and restarted each time (healthz answered)');
is($pg, 1, 'PostgreSQL restarted (immediate) once during the stream');

for my $pid (@kids) {
    waitpid($pid, 0);
    is($? >> 8, 0, "client $pid finished");
}

# each event's first answer
my %ans;
for my $k (0 .. $CLIENTS - 1) {
    open my $fh, '<', "$out/client-$k.tsv" or next;
    while (<$fh>) {
        chomp;
        my ($n, $st, $id, $dup, $eid) = split /\t/, $_, -1;
        $ans{$n} = { st => $st, id => $id, dup => $dup, eid => $eid };
    }
    close $fh;
}

is(scalar(keys %ans), $N, "every one of the $N events was sent once and its"
    . ' answer recorded');


###############################################################################
# what PostgreSQL holds

ok($t->wait_for(\&pg_ready, 30), 'PostgreSQL is up');

# event id -> "row uuid:jobs" for every row of this stream
sub stored {
    my %rows;
    my $out = $s->psql("SELECT e.event_id, e.id, (SELECT count(*) FROM jobs j"
        . " WHERE j.kind = 'webhook.process' AND j.payload->>'event_id' ="
        . " e.id::text AND j.unique_key = 'webhook:' || e.id)"
        . " FROM webhook_events e WHERE starts_with(e.event_id, '$PREFIX')"
        . " AND e.integration_id = '$INTEG';");
    for my $line (split /\n/, $out // '') {
        my ($eid, $id, $jobs) = split /\|/, $line;
        push @{ $rows{$eid} }, { id => $id, jobs => $jobs };
    }
    return %rows;
}

my %rows = stored();

my %c = (sent => $N, ok => 0, e5xx => 0, conn => 0, other => 0,
    stored => scalar(keys %rows));
my (@bad_ok, @bad_missing, @bad_other, @ok_ids);

for my $n (0 .. $N - 1) {
    my $a = $ans{$n} or next;
    my $eid = "$PREFIX$n";
    my $row = $rows{$eid};

    if ($a->{st} == 200) {
        $c{ok}++;
        push @ok_ids, $n;
        push @bad_ok, "$eid: 200 but " . ($row ? scalar(@$row) : 0) . ' rows'
            if !$row || @$row != 1;
        push @bad_ok, "$eid: answered id $a->{id}, row $row->[0]{id}"
            if $row && @$row == 1 && $row->[0]{id} ne $a->{id};
        push @bad_ok, "$eid: answered duplicate on its first delivery"
            if $a->{dup};
        push @bad_ok, "$eid: answered event_id '$a->{eid}'"
            if $a->{eid} ne $eid;

    } elsif ($a->{st} >= 500 && $a->{st} <= 599) {
        $c{e5xx}++;
        $c{by}{ $a->{st} }++;

    } elsif ($a->{st} == 0) {
        $c{conn}++;

    } else {
        $c{other}++;
        push @bad_other, "$eid: $a->{st}";
    }

    push @bad_missing, "$eid: not stored, answered $a->{st}"
        if !$row && $a->{st} >= 200 && $a->{st} <= 499;
}

my @multi = grep { @{ $rows{$_} } != 1 } sort keys %rows;
my @jobs_bad = grep { @{ $rows{$_} } == 1 && $rows{$_}[0]{jobs} != 1 }
    sort keys %rows;
my $stored_5xx = grep { ($ans{$_}{st} // 0) != 200
    && $rows{"$PREFIX$_"} } 0 .. $N - 1;

diag(sprintf 'sent %d: 2xx %d, 5xx %d (%s), no answer %d, other %d; stored'
    . ' %d (%d of them answered 5xx or not at all)', $c{sent}, $c{ok},
    $c{e5xx}, join(', ', map { "$_: $c{by}{$_}" } sort keys %{ $c{by} || {} })
    || 'none', $c{conn}, $c{other}, $c{stored}, $stored_5xx);

ok($c{ok} > 0, 'some events were answered 2xx');
ok($c{e5xx} + $c{conn} > 0, 'the faults cost some events a 5xx or no answer');
is(scalar(@bad_ok), 0, "every 2xx'd event is stored exactly once, with the"
    . ' id it was answered with') or diag(join "\n", @bad_ok[0 .. ($#bad_ok > 9 ? 9 : $#bad_ok)]);
is(scalar(@bad_missing), 0, 'every event not stored got a 5xx or no answer')
    or diag(join "\n", @bad_missing[0 .. ($#bad_missing > 9 ? 9 : $#bad_missing)]);
is(scalar(@bad_other), 0, 'no answer other than 200, 5xx or none')
    or diag(join "\n", @bad_other[0 .. ($#bad_other > 9 ? 9 : $#bad_other)]);
is(scalar(@multi), 0, 'no event has two rows');
is(scalar(@jobs_bad), 0, 'every stored event has exactly one'
    . ' webhook.process job') or diag(join "\n", map {
        "$_: $rows{$_}[0]{jobs} jobs" } @jobs_bad[0 .. ($#jobs_bad > 9 ? 9 : $#jobs_bad)]);
is(scalar $s->psql("SELECT count(*) FROM (SELECT payload->>'event_id'"
    . " FROM jobs WHERE kind = 'webhook.process' GROUP BY 1"
    . " HAVING count(*) > 1) d;"), 0, 'no row has two jobs');


###############################################################################
# redeliveries

ok($s->alive, 'hubgated is running');

# a sample of the 2xx'd events again: nothing new
my @sample = @ok_ids;
for my $i (reverse 1 .. $#sample) {     # shuffle, then take the first ones
    my $j = int rand($i + 1);
    @sample[$i, $j] = @sample[$j, $i];
}
splice @sample, $SAMPLE if @sample > $SAMPLE;

my @resend_bad;
for my $n (@sample) {
    my ($st, $id, $dup) = deliver($n);
    push @resend_bad, "$PREFIX$n: $st id $id duplicate $dup"
        if $st != 200 || !$dup || $id ne $ans{$n}{id};
}
is(scalar(@resend_bad), 0, scalar(@sample) . " 2xx'd events sent again:"
    . ' each 200, duplicate, the same id')
    or diag(join "\n", @resend_bad[0 .. ($#resend_bad > 9 ? 9 : $#resend_bad)]);

my %after = stored();
is(scalar(keys %after), $c{stored}, '... and no row was added');

# every event not answered 2xx, delivered again (the provider retries)
my @retry = grep { $ans{$_}{st} != 200 } 0 .. $N - 1;
my ($retry_ok, $retry_dup, @retry_bad) = (0, 0);
for my $n (@retry) {
    my ($st, $id, $dup) = deliver($n);
    my $was = $rows{"$PREFIX$n"};

    if ($st != 200) {
        push @retry_bad, "$PREFIX$n: $st";
        next;
    }
    $retry_ok++;
    $retry_dup++ if $dup;
    push @retry_bad, "$PREFIX$n: stored before as $was->[0]{id}, now $id"
        . " duplicate $dup" if $was && (!$dup || $id ne $was->[0]{id});
    push @retry_bad, "$PREFIX$n: not stored before, but duplicate"
        if !$was && $dup;
}
diag(sprintf 'redelivered %d events not answered 2xx: %d now 200, %d of'
    . ' them duplicates of a row stored before', scalar(@retry), $retry_ok,
    $retry_dup);
is(scalar(@retry_bad), 0, 'every redelivery is answered 200, duplicate'
    . ' exactly when the first delivery had been stored')
    or diag(join "\n", @retry_bad[0 .. ($#retry_bad > 9 ? 9 : $#retry_bad)]);

%after = stored();
is(scalar(keys %after), $N, "all $N events stored after the redeliveries");
is(scalar(grep { @{ $after{$_} } == 1 && $after{$_}[0]{jobs} == 1 }
    keys %after), $N, '... each exactly once, with exactly one job');

is($s->stop, 0, 'hubgated stops cleanly (SIGTERM: exit 0)');
$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
