#!/usr/bin/perl

# hubgated's API end to end, through nginx with the module (JWT checked and
# identity signed by the edge), with the real PostgreSQL and Redis:
# providers, integrations (API key and OAuth), pagination, settings and
# their validation, status transitions, delete, admin summary, audit, the
# HTTP errors, the OpenAPI document, /metrics and /healthz.

use strict;
use warnings;

use JSON::PP ();
use Test::More;

use Hubgate::Test qw(:all);
use Hubgate::Sidecar;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $s = Hubgate::Sidecar->new($t, conf => { request_body_limit => '4k' });
$s->migrate;
$s->tenant_create('acme');
$s->start or BAIL_OUT("hubgated did not start:\n" . $s->log);

$t->write_file('jwks.json', $s->jwks);
$t->write_file_expand('nginx.conf', $s->nginx_conf);
$t->run;

my $USER = $s->token(tenant => 'acme', subject => 'alice', roles => 'user');
my $ADMIN = $s->token(tenant => 'acme', subject => 'bob',
    roles => 'user,admin');

my %KEYS = (
    stripe => 'sk_test_' . 'T3stStr1peKey' . int(rand(1e9)),
    square => 'EAAAl' . 'SquareTokenValue_' . int(rand(1e9)),
    mailchimp => '0123456789abcdef' . sprintf('%016x', int(rand(2**48)))
        . '-us21',
    ksef => 'ksef-token-' . int(rand(1e9)) . '-abcdef',
);
$s->add_secret(map { ("$_ api key" => $KEYS{$_}) } keys %KEYS);

my $J = JSON::PP->new->canonical;

# a response body as JSON, or {}: a failed request fails its own
# assertions, not the rest of the file
sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

sub api {
    my ($method, $uri, %o) = @_;

    my $tok = exists $o{token} ? delete $o{token} : $USER;
    my %h = (%{ delete $o{headers} || {} });
    $h{Authorization} = "Bearer $tok" if defined $tok;

    if (exists $o{json}) {
        $o{body} = ref $o{json} ? $J->encode(delete $o{json})
                                : delete $o{json};
        $h{'Content-Type'} //= 'application/json';
    }

    return $t->request($method => $uri, headers => \%h, %o);
}

# the error answer: status, code, JSON shape {"error":{"code","message"}}
sub error_is {
    my ($r, $status, $code, $name) = @_;

    my $e = js($r)->{error} // {};

    is($r->status, $status, "$name: $status");
    ok($e->{code} && $e->{code} eq $code && defined $e->{message}
        && length $e->{message}, "$name: error code $code and a message")
        or diag($r->body);
}


###############################################################################
# health, without a token

my $r = $t->request(GET => '/healthz');
is($r->status, 200, 'healthz through nginx: 200');
is_deeply(js($r), { status => 'ok', postgres => 'ok', redis => 'ok' },
    'healthz: postgres and redis ok');

$r = api(GET => '/api/v1/providers', token => undef);
is($r->status, 401, 'no token: the edge answers 401');


###############################################################################
# providers

$r = api(GET => '/api/v1/providers');
is($r->status, 200, 'providers: 200');
my %prov = map { $_->{name} => $_ } @{ js($r)->{data} || [] };
is(scalar keys %prov, 9, 'providers: 9');
is_deeply({ map { $_ => $prov{$_}{auth_modes} } keys %prov }, {
    allegro => ['oauth'], amazon => ['oauth'], gmail => ['oauth'],
    quickbooks => ['oauth'], anaf => ['oauth'], ksef => ['api_key'],
    stripe => [qw(oauth api_key)], square => [qw(oauth api_key)],
    mailchimp => [qw(oauth api_key)],
}, 'providers: the auth modes of each');


###############################################################################
# create

my (%id, @all_ids);

for my $p (qw(stripe square mailchimp ksef)) {
    my $body = { provider => $p, api_key => $KEYS{$p},
        display_name => "My $p" };
    $body->{auth} = 'api_key' if $p ne 'ksef';    # ksef has nothing else

    $r = api(POST => '/api/v1/integrations', json => $body);
    my $o = js($r);

    is($r->status, 201, "create $p with an API key: 201");
    like($o->{id} // '', qr/^[0-9a-f-]{36}$/, "create $p: an id");
    is($r->header('Location'), "/api/v1/integrations/" . ($o->{id} // '?'),
        "create $p: Location");
    ok(JSON::PP::is_bool($o->{connected}) && $o->{connected}
        && ($o->{status} // '') eq 'active' && ($o->{auth} // '') eq 'api_key'
        && ($o->{display_name} // '') eq "My $p",
        "create $p: connected, active, auth api_key, display_name")
        or diag($r->body);
    ok(index($r->raw, $KEYS{$p}) < 0, "create $p: the key is not in the"
        . " response");

    $id{$p} = $o->{id};
    push @all_ids, $o->{id};
}

my $create_rid = 'req-create-allegro-1';
$r = api(POST => '/api/v1/integrations', json => { provider => 'allegro' },
    headers => { 'X-Request-Id' => $create_rid });
my $oa = js($r);
is($r->status, 201, 'create allegro (OAuth): 201');
ok(($oa->{status} // '') eq 'pending' && JSON::PP::is_bool($oa->{connected})
    && !$oa->{connected} && ($oa->{auth} // '') eq 'oauth',
    'allegro: pending, not connected, auth oauth')
    or diag($r->body);
like($oa->{authorize_url} // '',
    qr{^https://allegro\.pl/auth/oauth/authorize\?response_type=code&client_id=test-allegro-client&}
    , 'allegro: authorize_url at Allegro, for the configured client');
like($oa->{authorize_url} // '', qr/[?&]code_challenge_method=S256(&|$)/,
    'allegro: with a PKCE S256 challenge');
is($r->header('X-Request-Id'), $create_rid, 'the X-Request-Id sent is'
    . ' the one answered');
$id{allegro} = $oa->{id};
push @all_ids, $oa->{id};

$r = api(POST => '/api/v1/integrations', json => { provider => 'stripe' });
is(js($r)->{auth}, 'oauth', 'stripe without auth: oauth (the default when'
    . ' the provider has it)');
is(js($r)->{status}, 'pending', 'stripe oauth: pending');
push @all_ids, js($r)->{id};

# the validation of a create: 422 with details, and nothing created
my $bad_key = 'pk_test_' . 'Publ1shableKey' . int(rand(1e9));
$s->add_secret('publishable key' => $bad_key);
my $refused_key;

for my $case (
    [ { provider => 'nosuch' }, 'provider', 'unknown_provider' ],
    [ {}, 'provider', 'required' ],
    [ { provider => 'allegro', auth => 'api_key', api_key => 'x' x 20 },
      'auth', 'unsupported_auth' ],
    [ { provider => 'stripe', auth => 'api_key', api_key => $bad_key },
      'api_key', 'pattern' ],
    [ { provider => 'stripe', auth => 'api_key' }, 'api_key', 'required' ],
    [ { provider => 'allegro', colour => 'red' }, 'colour',
      'unknown_field' ],
    [ { provider => 'allegro', settings => { syncFrequencyMinutes => 1 } },
      'settings.syncFrequencyMinutes', 'range' ],
) {
    my ($body, $field, $code) = @$case;
    $r = api(POST => '/api/v1/integrations', json => $body);
    $refused_key = $r if ($body->{api_key} // '') eq $bad_key;
    my $e = js($r)->{error} // {};
    my @d = grep { ($_->{field} // '') eq $field
                   && ($_->{code} // '') eq $code } @{ $e->{details} || [] };

    ok($r->status == 422 && ($e->{code} // '') eq 'validation_failed' && @d,
        "create " . $J->encode($body) . ": 422, $field $code")
        or diag($r->body);
}

ok($refused_key && $refused_key->status == 422
    && index($refused_key->raw, $bad_key) < 0 && $refused_key->raw =~ /pk_/,
    'a refused key is not quoted (the message explains pk_)');

is(scalar $s->psql('SELECT count(*) FROM integrations;'), scalar @all_ids,
    'refused creates stored nothing');


###############################################################################
# list and pagination

$r = api(GET => '/api/v1/integrations');
is($r->status, 200, 'list: 200');
is_deeply([ sort map { $_->{id} } @{ js($r)->{data} || [] } ],
    [ sort @all_ids ], 'list: every integration of the tenant');
ok(!defined js($r)->{next_cursor}, 'list: no next_cursor on the last page');

my (@seen, $pages, $cursor, $too_big);

for (1 .. 10) {
    $r = api(GET => '/api/v1/integrations?limit=2'
        . (defined $cursor ? "&cursor=$cursor" : ''));
    last if $r->status != 200;

    my $page = js($r);
    $pages++;
    $too_big++ if @{ $page->{data} || [] } > 2;
    push @seen, map { $_->{id} } @{ $page->{data} || [] };
    $cursor = $page->{next_cursor};
    last if !defined $cursor;
}

my %uniq = map { $_ => 1 } @seen;
is($pages, 3, 'limit=2: 6 integrations in 3 pages');
ok(!$too_big, 'limit=2: no page holds more than 2');
is(scalar @seen, scalar keys %uniq, 'the cursor chain repeats nothing');
is_deeply([ sort keys %uniq ], [ sort @all_ids ],
    'the cursor chain covers every integration');
is_deeply(\@seen, [ map { $_->{id} } @{ js(api(GET =>
    '/api/v1/integrations'))->{data} || [] } ],
    'pages come in the order of the full list');

error_is(api(GET => '/api/v1/integrations?limit=0'), 400, 'bad_request',
    'limit=0');
error_is(api(GET => '/api/v1/integrations?limit=201'), 400, 'bad_request',
    'limit=201');
error_is(api(GET => '/api/v1/integrations?cursor=abc'), 400, 'bad_request',
    'a cursor the API did not make');


###############################################################################
# get

$r = api(GET => "/api/v1/integrations/$id{stripe}");
is($r->status, 200, 'get: 200');
is(js($r)->{id}, $id{stripe}, 'get: that integration');
ok(index($r->raw, $KEYS{stripe}) < 0, 'get: no key in it');

error_is(api(GET => '/api/v1/integrations/00000000-0000-4000-8000-'
    . '000000000000'), 404, 'not_found', 'get an unknown id');
error_is(api(GET => '/api/v1/integrations/not-a-uuid'), 404, 'not_found',
    'get a malformed id');


###############################################################################
# settings

my %DEFAULTS = (autoGenerateInvoices => JSON::PP::false,
    invoiceSeries => 'default', syncFrequencyMinutes => 60,
    autoMarkAsPaid => JSON::PP::false, autoCreateCustomer => JSON::PP::true,
    autoCreateProduct => JSON::PP::true, defaultVatRate => '23',
    fieldMappings => {});

my $set = "/api/v1/integrations/$id{stripe}/settings";

$r = api(GET => $set);
is($r->status, 200, 'settings GET: 200');
is_deeply(js($r), \%DEFAULTS, 'settings GET: every default');

$r = api(PUT => $set, json => { syncFrequencyMinutes => 15,
    defaultVatRate => 8, invoiceSeries => 'FV/2026',
    fieldMappings => { sku => 'product.code' } });
is($r->status, 200, 'settings PUT partial: 200');
my %want = (%DEFAULTS, syncFrequencyMinutes => 15, defaultVatRate => '8',
    invoiceSeries => 'FV/2026', fieldMappings => { sku => 'product.code' });
is_deeply(js($r), \%want, 'settings PUT: merged with the defaults'
    . ' (8 stored as "8")');
is_deeply(js(api(GET => $set)), \%want, 'settings GET after PUT: the same');
is_deeply(js(api(GET => "/api/v1/integrations/$id{stripe}"))->{settings},
    \%want, 'the integration shows the same settings');

$r = api(PUT => $set, json => { autoMarkAsPaid => JSON::PP::true });
is_deeply(js($r), { %DEFAULTS, autoMarkAsPaid => JSON::PP::true },
    'a second PUT replaces: keys it leaves out are back to their defaults');

for my $case (
    [ { syncFrequencyMinutes => 4 }, 'syncFrequencyMinutes', 'range' ],
    [ { syncFrequencyMinutes => 1441 }, 'syncFrequencyMinutes', 'range' ],
    [ '{"syncFrequencyMinutes":5.5}', 'syncFrequencyMinutes', 'type' ],
    [ { syncFrequencyMinutes => '60' }, 'syncFrequencyMinutes', 'type' ],
    [ { defaultVatRate => 7 }, 'defaultVatRate', 'enum' ],
    [ { defaultVatRate => '7' }, 'defaultVatRate', 'enum' ],
    [ { invoiceSeries => '-FV' }, 'invoiceSeries', 'pattern' ],
    [ { invoiceSeries => 'FV 1' }, 'invoiceSeries', 'pattern' ],
    [ { invoiceSeries => 'F' x 65 }, 'invoiceSeries', 'too_long' ],
    [ { invoiceSeries => '' }, 'invoiceSeries', 'too_short' ],
    [ { autoMarkAsPaid => 'yes' }, 'autoMarkAsPaid', 'type' ],
    [ { colour => 'red' }, 'colour', 'unknown_field' ],
    [ { fieldMappings => { '1sku' => 'x' } }, 'fieldMappings.1sku',
      'pattern' ],
    [ { fieldMappings => { sku => 5 } }, 'fieldMappings.sku', 'type' ],
    [ { fieldMappings => [] }, 'fieldMappings', 'type' ],
) {
    my ($body, $field, $code) = @$case;
    my $text = ref $body ? $J->encode($body) : $body;

    $r = api(PUT => $set, json => $text);
    my $e = js($r)->{error} // {};
    my @d = @{ $e->{details} || [] };

    ok($r->status == 422 && ($e->{code} // '') eq 'validation_failed'
        && @d == 1 && ($d[0]{field} // '') eq $field
        && ($d[0]{code} // '') eq $code && length($d[0]{message} // ''),
        "settings $text: 422, one detail: $field $code")
        or diag($r->body);
}

$r = api(PUT => $set, json => { syncFrequencyMinutes => 1441,
    defaultVatRate => 7, invoiceSeries => '!', colour => 1,
    fieldMappings => { 'a b' => 'x' } });
my %fields = map { ($_->{field} // '') => $_->{code} }
    @{ (js($r)->{error} // {})->{details} || [] };
is($r->status, 422, 'five bad settings at once: 422');
is_deeply(\%fields, { syncFrequencyMinutes => 'range',
    defaultVatRate => 'enum', invoiceSeries => 'pattern',
    colour => 'unknown_field', 'fieldMappings.a b' => 'pattern' },
    'five bad settings at once: details names each');

is_deeply(js(api(GET => $set)), { %DEFAULTS,
    autoMarkAsPaid => JSON::PP::true }, 'refused PUTs stored nothing');

$r = api(PUT => $set, json => { syncFrequencyMinutes => 5 });
is(js($r)->{syncFrequencyMinutes}, 5, 'syncFrequencyMinutes 5: accepted');
$r = api(PUT => $set, json => { syncFrequencyMinutes => 1440,
    defaultVatRate => 'zw' });
ok(js($r)->{syncFrequencyMinutes} == 1440
    && js($r)->{defaultVatRate} eq 'zw', '1440 and "zw": accepted');

error_is(api(GET => '/api/v1/integrations/00000000-0000-4000-8000-'
    . '000000000000/settings'), 404, 'not_found', 'settings of an unknown id');


###############################################################################
# activate, deactivate

my $st = "/api/v1/integrations/$id{square}";

$r = api(POST => "$st/deactivate");
is($r->status, 200, 'deactivate an active integration: 200');
is(js($r)->{status}, 'inactive', 'deactivate: inactive');
is(js(api(GET => $st))->{status}, 'inactive', 'GET shows inactive');

$r = api(POST => "$st/deactivate");
ok($r->status == 200 && js($r)->{status} eq 'inactive',
    'deactivate again: 200, still inactive');

$r = api(POST => "$st/activate");
ok($r->status == 200 && js($r)->{status} eq 'active',
    'activate a connected integration: 200, active');

error_is(api(POST => "/api/v1/integrations/$id{allegro}/activate"), 409,
    'not_connected', 'activate a pending OAuth integration');
is(js(api(GET => "/api/v1/integrations/$id{allegro}"))->{status}, 'pending',
    'it stays pending');

$r = api(POST => "/api/v1/integrations/$id{allegro}/deactivate");
ok($r->status == 200 && js($r)->{status} eq 'inactive',
    'deactivate a pending integration: inactive');
error_is(api(POST => "/api/v1/integrations/$id{allegro}/activate"), 409,
    'not_connected', 'activate it: still 409');

error_is(api(POST => '/api/v1/integrations/00000000-0000-4000-8000-'
    . '000000000000/activate'), 404, 'not_found', 'activate an unknown id');


###############################################################################
# delete

$r = api(DELETE => "/api/v1/integrations/$id{ksef}");
is($r->status, 204, 'delete: 204');
is($r->body, '', 'delete: no body');
error_is(api(GET => "/api/v1/integrations/$id{ksef}"), 404, 'not_found',
    'get after delete');
error_is(api(DELETE => "/api/v1/integrations/$id{ksef}"), 404, 'not_found',
    'delete again');
is(scalar $s->psql("SELECT count(*) FROM credentials WHERE integration_id"
    . " = '$id{ksef}';"), 0, 'its sealed credential is gone');
@all_ids = grep { $_ ne $id{ksef} } @all_ids;


###############################################################################
# admin summary and audit

error_is(api(GET => '/api/v1/admin/summary'), 403, 'forbidden',
    'summary with a user token');

$r = api(GET => '/api/v1/admin/summary', token => $ADMIN);
is($r->status, 200, 'summary with an admin token: 200');
my $sum = js($r);
is_deeply($sum->{integrations}, { total => 5, active => 3, pending => 1,
    inactive => 1, error => 0, needs_reconnect => 0, unhealthy => 0 },
    'summary: the counts (stripe, square, mailchimp active; stripe oauth'
    . ' pending; allegro inactive)');
is_deeply($sum->{by_provider}, { stripe => 2, square => 1, mailchimp => 1,
    allegro => 1 }, 'summary: by provider');
ok(exists $sum->{last_sync} && !defined $sum->{last_sync},
    'summary: last_sync null (no sync yet)');

error_is(api(GET => '/api/v1/audit'), 403, 'forbidden', 'audit with a user'
    . ' token');

$r = api(GET => '/api/v1/audit?limit=200', token => $ADMIN);
is($r->status, 200, 'audit with an admin token: 200');
my @audit = @{ js($r)->{data} || [] };
my ($ac) = grep { $_->{action} eq 'integration.create'
    && $_->{target} eq "integration:$id{allegro}" } @audit;
ok($ac, 'audit: integration.create of allegro');
is($ac && $ac->{actor}, 'alice', 'audit: actor is the token\'s sub');
is($ac && $ac->{request_id}, $create_rid, 'audit: the request id');
my %actions;
$actions{ $_->{action} }++ for @audit;
is_deeply({ map { $_ => $actions{$_} } qw(integration.create
    integration.settings integration.activate integration.deactivate
    integration.delete) }, { 'integration.create' => 6,
    'integration.settings' => 4, 'integration.activate' => 1,
    'integration.deactivate' => 2, 'integration.delete' => 1 },
    'audit: every change, once (refused ones not at all)');
ok(!grep({ index($J->encode($_), $KEYS{stripe}) >= 0 } @audit),
    'audit: no key in it');

my ($prev, @chain) = (undef);
$cursor = undef;
for (1 .. 30) {
    $r = api(GET => '/api/v1/audit?limit=5'
        . (defined $cursor ? "&cursor=$cursor" : ''), token => $ADMIN);
    last if $r->status != 200;
    push @chain, map { $_->{id} } @{ js($r)->{data} || [] };
    $cursor = js($r)->{next_cursor};
    last if !defined $cursor;
}
is_deeply(\@chain, [ map { $_->{id} } @audit ],
    'audit pages of 5: the same entries, newest first');


###############################################################################
# HTTP errors

error_is(api(GET => '/api/v1/nowhere'), 404, 'not_found', 'unknown route');

$r = api(DELETE => '/api/v1/providers');
error_is($r, 405, 'method_not_allowed', 'DELETE /providers');
is($r->header('Allow'), 'GET', '405: Allow: GET');
$r = api(PATCH => '/api/v1/integrations');
error_is($r, 405, 'method_not_allowed', 'PATCH /integrations');
is($r->header('Allow'), 'GET, POST', '405: Allow: GET, POST');

error_is(api(POST => '/api/v1/integrations', json => $J->encode({
    provider => 'allegro', display_name => 'x' x 5000 })), 413,
    'body_too_large', 'a body over request_body_limit (4k)');
error_is(api(POST => '/api/v1/integrations', body => '{"provider":"allegro"}',
    headers => { 'Content-Type' => 'text/plain' }), 415,
    'unsupported_media_type', 'text/plain');
error_is(api(POST => '/api/v1/integrations', body => '{"provider":"allegro"}'),
    415, 'unsupported_media_type', 'no Content-Type');
error_is(api(POST => '/api/v1/integrations', json => '{"provider":'), 400,
    'invalid_json', 'truncated JSON');
error_is(api(POST => '/api/v1/integrations', json => '["allegro"]'), 400,
    'invalid_json', 'a JSON array');
error_is(api(POST => '/api/v1/integrations',
    json => '{"provider":"allegro","provider":"stripe"}'), 400,
    'invalid_json', 'a duplicate member');
error_is(api(PUT => $set, json => ''), 400, 'invalid_json', 'empty body');

is(scalar $s->psql('SELECT count(*) FROM integrations;'), scalar @all_ids,
    'refused requests stored nothing');


###############################################################################
# the OpenAPI document, metrics

$r = api(GET => '/api/v1/openapi.json');
is($r->status, 200, 'openapi.json: 200');
like($r->header('Content-Type') // '', qr{^application/json},
    'openapi.json: application/json');
ok($r->body eq ($t->read_file($t->repo . '/sidecar/api/openapi.json') // ''),
    'openapi.json: byte for byte sidecar/api/openapi.json');

$r = $t->request(GET => '/metrics');
is($r->status, 200, '/metrics through nginx: 200');
my $m = $r->body;
like($m, qr/^hubgated_http_requests_total\{method="POST",
    route="\/v1\/integrations",status="201"\}\ 6$/mx,
    'metrics: POST /v1/integrations 201 counted 6 times');
like($m, qr/^hubgated_http_requests_total\{method="GET",
    route="\/v1\/integrations\/\{id\}",status="404"\}\ \d+$/mx,
    'metrics: the route template is the label');
like($m, qr/^hubgated_vault_operations_total\{op="seal",result="ok"\} 6$/m,
    'metrics: 6 seals (the 4 API keys, the PKCE verifiers of 2 OAuth starts)');
like($m, qr/^hubgated_vault_operations_total\{op="open",result="error"\} 0$/m,
    'metrics: no failed open');

$r = $s->request(GET => '/metrics');
is($r->status, 401, '/metrics straight to the socket, unsigned: 401');

is($s->stop, 0, 'hubgated stops with exit 0');

$s->no_secrets_ok;
$s->log_clean_ok;

$t->done_testing;
