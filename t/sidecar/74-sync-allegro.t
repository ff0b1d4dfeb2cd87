# Sync of an Allegro account end to end: OAuth connection through the
# callback, a full sync of the fake's checkout forms into canonical
# orders, customers and products, an incremental sync that finds only the
# changes (updatedAt filter and the /order/events journal), progress as
# Server-Sent Events through nginx, history and cancel.
use strict;
use warnings;

use Test::More;
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => 250,
    FAKE_SEED => 74);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, allegro => $allegro),
    test_clock => 'on', scheduler_interval => '200ms', job_lease => '5s' });
$s->migrate;
$s->tenant_create('acme');
$s->tenant_create('other');
$s->start;

my $T = 'acme';
sub api { Hubgate::Sync::api($s, @_) }

###############################################################################
# connect, then a full sync

my $id = Hubgate::Sync::connect($s, $allegro, tenant => $T);
my $integ = api(GET => "/v1/integrations/$id", tenant => $T);
is($integ->{status}, 'active', 'connected: active');
is($integ->{account_id}, '46968690', 'account id from /me');

my $run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'full sync succeeded')
    or diag explain $run;
is($run->{processed}, 250, '250 records processed');
is($run->{created}, 250, '250 orders created');
is($run->{updated}, 0, 'nothing updated');
is($run->{failed}, 0, 'nothing failed');
is($run->{percent}, 100, '100 %');
is($run->{total}, 250, 'total known from totalCount');

is($s->psql("SELECT count(*) FROM external_orders WHERE integration_id = '$id'"),
    250, '250 canonical orders');
is($s->psql(q{SELECT count(*) FROM external_orders
    WHERE total_minor = round((raw->'summary'->'totalToPay'->>'amount')::numeric * 100)
      AND currency = raw->'summary'->'totalToPay'->>'currency'}),
    250, "every order's total is the form's totalToPay, exactly");
is($s->psql(q{SELECT count(*) FROM external_orders o
    WHERE (SELECT sum((l->>'total_minor')::bigint)
             FROM jsonb_array_elements(o.canonical->'lines') l) = o.total_minor}),
    250, 'the lines (with delivery) add up to each total');
is($s->psql(q{SELECT count(*) FROM external_orders
    WHERE customer_id IS NULL AND raw->'buyer'->>'id' IS NOT NULL}), 0,
    'every buyer became a customer');
is($s->psql(q{SELECT count(DISTINCT raw->'buyer'->>'id') FROM external_orders}),
    $s->psql('SELECT count(*) FROM customers'), 'one customer per buyer');
is($s->psql(q{SELECT count(DISTINCT l->'product'->>'external_id')
    FROM external_orders o, jsonb_array_elements(o.canonical->'lines') l
    WHERE l->'product' IS NOT NULL AND l->'product' <> 'null'}),
    $s->psql('SELECT count(*) FROM products'), 'one product per offer');
ok($s->psql(q{SELECT count(*) FROM customers WHERE name ~ '[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]'}) > 0,
    'Polish names kept');
is($s->psql(q{SELECT count(*) FROM sync_cursors WHERE stream = 'order-events'}),
    1, 'the journal cursor is set for the next run');

# the canonical records through the API
my $orders = api(GET => "/v1/orders?integration=$id&limit=500", tenant => $T);
is(scalar @{ $orders->{data} }, 250, 'GET /v1/orders lists them');
my $customers = api(GET => '/v1/customers?limit=500', tenant => $T);
ok(@{ $customers->{data} } > 0, 'GET /v1/customers');
my $products = api(GET => '/v1/products?limit=500', tenant => $T);
ok(@{ $products->{data} } > 0, 'GET /v1/products');
is(scalar @{ api(GET => '/v1/orders', tenant => 'other')->{data} }, 0,
    'another tenant sees none of them');

###############################################################################
# incremental: nothing changed, then changes

$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'second sync succeeded');
is($run->{created} + $run->{updated}, 0, 'no change: nothing created or updated');
ok($run->{processed} < 250, "incremental: $run->{processed} records read, not 250");

$allegro->control(POST => '/_fake/seed', { add => 5 });
$allegro->control(POST => '/_fake/seed', { mutate => 10 });
$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'third sync succeeded');
is($run->{created}, 5, '5 new orders created');
is($run->{updated}, 10, '10 changed orders updated');
is($s->psql("SELECT count(*) FROM external_orders"), 255, '255 orders, none twice');

###############################################################################
# progress as Server-Sent Events, through nginx

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf);
$t->run;
my $jwt = $s->token(tenant => $T);

$allegro->control(POST => '/_fake/seed', { add => 400 });
$allegro->control(POST => '/_fake/faults', { latency_ms => 150, count => 100,
    path_prefix => '/order/checkout-forms' });
my $sync = Hubgate::Sync::start($s, $id, tenant => $T, body => { mode => 'full' });
my $r = $t->request(GET => "/api/v1/syncs/$sync/events",
    headers => { Authorization => "Bearer $jwt", Accept => 'text/event-stream' });
is($r->status, 200, 'events: 200');
like($r->header('Content-Type'), qr{^text/event-stream}, 'text/event-stream');
my @events = map { my ($n) = /^event: (\w+)/m; my ($d) = /^data: (.*)$/m;
        { name => $n // '', data => $d // '' } }
    grep { /^(event|data|id):/m } split /\n\n/, $r->body;
my @data = map { JSON::PP::decode_json($_->{data}) } grep { $_->{data} ne '' } @events;
ok(@data >= 4, scalar(@data) . ' events, several while the sync ran');
is($events[-1]{name}, "end", "the stream ends with an end event") or diag explain [ @events[-2, -1] ];
is($data[-1]{status}, 'succeeded', 'the last event says succeeded');
my @pct = map { $_->{percent} } @data;
is_deeply(\@pct, [sort { $a <=> $b } @pct], "percent never goes back (@pct)");
ok((grep { $_->{status} eq 'running' && $_->{percent} > 0 && $_->{percent} < 100 } @data),
    'events in between show a running sync part way');
is($data[-1]{processed}, 655, 'full mode reads every order again');
is($data[-1]{created}, 400, 'and creates only the new ones');

###############################################################################
# history, cancel, errors

my $hist = api(GET => "/v1/syncs?integration=$id", tenant => $T);
ok(@{ $hist->{data} } >= 4, 'history lists the runs');
is($hist->{data}[0]{id}, $sync, 'newest first');
is(scalar @{ api(GET => "/v1/syncs?integration=$id", tenant => 'other')->{data} },
    0, 'history is per tenant');

my ($j, $res) = api(GET => "/v1/syncs/$sync", tenant => 'other');
is($res->status, 404, "another tenant's sync: 404");
($j, $res) = api(DELETE => "/v1/syncs/$sync", tenant => $T);
is($res->status, 409, 'cancel of a finished sync: 409');
is($j->{error}{code}, 'finished', 'finished');

$allegro->control(POST => '/_fake/faults', { latency_ms => 300, count => 50,
    path_prefix => '/order/checkout-forms' });
$sync = Hubgate::Sync::start($s, $id, tenant => $T, body => { mode => 'full' });
$t->wait_for(sub {
    (api(GET => "/v1/syncs/$sync", tenant => $T)->{processed} // 0) >= 100 }, 30);
($j, $res) = api(DELETE => "/v1/syncs/$sync", tenant => $T);
is($res->status, 202, 'cancel of a running sync: 202');
ok($j->{cancel_requested}, 'cancel requested');
$run = Hubgate::Sync::wait_run($s, $sync, tenant => $T);
is($run->{status}, 'cancelled', 'the sync stops at its next page');
ok($run->{processed} < 655, "cancelled part way ($run->{processed})");
is($s->psql("SELECT status FROM jobs WHERE payload->>'sync_id' = '$sync'"),
    'cancelled', 'its job is cancelled');
$allegro->control(POST => '/_fake/faults', { clear => 1 });

($j, $res) = api(POST => '/v1/integrations/00000000-0000-0000-0000-000000000000/syncs',
    tenant => $T, json => {});
is($res->status, 404, 'sync of an unknown integration: 404');
($j, $res) = api(POST => "/v1/integrations/$id/syncs", tenant => $T,
    json => { mode => 'sideways' });
is($res->status, 422, 'bad mode: 422');
api(POST => "/v1/integrations/$id/deactivate", tenant => $T, json => {});
($j, $res) = api(POST => "/v1/integrations/$id/syncs", tenant => $T, json => {});
is($res->status, 409, 'sync of an inactive integration: 409');
is($j->{error}{code}, 'not_active', 'not_active');

$s->no_secrets_ok;
$t->done_testing;
