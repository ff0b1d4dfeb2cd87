#!/usr/bin/perl

# The job queue of hubgated, end to end (DESIGN §4, Sync engine;
# sidecar/sync/queue.h; sql/009_queue.sql), with the test clock on, two
# workers, a 3 s lease and a 200 ms scheduler:
#   - the test clock route: 422 on bad bodies, moves the clock;
#   - 1,000 no-op jobs each done exactly once (attempts 1, one job_done
#     line each);
#   - a job inserted while every worker idles is done (woken by NOTIFY);
#   - the whole retry schedule of test.fail under the test clock: run_at
#     gaps of 1 s, 60 s, 300 s, 900 s, 3600 s, 14400 s within ±10 %, then
#     dead with last_error after max_attempts = 7;
#   - JOB_FAIL: dead at once; Retry-After honoured; unknown kind: dead;
#   - cancelling a queued job, and a running one through the heartbeat;
#   - unique_key deduplication (sync_enqueue, the partial unique index);
#   - the scheduler enqueues a scheduled sync for an active integration
#     when the clock passes next_sync_at, once per due time;
#   - connections cut under the daemon (pg_terminate_backend): LISTEN and
#     workers come back and a new job is done;
#   - kill -9 while a slow job runs: after a restart its lease expires and
#     it is taken again and done (attempts 2, another owner);
#   - claim_jobs' SKIP LOCKED with two sessions (daemon stopped);
#   - with test_clock off the route answers 404 and test kinds are unknown.
# Every wait is on a condition (a row, a log line), bounded.

use strict;
use warnings;

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Queue qw(advance job wait_sql);

my $t = Hubgate::Test->new;

my $s = Hubgate::Sidecar->new($t, conf => { test_clock => 'on',
    worker_threads => 2, job_lease => '3s', scheduler_interval => '200ms',
    log_level => 'debug' });
$s->migrate;
my $TID = $s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

my $J = JSON::PP->new->canonical;

ok($s->wait_log(qr/"event":"queue_started"/, 0, 5), 'the queue started')
    or BAIL_OUT("no queue_started in the log: is queue_start wired into"
        . " serve.c?\n" . $s->log);

sub js { my ($r) = @_; return (eval { $r->json }) // {} }

# a job row inserted as the schema owner; returns its id
sub insert_job {
    my ($kind, $payload, %o) = @_;

    my $max = $o{max_attempts} // 7;
    my $run = $o{run_at} // 'now()';
    my $key = defined $o{unique_key} ? "'$o{unique_key}'" : 'NULL';

    return scalar $s->psql("INSERT INTO jobs (tenant_id, kind, payload,"
        . " max_attempts, run_at, unique_key) VALUES ('$TID', '$kind',"
        . " '$payload'::jsonb, $max, $run, $key) RETURNING id;");
}

sub offset_s { return js(advance($s, 0))->{offset_seconds} }

# the job_retry / job_dead lines of one job, in order
sub events_of {
    my ($id, $event) = @_;
    return grep { ($_->{event} // '') eq $event && ($_->{job} // '') eq $id }
        $s->log_events(0);
}


###############################################################################
# the test clock route

{
    my $r = advance($s, 0);
    is($r->status, 200, 'test clock: advance 0 answers 200');
    is(js($r)->{offset_seconds}, 0, 'offset 0 at first');
    like(js($r)->{now} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
        'now in ISO 8601');

    for my $bad ([-1, 'negative'], ['10', 'a string'], [1.5, 'a fraction'],
        [10 * 366 * 24 * 3600 + 1, 'over ten years'])
    {
        $r = advance($s, $bad->[0]);
        is($r->status, 422, "advance_seconds $bad->[1]: 422");
    }

    $r = $s->request(POST => '/api/v1/admin/test-clock',
        json => { advance_seconds => 1, more => 1 },
        ident => { tenant => 'acme', subject => 'c', roles => 'admin' });
    is($r->status, 422, 'an unknown member: 422');

    $r = $s->request(POST => '/api/v1/admin/test-clock',
        json => { advance_seconds => 1 },
        ident => { tenant => 'acme', subject => 'c', roles => 'user' });
    is($r->status, 403, 'not an admin: 403');

    is(offset_s(), 0, 'refused requests moved nothing');
}


###############################################################################
# 1,000 no-op jobs, each done exactly once

{
    my $mark = $s->log_mark;
    my $t0 = Time::HiRes::time();

    $s->psql("INSERT INTO jobs (tenant_id, kind) SELECT '$TID', 'noop'"
        . " FROM generate_series(1, 1000);");

    ok(wait_sql($s, "SELECT count(*) = 1000 FROM jobs WHERE kind = 'noop'"
        . " AND status = 'done'", 60), '1,000 noop jobs done');
    note(sprintf '1,000 noop jobs in %.2f s', Time::HiRes::time() - $t0);

    is(scalar $s->psql("SELECT count(*) FROM jobs WHERE kind = 'noop'"
        . " AND attempts <> 1;"), 0, 'every one in one attempt');

    my %done;
    $done{$_->{job}}++ for grep { ($_->{event} // '') eq 'job_done' }
        $s->log_events($mark);
    is(scalar keys %done, 1000, 'a job_done line for each of them');
    is(scalar(grep { $_ != 1 } values %done), 0, 'and only one');
}


###############################################################################
# a job inserted while the workers idle is woken by NOTIFY

{
    ok(wait_sql($s, "SELECT count(*) = 0 FROM jobs WHERE status IN"
        . " ('queued', 'running')", 10), 'queue empty: workers idle');

    my $t0 = Time::HiRes::time();
    my $id = insert_job('noop', '{}');

    ok(wait_sql($s, "SELECT status = 'done' FROM jobs WHERE id = $id", 5),
        'a job inserted while idle is done');
    note(sprintf 'done %.0f ms after the insert (the poll is 1 s)',
        (Time::HiRes::time() - $t0) * 1000);
}


###############################################################################
# the retry schedule of test.fail under the test clock

{
    my @want = (1, 60, 300, 900, 3600, 14400);
    my $id = insert_job('test.fail', '{"outcome": "retry", "times": 100}');

    for my $k (1 .. 6) {
        my $ev = $t->wait_for(sub {
            (grep { ($_->{attempts} // '') eq $k }
                events_of($id, 'job_retry'))[0]
        }, 10);

        ok($ev, "attempt $k failed and was put back") or last;

        my $d = $ev->{delay_ms} // -1;
        my ($lo, $hi) = (900 * $want[$k - 1], 1100 * $want[$k - 1]);
        ok($d >= $lo && $d <= $hi, "attempt $k: retry in $d ms, within"
            . " $want[$k - 1] s ± 10 %");
        is($ev->{error}, "test failure $k", "attempt $k: its error");

        next if $k == 1;    # 1 s passes by itself: the row moves on

        my $j = job($s, $id);
        is("$j->{status}/$j->{attempts}", "queued/$k",
            "attempt $k: queued again, attempts $k");

        # run_at is on the test clock; updated_at on the database's
        my $gap = $j->{run_at_ms} - $j->{updated_at_ms} - 1000 * offset_s();
        ok(abs($gap - $d) < 1000, "attempt $k: run_at is the failure time"
            . " + $d ms (gap $gap ms)");
        is($j->{last_error}, "test failure $k", 'last_error kept');

        my $step = int($d / 1000) + 2;
        is(advance($s, $step)->status, 200, "clock + $step s");
    }

    ok(wait_sql($s, "SELECT status = 'dead' FROM jobs WHERE id = $id", 10),
        'after attempt 7 (max_attempts): dead');

    my $j = job($s, $id);
    is($j->{attempts}, 7, 'seven attempts');
    is($j->{last_error}, 'test failure 7', 'last_error of the last one');
    ok($t->wait_for(sub { events_of($id, 'job_dead') }, 5),
        'a job_dead line');
    is(scalar(events_of($id, 'job_retry')), 6, 'six job_retry lines');
}


###############################################################################
# JOB_FAIL, Retry-After, unknown kind, success after retries

{
    my $id = insert_job('test.fail', '{"outcome": "fail", "times": 5}');
    ok(wait_sql($s, "SELECT status = 'dead' FROM jobs WHERE id = $id", 10),
        'JOB_FAIL: dead');
    my $j = job($s, $id);
    is("$j->{attempts}|$j->{last_error}", '1|test failure 1',
        'at once, after one attempt, with last_error');

    $id = insert_job('test.fail',
        '{"outcome": "retry_after", "retry_after_ms": 120000, "times": 1}');
    ok(wait_sql($s, "SELECT status = 'queued' AND attempts = 1 FROM jobs"
        . " WHERE id = $id", 10), 'JOB_RETRY_AFTER: queued again');
    $j = job($s, $id);
    my $gap = $j->{run_at_ms} - $j->{updated_at_ms} - 1000 * offset_s();
    ok(abs($gap - 120000) < 1000, "run_at 120 s later as asked (gap $gap ms)");
    is(advance($s, 60)->status, 200, 'clock + 60 s');
    ok(!wait_sql($s, "SELECT attempts > 1 FROM jobs WHERE id = $id", 1),
        'not taken before its time');
    is(advance($s, 61)->status, 200, 'clock + 61 s');
    ok(wait_sql($s, "SELECT status = 'done' AND attempts = 2 FROM jobs"
        . " WHERE id = $id", 10), 'then taken again and done');

    $id = insert_job('no.such.kind', '{}');
    ok(wait_sql($s, "SELECT status = 'dead' FROM jobs WHERE id = $id", 10),
        'an unknown kind: dead');
    is(job($s, $id)->{last_error}, 'unknown job kind', 'last_error says why');
}


###############################################################################
# expired leases that must not run again

{
    my $ins = "INSERT INTO jobs (tenant_id, kind, status, attempts,"
        . " max_attempts, lease_owner, lease_expires_at, cancel_requested)"
        . " VALUES ('$TID', 'noop', 'running', %d, 3, 'gone:1:0',"
        . " now() - interval '1 s', %s) RETURNING id;";
    my $last = $s->psql(sprintf $ins, 3, 'false');
    my $asked = $s->psql(sprintf $ins, 1, 'true');
    my $again = $s->psql(sprintf $ins, 1, 'false');

    ok(wait_sql($s, "SELECT status = 'dead' FROM jobs WHERE id = $last", 5),
        'an expired lease on the last attempt: dead, not run again');
    is(job($s, $last)->{last_error}, 'lease expired on the last attempt',
        'last_error says why');
    ok(wait_sql($s, "SELECT status = 'cancelled' FROM jobs WHERE id ="
        . " $asked", 5), 'an expired lease on a job asked to stop: cancelled');
    ok(wait_sql($s, "SELECT status = 'done' AND attempts = 2 FROM jobs"
        . " WHERE id = $again", 5), 'any other expired lease: run again');
}


###############################################################################
# cancellation

sub cancel {
    my ($id) = @_;
    return scalar $s->psql("BEGIN; SET LOCAL hubgate.tenant = '$TID';"
        . " SELECT COALESCE(job_cancel($id), 'none'); COMMIT;",
        role => 'hubgate_app');
}

{
    my $id = insert_job('noop', '{}', run_at => "now() + interval '1 day'");
    is(cancel($id), 'cancelled', 'a queued job: cancelled at once');
    is(job($s, $id)->{status}, 'cancelled', 'its row says so');
    is(advance($s, 2 * 86400)->status, 200, 'clock + 2 days');
    ok(!wait_sql($s, "SELECT attempts > 0 FROM jobs WHERE id = $id", 1),
        'and it never runs');
    is(cancel($id), 'none', 'cancelling it again finds nothing');

    $id = insert_job('test.sleep', '{"ms": 30000}');
    ok(wait_sql($s, "SELECT status = 'running' FROM jobs WHERE id = $id", 10),
        'a slow job runs');
    is(cancel($id), 'running', 'cancelling it asks the worker');
    ok(wait_sql($s, "SELECT status = 'cancelled' FROM jobs WHERE id = $id",
        10), 'the heartbeat tells the handler, which stops: cancelled');
    is(job($s, $id)->{attempts}, 1, 'in its first attempt');

    my ($rc, undef, $err) = $s->psql("SET hubgate.tenant ="
        . " '00000000-0000-4000-8000-000000000000';"
        . " SELECT COALESCE(job_cancel($id), 'none');", role => 'hubgate_app');
    is($rc, 0, 'job_cancel in another tenant runs');
}


###############################################################################
# unique_key deduplication

{
    my $key = 'dedup:' . $$;
    my $a = insert_job('noop', '{}', unique_key => $key,
        run_at => "now() + interval '1 year'");
    my ($rc) = $s->psql("INSERT INTO jobs (tenant_id, kind, unique_key)"
        . " VALUES ('$TID', 'noop', '$key');");
    isnt($rc, 0, 'a second job with the same unique_key is refused');
    my $c = $s->psql("WITH i AS (INSERT INTO jobs (tenant_id, kind,"
        . " unique_key) VALUES ('$TID', 'noop', '$key') ON CONFLICT"
        . " (tenant_id, unique_key) WHERE unique_key IS NOT NULL AND status"
        . " IN ('queued', 'running') DO NOTHING RETURNING id)"
        . " SELECT count(*) FROM i;");
    is($c, 0, 'queue_enqueue\'s ON CONFLICT on the partial index: nothing');
    is(cancel($a), 'cancelled', 'the first one cancelled');
    my $b = insert_job('noop', '{}', unique_key => $key);
    ok($b > $a, 'then the key is free again');
}


###############################################################################
# the scheduler: a scheduled sync when the clock passes next_sync_at

# ends the integration's sync jobs: a queued one at once, a running one
# once its handler put it back or finished it
sub end_syncs {
    my ($i) = @_;

    return $t->wait_for(sub {
        $s->psql("UPDATE jobs SET status = 'dead', last_error = 'ended by"
            . " the test' WHERE integration_id = '$i' AND kind = 'sync'"
            . " AND status = 'queued';");
        return $s->psql("SELECT count(*) = 0 FROM jobs WHERE integration_id"
            . " = '$i' AND kind = 'sync' AND status IN ('queued',"
            . " 'running');") eq 't';
    }, 30);
}

{
    my $r = $s->request(POST => '/api/v1/integrations',
        json => { provider => 'stripe', auth => 'api_key',
                  api_key => 'sk_test_' . 'Qu3ueSch3d' . int(rand(1e9)) },
        ident => { tenant => 'acme', subject => 'alice', roles => 'user' });
    is($r->status, 201, 'an API-key Stripe integration')
        or diag($r->raw // 'no answer');
    my $I = js($r)->{id} // '';
    $s->add_secret('stripe key' => $1)
        if ($r->raw // '') =~ /(sk_test_\w+)/;

    my $status = $s->psql("SELECT status FROM integrations WHERE id = '$I';");
    if ($status ne 'active') {
        $r = $s->request(POST => "/api/v1/integrations/$I/activate",
            ident => { tenant => 'acme', subject => 'alice', roles => 'user' });
        is($r->status, 200, 'activated');
    }

    my $runs = "SELECT (SELECT count(*) FROM sync_runs WHERE"
        . " integration_id = '$I' AND trigger = 'schedule')";

    ok(wait_sql($s, "$runs = 1", 10),
        'a new active integration (next_sync_at unset): one scheduled sync')
        or diag(scalar $s->psql("SELECT trigger, status, created_at, error"
            . " FROM sync_runs WHERE integration_id = '$I';"));
    my ($sync, $jid, $payload_sync) = split /\|/, $s->psql("SELECT s.id,"
        . " j.id, j.payload->>'sync_id' FROM sync_runs s JOIN jobs j"
        . " ON j.id = s.job_id WHERE s.integration_id = '$I';");
    is($payload_sync, $sync, 'its job is kind sync and carries the sync_id');
    is(job($s, $jid)->{unique_key}, "sync:$I", 'unique_key sync:<integration>');

    my $next = $s->psql("SELECT (extract(epoch FROM next_sync_at) * 1000"
        . " - extract(epoch FROM now()) * 1000)::bigint FROM integrations"
        . " WHERE id = '$I';");
    my $ahead = $next - 1000 * offset_s();
    ok(abs($ahead - 3600 * 1000) < 5000,
        "next_sync_at = clock + 60 min (syncFrequencyMinutes default;"
        . " $ahead ms)");

    # the sync handler (if this build has one) has no provider to reach
    # and retries: end the job, the scheduler must not depend on it
    ok(end_syncs($I), 'the first sync job ended');

    is(advance($s, 1800)->status, 200, 'clock + 30 min');
    ok(!wait_sql($s, "$runs > 1", 1), 'not due yet: no second sync');

    is(advance($s, 1860)->status, 200, 'clock + 31 min more');
    ok(wait_sql($s, "$runs = 2", 10), 'due: a second scheduled sync');
    ok(!wait_sql($s, "$runs > 2", 1), 'and only one');

    # manual requests: the second while the first is queued returns it
    ok(end_syncs($I), 'no sync of it active');
    my @two = split /\n/, $s->psql("BEGIN; SET LOCAL hubgate.tenant ="
        . " '$TID'; SELECT * FROM sync_enqueue('$TID', '$I', 'manual', '{}',"
        . " now() + interval '1 year'); SELECT * FROM sync_enqueue('$TID',"
        . " '$I', 'manual', '{}', now()); COMMIT;", role => 'hubgate_app');
    my @f1 = split /\|/, $two[0] // '';
    my @f2 = split /\|/, $two[1] // '';
    is($f1[2], 't', 'sync_enqueue manual: created');
    is($f2[2], 'f', 'again while it is queued: not created');
    is("$f2[0]|$f2[1]", "$f1[0]|$f1[1]", 'the same sync and job');
    my $w = $s->psql("BEGIN; SET LOCAL hubgate.tenant = '$TID'; SELECT"
        . " created FROM sync_enqueue('$TID', '$I', 'webhook', '{}', now()"
        . " + interval '1 year'); COMMIT;", role => 'hubgate_app');
    is($w, 't', 'a webhook-triggered sync is not deduplicated');
}


###############################################################################
# connections cut under the daemon

{
    my $mark = $s->log_mark;
    my $n = $s->psql("SELECT count(pg_terminate_backend(pid)) FROM"
        . " pg_stat_activity WHERE datname = current_database() AND usename"
        . " = 'hubgate_app' AND pid <> pg_backend_pid();", role => 'postgres');
    ok($n >= 4, "$n connections of hubgated terminated");

    ok($s->wait_log(qr/"event":"queue_listen_(?:lost|back)"/, $mark, 10),
        'the listener saw it and reconnects');

    my $id = insert_job('noop', '{}');
    ok(wait_sql($s, "SELECT status = 'done' FROM jobs WHERE id = $id", 10),
        'a job inserted afterwards is done');
    ok(wait_sql($s, "SELECT count(*) > 0 FROM pg_stat_activity WHERE"
        . " datname = current_database() AND query LIKE 'LISTEN%'", 10,
        role => 'postgres'),
        'LISTEN is back');
}


###############################################################################
# kill -9 while a job runs: its lease expires and it runs again

{
    my $id = insert_job('test.sleep', '{"ms": 4000}');
    ok(wait_sql($s, "SELECT status = 'running' FROM jobs WHERE id = $id", 10),
        'a slow job runs');
    my $owner1 = job($s, $id)->{lease_owner};

    $s->kill9;
    ok(!$s->alive, 'hubgated killed with SIGKILL');
    is(job($s, $id)->{status}, 'running', 'the job stays running (leased)');

    ok($s->start(timeout => 15), 'hubgated restarted');
    ok(wait_sql($s, "SELECT status = 'done' FROM jobs WHERE id = $id", 20),
        'after the lease expired the job was taken again and done');
    my $j = job($s, $id);
    is($j->{attempts}, 2, 'attempts 2');
    isnt($j->{lease_owner}, $owner1, "by another owner ($j->{lease_owner})");
}


###############################################################################
# claim_jobs skips locked rows (hubgated stopped: only the two sessions)

{
    is($s->stop, 0, 'hubgated stops cleanly');
    ok($s->log =~ /"event":"queue_stopped"/, 'the queue stopped');

    my $a = insert_job('noop', '{}');
    my $b = insert_job('noop', '{}');

    my $one = $s->psql_session(role => 'hubgate_app');
    $one->send("BEGIN; SELECT 'got:' || id FROM claim_jobs('s1', 1,"
        . " '30 s');");
    my $out = $one->wait_output(qr/got:\d+/, 5);
    my ($first) = ($out || '') =~ /got:(\d+)/;
    is($first, $a, 'session 1 claims the first job and holds its lock');

    my $t0 = Time::HiRes::time();
    my $got = $s->psql("SELECT string_agg(id::text, ',') FROM claim_jobs("
        . "'s2', 5, '30 s');", role => 'hubgate_app');
    ok(Time::HiRes::time() - $t0 < 5, 'session 2 is not blocked');
    is($got, $b, 'session 2 skips the locked row and takes the other');

    $one->send('COMMIT;');
    $one->close;
    is($s->psql("SELECT string_agg(lease_owner, ',' ORDER BY id) FROM jobs"
        . " WHERE id IN ($a, $b);"), 's1,s2', 'one owner each');
}


###############################################################################
# test_clock off: no route, no test kinds

{
    $s->write_conf(test_clock => 'off', worker_threads => 1);
    ok($s->start, 'restarted with test_clock off');

    my $r = advance($s, 10);
    is($r->status, 404, 'POST /v1/admin/test-clock: 404');
    is(js($r)->{error}{code}, 'not_found', 'code not_found');

    my $id = insert_job('test.fail', '{"outcome": "retry"}');
    ok(wait_sql($s, "SELECT status = 'dead' FROM jobs WHERE id = $id", 10),
        'test.fail is not a kind in production');
    is(job($s, $id)->{last_error}, 'unknown job kind', 'unknown job kind');
}

$s->no_secrets_ok;
$s->log_clean_ok;

done_testing();
