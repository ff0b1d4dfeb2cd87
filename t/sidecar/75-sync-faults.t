# A sync against a provider that misbehaves: 429 with Retry-After (waits,
# not a failure), 5xx (retried on the schedule), a 401 mid-sync (one
# refresh, then on), a provider that keeps failing (health degraded, then
# unhealthy, then the integration disabled after 5 failed syncs in a row,
# all under the test clock), and hubgated killed with SIGKILL mid-sync (resumes at the committed cursor,
# no order twice).
use strict;
use warnings;

use Test::More;
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => 300,
    FAKE_SEED => 75);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, allegro => $allegro),
    test_clock => 'on', scheduler_interval => '200ms', job_lease => '3s',
    sync_page_size => 50 });
$s->migrate;
$s->tenant_create('acme');
$s->start;

my $T = 'acme';
sub api { Hubgate::Sync::api($s, @_) }
sub advance { api(POST => '/v1/admin/test-clock', tenant => $T,
    json => { advance_seconds => $_[0] }) }
sub job_of { $s->psql("SELECT $_[1] FROM jobs WHERE payload->>'sync_id' = '$_[0]'") }
sub integ { $s->psql("SELECT $_[1] FROM integrations WHERE id = '$_[0]'") }

my $id = Hubgate::Sync::connect($s, $allegro, tenant => $T);
my $run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'first sync') or diag explain $run;
is($run->{created}, 300, '300 orders');

###############################################################################
# 429: Retry-After honoured, not a failure

$allegro->control(POST => '/_fake/seed', { add => 20 });
$allegro->control(POST => '/_fake/faults', { status => 429, count => 1,
    retry_after => 3600, path_prefix => '/order' });
my $sync = Hubgate::Sync::start($s, $id, tenant => $T);
ok($t->wait_for(sub {
    (api(GET => "/v1/syncs/$sync", tenant => $T)->{stage} // '') eq 'waiting' }, 30),
    '429: the sync waits');
$run = api(GET => "/v1/syncs/$sync", tenant => $T);
is($run->{status}, 'queued', 'queued again');
like($run->{error}, qr/429/, 'the run says why');
# the run says "waiting" in the handler's transaction, the queue moves the
# job's run_at in its own right after: wait for that one too
ok($t->wait_for(sub { $s->psql("SELECT run_at > now() + interval '59 minutes'"
    . " FROM jobs WHERE payload->>'sync_id' = '$sync'") eq 't' }, 10),
    'the job runs again an hour later, as Retry-After said');
is(integ($id, 'consecutive_failures'), 0, 'a 429 is not a failure');
is(integ($id, 'health'), 'healthy', 'still healthy');
advance(3601);
$run = Hubgate::Sync::wait_run($s, $sync, tenant => $T);
is($run->{status}, 'succeeded', 'after the hour it finishes');
is($run->{created}, 20, 'with the 20 new orders');
is($allegro->stats->{by_status}{429}, 1, 'one 429 in all')
    or diag explain $allegro->stats;

###############################################################################
# 5xx: retried after 1 s, then healthy again

$allegro->control(POST => '/_fake/faults', { status => 503, count => 1,
    path_prefix => '/order' });
$run = Hubgate::Sync::sync($s, $id, tenant => $T, timeout => 30);
is($run->{status}, 'succeeded', '503 once: retried and succeeded');
is($run->{attempts}, 2, 'in 2 attempts');
is(integ($id, 'health'), 'healthy', 'healthy again after a success');
is(integ($id, 'consecutive_failures'), 0, 'failures reset');

###############################################################################
# 401 mid-sync: one refresh, then on

my $before = $allegro->stats->{token_calls}{refresh_token};
$allegro->control(POST => '/_fake/seed', { add => 120 });
$allegro->control(POST => '/_fake/tokens', { action => 'expire', which => 'access' });
$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'access token expired at the provider: succeeded');
is($run->{attempts}, 1, 'in one attempt');
is($run->{created}, 120, 'all 120 new orders');
is($allegro->stats->{token_calls}{refresh_token}, $before + 1, 'one refresh');
is($allegro->stats->{invalid_grant}, 0, 'no invalid_grant');

###############################################################################
# a provider that keeps failing: degraded, unhealthy, disabled after 5

$allegro->control(POST => '/_fake/faults', { status => 500, count => 1000,
    path_prefix => '/order' });
$sync = Hubgate::Sync::start($s, $id, tenant => $T);
my @health;
for my $n (1 .. 5) {
    ok($t->wait_for(sub { integ($id, 'consecutive_failures') >= $n
        && (job_of($sync, 'attempts') > $n
            || job_of($sync, "status || ':' || attempts") =~ /^(queued:$n|dead:\d+)$/) }, 30),
        "failure $n recorded");
    push @health, scalar integ($id, 'health');
    last if $n == 5;
    my $now = advance(0)->{now};
    my $gap = $s->psql("SELECT round(extract(epoch FROM run_at - '$now'::timestamptz))"
        . " FROM jobs WHERE payload->>'sync_id' = '$sync'");
    my $want = (1, 60, 300, 900)[$n - 1];
    ok($gap >= $want * 0.9 - 1 && $gap <= $want * 1.1 + 1,
        "retry $n due in ${gap}s (schedule: ${want}s ±10 %)");
    advance($want * 1.1 + 1) if $want > 1;
}
is_deeply(\@health, [qw(degraded degraded unhealthy unhealthy unhealthy)],
    'health: degraded, then unhealthy') or diag "@health";
ok($t->wait_for(sub { integ($id, 'status') eq 'error' }, 10),
    'disabled after 5 failed syncs in a row');
like(integ($id, 'last_error'), qr/HTTP 500/, 'its last error says why');
$run = Hubgate::Sync::wait_run($s, $sync, tenant => $T);
is($run->{status}, 'failed', 'the run failed');
like($run->{error}, qr/disabled after 5/, 'saying the integration was disabled');
is(job_of($sync, 'status'), 'dead', 'its job is dead, kept with its error');
my $calls = $allegro->stats->{by_path}{'/order/checkout-forms'};
advance(5 * 3600);
my ($j, $res) = api(POST => "/v1/integrations/$id/syncs", tenant => $T, json => {});
is($res->status, 409, 'a disabled integration does not sync');
is($allegro->stats->{by_path}{'/order/checkout-forms'}, $calls,
    'and nothing calls the provider any more');

# back to work
$allegro->control(POST => '/_fake/faults', { clear => 1 });
api(POST => "/v1/integrations/$id/activate", tenant => $T, json => {});
$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'reactivated: syncs again');
is(integ($id, 'health'), 'healthy', 'healthy');

###############################################################################
# SIGKILL mid-sync: resumes at the committed cursor, nothing twice

$allegro->control(POST => '/_fake/seed', { add => 1500 });
$allegro->control(POST => '/_fake/faults', { latency_ms => 100,
    count => 1000, path_prefix => '/order/checkout-forms' });
my $orders0 = $s->psql('SELECT count(*) FROM external_orders');
$sync = Hubgate::Sync::start($s, $id, tenant => $T);
ok($t->wait_for(sub {
    (api(GET => "/v1/syncs/$sync", tenant => $T)->{processed} // 0) >= 400 }, 60),
    'the sync is part way');
$s->kill9;
my $mid = $s->psql("SELECT processed FROM sync_runs WHERE id = '$sync'");
ok($mid > 0 && $mid < 1500, "killed after $mid records");
$s->start;
$run = Hubgate::Sync::wait_run($s, $sync, tenant => $T, timeout => 90);
is($run->{status}, 'succeeded', 'resumed and finished');
is($run->{attempts}, 2, 'in a second attempt, after the lease ran out');
is($s->psql('SELECT count(*) FROM external_orders') - $orders0, 1500,
    'exactly the 1500 new orders');
is($run->{created}, 1500, 'each created once');
is($s->psql("SELECT count(*) FROM (SELECT external_id FROM external_orders"
    . " GROUP BY 1 HAVING count(*) > 1) d"), 0, 'no order twice');
$allegro->control(POST => '/_fake/faults', { clear => 1 });

$s->no_secrets_ok;
$t->done_testing;
