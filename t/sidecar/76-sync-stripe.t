# Stripe end to end: Connect OAuth (no PKCE at Stripe), a sync of the
# account's customers, invoices and charges (form-encoded, starting_after
# and has_more, created[gte] next time), an integration by restricted API
# key, and Stripe webhook events (stored by the intake) turned into
# targeted syncs of the invoice or charge they name.
use strict;
use warnings;

use Test::More;
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $stripe = Hubgate::Fake->new($t, 'stripe', FAKE_SEED => 76,
    FAKE_STRIPE_CUSTOMERS => 30, FAKE_STRIPE_INVOICES => 130,
    FAKE_STRIPE_CHARGES => 45);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, stripe => $stripe),
    test_clock => 'on', scheduler_interval => '200ms', job_lease => '5s' });
$s->migrate;
$s->tenant_create('acme');
$s->start;

my $T = 'acme';
sub api { Hubgate::Sync::api($s, @_) }

my $id = Hubgate::Sync::connect($s, $stripe, tenant => $T);
my $integ = api(GET => "/v1/integrations/$id", tenant => $T);
is($integ->{status}, 'active', 'Connect: active');
like($integ->{account_id}, qr/^acct_/, "account $integ->{account_id}");
my $acct = $integ->{account_id};

my $run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'sync succeeded') or diag explain $run;

# what the fake holds, read with the fake's own API
my (%n, %charge_invoice);
for my $obj (qw(customers invoices charges)) {
    my ($after, @all) = (undef);
    while (1) {
        my $res = $stripe->api(GET => "/v1/$obj?limit=100"
            . ($after ? "&starting_after=$after" : ''),
            headers => { Authorization => 'Bearer sk_test_platform_demo',
                'Stripe-Account' => $acct });
        my $j = $res->json or last;
        push @all, @{ $j->{data} };
        last if !$j->{has_more};
        $after = $j->{data}[-1]{id};
    }
    $n{$obj} = scalar @all;
    if ($obj eq 'charges') {
        $n{charges_alone} = grep { !defined $_->{invoice} } @all;
    }
}
ok($n{invoices} >= 130, "the fake holds $n{invoices} invoices");

is($s->psql("SELECT count(*) FROM external_orders WHERE external_id LIKE 'in\\_%'"),
    $n{invoices}, 'every invoice became an order');
is($s->psql("SELECT count(*) FROM external_orders WHERE external_id LIKE 'ch\\_%'"),
    $n{charges_alone}, 'every charge of no invoice became an order, the others did not');
is($s->psql("SELECT count(*) FROM customers"), $n{customers},
    'every customer');
is($run->{created}, $n{invoices} + $n{charges_alone} + $n{customers},
    'created counts them all');
is($s->psql(q{SELECT count(*) FROM external_orders
    WHERE external_id LIKE 'in\_%' AND total_minor = (raw->>'total')::bigint
      AND currency = upper(raw->>'currency')}), $n{invoices},
    'invoice totals in minor units, currency upper-cased');
my $st = $stripe->stats;
ok(($st->{by_path}{'/v1/invoices'} // 0) >= 2, 'invoices came in several pages');

# next time: created[gte], nothing new
$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'incremental sync');
is($run->{created} + $run->{updated}, 0, 'nothing new');

###############################################################################
# webhooks: targeted syncs

my $paid = $stripe->control(POST => '/_fake/seed', { account => $acct,
    mutate => 1 });
my ($inv) = @{ $paid->{accounts}{$acct}{mutated} };
SKIP: {
    skip 'no open invoice in the fake to pay', 7 if !$inv;
    isnt($s->psql("SELECT status FROM external_orders WHERE external_id = '$inv'"),
        'paid', "$inv was not paid when synced");

    my $body = qq({"id":"evt_t76_1","object":"event","type":"invoice.paid",)
        . qq("data":{"object":{"id":"$inv","object":"invoice"}}});
    my $r = $s->request(POST => "/api/v1/webhooks/stripe/$id",
        ident => { webhook => 'scheme=stripe' }, body => $body,
        headers => { 'Content-Type' => 'application/json' });
    is($r->status, 200, 'invoice.paid stored') or diag $r->body;

    my $wr;
    ok($t->wait_for(sub {
        ($wr) = grep { $_->{trigger} eq 'webhook' }
            @{ api(GET => "/v1/syncs?integration=$id", tenant => $T)->{data} };
        $wr && $wr->{status} eq 'succeeded';
    }, 30), 'the event started a targeted sync');
    is($wr->{processed}, 1, 'of that one invoice');
    is($s->psql("SELECT status FROM external_orders WHERE external_id = '$inv'"),
        'paid', 'the order is paid now');
    ok($s->psql("SELECT processed_at IS NOT NULL FROM webhook_events"
        . " WHERE event_id = 'evt_t76_1'") eq 't', 'the event is processed');

    # an event type that names nothing to sync: processed, no sync
    $r = $s->request(POST => "/api/v1/webhooks/stripe/$id",
        ident => { webhook => 'scheme=stripe' },
        body => '{"id":"evt_t76_2","object":"event","type":"balance.available","data":{"object":{}}}',
        headers => { 'Content-Type' => 'application/json' });
    $t->wait_for(sub { $s->psql("SELECT processed_at IS NOT NULL FROM webhook_events"
        . " WHERE event_id = 'evt_t76_2'") eq 't' }, 30);
    is(scalar(grep { $_->{trigger} eq 'webhook' }
        @{ api(GET => "/v1/syncs?integration=$id", tenant => $T)->{data} }), 1,
        'balance.available: processed, no sync');
}

# an event for an integration that is not active: kept, no sync, no
# failure counted against it
api(POST => "/v1/integrations/$id/deactivate", tenant => $T, json => {});
my $runs = scalar @{ api(GET => "/v1/syncs?integration=$id", tenant => $T)->{data} };
my $r3 = $s->request(POST => "/api/v1/webhooks/stripe/$id",
    ident => { webhook => 'scheme=stripe' },
    body => '{"id":"evt_t76_3","object":"event","type":"invoice.paid","data":{"object":{"id":"in_x","object":"invoice"}}}',
    headers => { 'Content-Type' => 'application/json' });
is($r3->status, 200, 'inactive integration: the event is stored');
ok($t->wait_for(sub { $s->psql("SELECT processed_at IS NOT NULL FROM webhook_events"
    . " WHERE event_id = 'evt_t76_3'") eq 't' }, 30), 'and processed');
is($s->psql("SELECT last_error FROM webhook_events WHERE event_id = 'evt_t76_3'"),
    'not synced: the integration is inactive', 'saying why it started no sync');
is(scalar @{ api(GET => "/v1/syncs?integration=$id", tenant => $T)->{data} }, $runs,
    'no sync run');
is($s->psql("SELECT consecutive_failures FROM integrations WHERE id = '$id'"), 0,
    'no failure counted against the integration');

###############################################################################
# a restricted API key instead of Connect

my $key = 'rk_test_' . ('k' x 24);
$stripe->control(POST => '/_fake/keys', { key => $key, account => 'acct_keyed76' });
$stripe->control(POST => '/_fake/seed', { account => 'acct_keyed76',
    customers => 3, invoices => 7, charges => 2 });
my ($j, $res) = api(POST => '/v1/integrations', tenant => $T, json => {
    provider => 'stripe', auth => 'api_key', api_key => $key });
is($res->status, 201, 'restricted key integration') or diag $res->body;
$run = Hubgate::Sync::sync($s, $j->{id}, tenant => $T);
is($run->{status}, 'succeeded', 'it syncs with the key') or diag explain $run;
ok($run->{created} >= 10, "its records ($run->{created})");

$s->no_secrets_ok;
$t->done_testing;
