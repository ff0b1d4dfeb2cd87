# A sync of 10,000 Allegro orders completes with exact counts: every
# order once, every total exact, the run's counters equal to the rows.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

# a volume test: t/asan runs the same code through 74-76 already
plan skip_all => 'the 10,000-order run is not repeated under ASan'
    if $ENV{HUBGATE_ASAN};

my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => 10000,
    FAKE_SEED => 77);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, allegro => $allegro), scheduler_interval => '1h' });
$s->migrate;
$s->tenant_create('acme');
$s->start;

my $id = Hubgate::Sync::connect($s, $allegro, tenant => 'acme');
my $t0 = time;
my $run = Hubgate::Sync::sync($s, $id, tenant => 'acme',
    timeout => 240);
my $secs = time - $t0;

is($run->{status}, 'succeeded', '10,000 orders: succeeded') or diag explain $run;
is($run->{total}, 10000, 'total 10,000');
is($run->{processed}, 10000, 'processed 10,000');
is($run->{created}, 10000, 'created 10,000');
is($run->{updated}, 0, 'updated 0');
is($run->{failed}, 0, 'failed 0');
is($s->psql("SELECT count(*), count(DISTINCT external_id) FROM external_orders"),
    '10000|10000', '10,000 rows, 10,000 distinct orders');
is($s->psql(q{SELECT count(*) FROM external_orders
    WHERE total_minor = round((raw->'summary'->'totalToPay'->>'amount')::numeric * 100)}),
    10000, 'every total exact');
is($s->psql(q{SELECT sum(total_minor) = (SELECT sum(round((raw->'summary'->'totalToPay'->>'amount')::numeric * 100))
    FROM external_orders) FROM external_orders}), 't', 'the sum of totals exact');
is($allegro->stats->{by_path}{'/order/checkout-forms'}, 100,
    'in 100 pages of 100');
diag sprintf '10,000 orders in %.1f s (%.0f orders/s, the bench measures this properly)',
    $secs, 10000 / $secs;

$t->done_testing;
