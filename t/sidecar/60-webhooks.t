#!/usr/bin/perl

# Webhooks in hubgated, straight to its socket with identity headers signed
# as the edge signs them (the edge's part is tested in t/edge): the intake
# (the event id of each scheme, redeliveries, unknown integrations, missing
# or forged edge verification, bad events, binary and 1 MB bodies), the
# edge's secret subrequest, the tenant's webhook secret (set, rotate with
# overlap, generate, delete) and the event list with its tenant isolation.
# Every accepted event must be one row and one webhook.process job.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use JSON::PP qw(decode_json);
use POSIX ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;

my $t = Hubgate::Test->new;

my $s = Hubgate::Sidecar->new($t, conf => { request_body_limit => '1100k' });
$s->migrate;
$s->tenant_create('acme');
$s->tenant_create('globex');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

my $J = JSON::PP->new->canonical;

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

# a tenant's request
sub api {
    my ($method, $uri, %o) = @_;

    my $tenant = delete $o{tenant} // 'acme';

    return $s->request($method => $uri, %o,
        ident => { tenant => $tenant, subject => 'alice', roles => 'user' });
}

# a webhook as the edge forwards it once verified
sub hook {
    my ($provider, $integration, $body, $webhook, %o) = @_;

    return $s->request(POST => "/api/v1/webhooks/$provider/$integration",
        body => $body, headers => { 'Content-Type' => 'application/json',
            %{ $o{headers} || {} } },
        exists $o{ident} ? (ident => $o{ident})
                         : (ident => { webhook => $webhook }));
}

# the edge's secret subrequest
sub secrets {
    my ($provider, $integration, %id) = @_;

    my %ident = (webhook => 'secret-request', %id);

    return $s->request(GET => "/api/v1/webhook-secrets/$provider/$integration",
        ident => \%ident);
}

sub error_is {
    my ($r, $status, $code, $name) = @_;

    my $e = js($r)->{error} // {};

    is($r->status, $status, "$name: $status");
    is($e->{code} // '', $code, "$name: error code $code") or diag($r->body);
}

sub sql { scalar $s->psql($_[0]) }

sub events { sql("SELECT count(*) FROM webhook_events") }
sub jobs { sql("SELECT count(*) FROM jobs WHERE kind = 'webhook.process'") }


###############################################################################
# integrations to receive for

my %int;

for my $p (qw(stripe square quickbooks gmail mailchimp allegro)) {
    my $r = api(POST => '/api/v1/integrations', json => { provider => $p });
    is($r->status, 201, "create a $p integration: 201") or diag($r->body);
    $int{$p} = js($r)->{id} // 'missing';
}

my $r = api(POST => '/api/v1/integrations', json => { provider => 'stripe' },
    tenant => 'globex');
my $globex_stripe = js($r)->{id} // 'missing';


###############################################################################
# intake: the event id of each scheme

my %seen;   # row id => [provider, integration, event_id, type]

my @cases = (
    [ 'stripe', 'stripe', 'scheme=stripe',
      { id => 'evt_1NxQ', type => 'charge.succeeded', object => 'event' },
      'evt_1NxQ', 'charge.succeeded' ],
    [ 'square', 'square', 'scheme=square',
      { event_id => '6a8f5f28-54a1-4eb0-a98a-3111513fd4fc',
        type => 'payment.updated', merchant_id => 'M1' },
      '6a8f5f28-54a1-4eb0-a98a-3111513fd4fc', 'payment.updated' ],
    [ 'intuit object', 'quickbooks', 'scheme=intuit',
      { specversion => '1.0', id => 'ce-88c0', type => 'qbo.invoice.created.v1',
        source => 'intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=' },
      'ce-88c0', 'qbo.invoice.created.v1' ],
    [ 'intuit one-element array', 'quickbooks', 'scheme=intuit',
      [ { specversion => '1.0', id => 'ce-1234', type => 'qbo.customer.v1' } ],
      'ce-1234', 'qbo.customer.v1' ],
    [ 'intuit batch', 'quickbooks', 'scheme=intuit',
      [ { id => 'ce-a', type => 't' }, { id => 'ce-b', type => 't' } ],
      undef, undef ],
    [ 'intuit legacy', 'quickbooks', 'scheme=intuit',
      { eventNotifications => [ { realmId => '1185883450',
        dataChangeEvent => { entities => [] } } ] },
      undef, undef ],
    [ 'pubsub', 'gmail', 'scheme=pubsub',
      { message => { data => 'eyJlbWFpbEFkZHJlc3MiOiJ4In0=',
        messageId => '2070443601311540', publishTime => '2021-02-26T19:13:55Z' },
        subscription => 'projects/p/subscriptions/s' },
      '2070443601311540', undef ],
    [ 'standard (id in the header)', 'allegro',
      'scheme=standard;id=msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      { type => 'invoice.paid', data => {} },
      'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 'invoice.paid' ],
    [ 'github (id in the header)', 'allegro',
      'scheme=github;id=72d3162e-cc78-11e3-81ab-4c9367dc0958',
      { action => 'opened', type => 'ignored' },
      '72d3162e-cc78-11e3-81ab-4c9367dc0958', undef ],
    [ 'mailchimp (hash of the body)', 'mailchimp', 'scheme=mailchimp',
      'type=subscribe&fired_at=2009-03-26+21%3A35%3A57&data%5Bid%5D=8a25ff1d98',
      undef, undef ],
);

for my $c (@cases) {
    my ($name, $prov, $wh, $payload, $want_id, $want_type) = @$c;

    my $body = ref $payload ? $J->encode($payload) : $payload;
    $want_id //= 'sha256:' . sha256_hex($body);

    my ($e0, $j0) = (events(), jobs());
    my $r = hook($prov, $int{$prov}, $body, $wh);
    my $o = js($r);

    is($r->status, 200, "$name: 200") or diag($r->body);
    is($o->{event_id}, $want_id, "$name: event_id");
    ok(JSON::PP::is_bool($o->{duplicate}) && !$o->{duplicate},
        "$name: duplicate false");
    like($o->{id} // '', qr/^[0-9a-f-]{36}$/, "$name: the row's id");

    my $id = $o->{id} // 'none';
    is(sql("SELECT provider || '|' || integration_id || '|' || event_id"
        . " || '|' || COALESCE(event_type, '<null>') || '|'"
        . " || (body = decode('" . unpack('H*', $body) . "', 'hex'))"
        . " FROM webhook_events WHERE id = '$id'"),
        "$prov|$int{$prov}|$want_id|" . ($want_type // '<null>') . '|true',
        "$name: the row (provider, integration, event id, type, raw body)");
    # the sync engine's workers may have processed it already
    like(sql("SELECT kind || '|' || status || '|' || (payload->>'event_id')"
        . " || '|' || unique_key || '|' || integration_id FROM jobs"
        . " WHERE payload->>'event_id' = '$id'"),
        qr/^webhook\.process\|(queued|running|done)\|\Q$id|webhook:$id|$int{$prov}\E$/,
        "$name: its job");
    is(events() . '/' . jobs(), ($e0 + 1) . '/' . ($j0 + 1),
        "$name: one row and one job more");

    $seen{$id} = [ $prov, $int{$prov}, $want_id, $want_type ];

    # the provider delivers it again
    $r = hook($prov, $int{$prov}, $body, $wh);
    $o = js($r);
    is($r->status, 200, "$name again: 200");
    ok(JSON::PP::is_bool($o->{duplicate}) && $o->{duplicate}
        && ($o->{id} // '') eq $id && ($o->{event_id} // '') eq $want_id,
        "$name again: duplicate true, the first row's id")
        or diag($r->body);
    is(events() . '/' . jobs(), ($e0 + 1) . '/' . ($j0 + 1),
        "$name again: no second row, no second job");
}

# the same event id for another integration is another event
$r = api(POST => '/api/v1/integrations', json => { provider => 'stripe' });
my $stripe2 = js($r)->{id} // 'missing';
$r = hook('stripe', $stripe2, '{"id":"evt_1NxQ","type":"x"}', 'scheme=stripe');
ok($r->status == 200 && !js($r)->{duplicate}, 'the same event id on another'
    . ' integration: a new event');
$seen{ js($r)->{id} // 'none' } = 1;


###############################################################################
# intake: what is refused, and leaves nothing behind

my ($e0, $j0) = (events(), jobs());

error_is(hook('stripe', $int{stripe}, 'not json at all', 'scheme=stripe'),
    400, 'bad_event', 'stripe body that is not JSON');
error_is(hook('stripe', $int{stripe}, '{"type":"charge.succeeded"}',
    'scheme=stripe'), 400, 'bad_event', 'stripe event without an id');
error_is(hook('stripe', $int{stripe}, '{"id":42}', 'scheme=stripe'),
    400, 'bad_event', 'stripe id that is not a string');
error_is(hook('square', $int{square}, '{"id":"x"}', 'scheme=square'),
    400, 'bad_event', 'square event without event_id');
error_is(hook('gmail', $int{gmail}, '{"messageId":"1"}', 'scheme=pubsub'),
    400, 'bad_event', 'pubsub push without message');
error_is(hook('allegro', $int{allegro}, '{}', 'scheme=standard;id='),
    400, 'bad_event', 'an empty id in the header');
error_is(hook('allegro', $int{allegro}, '{}',
    'scheme=standard;id=' . ('x' x 513)), 400, 'bad_event',
    'an id of 513 bytes');

error_is(hook('stripe', '00000000-0000-4000-8000-000000000000',
    '{"id":"evt_2"}', 'scheme=stripe'), 404, 'not_found',
    'unknown integration');
error_is(hook('square', $int{stripe}, '{"event_id":"e"}', 'scheme=square'),
    404, 'not_found', 'provider mismatch');
error_is(hook('stripe', 'not-a-uuid', '{"id":"evt_2"}', 'scheme=stripe'),
    404, 'not_found', 'malformed integration id');

error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', undef,
    ident => {}), 401, 'unauthorized', 'signed, without X-Hubgate-Webhook');
error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', undef,
    ident => { tenant => 'acme', subject => 'alice' }), 401, 'unauthorized',
    'a tenant\'s signed request');
error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', 'secret-request'),
    401, 'unauthorized', 'X-Hubgate-Webhook secret-request on the intake');
error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', 'scheme=stripe;x=1'),
    401, 'unauthorized', 'a malformed X-Hubgate-Webhook');
error_is($s->request(POST => "/api/v1/webhooks/stripe/$int{stripe}",
    body => '{"id":"evt_3"}',
    headers => { 'X-Hubgate-Webhook' => 'scheme=stripe' }),
    401, 'unauthorized', 'X-Hubgate-Webhook without any signature');
error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', undef,
    ident => {}, headers => { 'X-Hubgate-Webhook' => 'scheme=stripe' }),
    401, 'unauthorized', 'X-Hubgate-Webhook added after signing (forged)');
error_is(hook('stripe', $int{stripe}, '{"id":"evt_3"}', undef,
    ident => { webhook => 'scheme=stripe', secret => 'y' x 32 }),
    401, 'unauthorized', 'signed with another secret');

is(events() . '/' . jobs(), "$e0/$j0", 'nothing refused left a row or a job');


###############################################################################
# intake: bodies as they are

my $bin = join '', map { chr } 0 .. 255, 0, 0, 255, 0;
$r = hook('allegro', $int{allegro}, $bin, 'scheme=hmac',
    headers => { 'Content-Type' => 'application/octet-stream' });
is($r->status, 200, 'a binary body with NUL bytes: 200') or diag($r->body);
is(js($r)->{event_id}, 'sha256:' . sha256_hex($bin),
    'binary body: the id is the hash of every byte');
my $bin_id = js($r)->{id} // 'none';
is(sql("SELECT octet_length(body) || ' ' || encode(body, 'hex')"
    . " FROM webhook_events WHERE id = '$bin_id'"),
    length($bin) . ' ' . unpack('H*', $bin), 'binary body stored byte-exact');
$seen{$bin_id} = 1;

my $big = join '', map { chr(int(rand(256))) } 1 .. 1024 * 1024;
$r = hook('allegro', $int{allegro}, $big, 'scheme=github;id=big-delivery-1');
is($r->status, 200, 'a 1 MB body: 200') or diag($r->body);
my $big_id = js($r)->{id} // 'none';
is(sql("SELECT octet_length(body) || ' ' || encode(sha256(body), 'hex')"
    . " FROM webhook_events WHERE id = '$big_id'"),
    length($big) . ' ' . sha256_hex($big), '1 MB body stored byte-exact');
$seen{$big_id} = 1;

($e0, $j0) = (events(), jobs());
$r = hook('allegro', $int{allegro}, $big . ('z' x (100 * 1024)),
    'scheme=github;id=too-big');
error_is($r, 413, 'body_too_large', 'a body over request_body_limit');
is(events() . '/' . jobs(), "$e0/$j0", 'the oversized body left nothing');


###############################################################################
# the tenant's webhook secret and the edge's subrequest

my $n = int(rand(1e9));
my ($S1, $S2, $S3) = ("whsec_FirstSecret${n}abc", "second-secret-$n-xyz",
    "third secret $n with spaces");
$s->add_secret('webhook secret 1' => $S1, 'webhook secret 2' => $S2,
    'webhook secret 3' => $S3);

my $WS = "/api/v1/integrations/$int{stripe}/webhook-secret";

$r = api(GET => $WS);
is($r->status, 200, 'GET webhook-secret before any: 200');
is_deeply(js($r), { integration_id => $int{stripe}, secrets => [] },
    'no secret yet');
error_is(secrets('stripe', $int{stripe}), 404, 'not_found',
    'edge: no live secret yet');

$r = api(PUT => $WS, json => { secret => $S1 });
my $o = js($r);
is($r->status, 200, 'PUT a secret: 200') or diag($r->body);
ok(@{ $o->{secrets} || [] } == 1 && !defined $o->{secrets}[0]{valid_until}
    && ($o->{secrets}[0]{created_at} // '') =~ /^\d{4}-/,
    'one live secret, valid_until null');
ok(!exists $o->{secret} && index($r->raw, $S1) < 0,
    'a given secret is not answered');

$r = secrets('stripe', $int{stripe});
is($r->status, 200, 'edge: 200');
is_deeply(js($r), { secrets => [$S1] }, 'edge: the secret, decrypted');
is(sql("SELECT count(*) FROM audit_log WHERE action = 'vault.decrypt'"
    . " AND target = 'integration:$int{stripe}'"), 1,
    'edge: the decrypt is audited');

$r = api(PUT => $WS, json => { secret => $S2, overlap_seconds => 3600 });
$o = js($r);
is($r->status, 200, 'rotate with an hour of overlap: 200');
ok(@{ $o->{secrets} || [] } == 2 && !defined $o->{secrets}[0]{valid_until}
    && defined $o->{secrets}[1]{valid_until},
    'two live secrets: the new one open-ended, the old one ending')
    or diag($r->body);
is_deeply(js(secrets('stripe', $int{stripe})), { secrets => [$S2, $S1] },
    'edge: new and old during the overlap, newest first');

# the overlap ends
sql("UPDATE credentials SET valid_until = now() - interval '1 second'"
    . " WHERE integration_id = '$int{stripe}' AND valid_until IS NOT NULL");
is_deeply(js(secrets('stripe', $int{stripe})), { secrets => [$S2] },
    'edge: only the new one after the overlap');
is(scalar @{ js(api(GET => $WS))->{secrets} || [] }, 1,
    'GET: one live secret after the overlap');

$r = api(PUT => $WS, json => {});
$o = js($r);
is($r->status, 200, 'PUT without a secret: 200');
like($o->{secret} // '', qr{^whsec_[A-Za-z0-9+/]{43}=$},
    'a generated secret, answered once');
my $GEN = $o->{secret} // 'none';
$s->add_secret('generated webhook secret' => $GEN);
is_deeply(js(secrets('stripe', $int{stripe})), { secrets => [$GEN, $S2] },
    'edge: the generated one and the previous (default overlap, a day)');
ok(defined((js(api(GET => $WS))->{secrets} || [{}, {}])->[1]{valid_until}),
    'the default overlap ends the previous one');

$r = api(GET => $WS);
ok($r->status == 200 && index($r->raw, $GEN) < 0 && index($r->raw, $S2) < 0
    && !exists js($r)->{secret}, 'GET never shows a secret');

$r = api(PUT => $WS, json => { secret => $S3, overlap_seconds => 0 });
is($r->status, 200, 'rotate with no overlap: 200');
is_deeply(js(secrets('stripe', $int{stripe})), { secrets => [$S3] },
    'edge: only the newest at once');

# the edge endpoint is the edge's
error_is(secrets('stripe', $int{stripe}, webhook => undef, tenant => 'acme',
    subject => 'alice'), 403, 'forbidden', 'edge endpoint, tenant-signed');
error_is(secrets('stripe', $int{stripe}, webhook => 'secret-request2'),
    403, 'forbidden', 'edge endpoint, another webhook value');
error_is(secrets('stripe', $int{stripe}, webhook => 'scheme=stripe'),
    403, 'forbidden', 'edge endpoint, a verified webhook\'s value');
error_is($s->request(GET => "/api/v1/webhook-secrets/stripe/$int{stripe}",
    headers => { 'X-Hubgate-Webhook' => 'secret-request' }),
    401, 'unauthorized', 'edge endpoint, unsigned');
error_is(secrets('square', $int{stripe}), 404, 'not_found',
    'edge endpoint, provider mismatch');
error_is(secrets('stripe', '00000000-0000-4000-8000-000000000000'), 404,
    'not_found', 'edge endpoint, unknown integration');

# validation
for my $c (
    [ { secret => '' }, 'secret', 'too_short' ],
    [ { secret => 'x' x 1025 }, 'secret', 'too_long' ],
    [ { secret => "tab\there" }, 'secret', 'pattern' ],
    [ { secret => 42 }, 'secret', 'type' ],
    [ { overlap_seconds => -1 }, 'overlap_seconds', 'range' ],
    [ { overlap_seconds => 2592001 }, 'overlap_seconds', 'range' ],
    [ { overlap_seconds => '60' }, 'overlap_seconds', 'type' ],
    [ { secret => 'abcdefgh', other => 1 }, 'other', 'unknown_field' ],
) {
    my ($body, $field, $code) = @$c;
    $r = api(PUT => $WS, json => $body);
    my $d = (js($r)->{error} || {})->{details} || [];
    ok($r->status == 422 && (js($r)->{error}{code} // '') eq
        'validation_failed' && grep({ $_->{field} eq $field
        && $_->{code} eq $code } @$d), "PUT " . $J->encode($body)
        . ": 422 $field $code") or diag($r->body);
}
error_is(api(PUT => $WS, body => '{', headers => {
    'Content-Type' => 'application/json' }), 400, 'invalid_json',
    'PUT malformed JSON');
is_deeply(js(secrets('stripe', $int{stripe})), { secrets => [$S3] },
    'refused PUTs changed nothing');

# another tenant's integration is not there
error_is(api(GET => $WS, tenant => 'globex'), 404, 'not_found',
    'globex GET on acme\'s integration');
error_is(api(PUT => $WS, tenant => 'globex', json => { secret => 'abcdefgh' }),
    404, 'not_found', 'globex PUT on acme\'s integration');
error_is(api(DELETE => $WS, tenant => 'globex'), 404, 'not_found',
    'globex DELETE on acme\'s integration');

$r = api(DELETE => $WS);
is($r->status, 204, 'DELETE: 204');
is_deeply(js(api(GET => $WS))->{secrets}, [], 'no secret after DELETE');
error_is(secrets('stripe', $int{stripe}), 404, 'not_found',
    'edge: 404 after DELETE');
is(sql("SELECT count(*) FROM credentials WHERE integration_id ="
    . " '$int{stripe}' AND purpose = 'webhook_secret'"), 0,
    'DELETE removed every webhook secret row');
error_is(api(DELETE => '/api/v1/integrations/00000000-0000-4000-8000-'
    . '000000000000/webhook-secret'), 404, 'not_found',
    'DELETE on an unknown integration');

ok(!sql("SELECT count(*) FROM credentials WHERE purpose = 'webhook_secret'"
    . " AND (position('$S3' in encode(sealed, 'escape')) > 0)"),
    'secrets are sealed, not stored in clear');


###############################################################################
# the event list

my $total = scalar keys %seen;

$r = api(GET => '/api/v1/webhooks/events?limit=200');
$o = js($r);
is($r->status, 200, 'events: 200');
is(scalar @{ $o->{data} || [] }, $total, "events: all $total");
ok(exists $o->{next_cursor} && !defined $o->{next_cursor},
    'events: next_cursor null on the last page');

my $item = (grep { $_->{id} eq $bin_id } @{ $o->{data} || [] })[0] || {};
is_deeply([ sort keys %$item ], [ sort qw(id provider integration_id event_id
    event_type received_at processed_at size) ], 'an event\'s members');
is($item->{size}, length $bin, 'size is the body\'s length');

my @stamps = map { $_->{received_at} } @{ $o->{data} || [] };
is_deeply(\@stamps, [ sort { $b cmp $a } @stamps ], 'newest first');

my (@paged, $cursor, $pages);
do {
    $r = api(GET => '/api/v1/webhooks/events?limit=3'
        . (defined $cursor ? "&cursor=$cursor" : ''));
    push @paged, map { $_->{id} } @{ js($r)->{data} || [] };
    $cursor = js($r)->{next_cursor};
} while (defined $cursor && ++$pages < 50);
is_deeply(\@paged, [ map { $_->{id} } @{ $o->{data} || [] } ],
    'pages of 3 walk the same list, nothing twice');

$r = api(GET => '/api/v1/webhooks/events?provider=quickbooks');
is(scalar @{ js($r)->{data} || [] }, 4, 'provider=quickbooks: 4 events');
$r = api(GET => "/api/v1/webhooks/events?integration=$int{gmail}");
ok(@{ js($r)->{data} || [] } == 1
    && js($r)->{data}[0]{event_id} eq '2070443601311540',
    'integration=: its one event');

error_is(api(GET => '/api/v1/webhooks/events?limit=0'), 400, 'bad_request',
    'events limit=0');
error_is(api(GET => '/api/v1/webhooks/events?cursor=zz'), 400,
    'bad_request', 'events: a cursor we did not make');
error_is(api(GET => '/api/v1/webhooks/events?integration=x'), 400,
    'bad_request', 'events: a malformed integration');

$r = api(GET => '/api/v1/webhooks/events', tenant => 'globex');
is($r->status, 200, 'globex events: 200');
is_deeply(js($r)->{data}, [], 'globex sees none of acme\'s events');

$r = hook('stripe', $globex_stripe, '{"id":"evt_globex"}', 'scheme=stripe');
is($r->status, 200, 'an event for globex\'s integration: 200');
is(sql("SELECT count(*) FROM webhook_events e JOIN tenants t ON"
    . " t.id = e.tenant_id WHERE t.slug = 'globex'"), 1,
    'stored under globex');
$r = api(GET => '/api/v1/webhooks/events', tenant => 'globex');
ok(@{ js($r)->{data} || [] } == 1
    && js($r)->{data}[0]{event_id} eq 'evt_globex', 'globex sees its one');
is(scalar @{ js(api(GET => '/api/v1/webhooks/events?limit=200'))->{data}
    || [] }, $total, 'acme does not see it');


###############################################################################
# group commit: 24 deliveries at once, 8 of the same event and 16 others,
# stored in groups (store/intake.h): one row and one job per event, the
# repeated event answered once as new and 7 times as a duplicate of it

# the intake's counters in /metrics: (groups, events)
sub intake_counters {
    my $m = $s->request(GET => '/metrics', ident => {})->body // '';
    my ($g) = $m =~ /^hubgated_webhook_intake_groups_total (\d+)$/m;
    my ($e) = $m =~ /^hubgated_webhook_intake_events_total (\d+)$/m;
    return ($g // -1, $e // -1);
}

{
    my $tag = 'grp' . int(rand(1e9));
    my ($g0, $e0) = intake_counters();
    my $before_ev = events();
    my $before_jobs = jobs();
    my @bodies = ((map { qq({"id":"evt_${tag}_same","n":$_}) } 1 .. 8),
                  (map { qq({"id":"evt_${tag}_$_"}) } 1 .. 16));
    my $dir = $t->testdir;
    my @pids;

    for my $i (0 .. $#bodies) {
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            my $r = hook('stripe', $int{stripe}, $bodies[$i],
                'scheme=stripe');
            open my $fh, '>', "$dir/group.$i" or POSIX::_exit(1);
            print $fh $r->status, ' ', ($r->body // ''), "\n";
            close $fh;
            POSIX::_exit(0);
        }

        push @pids, $pid;
    }

    waitpid($_, 0) for @pids;

    my (%status, @same);
    for my $i (0 .. $#bodies) {
        my $line = $t->read_file("group.$i") // '';
        my ($code, $json) = $line =~ /^(\d+) (.*)$/;
        $status{$code // 'none'}++;
        push @same, eval { decode_json($json) } || {} if $i < 8;
    }

    is_deeply(\%status, { 200 => 24 }, 'group commit: 24 deliveries, 24 200s')
        or diag(explain(\%status));
    is(events() - $before_ev, 17, 'group commit: 17 events stored');
    is(jobs() - $before_jobs, 17, 'group commit: 17 jobs');
    is(scalar(grep { ($_->{duplicate} // 1) == 0 } @same), 1,
        'group commit: the repeated event is new once');
    is(scalar(keys %{ { map { (($_->{id} // 'none') => 1) } @same } }), 1,
        'group commit: and every answer names its one row');

    my ($g1, $e1) = intake_counters();
    is($e1 - $e0, 24, 'metrics: the 24 events counted in intake groups');
    ok($g1 - $g0 >= 1 && $g1 - $g0 <= 24, 'metrics: in 1 to 24 groups ('
        . ($g1 - $g0) . ')');
}


###############################################################################
# group commit, for certain: a session holds webhook_events locked, so
# the first group waits while 20 deliveries queue behind it; one of them
# is refused by a trigger, so the group fails and is retried event by
# event: the 19 others are stored, that one alone gets 500

sub in_flight {
    my $m = $s->request(GET => '/metrics', ident => {})->body // '';
    my ($n) = $m =~ /^hubgated_requests_in_flight (\d+)$/m;
    return $n // -1;
}

{
    my $tag = 'lk' . int(rand(1e9));
    my $poison = "evt_${tag}_poison";

    sql("CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS"
        . " \$\$ BEGIN IF NEW.event_id = '$poison' THEN RAISE EXCEPTION"
        . " 'poison'; END IF; RETURN NEW; END \$\$;"
        . " CREATE TRIGGER test_poison BEFORE INSERT ON webhook_events"
        . " FOR EACH ROW EXECUTE FUNCTION test_poison();");

    my ($g0, $e0) = intake_counters();
    my $before_ev = events();
    my $before_jobs = jobs();

    my $lock = $s->psql_session;
    $lock->send("BEGIN; LOCK TABLE webhook_events IN SHARE MODE;"
        . " SELECT 'locked';");
    ok($lock->wait_output(qr/locked/), 'a session holds webhook_events');

    my @ids = ((map { "evt_${tag}_$_" } 1 .. 19), $poison);
    my $dir = $t->testdir;
    my @pids;

    for my $i (0 .. $#ids) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $r = hook('stripe', $int{stripe}, qq({"id":"$ids[$i]"}),
                'scheme=stripe');
            open my $fh, '>', "$dir/lock.$i" or POSIX::_exit(1);
            print $fh $r->status // 'none';
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    # every delivery is in hubgated (+1: the /metrics request itself), the
    # first group is waiting for the lock
    ok($t->wait_for(sub { in_flight() >= 21 && $s->waiting_backends >= 1 },
        20), 'locked: 20 deliveries in hubgated, a group waiting');

    $lock->send("COMMIT;");
    waitpid($_, 0) for @pids;
    $lock->close;

    my %got = map { ($ids[$_] => $t->read_file("lock.$_") // 'none') }
        0 .. $#ids;
    is(scalar(grep { $got{$_} eq '200' } @ids[0 .. 18]), 19,
        'locked: the 19 good events 200');
    is($got{$poison}, '500', 'locked: the event the database refuses, 500');
    is(events() - $before_ev, 19, 'locked: 19 rows');
    is(jobs() - $before_jobs, 19, 'locked: 19 jobs');
    is(sql("SELECT count(*) FROM webhook_events WHERE event_id = '$poison'"),
        0, 'locked: nothing of the refused one');

    my ($g1, $e1) = intake_counters();
    is($e1 - $e0, 20, 'locked: 20 events through intake groups');
    ok($g1 - $g0 <= 3, 'locked: in at most 3 commit groups (' . ($g1 - $g0)
        . '), so the queued ones went together');

    sql("DROP TRIGGER test_poison ON webhook_events;"
        . " DROP FUNCTION test_poison();");
}


###############################################################################

is($s->stop, 0, 'hubgated stops with exit 0');

$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
