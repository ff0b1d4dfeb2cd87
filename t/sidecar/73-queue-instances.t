#!/usr/bin/perl

# Two hubgated instances on one database share one queue (DESIGN §1
# scale-out, §4 Sync engine): 2,000 no-op jobs and 200 test.sleep jobs
# (20 ms each) inserted while both run, two workers each.  Every job is
# done exactly once: status done, attempts 1, one job_done line across
# both logs; both instances did some (their lease owners differ).  Then
# one instance is stopped with SIGTERM while slow jobs run: the other
# takes over the jobs still queued, and no job is done twice.

use strict;
use warnings;

use Test::More;
use Time::HiRes ();

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Queue qw(job wait_sql);

my $t = Hubgate::Test->new;

my %CONF = (test_clock => 'on', worker_threads => 2, job_lease => '3s',
    scheduler_interval => '1s', log_level => 'debug');
my $s = Hubgate::Sidecar->new($t, conf => \%CONF);
$s->migrate;
my $TID = $s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated A did not start:\n" . $s->log);

my $b = Hubgate::Queue::Instance->start($s, name => 'b');
ok($b->alive, 'a second hubgated on the same database');

for my $log (sub { $s->log }, sub { $b->log }) {
    ok($t->wait_for(sub { $log->() =~ /"event":"queue_started"/ }, 5),
        'its queue started')
        or BAIL_OUT('no queue_started: is queue_start wired into serve.c?');
}


# job_done lines by job id, over both logs
sub done_counts {
    my %n;
    for my $text ($s->log, $b->log) {
        $n{$1}++ while $text =~ /"event":"job_done","job":"(\d+)"/g;
    }
    return \%n;
}

my $t0 = Time::HiRes::time();

$s->psql("INSERT INTO jobs (tenant_id, kind) SELECT '$TID', 'noop'"
    . " FROM generate_series(1, 2000);"
    . " INSERT INTO jobs (tenant_id, kind, payload) SELECT '$TID',"
    . " 'test.sleep', '{\"ms\": 20}' FROM generate_series(1, 200);");

ok(wait_sql($s, "SELECT count(*) = 2200 FROM jobs WHERE status = 'done'",
    90), '2,200 jobs done');
note(sprintf '2,000 noop + 200 x 20 ms jobs on 2 x 2 workers: %.2f s',
    Time::HiRes::time() - $t0);

is(scalar $s->psql("SELECT count(*) FROM jobs WHERE attempts <> 1;"), 0,
    'no job has attempts other than 1');

my $by = $s->psql("SELECT split_part(lease_owner, ':', 2), count(*) FROM"
    . " jobs GROUP BY 1 ORDER BY 1;");
my %by = map { split /\|/ } split /\n/, $by;
is(scalar keys %by, 2, 'both instances did some ('
    . join(', ', map { "pid $_: $by{$_}" } sort keys %by) . ')');
ok(exists $by{$s->pid} && exists $by{$b->pid},
    'the owners are the two processes');

my $n = done_counts();
is(scalar keys %$n, 2200, 'one job_done line for each of the 2,200 jobs');
is(scalar(grep { $_ != 1 } values %$n), 0, 'none done twice');

is(scalar $s->psql("SELECT count(*) FROM jobs WHERE kind = 'test.sleep'"
    . " AND split_part(lease_owner, ':', 2) = '${\ $b->pid}';") > 0, 1,
    'B ran some of the slow jobs');

# B leaves while slow jobs run: A finishes what B had not started
{
    $s->psql("INSERT INTO jobs (tenant_id, kind, payload) SELECT '$TID',"
        . " 'test.sleep', '{\"ms\": 200}' FROM generate_series(1, 40);");

    ok(wait_sql($s, "SELECT count(*) > 0 FROM jobs WHERE status = 'running'"
        . " AND split_part(lease_owner, ':', 2) = '${\ $b->pid}'", 10),
        'B runs some of 40 slower jobs');

    $b->stop;
    ok(!$b->alive, 'B stopped by SIGTERM');
    like($b->log, qr/"event":"queue_stopped"/, 'B\'s queue stopped cleanly');

    ok(wait_sql($s, "SELECT count(*) = 2240 FROM jobs WHERE status = 'done'",
        30), 'every job done');
    is(scalar $s->psql("SELECT count(*) FROM jobs WHERE attempts <> 1;"), 0,
        'B finished what it had started: still no second attempt');

    $n = done_counts();
    is(scalar keys %$n, 2240, 'one job_done line per job');
    is(scalar(grep { $_ != 1 } values %$n), 0, 'none done twice');
}

$s->no_secrets_ok;
$s->log_clean_ok;

done_testing();
