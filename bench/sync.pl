#!/usr/bin/perl
# hubgate sync bench (make bench-sync): orders synced per second end to
# end, and no-op jobs per second through the queue, each against a
# baseline measured in the same run.
#
#   orders   the fake Allegro on loopback holds BENCH_ORDERS checkout forms
#            (warmed: its JSON cache filled by one walk first).  Baseline:
#            one client walking every page of them (offset, limit 100),
#            the rate the provider can hand them out at.  Then hubgated
#            (build/hubgated, its own database, worker_threads 2) connected
#            by OAuth syncs them in full: fetched, mapped, stored as
#            canonical orders, customers and products with their cursor
#            and progress, committed.  Orders/s = orders / (finished_at -
#            started_at) of the run; each run is a new tenant, so every
#            order is created.
#   jobs     BENCH_JOBS no-op jobs inserted at once, until every one is
#            done (worker_threads 2).  Baseline: one psql session doing
#            the same SQL per job (claim_jobs + job_done) in a loop, so
#            the ratio is what the workers add or win over bare SQL.
#
# Each measured BENCH_RUNS times; medians.  Writes bench/results-sync.md
# (BENCH_OUT) and prints it.  The machine is shared: runs vary by about a
# third, compare the ratios of one run.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(abs_path(__FILE__)) . '/../t/lib';
use lib dirname(abs_path(__FILE__));

use POSIX qw(strftime);
use JSON::PP ();
use Time::HiRes qw(time);
use Test::More;
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $ORDERS = $ENV{BENCH_ORDERS} || 10000;
my $JOBS = $ENV{BENCH_JOBS} || 20000;
my $RUNS = $ENV{BENCH_RUNS} || 3;
my $OUT = $ENV{BENCH_OUT} || dirname(abs_path(__FILE__)) . '/results-sync.md';

sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }
sub note_ { print STDERR "sync bench: @_\n" }

my $t = Hubgate::Test->new;
my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => $ORDERS,
    FAKE_SEED => 2000, FAKE_ALLEGRO_PER_MINUTE => 1000000);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, allegro => $allegro), scheduler_interval => '1h',
    allegro_requests_per_minute => 1000000, database_pool_size => 4,
    log_level => 'warn' });
$s->migrate;
$s->start;

# the provider's rate: a sequential walk of every page
my $token = $allegro->oauth->{access_token} or die "fake oauth failed\n";
my $walk = sub {
    my $t0 = time;
    my $n = 0;
    for (my $off = 0; $off < $ORDERS; $off += 100) {
        my $r = $allegro->api(GET => "/order/checkout-forms?limit=100&offset=$off",
            token => $token);
        die 'walk: ' . $r->code . "\n" if $r->code != 200;
        # the bytes only: decoding them in Perl would measure Perl
        my $body = $r->body;
        $n += () = $body =~ /"totalToPay"/g;
    }
    die "walk: $n forms\n" if $n != $ORDERS;
    return $ORDERS / (time - $t0);
};
$walk->();                                      # warm the fake's cache

my (@base, @sync);
for my $run (1 .. $RUNS) {
    push @base, $walk->();

    my $tenant = "bench$run";
    $s->tenant_create($tenant);
    my $id = Hubgate::Sync::connect($s, $allegro, tenant => $tenant);
    my $r = Hubgate::Sync::sync($s, $id, tenant => $tenant,
        body => { mode => 'full' }, timeout => 600);
    die "sync $run: $r->{status} ($r->{error})\n"
        if $r->{status} ne 'succeeded' || $r->{created} != $ORDERS;
    my $secs = $s->psql("SELECT extract(epoch FROM finished_at - started_at)"
        . " FROM sync_runs WHERE id = '$r->{id}'");
    push @sync, $ORDERS / $secs;
    note_(sprintf 'run %d: provider walk %.0f orders/s, sync %.0f orders/s',
        $run, $base[-1], $sync[-1]);
}

# the same full sync, generating an invoice for every paid order
# (autoGenerateInvoices, autoMarkAsPaid) in the transaction of its page;
# baseline: the plain syncs above
my (@isync, @ips, $paid);
for my $run (1 .. $RUNS) {
    my $tenant = "benchinv$run";
    $s->tenant_create($tenant);
    my (undef, $pr) = Hubgate::Sync::api($s, PUT => '/v1/seller', tenant => $tenant,
        json => { seller => { name => 'Bench Sp. z o.o.', vat_id => 'PL5261040828',
            address => { street => 'ul. Prosta 1', city => 'Warszawa',
                postal_code => '00-001', country => 'PL' } } });
    die "seller: " . $pr->status . "\n" if $pr->status != 200;
    my $id = Hubgate::Sync::connect($s, $allegro, tenant => $tenant);
    Hubgate::Sync::api($s, PUT => "/v1/integrations/$id/settings",
        tenant => $tenant, json => { autoGenerateInvoices => JSON::PP::true,
            autoMarkAsPaid => JSON::PP::true });
    my $r = Hubgate::Sync::sync($s, $id, tenant => $tenant,
        body => { mode => 'full' }, timeout => 600);
    die "invoicing sync $run: $r->{status} ($r->{error})\n"
        if $r->{status} ne 'succeeded' || $r->{created} != $ORDERS
        || $r->{invoices_failed} != 0 || $r->{invoices_created} == 0;
    my $secs = $s->psql("SELECT extract(epoch FROM finished_at - started_at)"
        . " FROM sync_runs WHERE id = '$r->{id}'");
    $paid = $r->{invoices_created};
    push @isync, $ORDERS / $secs;
    push @ips, $paid / $secs;
    note_(sprintf 'run %d: invoicing sync %.0f orders/s, %.0f invoices/s (%d invoices)',
        $run, $isync[-1], $ips[-1], $paid);
}

# invoices issued through the API: numbering and persistence, 8 clients
# at once into one series; baseline: the same invoices stored as drafts
# (validated, computed and stored, no number taken)
my $ICLIENTS = 8;
my $IEACH = $ENV{BENCH_INVOICES_EACH} || 100;
$s->tenant_create('benchapi');
Hubgate::Sync::api($s, PUT => '/v1/seller', tenant => 'benchapi',
    json => { seller => { name => 'Bench Sp. z o.o.', vat_id => 'PL5261040828',
        address => { country => 'PL', city => 'Warszawa' } } });
my $issue_rate = sub {
    my ($issue, $tag) = @_;
    my $t0 = time;
    my @pids;
    for my $c (1 .. $ICLIENTS) {
        my $pid = fork // die "fork: $!\n";
        if (!$pid) {
            my $bad = 0;
            for my $i (1 .. $IEACH) {
                my (undef, $rr) = Hubgate::Sync::api($s, POST => '/v1/invoices',
                    tenant => 'benchapi', json => { series => "B$tag",
                        issue => $issue ? JSON::PP::true : JSON::PP::false,
                        currency => 'PLN',
                        buyer => { name => 'Klient', address => { country => 'PL' } },
                        lines => [ map { { name => "pozycja $_", quantity => "$_",
                            unit_price => '12.34', vat_category => 'S',
                            vat_rate => $_ % 2 ? '23' : '8' } } 1 .. 5 ] });
                $bad++ if $rr->status != 201;
            }
            POSIX::_exit($bad ? 1 : 0);
        }
        push @pids, $pid;
    }
    for (@pids) { waitpid($_, 0); die "invoice clients failed\n" if $? }
    return $ICLIENTS * $IEACH / (time - $t0);
};
my (@issued, @drafts);
for my $run (1 .. $RUNS) {
    push @drafts, $issue_rate->(0, "d$run");
    push @issued, $issue_rate->(1, "i$run");
    my $gaps = $s->psql("SELECT count(*) FROM (SELECT series, max(seq) - min(seq) + 1"
        . " - count(*) AS g FROM invoices WHERE series = 'Bi$run' GROUP BY 1) x WHERE g <> 0");
    die "gaps in Bi$run\n" if $gaps != 0;
    note_(sprintf 'run %d: issued %.0f invoices/s, drafts %.0f invoices/s',
        $run, $issued[-1], $drafts[-1]);
}

# no-op jobs
my (@jobs, @sql);
my $tid = $s->psql("SELECT id FROM tenants WHERE slug = 'bench1'");
for my $run (1 .. $RUNS) {
    my $t0 = time;
    $s->psql("INSERT INTO jobs (tenant_id, kind) SELECT '$tid', 'noop'"
        . " FROM generate_series(1, $JOBS)");
    $t->wait_for(sub { $s->psql("SELECT count(*) FROM jobs WHERE kind = 'noop'"
        . " AND status <> 'done'") == 0 }, 600)
        or die "jobs $run: not all done\n";
    push @jobs, $JOBS / (time - $t0);

    # the same SQL per job from one session, hubgated stopped meanwhile
    $s->stop;
    my $n = int($JOBS / 4);
    $s->psql("INSERT INTO jobs (tenant_id, kind) SELECT '$tid', 'noop'"
        . " FROM generate_series(1, $n)");
    my $sql = "DO \$\$ DECLARE j record; BEGIN FOR i IN 1 .. $n LOOP"
        . " SELECT * INTO j FROM claim_jobs('bench', 1, '30 s');"
        . " PERFORM job_done(j.id, 'bench'); COMMIT; END LOOP; END \$\$;";
    $t0 = time;
    $s->psql($sql, role => 'hubgate_app');
    push @sql, $n / (time - $t0);
    $s->start;
    note_(sprintf 'run %d: workers %.0f jobs/s, one SQL session %.0f jobs/s',
        $run, $jobs[-1], $sql[-1]);
}

my ($b, $y, $j, $q) = (median(@base), median(@sync), median(@jobs), median(@sql));
my ($iy, $ip, $is, $id_) = (median(@isync), median(@ips), median(@issued),
    median(@drafts));
my $text = sprintf <<'EOT',
## Sync bench

%s, %d runs, medians; %d CPUs (%s).

| scenario | rate | baseline (same run) | ratio |
|---|---|---|---|
| full sync of %d Allegro orders, fake provider on loopback to committed canonical orders | %.0f orders/s | the provider's pages walked by one client: %.0f orders/s | %.2f |
| the same sync issuing an invoice for each of its %d paid orders (numbered, stored with the page) | %.0f orders/s, %.0f invoices/s | the plain sync above: %.0f orders/s | %.2f |
| invoices issued through the API, 8 clients into one series (5 lines each) | %.0f invoices/s | the same invoices stored as drafts (no number): %.0f invoices/s | %.2f |
| no-op jobs through the queue (worker_threads 2) | %.0f jobs/s | the same SQL per job from one session: %.0f jobs/s | %.2f |

Runs: sync %s orders/s; invoicing sync %s orders/s; issued %s invoices/s; jobs %s jobs/s.
EOT
    strftime('%Y-%m-%d %H:%M UTC', gmtime), $RUNS, `nproc` + 0,
    (`uname -m` =~ s/\s+//r), $ORDERS, $y, $b, $y / $b,
    $paid, $iy, $ip, $y, $iy / $y, $is, $id_, $is / $id_,
    $j, $q, $j / $q,
    join(', ', map { sprintf '%.0f', $_ } @sync),
    join(', ', map { sprintf '%.0f', $_ } @isync),
    join(', ', map { sprintf '%.0f', $_ } @issued),
    join(', ', map { sprintf '%.0f', $_ } @jobs);

open my $fh, '>', $OUT or die "$OUT: $!\n";
print $fh $text;
close $fh;
print $text;

ok(1, 'bench ran');
done_testing;
