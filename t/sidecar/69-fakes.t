#!/usr/bin/perl

# The fake providers themselves, against the specs: every path the fake
# Allegro served exists in shared/specs/providers/allegro-openapi.yaml
# with that method and media type, and its checkout forms, events, /me and
# event-stats carry only the properties the spec's schemas define
# (recursively, required ones present); OAuth with PKCE (good verifier,
# bad verifier, code reuse, wrong redirect_uri, bad client auth, deny),
# refresh-token rotation, expiry and revocation switches; a walk of 1,000
# orders by offset/limit and of 1,000 Stripe invoices by starting_after
# sees each exactly once in the documented order; updatedAt.gte finds
# exactly the mutated orders and /order/events exactly their events; 429
# after the configured limit (Allegro with Retry-After, Stripe without
# unless injected); injected 500/503 and latency; Stripe's
# form-encoding rule, error bodies, key masking, Connect deauthorize.

use strict;
use warnings;
use utf8;

use Digest::SHA ();
use FindBin ();
use Mojo::JSON ();
use Mojo::URL;
use Mojo::Util ();
use Test::More;
use Time::HiRes ();

use lib "$FindBin::Bin/../fakes";

use Hubgate::Test;
use Hubgate::Fake;
use FakeSpec;

my $t = Hubgate::Test->new(no_module => 1);

my $SPEC = $t->repo . '/../shared/specs/providers/allegro-openapi.yaml';
plan skip_all => "no $SPEC" if !-f $SPEC;

my $spec = FakeSpec::read($SPEC);
my $MEDIA = 'application/vnd.allegro.public.v1+json';

ok(keys %{ $spec->{schemas} } > 100 && keys %{ $spec->{paths} } > 50,
    'spec read: ' . keys(%{ $spec->{paths} }) . ' paths, '
    . keys(%{ $spec->{schemas} }) . ' schemas');

my $al = Hubgate::Fake->new($t, 'allegro', FAKE_SEED => 3,
    FAKE_ORDERS => 20);
my $st = Hubgate::Fake->new($t, 'stripe', FAKE_SEED => 3);

allegro_oauth();
allegro_orders();
allegro_limits();
allegro_spec_paths();
stripe_oauth();
stripe_lists();
stripe_limits();

$t->done_testing;


###############################################################################
# Allegro

sub allegro_oauth {
    # the endpoints are the spec's security scheme URLs, on our host
    my %oauth = map { $_ => 1 } @{ $spec->{oauth_paths} };
    ok($oauth{'/auth/oauth/authorize'} && $oauth{'/auth/oauth/token'},
        'spec: the OAuth endpoints the fake serves are its security'
        . ' scheme URLs');

    my $tok = $al->oauth(verifier => 'v' x 50);
    ok($tok && $tok->{access_token}, 'PKCE flow with the right verifier')
        or diag($al->{last_error});
    is_deeply([ @$tok{qw(token_type expires_in allegro_api)} ],
        [ 'bearer', 43199, Mojo::JSON::true ], 'token response fields');
    like($tok->{jti}, qr/^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/,
        'jti is a uuid');
    like($tok->{scope}, qr/allegro:api:orders:read/, 'scope');

    my $stats = $al->stats;
    my $ltr = $stats->{last_token_request};
    ok($ltr->{basic_auth} && $ltr->{code} eq '***'
       && $ltr->{code_verifier} eq '***'
       && $ltr->{grant_type} eq 'authorization_code',
       'last_token_request: Basic auth seen, secrets hidden');
    unlike(Mojo::JSON::encode_json($stats), qr/demo-allegro-secret|v{50}/,
        'stats hold no client secret or verifier');
    is($stats->{last_authorize}{code_challenge_method}, 'S256',
        'last_authorize has the query');

    # a bad verifier, then reuse of a used code
    is($al->oauth(send_verifier => 'w' x 50), undef, 'bad verifier fails');
    like($al->{last_error}, qr/^token: 400 .*"invalid_grant"/,
        'bad verifier: 400 invalid_grant');

    my ($code, $redirect) = authorize_code($al, 'c' x 43);
    my $form = { grant_type => 'authorization_code', code => $code,
        redirect_uri => $redirect, code_verifier => 'c' x 43 };
    my $basic = { Authorization => $al->_basic };
    is($al->request(POST => '/auth/oauth/token', headers => $basic,
        form => $form)->code, 200, 'code exchanged once');
    my $r = $al->request(POST => '/auth/oauth/token', headers => $basic,
        form => $form);
    is_deeply([ $r->code, $r->json->{error} ], [ 400, 'invalid_grant' ],
        'code reuse: invalid_grant');

    ($code) = authorize_code($al, 'd' x 43);
    $r = $al->request(POST => '/auth/oauth/token', headers => $basic,
        form => { %$form, code => $code, code_verifier => 'd' x 43,
            redirect_uri => 'http://127.0.0.1/other' });
    is($r->json->{error}, 'invalid_grant', 'other redirect_uri refused');

    $r = $al->request(POST => '/auth/oauth/token',
        headers => { Authorization => Hubgate::Fake::_basic_for(
            $al->client_id, 'wrong') },
        form => { grant_type => 'refresh_token', refresh_token => 'x' });
    is_deeply([ $r->code, $r->json ], [ 401, { error => 'unauthorized',
        error_description =>
            'Full authentication is required to access this resource' } ],
        'bad client secret: 401 unauthorized');

    $r = $al->request(GET => '/auth/oauth/authorize?response_type=code'
        . '&client_id=someone-else&redirect_uri=http://127.0.0.1/cb');
    is($r->code, 400, 'unknown client_id: no redirect');

    # rotation
    my $r1 = $al->refresh($tok->{refresh_token});
    my $t2 = $r1->json // {};
    ok($r1->code == 200 && $t2->{refresh_token}
       && $t2->{refresh_token} ne $tok->{refresh_token}
       && $t2->{access_token} ne $tok->{access_token},
       'refresh: new access and refresh token');
    $r = $al->refresh($tok->{refresh_token});
    is_deeply([ $r->code, $r->json->{error} ], [ 400, 'invalid_grant' ],
        'old refresh token dead after rotation');
    my $t3 = $al->refresh($t2->{refresh_token})->json // {};
    ok($t3->{access_token}, 'the rotated one works');

    $stats = $al->stats;
    is_deeply($stats->{token_calls},
        { authorization_code => 5, refresh_token => 3 },
        'token_calls counted');
    is($stats->{invalid_grant}, 4, 'invalid_grant counted');

    # deny
    $al->control(POST => '/_fake/config', { deny => Mojo::JSON::true });
    $r = $al->request(GET => '/auth/oauth/authorize?response_type=code'
        . '&client_id=' . $al->client_id
        . '&redirect_uri=http://127.0.0.1/cb&state=s9');
    my $q = Mojo::URL->new($r->headers->location // '')->query;
    is_deeply([ $r->code, $q->param('error'), $q->param('state'),
        $q->param('code') ], [ 302, 'access_denied', 's9', undef ],
        'deny: redirect with error=access_denied and state');
    $al->control(POST => '/_fake/config', { deny => Mojo::JSON::false,
        access_ttl => 3600 });

    is($al->oauth->{expires_in}, 3600, 'access_ttl settable');

    # expiry and revocation
    my $at = $t3->{access_token};
    is($al->api(GET => '/me', token => $at)->code, 200, '/me with a token');

    $al->control(POST => '/_fake/tokens', { action => 'expire',
        which => 'access' });
    $r = $al->api(GET => '/me', token => $at);
    is_deeply([ $r->code, $r->json->{error} ], [ 401, 'invalid_token' ],
        'expired access token: 401 invalid_token');

    my $t4 = $al->refresh($t3->{refresh_token})->json // {};
    is($al->api(GET => '/me', token => $t4->{access_token})->code, 200,
        'refresh after expiry gives a working token');

    $al->control(POST => '/_fake/tokens', { action => 'revoke' });
    is($al->api(GET => '/me', token => $t4->{access_token})->code, 401,
        'revoked access token: 401');
    is($al->refresh($t4->{refresh_token})->json->{error}, 'invalid_grant',
        'revoked refresh token: invalid_grant');

    $al->control(POST => '/_fake/config', { access_ttl => 43199 });
}

sub authorize_code {
    my ($fake, $verifier) = @_;

    my $redirect = 'http://127.0.0.1/cb';
    my $url = Mojo::URL->new('/auth/oauth/authorize')->query(
        response_type => 'code', client_id => $fake->client_id,
        redirect_uri => $redirect, state => 'x',
        code_challenge => Mojo::Util::b64_encode(
            Digest::SHA::sha256($verifier), '') =~ tr{+/=}{-_}dr,
        code_challenge_method => 'S256');
    my $loc = $fake->request(GET => "$url")->headers->location // '';

    return (Mojo::URL->new($loc)->query->param('code'), $redirect);
}

my $AT;

sub allegro_token {
    return $AT //= $al->oauth->{access_token};
}

sub allegro_orders {
    my $at = allegro_token();

    my $seed = $al->control(POST => '/_fake/seed',
        { orders => 1000, seed => 11 });
    is($seed->{orders}, 1000, 'seeded 1000 orders');

    my $r = $al->api(GET => '/order/checkout-forms?limit=5', token => $at);
    is($r->headers->content_type, $MEDIA, 'media type of the answer');
    my $first = $r->json->{checkoutForms}[0]{id};

    # the walk
    my (%seen, @all, $bad_order);
    my $prev;

    for (my $off = 0; $off < 1000; $off += 100) {
        $r = $al->api(GET => "/order/checkout-forms?limit=100&offset=$off",
            token => $at);
        my $j = $r->json;
        is_deeply([ $r->code, $j->{count}, $j->{totalCount} ],
            [ 200, 100, 1000 ], "page at offset $off") or last;

        for my $o (@{ $j->{checkoutForms} }) {
            $seen{ $o->{id} }++;
            push @all, $o;
            my $b = $o->{lineItems}[0]{boughtAt};
            $bad_order++ if defined $prev && $b gt $prev;
            $prev = $b;
        }
    }

    is(scalar(grep { $_ == 1 } values %seen), 1000,
        'offset walk: 1000 orders, each exactly once');
    ok(!$bad_order, 'default order: lineItems.boughtAt descending');

    $r = $al->api(GET => '/order/checkout-forms?limit=100&offset=1000',
        token => $at);
    is_deeply([ $r->json->{count}, scalar @{ $r->json->{checkoutForms} } ],
        [ 0, 0 ], 'past the end: empty page');

    # shape against the spec
    my (@err, %visited);
    FakeSpec::check($spec->{schemas}, 'CheckoutForm', $_, 'checkoutForm',
        \@err, \%visited) for @all;
    ok(!@err, 'checkout forms: only spec properties, required present')
        or diag(join "\n", @err[0 .. ($#err > 9 ? 9 : $#err)]);
    ok($visited{CheckoutFormBuyerReference} && $visited{CheckoutFormLineItem}
       && $visited{CheckoutFormSummary} && $visited{Price}
       && $visited{CheckoutFormInvoiceAddressCompany}
       && $visited{CheckoutFormDeliveryAddress},
       'the check went down to buyer, lineItems, summary, invoice');
    @err = ();
    FakeSpec::check($spec->{schemas}, 'CheckoutForms', $r->json, 'list',
        \@err, {});
    ok(!@err, 'list envelope per spec') or diag("@err");

    # content
    my ($sum_bad, $cancelled, $nip, $nip_bad, $diacritics, %cur) = (0) x 5;

    for my $o (@all) {
        my $sum = cents($o->{delivery}{cost}{amount});
        $sum += cents($_->{price}{amount}) * $_->{quantity}
            for @{ $o->{lineItems} };
        $sum_bad++ if $sum != cents($o->{summary}{totalToPay}{amount});
        $cancelled++ if $o->{status} eq 'CANCELLED';
        $cur{ $o->{summary}{totalToPay}{currency} }++;
        $diacritics++ if "$o->{buyer}{firstName}$o->{buyer}{lastName}"
            . $o->{buyer}{address}{city} =~ /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]/;

        next if !$o->{invoice}{required};
        my $id = $o->{invoice}{address}{company}{ids}[0];
        $nip++;
        $nip_bad++ if $id->{type} ne 'PL_NIP' || !nip_ok($id->{value});
    }

    is($sum_bad, 0, 'totalToPay = sum(price x quantity) + delivery cost');
    ok($cancelled > 20 && $nip > 50 && !$nip_bad && $diacritics > 100,
        "variety: $cancelled cancelled, $nip invoices with valid NIPs,"
        . " $diacritics with Polish letters");
    ok($cur{PLN} > 500 && $cur{CZK} && $cur{EUR}, 'PLN, CZK and EUR');

    $al->control(POST => '/_fake/seed', { orders => 1000, seed => 11 });
    $r = $al->api(GET => '/order/checkout-forms?limit=5', token => $at);
    is($r->json->{checkoutForms}[0]{id}, $first, 'same seed, same data');

    # by id
    $r = $al->api(GET => "/order/checkout-forms/$first", token => $at);
    is_deeply([ $r->code, $r->json->{id} ], [ 200, $first ], 'by id');
    $r = $al->api(GET => '/order/checkout-forms/'
        . '00000000-0000-4000-8000-000000000000', token => $at);
    my $e = $r->json->{errors}[0] // {};
    is_deeply([ $r->code, $e->{code}, exists $e->{userMessage} ? 1 : 0 ],
        [ 404, 'NotFoundException', 1 ], 'unknown id: 404 errors body');
    @err = ();
    FakeSpec::check($spec->{schemas}, 'ErrorsHolder', $r->json, 'err',
        \@err, {});
    ok(!@err, '404 body per spec') or diag("@err");
    is($al->api(GET => '/order/checkout-forms/not-a-uuid', token => $at)
        ->code, 422, 'malformed id: 422');

    # events walk
    my (@ev, %evtype);
    my $from;
    while (1) {
        my $u = '/order/events?limit=1000'
            . (defined $from ? "&from=$from" : '');
        my $page = $al->api(GET => $u, token => $at)->json->{events};
        last if !@$page;
        push @ev, @$page;
        $from = $page->[-1]{id};
    }
    is(scalar @ev, $seed->{events}, 'events walk: every event once');
    ok(!grep({ $ev[$_]{id} <= $ev[$_ - 1]{id} } 1 .. $#ev),
        'event ids increase');
    @err = ();
    FakeSpec::check($spec->{schemas}, 'OrderEvent', $_, 'event', \@err, {})
        for @ev[0 .. 99];
    ok(!@err, 'events per spec') or diag(join "\n", @err[0 .. 4]);

    $r = $al->api(GET => '/order/events?type=READY_FOR_PROCESSING&limit=50',
        token => $at);
    ok(!grep({ $_->{type} ne 'READY_FOR_PROCESSING' }
        @{ $r->json->{events} }) && @{ $r->json->{events} } == 50,
        'events type filter');

    my $stats = $al->api(GET => '/order/event-stats', token => $at)->json;
    is($stats->{latestEvent}{id}, $ev[-1]{id}, 'event-stats: latest event');

    # incremental: mutate, then updatedAt.gte and events from the latest
    my $since = iso_now();
    my $m = $al->control(POST => '/_fake/seed', { mutate => 7, add => 2 });
    is(scalar @{ $m->{mutated} }, 7, 'mutated 7');

    my @got;
    for (my $off = 0; ; $off += 100) {
        my $j = $al->api(GET => "/order/checkout-forms?limit=100&offset=$off"
            . "&updatedAt.gte=$since&sort=-updatedAt", token => $at)->json;
        push @got, map { $_->{id} } @{ $j->{checkoutForms} };
        last if $off + 100 >= $j->{totalCount};
    }
    is_deeply([ sort @got ], [ sort @{ $m->{mutated} }, @{ $m->{added} } ],
        'updatedAt.gte: exactly the changed and new orders');

    my $new = $al->api(GET => "/order/events?from=$ev[-1]{id}",
        token => $at)->json->{events};
    is_deeply([ sort map { $_->{order}{checkoutForm}{id} } @$new ],
        [ sort @{ $m->{mutated} }, @{ $m->{added} } ],
        'events from the latest: one per change');

    my $j = $al->api(GET => '/order/checkout-forms?updatedAt.lte='
        . '2000-01-01T00:00:00Z', token => $at)->json;
    is($j->{totalCount}, 0, 'updatedAt.lte filters');
    is($al->api(GET => '/order/checkout-forms?updatedAt.gte=yesterday',
        token => $at)->code, 422, 'bad date: 422');
}

sub allegro_limits {
    my $at = allegro_token();

    for my $q ('limit=0', 'limit=101', 'offset=-1',
               'offset=9901&limit=100')
    {
        is($al->api(GET => "/order/checkout-forms?$q", token => $at)->code,
            422, "checkout-forms $q: 422");
    }
    is($al->api(GET => '/order/checkout-forms?offset=9900&limit=100',
        token => $at)->code, 200, 'offset 9900 + limit 100 allowed');
    is($al->api(GET => '/order/events?limit=1001', token => $at)->code,
        422, 'events limit 1001: 422');

    my $r = $al->api(GET => '/me', token => $at,
        headers => { Accept => 'application/json' });
    is_deeply([ $r->code, $r->json->{errors}[0]{code} ],
        [ 406, 'NotAcceptableException' ], 'Accept: application/json: 406');
    $r = $al->request(GET => '/me', headers => { Accept => $MEDIA });
    is_deeply([ $r->code, $r->json->{error} ], [ 401, 'invalid_token' ],
        'no token: 401 invalid_token');

    my @err;
    $r = $al->api(GET => '/me', token => $at);
    FakeSpec::check($spec->{schemas}, 'MeResponse', $r->json, 'me', \@err,
        {});
    $r = $al->api(GET => '/order/event-stats', token => $at);
    FakeSpec::check($spec->{schemas}, 'OrderEventStats', $r->json, 'stats',
        \@err, {});
    ok(!@err, '/me and event-stats per spec') or diag("@err");

    # faults
    $al->control(POST => '/_fake/faults', { status => 500, count => 2,
        path_prefix => '/order' });
    my @codes = map { $al->api(GET => $_, token => $at)->code }
        '/me', '/order/event-stats', '/order/checkout-forms?limit=1',
        '/order/event-stats';
    is_deeply(\@codes, [ 200, 500, 500, 200 ],
        'two injected 500s on /order, /me untouched');

    $al->control(POST => '/_fake/faults', { status => 503,
        retry_after => 7 });
    $r = $al->api(GET => '/me', token => $at);
    is_deeply([ $r->code, $r->headers->header('Retry-After') ], [ 503, 7 ],
        'injected 503 with Retry-After');

    $al->control(POST => '/_fake/faults', { latency_ms => 300 });
    my $t0 = Time::HiRes::time();
    $r = $al->api(GET => '/me', token => $at);
    my $dt = Time::HiRes::time() - $t0;
    ok($r->code == 200 && $dt >= 0.29, sprintf('injected latency: %.3f s',
        $dt));

    # rate limit
    $al->control(POST => '/_fake/reset');
    $al->control(POST => '/_fake/config', { per_minute => 5 });
    $at = $al->oauth->{access_token};
    @codes = map { $al->api(GET => '/me', token => $at)->code } 1 .. 6;
    is_deeply(\@codes, [ (200) x 5, 429 ], '6th request in a minute: 429');
    $r = $al->api(GET => '/me', token => $at);
    my $ra = $r->headers->header('Retry-After') // '';
    ok($ra =~ /^\d+$/ && $ra >= 1 && $ra <= 60, "Retry-After: $ra");
    is($r->json->{errors}[0]{code}, 'TooManyRequestsException',
        '429 errors body');
    my $stats = $al->stats;
    is($stats->{rate_limited}, 2, 'rate_limited counted');
    is_deeply([ $stats->{api_calls}, $stats->{by_status} ],
        [ 7, { 200 => 5, 429 => 2 } ], 'api_calls and by_status counted');
    $al->control(POST => '/_fake/config', { per_minute => 9000 });
}

sub allegro_spec_paths {
    my $by = $al->stats->{by_path};
    my @served = sort keys %$by;

    # the counters were reset once: serve every path again
    my $at = $al->oauth->{access_token};
    my $id = $al->api(GET => '/order/checkout-forms?limit=1', token => $at)
        ->json->{checkoutForms}[0]{id};
    my %media;

    for my $p ('/me', '/order/events', '/order/event-stats',
               '/order/checkout-forms', "/order/checkout-forms/$id")
    {
        my $r = $al->api(GET => $p, token => $at);
        $media{ $r->headers->content_type } = 1;
    }

    @served = sort keys %{ $al->stats->{by_path} };
    is(scalar @served, 5, 'five API paths served: @served');

    my @missing = grep { !$spec->{paths}{$_}{get} } @served;
    ok(!@missing, 'each is in the spec with GET') or diag("@missing");

    my @other = grep { ($spec->{media}{$_}{get} // '') ne $MEDIA } @served;
    ok(!@other, "the spec's 200 media type of each is $MEDIA")
        or diag("@other");
    is_deeply([ keys %media ], [ $MEDIA ], 'and the fake answers with it');
}


###############################################################################
# Stripe

my ($ACCT, $SK);

sub stripe_oauth {
    my $tok = $st->oauth;
    ok($tok && $tok->{access_token} =~ /^sk_test_/
       && $tok->{refresh_token} =~ /^rt_/
       && $tok->{stripe_user_id} =~ /^acct_/
       && $tok->{stripe_publishable_key} =~ /^pk_test_/
       && $tok->{scope} eq 'read_write' && $tok->{token_type} eq 'bearer'
       && $tok->{livemode} eq Mojo::JSON::false,
       'Connect flow: token response') or diag($st->{last_error});
    ($ACCT, $SK) = @$tok{qw(stripe_user_id access_token)};

    my $r = $st->api(GET => '/v1/account', token => $SK);
    is_deeply([ $r->code, $r->json->{id}, $r->json->{object} ],
        [ 200, $ACCT, 'account' ], '/v1/account of the connected account');

    my $ltr = $st->stats->{last_token_request};
    ok($ltr->{bearer_auth} && $ltr->{code} eq '***',
        'last_token_request: Bearer auth, code hidden');

    $r = $st->request(POST => '/oauth/token',
        form => { grant_type => 'authorization_code', code => 'ac_nothere',
            client_secret => 'sk_test_platform_demo' });
    is_deeply([ $r->code, $r->json->{error} ], [ 400, 'invalid_grant' ],
        'unknown code (client_secret in the form): invalid_grant');
    like($r->json->{error_description}, qr/^Authorization code does not exist/,
        'its description');

    $r = $st->request(POST => '/oauth/token',
        form => { grant_type => 'authorization_code', code => 'ac_x' });
    is($r->code, 401, 'no platform key: 401');

    $r = $st->request(POST => '/oauth/token',
        headers => { Authorization => 'Bearer sk_test_platform_demo' },
        json => { grant_type => 'refresh_token',
            refresh_token => $tok->{refresh_token} });
    is_deeply([ $r->code, $r->json->{error}{type} ],
        [ 400, 'invalid_request_error' ], 'JSON body: 400');
    like($r->json->{error}{message}, qr/x-www-form-urlencoded/,
        'its message names the form encoding');

    my $t2 = $st->refresh($tok->{refresh_token})->json // {};
    ok($t2->{access_token} && $t2->{refresh_token} ne $tok->{refresh_token}
       && $t2->{stripe_user_id} eq $ACCT, 'refresh: rotated');
    is($st->refresh($tok->{refresh_token})->json->{error}, 'invalid_grant',
        'old refresh token dead');

    $st->control(POST => '/_fake/config', { deny => Mojo::JSON::true });
    $r = $st->request(GET => '/oauth/authorize?response_type=code'
        . '&client_id=ca_demo_stripe&scope=read_write&state=q'
        . '&redirect_uri=http://127.0.0.1/cb');
    my $q = Mojo::URL->new($r->headers->location // '')->query;
    is_deeply([ $q->param('error'), $q->param('error_description'),
        $q->param('state') ],
        [ 'access_denied', 'The user denied your request', 'q' ],
        'deny redirect');
    $st->control(POST => '/_fake/config', { deny => Mojo::JSON::false });

    # a second account, deauthorized: its tokens stop working
    my $other = $st->oauth;
    is($st->api(GET => '/v1/account', token => $other->{access_token})
        ->code, 200, 'second account connected');
    $r = $st->request(POST => '/oauth/deauthorize',
        headers => { Authorization => 'Bearer sk_test_platform_demo' },
        form => { client_id => 'ca_demo_stripe',
            stripe_user_id => $other->{stripe_user_id} });
    is_deeply($r->json, { stripe_user_id => $other->{stripe_user_id} },
        'deauthorize answer');
    is($st->api(GET => '/v1/account', token => $other->{access_token})
        ->code, 401, 'deauthorized: 401');
    is($st->refresh($other->{refresh_token})->json->{error},
        'invalid_grant', 'deauthorized: refresh invalid_grant');

    $SK = $t2->{access_token};
}

sub stripe_lists {
    my $s = $st->control(POST => '/_fake/seed', { account => $ACCT,
        customers => 25, invoices => 1000, charges => 40, seed => 5 });
    ok($s->{accounts}{$ACCT}{invoices} == 1000, 'seeded 1000 invoices');

    my (%seen, @all, $bad_order, $has_more);
    my $after;

    for (1 .. 11) {
        my $r = $st->api(GET => '/v1/invoices?limit=100'
            . (defined $after ? "&starting_after=$after" : ''), token => $SK);
        my $j = $r->json;
        last if !@{ $j->{data} };
        for my $o (@{ $j->{data} }) {
            $seen{ $o->{id} }++;
            $bad_order++ if @all && $o->{created} > $all[-1]{created};
            push @all, $o;
        }
        $after = $j->{data}[-1]{id};
        $has_more = $j->{has_more};
        last if !$has_more;
    }

    is(scalar(grep { $_ == 1 } values %seen), 1000,
        'starting_after walk: 1000 invoices, each once');
    ok(!$bad_order && !$has_more, 'newest first; has_more false at the end')
        or diag("bad order: " . ($bad_order // 0) . ", has_more: "
            . ($has_more // 'undef'));

    my $r = $st->api(GET => "/v1/invoices?limit=100&ending_before="
        . $all[200]{id}, token => $SK);
    is_deeply([ map { $_->{id} } @{ $r->json->{data} } ],
        [ map { $_->{id} } @all[100 .. 199] ],
        'ending_before gives the page before');
    ok($r->json->{has_more}, 'and has_more says there is more before');
    is($r->json->{url}, '/v1/invoices', 'list url');

    my $def = $st->api(GET => '/v1/invoices', token => $SK)->json;
    is(scalar @{ $def->{data} }, 10, 'default limit 10');

    my $mid = $all[500]{created};
    my $n = grep { $_->{created} >= $mid } @all;
    my $cnt = 0;
    $after = undef;
    while (1) {
        my $j = $st->api(GET => "/v1/invoices?limit=100&created[gte]=$mid"
            . (defined $after ? "&starting_after=$after" : ''),
            token => $SK)->json;
        $cnt += grep { $_->{created} >= $mid } @{ $j->{data} };
        $cnt -= grep { $_->{created} < $mid } @{ $j->{data} };
        last if !$j->{has_more};
        $after = $j->{data}[-1]{id};
    }
    is($cnt, $n, "created[gte] filter: $n invoices");

    my $bad = 0;
    for my $inv (@all) {
        my ($sub, $tax) = (0, 0);
        for my $l (@{ $inv->{lines}{data} }) {
            $bad++ if $l->{amount} != $l->{price}{unit_amount} * $l->{quantity};
            $sub += $l->{amount};
            $tax += $l->{tax_amounts}[0]{amount};
        }
        $bad++ if $sub != $inv->{subtotal} || $tax != $inv->{tax}
            || $inv->{total} != $sub + $tax || $inv->{currency} ne 'eur'
            || $inv->{object} ne 'invoice' || $inv->{id} !~ /^in_/;
    }
    is($bad, 0, 'invoice totals: lines, subtotal, tax, total agree');

    my %status = map { $_->{status} => 1 } @all;
    is_deeply([ sort keys %status ],
        [ qw(draft open paid uncollectible void) ], 'every invoice status');

    my $inv = $all[3];
    $r = $st->api(GET => "/v1/invoices/$inv->{id}", token => $SK);
    is($r->json->{id}, $inv->{id}, 'invoice by id');
    $r = $st->api(GET => '/v1/invoices/in_missing', token => $SK);
    is_deeply([ $r->code, $r->json ], [ 404, { error => {
        type => 'invalid_request_error', code => 'resource_missing',
        param => 'id', message => "No such invoice: 'in_missing'" } } ],
        'missing invoice: 404 resource_missing');

    my $ch = $st->api(GET => '/v1/charges?limit=100', token => $SK)->json;
    my ($paid) = grep { defined $_->{invoice} } @{ $ch->{data} };
    ok($paid && $paid->{id} =~ /^ch_/ && $paid->{object} eq 'charge'
       && $st->api(GET => "/v1/invoices/$paid->{invoice}", token => $SK)
          ->json->{status} eq 'paid', 'a charge links its paid invoice');
    my $cus = $st->api(GET => '/v1/customers?limit=100', token => $SK)->json;
    is(scalar @{ $cus->{data} }, 25, 'customers listed');
    like($cus->{data}[0]{id}, qr/^cus_/, 'customer id');
    is($st->api(GET => "/v1/customers/$cus->{data}[0]{id}", token => $SK)
        ->json->{object}, 'customer', 'customer by id');

    for my $l ('abc', '0', '101') {
        $r = $st->api(GET => "/v1/invoices?limit=$l", token => $SK);
        is_deeply([ $r->code, $r->json->{error}{code},
            $r->json->{error}{param} ],
            [ 400, 'parameter_invalid_integer', 'limit' ], "limit=$l: 400");
    }

    # mutate: open invoices become paid, with a new charge
    my $m = $st->control(POST => '/_fake/seed', { account => $ACCT,
        mutate => 3 });
    my @ids = @{ $m->{accounts}{$ACCT}{mutated} };
    ok(@ids == 3 && !grep({ $st->api(GET => "/v1/invoices/$_", token => $SK)
        ->json->{status} ne 'paid' } @ids), 'mutate: 3 invoices paid');
    my $newest = $st->api(GET => '/v1/charges?limit=3', token => $SK)->json;
    is_deeply([ sort map { $_->{invoice} } @{ $newest->{data} } ],
        [ sort @ids ], 'their charges are the newest');
}

sub stripe_limits {
    my $r = $st->api(GET => '/v1/account', token => 'sk_test_nothere1234');
    is_deeply([ $r->code, $r->json ], [ 401, { error => {
        type => 'invalid_request_error',
        message => 'Invalid API Key provided: sk_test_****1234' } } ],
        'unknown key: 401, masked');
    is($st->request(GET => '/v1/account')->code, 401, 'no key: 401');

    $r = $st->api(GET => '/v1/account', token => 'sk_test_platform_demo',
        account => $ACCT);
    is($r->json->{id}, $ACCT, 'platform key + Stripe-Account');

    $st->control(POST => '/_fake/keys', { key => 'rk_test_restricted42',
        account => $ACCT });
    is($st->api(GET => '/v1/invoices?limit=1', token => 'rk_test_restricted42')
        ->code, 200, 'registered restricted key');

    $r = $st->api(POST => '/v1/invoices', token => $SK,
        json => { customer => 'cus_x' });
    is_deeply([ $r->code, $r->json->{error}{type} ],
        [ 400, 'invalid_request_error' ], 'API JSON body: 400');

    $st->control(POST => '/_fake/faults', { status => 500 });
    $r = $st->api(GET => '/v1/account', token => $SK);
    is_deeply([ $r->code, $r->json->{error}{type} ], [ 500, 'api_error' ],
        'injected 500');

    # a fresh account: nothing of it in the window yet
    $st->control(POST => '/_fake/keys', { key => 'sk_test_ratelimited',
        account => 'acct_ratelimited' });
    $st->control(POST => '/_fake/config', { per_second => 3 });
    my @r = map { $st->api(GET => '/v1/account',
        token => 'sk_test_ratelimited') } 1 .. 10;
    my @codes = map { $_->code } @r;
    my ($limited) = grep { $_->code == 429 } @r;
    ok("@codes[0 .. 2]" eq '200 200 200' && $limited,
        "per-second limit: @codes");
    is_deeply([ $limited && $limited->json->{error}{code},
        $limited && $limited->headers->header('Retry-After') ],
        [ 'rate_limit', undef ], '429 code rate_limit, no Retry-After');

    $st->control(POST => '/_fake/config', { per_second => 1,
        retry_after => 2 });
    ($limited) = grep { $_->code == 429 }
        map { $st->api(GET => '/v1/account', token => 'sk_test_ratelimited') }
        1 .. 3;
    is($limited && $limited->headers->header('Retry-After'), 2,
        'injected Retry-After');
    $st->control(POST => '/_fake/config', { per_second => 100,
        retry_after => undef });

    ok($st->stats->{rate_limited} >= 2, 'rate_limited counted');

    # the switches: expired OAuth tokens fail, registered keys do not,
    # a refresh token still gives a working one; revoke kills that too
    my $rt = $st->oauth->{refresh_token};
    $st->control(POST => '/_fake/tokens', { action => 'expire' });
    is($st->api(GET => '/v1/account', token => $SK)->code, 401,
        'expired access token: 401');
    is($st->api(GET => '/v1/account', token => 'rk_test_restricted42')
        ->code, 200, 'a registered key does not expire');
    my $fresh = $st->refresh($rt)->json // {};
    is($st->api(GET => '/v1/account', token => $fresh->{access_token})
        ->code, 200, 'refresh after expiry works');
    $st->control(POST => '/_fake/tokens', { action => 'revoke' });
    is($st->refresh($fresh->{refresh_token})->json->{error}, 'invalid_grant',
        'revoked: refresh invalid_grant');
}


###############################################################################
# helpers

sub cents {
    my ($s) = @_;

    my ($i, $f) = $s =~ /^(\d+)\.(\d\d)$/ or return -1;

    return $i * 100 + $f;
}

sub nip_ok {
    my ($v) = @_;

    my @d = $v =~ /^(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)$/ or return 0;
    my @w = (6, 5, 7, 2, 3, 4, 5, 6, 7);
    my $s = 0;
    $s += $d[$_] * $w[$_] for 0 .. 8;

    return $s % 11 == $d[9];
}

sub iso_now {
    my $t = Time::HiRes::time();
    my @g = gmtime(int $t);

    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $g[5] + 1900,
        $g[4] + 1, @g[3, 2, 1, 0], int(($t - int $t) * 1000));
}
