# Provider limits applied on our side (DESIGN §4).  The fake Stripe
# allows FAKE_STRIPE_PER_SECOND calls per account in any second, then
# answers 429 (with no Retry-After, as Stripe).  Without a limit of ours
# a sync of small pages runs into it; with stripe_requests_per_second at
# the provider's limit the sync waits for its turn (GCRA on Redis, shared
# by every instance) and the provider never has to say 429.
use strict;
use warnings;

use Test::More;
use Time::HiRes ();
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $stripe = Hubgate::Fake->new($t, 'stripe', FAKE_SEED => 78,
    FAKE_STRIPE_PER_SECOND => 8, FAKE_STRIPE_CUSTOMERS => 40,
    FAKE_STRIPE_INVOICES => 40, FAKE_STRIPE_CHARGES => 10);
my %conf = (Hubgate::Sync::conf($t, stripe => $stripe), test_clock => 'on',
    scheduler_interval => '1h', sync_page_size => 4);
my $s = Hubgate::Sidecar->new($t, conf => { %conf,
    stripe_requests_per_second => 1000 });
$s->migrate;
$s->tenant_create('acme');
$s->start;

sub api { Hubgate::Sync::api($s, @_) }
sub waits { ($s->request(GET => '/metrics', ident => {})->body
    =~ /^hubgated_sync_rate_waits_total (\d+)/m)[0] }

my $id = Hubgate::Sync::connect($s, $stripe, tenant => 'acme');

# control: our limit far above the provider's
my $sync = Hubgate::Sync::start($s, $id, tenant => 'acme');
ok($t->wait_for(sub {
    my $r = api(GET => "/v1/syncs/$sync", tenant => 'acme');
    $r->{status} eq 'succeeded' || $r->{stage} eq 'waiting' }, 60),
    'unlimited: the sync runs');
ok(($stripe->stats->{by_status}{429} // 0) > 0,
    'without our limit the provider answers 429');
my $r = api(GET => "/v1/syncs/$sync", tenant => 'acme');
like($r->{error}, qr/429/, 'the run waits, saying why');
api(DELETE => "/v1/syncs/$sync", tenant => 'acme');
is(Hubgate::Sync::wait_run($s, $sync, tenant => 'acme')->{status},
    'cancelled', 'cancelled while it waits');

# our limit at the provider's; the fake's one-second window must first
# forget the control's calls (its clock, not a guess about ours)
my $quiet = Time::HiRes::time() + 1.2;
$s->stop;
$s->write_conf(%conf, stripe_requests_per_second => 8);
$s->start;
Time::HiRes::sleep(0.05) while Time::HiRes::time() < $quiet;
my $before = $stripe->stats->{by_status}{429} // 0;
my $run = Hubgate::Sync::sync($s, $id, tenant => 'acme',
    body => { mode => 'full' }, timeout => 120);
is($run->{status}, 'succeeded', 'a full sync in pages of 4') or diag explain $run;
ok($run->{processed} >= 40, "$run->{processed} records in pages of 4");
is($run->{attempts}, 1, 'in one attempt');
is(($stripe->stats->{by_status}{429} // 0) - $before, 0,
    'the provider never had to say 429');
ok(waits() > 0, 'hubgated waited for its limit instead (' . waits() . ' waits)');

$t->done_testing;
