#!/usr/bin/perl

# A fake Allegro: OAuth 2 authorization code with PKCE and rotating
# refresh tokens, and the order API (GET /me, /order/checkout-forms,
# /order/checkout-forms/{id}, /order/events, /order/event-stats) as
# /work/shared/specs/providers/allegro-openapi.yaml describes them, plus a
# control API under /_fake that no real Allegro has.
#
#   perl t/fakes/fake_allegro.pl daemon -l http://127.0.0.1:PORT
#
# One process (the daemon command never forks), state in memory, so the
# counters are exact.  Environment:
#   FAKE_ALLEGRO_CLIENT_ID      default demo-allegro-client
#   FAKE_ALLEGRO_CLIENT_SECRET  default demo-allegro-secret
#   FAKE_ALLEGRO_PER_MINUTE     API requests per client per rolling minute
#                               (default 9000), then 429 with Retry-After
#   FAKE_ALLEGRO_ACCESS_TTL     access token lifetime, s (default 43199)
#   FAKE_SEED                   generator seed (default 1)
#   FAKE_ORDERS                 orders generated at start (default 50)
#   FAKE_BASE_TIME              epoch seconds the generated orders end at
#                               (default 1790812800, 2026-10-01T00:00:00Z)
#
# Control API (JSON in and out):
#   POST /_fake/seed    {"orders": N, "seed": s}: replace the orders;
#                       {"add": N}: N new purchases now; {"mutate": K}: K
#                       orders move on (status or fulfillment), updatedAt
#                       now, an event appended for each
#   POST /_fake/faults  {"status", "count", "path_prefix", "latency_ms",
#                       "retry_after"} (prefix default: every API path);
#                       {"clear": true} drops every fault
#   POST /_fake/tokens  {"action": "expire"|"revoke",
#                       "which": "access"|"refresh"|"all"}
#   POST /_fake/config  {"access_ttl", "deny", "per_minute",
#                       "offset_limit"}
#   GET  /_fake/stats   counters; POST /_fake/reset: back to the start
#   GET  /_fake/orders/{id}: the stored order, no auth (for tests)

use strict;
use warnings;
use utf8;

use File::Basename qw(dirname);
use lib dirname(__FILE__);

use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url decode_base64);
use Mojo::JSON qw(encode_json decode_json);
use Mojolicious::Lite -signatures;

use FakeCommon qw(rng_new rng_int rng_pick rng_hex uuid_from iso_ms
    parse_iso_ms format_minor now_ms random_token);

my $MEDIA = 'application/vnd.allegro.public.v1+json';
my $SCOPE = 'allegro:api:orders:read allegro:api:profile:read';
my $SELLER_ID = '46968690';

my %ENVCFG = (
    client_id => $ENV{FAKE_ALLEGRO_CLIENT_ID} // 'demo-allegro-client',
    client_secret => $ENV{FAKE_ALLEGRO_CLIENT_SECRET}
        // 'demo-allegro-secret',
    per_minute => $ENV{FAKE_ALLEGRO_PER_MINUTE} // 9000,
    access_ttl => $ENV{FAKE_ALLEGRO_ACCESS_TTL} // 43199,
    seed => $ENV{FAKE_SEED} // 1,
    orders => $ENV{FAKE_ORDERS} // 50,
    base_time => $ENV{FAKE_BASE_TIME} // 1790812800,
);

my $S;    # all state; see reset_state


###############################################################################
# data for the generator

my @FIRST = qw(Małgorzata Grzegorz Agnieszka Paweł Łucja Wojciech Zofia
    Jędrzej Bożena Mikołaj Elżbieta Przemysław Jan Anna Józef Krystyna
    Łukasz Żaneta Ścibor Urszula);
my @LAST = qw(Wójcik Woźniak Król Mazur Kaczmarek Dudek Gołąb Pietrzak
    Sikora Bąk Żak Kołodziej Nowak Górecki Ślusarz Jabłoń Łoś Cieślak
    Wróbel Szczęsny);
my @CITIES = (
    [ 'Łódź', '90-001' ], [ 'Kraków', '30-001' ], [ 'Gdańsk', '80-001' ],
    [ 'Wrocław', '50-001' ], [ 'Poznań', '60-166' ],
    [ 'Białystok', '15-001' ], [ 'Toruń', '87-100' ],
    [ 'Rzeszów', '35-001' ], [ 'Bielsko-Biała', '43-300' ],
    [ 'Zielona Góra', '65-001' ], [ 'Częstochowa', '42-200' ],
    [ 'Szczecin', '70-001' ],
);
my @CZ_CITIES = ([ 'Praha', '110 00' ], [ 'Brno', '602 00' ],
    [ 'Ostrava', '702 00' ], [ 'Plzeň', '301 00' ]);
my @SK_CITIES = ([ 'Bratislava', '811 01' ], [ 'Košice', '040 01' ],
    [ 'Žilina', '010 01' ]);
my @STREETS = ('ul. Piękna', 'ul. Żeromskiego', 'ul. Świętokrzyska',
    'ul. Chłodna', 'ul. Mickiewicza', 'ul. Źródlana', 'ul. Ogrodowa',
    'al. Jerozolimskie', 'ul. Gęsia', 'ul. Łąkowa');
my @PRODUCTS = ('Gęś porcelanowa', 'Kubek „Zażółć gęślą jaźń”',
    'Koszulka Łódź XL', 'Śrubokręt krzyżakowy', 'Żelazko parowe',
    'Książka „Pan Tadeusz”', 'Łyżka drewniana', 'Ręcznik bawełniany',
    'Ładowarka USB-C', 'Czajnik elektryczny', 'Źdźbło — figurka',
    'Pościel satynowa 160×200');
my @METHODS = (
    [ '2488f7b7-5d1c-4d65-b85c-4cbcf253fd93', 'Allegro Paczkomaty InPost' ],
    [ '7203cb90-864c-4cda-bf08-dc883f0c78ad', 'Allegro Kurier DPD' ],
    [ '98f86f81-0018-41c5-ac83-073a56fc7021', 'Allegro One Box' ],
    [ 'c3066682-97a3-42fe-9eb5-3beeccab840c', 'Odbiór osobisty' ],
);
my @DELIVERY_COST = (0, 999, 1299, 1599, 1899);


###############################################################################
# state

sub reset_state {
    $S = {
        cfg => {
            client_id => $ENVCFG{client_id},
            client_secret => $ENVCFG{client_secret},
            per_minute => $ENVCFG{per_minute},
            access_ttl => $ENVCFG{access_ttl},
            deny => 0,
            offset_limit => 10000,
        },
        codes => {},
        access => {},
        refresh => {},
        rate => {},
        faults => [],
        stats => FakeCommon::stats_new(),
        orders => [],
        by_id => {},
        events => [],
        event_seq => 0,
        sorted => {},
        gen => 0,
        mutate_seq => 0,
        last_update_ms => 0,
    };

    seed_orders($ENVCFG{orders}, $ENVCFG{seed});
}


###############################################################################
# the generator

sub nip {
    my ($r) = @_;

    my @w = (6, 5, 7, 2, 3, 4, 5, 6, 7);

    while (1) {
        my @d = (1 + rng_int($r, 9), map { rng_int($r, 10) } 1 .. 8);
        my $sum = 0;
        $sum += $d[$_] * $w[$_] for 0 .. 8;
        my $check = $sum % 11;
        next if $check == 10;
        return join '', @d, $check;
    }
}

sub gen_order {
    my ($r, $bought_ms) = @_;

    my $p = rng_int($r, 100);
    my ($cur, $country, $market, $cities) =
        $p < 85 ? ('PLN', 'PL', 'allegro-pl', \@CITIES)
        : $p < 95 ? ('CZK', 'CZ', 'allegro-cz', \@CZ_CITIES)
        : ('EUR', 'SK', 'allegro-sk', \@SK_CITIES);

    my $first = rng_pick($r, \@FIRST);
    my $last = rng_pick($r, \@LAST);
    my $city = rng_pick($r, $cities);
    my $street = rng_pick($r, \@STREETS) . ' ' . (1 + rng_int($r, 120));
    my $login = lc(ascii($first)) . '_' . lc(ascii($last))
        . rng_int($r, 1000);
    my $phone = sprintf('+48 5%02d %03d %03d', rng_int($r, 100),
        rng_int($r, 1000), rng_int($r, 1000));

    my $s = rng_int($r, 100);
    my $status = $s < 10 ? 'CANCELLED' : $s < 17 ? 'BOUGHT'
        : $s < 25 ? 'FILLED_IN' : 'READY_FOR_PROCESSING';

    my @lines;
    my $sum = 0;

    for (1 .. 1 + rng_int($r, 5)) {
        my $price = 199 + rng_int($r, 49800);
        my $orig = rng_int($r, 4) ? $price : $price + 100 * rng_int($r, 50);
        my $qty = 1 + rng_int($r, 4);

        $sum += $price * $qty;

        push @lines, {
            id => uuid_from($r),
            offer => {
                id => '' . (10000000000 + rng_int($r, 2000000000)),
                name => rng_pick($r, \@PRODUCTS),
                external => { id => 'SKU-' . rng_hex($r, 6) },
            },
            quantity => $qty,
            originalPrice => money($orig, $cur),
            price => money($price, $cur),
            boughtAt => iso_ms($bought_ms),
        };
    }

    my $method = rng_pick($r, \@METHODS);
    my $dcost = rng_pick($r, \@DELIVERY_COST);
    my $total = $sum + $dcost;

    my %o = (
        id => uuid_from($r),
        buyer => {
            id => '' . (1000000 + rng_int($r, 90000000)),
            email => $login . '+' . rng_hex($r, 6) . '@allegromail.pl',
            login => $login,
            firstName => $first,
            lastName => $last,
            guest => rng_int($r, 10) == 0 ? \1 : \0,
            phoneNumber => $phone,
            address => {
                street => $street,
                city => $city->[0],
                postCode => $city->[1],
                countryCode => $country,
            },
        },
        status => $status,
        fulfillment => {
            status => $status eq 'CANCELLED' ? 'CANCELLED'
                : $status eq 'READY_FOR_PROCESSING'
                    ? rng_pick($r, [qw(NEW PROCESSING SENT PICKED_UP)])
                    : 'NEW',
            shipmentSummary => { lineItemsSent => 'NONE' },
        },
        delivery => {
            address => {
                firstName => $first,
                lastName => $last,
                street => $street,
                city => $city->[0],
                zipCode => $city->[1],
                countryCode => $country,
                phoneNumber => $phone,
            },
            method => { id => $method->[0], name => $method->[1] },
            cost => money($dcost, $cur),
            smart => rng_int($r, 3) == 0 ? \1 : \0,
        },
        invoice => { required => \0 },
        lineItems => \@lines,
        surcharges => [],
        marketplace => { id => $market },
        summary => { totalToPay => money($total, $cur) },
    );

    $o{messageToSeller} = 'Zażółć gęślą jaźń — proszę o szybką wysyłkę'
        if rng_int($r, 5) == 0;

    if ($status ne 'BOUGHT') {
        $o{payment} = {
            id => uuid_from($r),
            type => rng_int($r, 6) ? 'ONLINE' : 'CASH_ON_DELIVERY',
            provider => rng_pick($r, [qw(P24 PAYU AF)]),
        };

        if ($status eq 'READY_FOR_PROCESSING') {
            $o{payment}{finishedAt} = iso_ms($bought_ms + 120000);
            $o{payment}{paidAmount} = money($total, $cur);
        }
    }

    if ($country eq 'PL' && rng_int($r, 10) < 3) {
        my $company = rng_pick($r, ['Zakład Usług Ślusarskich',
            'Hurtownia Żółty Kwiat', 'Gęś i Wspólnicy', 'Łódzka Przędzalnia']);
        my $nip = nip($r);

        $o{buyer}{companyName} = "$company sp. z o.o.";
        $o{invoice} = {
            required => \1,
            address => {
                street => $street,
                city => $city->[0],
                zipCode => $city->[1],
                countryCode => $country,
                company => {
                    name => "$company sp. z o.o.",
                    ids => [ { type => 'PL_NIP', value => $nip } ],
                    vatPayerStatus => 'ACTIVE',
                    taxId => $nip,
                },
            },
        };
    }

    my $updated = $bought_ms + ($status eq 'BOUGHT' ? 0
        : $status eq 'CANCELLED' ? 300000 : 120000);

    $o{updatedAt} = iso_ms($updated);
    $o{revision} = rng_hex($r, 8);

    return \%o;
}

sub ascii {
    my ($s) = @_;

    my %map = ('ą' => 'a', 'ć' => 'c', 'ę' => 'e', 'ł' => 'l', 'ń' => 'n',
        'ó' => 'o', 'ś' => 's', 'ź' => 'z', 'ż' => 'z', 'Ą' => 'A',
        'Ć' => 'C', 'Ę' => 'E', 'Ł' => 'L', 'Ń' => 'N', 'Ó' => 'O',
        'Ś' => 'S', 'Ź' => 'Z', 'Ż' => 'Z');

    $s =~ s/([^\x00-\x7f])/$map{$1} \/\/ ''/ge;

    return $s;
}

sub money {
    my ($minor, $cur) = @_;

    return { amount => format_minor($minor), currency => $cur };
}

# the stored record: the order, its JSON cached, its times as ms

sub store_order {
    my ($o) = @_;

    my $rec = {
        o => $o,
        json => undef,
        bought_ms => parse_iso_ms($o->{lineItems}[0]{boughtAt}),
        updated_ms => parse_iso_ms($o->{updatedAt}),
    };

    push @{ $S->{orders} }, $rec;
    $S->{by_id}{ $o->{id} } = $rec;
    $S->{gen}++;

    return $rec;
}

sub seed_orders {
    my ($n, $seed) = @_;

    my $r = rng_new("allegro:$seed");
    my $end = $ENVCFG{base_time} * 1000;
    my $span = 60 * 86400 * 1000;

    $S->{orders} = [];
    $S->{by_id} = {};
    $S->{events} = [];
    $S->{event_seq} = 0;
    $S->{gen}++;

    my @ev;

    for my $i (1 .. $n) {
        # whole seconds, and some orders bought in the same second, so the
        # tie-break is exercised
        my $t = $end - 1000 * rng_int($r, $span / 1000);
        my $rec = store_order(gen_order($r, $t));
        my $o = $rec->{o};

        push @ev, [ $t, 'BOUGHT', $rec ];
        push @ev, [ $t + 60000, 'FILLED_IN', $rec ]
            if $o->{status} ne 'BOUGHT';
        push @ev, [ $t + 120000, 'READY_FOR_PROCESSING', $rec ]
            if $o->{status} eq 'READY_FOR_PROCESSING';
        push @ev, [ $t + 300000, 'BUYER_CANCELLED', $rec ]
            if $o->{status} eq 'CANCELLED';
    }

    for my $e (sort { $a->[0] <=> $b->[0] || $a->[2]{o}{id} cmp $b->[2]{o}{id}
                      || $a->[1] cmp $b->[1] } @ev)
    {
        add_event($e->[2], $e->[1], $e->[0]);
    }

    $S->{last_update_ms} = $end + 300000;

    warm_cache();
}

sub add_event {
    my ($rec, $type, $ms) = @_;

    my $o = $rec->{o};
    my $id = '' . (1532603898317497 + ++$S->{event_seq});

    my $ev = {
        id => $id,
        occurredAt => iso_ms($ms),
        type => $type,
        order => {
            seller => { id => $SELLER_ID },
            buyer => {
                id => $o->{buyer}{id},
                email => $o->{buyer}{email},
                login => $o->{buyer}{login},
                guest => $o->{buyer}{guest},
            },
            lineItems => [ map { {
                id => $_->{id},
                offer => $_->{offer},
                quantity => $_->{quantity},
                originalPrice => $_->{originalPrice},
                price => $_->{price},
                boughtAt => $_->{boughtAt},
            } } @{ $o->{lineItems} } ],
            checkoutForm => { id => $o->{id}, revision => $o->{revision} },
            marketplace => $o->{marketplace},
        },
    };

    push @{ $S->{events} }, { id => $id, n => $S->{event_seq}, type => $type,
        json => undef, ev => $ev };
}

# updates strictly after every earlier one, never in the past

sub next_update_ms {
    my $now = now_ms();

    $S->{last_update_ms} = $now > $S->{last_update_ms}
        ? $now : $S->{last_update_ms} + 1;

    return $S->{last_update_ms};
}

sub mutate_orders {
    my ($k) = @_;

    my @all = @{ $S->{orders} };
    return [] if !@all;

    my $r = rng_new('mutate:' . ++$S->{mutate_seq});
    my (%seen, @done);

    while (@done < $k && @done < @all) {
        my $rec = $all[ rng_int($r, scalar @all) ];
        next if $seen{ $rec->{o}{id} }++;

        my $o = $rec->{o};
        my $ms = next_update_ms();
        my $type;

        if ($o->{status} eq 'BOUGHT') {
            $o->{status} = 'FILLED_IN';
            $o->{payment} = { id => uuid_from($r), type => 'ONLINE',
                provider => 'P24' };
            $type = 'FILLED_IN';

        } elsif ($o->{status} eq 'FILLED_IN') {
            $o->{status} = 'READY_FOR_PROCESSING';
            $o->{payment}{finishedAt} = iso_ms($ms);
            $o->{payment}{paidAmount} = $o->{summary}{totalToPay};
            $type = 'READY_FOR_PROCESSING';

        } else {
            my %next = (NEW => 'PROCESSING', PROCESSING => 'SENT',
                SENT => 'PICKED_UP', PICKED_UP => 'RETURNED',
                RETURNED => 'RETURNED', CANCELLED => 'CANCELLED');
            $o->{fulfillment}{status} =
                $next{ $o->{fulfillment}{status} } // 'PROCESSING';
            $o->{fulfillment}{shipmentSummary}{lineItemsSent} = 'ALL'
                if $o->{fulfillment}{status} eq 'SENT';
            $type = 'FULFILLMENT_STATUS_CHANGED';
        }

        $o->{updatedAt} = iso_ms($ms);
        $o->{revision} = rng_hex($r, 8);
        $rec->{updated_ms} = $ms;
        $rec->{json} = undef;
        $S->{gen}++;

        add_event($rec, $type, $ms);
        push @done, $o->{id};
    }

    return \@done;
}

sub add_orders {
    my ($n) = @_;

    my $r = rng_new('add:' . ++$S->{mutate_seq});
    my @ids;

    for (1 .. $n) {
        my $ms = next_update_ms();
        my $o = gen_order($r, $ms);

        # a new purchase: nothing filled in or paid yet
        $o->{status} = 'BOUGHT';
        delete $o->{payment};
        $o->{fulfillment}{status} = 'NEW';
        $o->{updatedAt} = iso_ms($ms);

        my $rec = store_order($o);
        add_event($rec, 'BOUGHT', $ms);
        push @ids, $o->{id};
    }

    return \@ids;
}

# encode the orders' JSON in the background, a slice per loop turn, so
# that the first walk after a seed does not pay for it

sub warm_cache {
    my $orders = $S->{orders};
    my $i = 0;
    my $id;

    $id = Mojo::IOLoop->recurring(0 => sub ($loop) {
        # reseeded or reset since: that data has its own warm-up
        if ($S->{orders} != $orders || $i >= @$orders) {
            $loop->remove($id);
            return;
        }

        my $end = $i + 50;
        $end = @$orders if $end > @$orders;
        order_json($orders->[$_]) for $i .. $end - 1;
        $i = $end;
    });
}


sub order_json {
    my ($rec) = @_;

    return $rec->{json} //= encode_json($rec->{o});
}


###############################################################################
# responses

sub api_json {
    my ($c, $status, $body) = @_;

    $c->res->headers->content_type($MEDIA);
    $c->render(data => ref $body ? encode_json($body) : $body,
        status => $status);
}

sub api_error {
    my ($c, $status, $code, $message, $user) = @_;

    api_json($c, $status, { errors => [ {
        code => $code, message => $message, details => undef,
        path => undef, userMessage => $user // $message } ] });
}

sub auth_error {
    my ($c, $status, $error, $desc) = @_;

    $c->res->headers->content_type('application/json;charset=UTF-8');
    $c->render(data => encode_json({ error => $error,
        error_description => $desc }), status => $status);
}

sub fault_error {
    my ($c, $f) = @_;

    my %code = (429 => 'TooManyRequestsException',
        500 => 'InternalServerErrorException',
        502 => 'BadGatewayException',
        503 => 'ServiceUnavailableException');

    api_error($c, $f->{status}, $code{ $f->{status} } // 'FakeFaultException',
        'Injected fault', 'Sorry, something went wrong. Please try again.');
}


###############################################################################
# OAuth

get '/auth/oauth/authorize' => sub ($c) {
    my $q = $c->req->query_params->to_hash;

    $S->{stats}{last_authorize} = $q;

    my $redirect = $q->{redirect_uri};

    return auth_error($c, 400, 'invalid_request', 'redirect_uri is missing')
        if !defined $redirect || $redirect !~ m{^https?://};
    return auth_error($c, 400, 'invalid_client', 'Unknown client_id')
        if ($q->{client_id} // '') ne $S->{cfg}{client_id};
    return auth_error($c, 400, 'unsupported_response_type',
        'response_type must be code')
        if ($q->{response_type} // '') ne 'code';

    my $method = $q->{code_challenge_method};
    return auth_error($c, 400, 'invalid_request',
        'code_challenge_method must be S256')
        if defined $q->{code_challenge} && defined $method
           && $method ne 'S256';

    my $url = Mojo::URL->new($redirect);

    if ($S->{cfg}{deny}) {
        $url->query->merge(error => 'access_denied');
    } else {
        my $code = random_token(24);

        $S->{codes}{$code} = {
            client_id => $q->{client_id},
            redirect_uri => $redirect,
            challenge => $q->{code_challenge},
            expires => time() + 600,
        };
        $url->query->merge(code => $code);
    }

    $url->query->merge(state => $q->{state}) if defined $q->{state};

    $c->redirect_to($url);
};

post '/auth/oauth/token' => sub ($c) {
    # Allegro's examples pass the fields in the query string; a form body
    # works the same
    my $p = $c->req->params->to_hash;
    my ($id, $secret) = basic_auth($c);

    $S->{stats}{last_token_request} = FakeCommon::redact_form($p,
        qw(code refresh_token code_verifier client_secret));
    $S->{stats}{last_token_request}{basic_auth} = defined $id ? \1 : \0;

    my $fault = FakeCommon::fault_take($S->{faults}, '/auth/oauth/token');
    if ($fault && defined $fault->{status}) {
        $S->{stats}{faults_injected}++;
        return auth_error($c, $fault->{status}, 'server_error',
            'Injected fault');
    }

    return auth_error($c, 401, 'unauthorized',
        'Full authentication is required to access this resource')
        if !defined $id || $id ne $S->{cfg}{client_id}
           || !FakeCommon::ct_equal($secret, $S->{cfg}{client_secret});

    my $grant = $p->{grant_type} // '';

    if ($grant eq 'authorization_code') {
        $S->{stats}{token_calls}{authorization_code}++;
        return grant_code($c, $p, $id);
    }

    if ($grant eq 'refresh_token') {
        $S->{stats}{token_calls}{refresh_token}++;
        return grant_refresh($c, $p, $id);
    }

    return auth_error($c, 400, 'unsupported_grant_type',
        'Unsupported grant type');
};

sub basic_auth {
    my ($c) = @_;

    my $h = $c->req->headers->authorization // return;
    my ($b64) = $h =~ /^Basic\s+(\S+)$/i or return;
    my ($id, $secret) = split /:/, decode_base64($b64), 2;

    return defined $secret ? ($id, $secret) : ();
}

sub invalid_grant {
    my ($c, $desc) = @_;

    $S->{stats}{invalid_grant}++;

    return auth_error($c, 400, 'invalid_grant', $desc);
}

sub grant_code {
    my ($c, $p, $client) = @_;

    my $code = delete $S->{codes}{ $p->{code} // '' };

    return invalid_grant($c, 'Invalid authorization code')
        if !$code || $code->{expires} < time()
           || $code->{client_id} ne $client;
    return invalid_grant($c, 'Redirect URI mismatch')
        if ($p->{redirect_uri} // '') ne $code->{redirect_uri};

    if (defined $code->{challenge}) {
        my $v = $p->{code_verifier} // '';
        my $ok = $v =~ /^[A-Za-z0-9._~-]{43,128}$/
            && encode_base64url(sha256($v)) eq $code->{challenge};

        return invalid_grant($c, 'Invalid code verifier') if !$ok;
    }

    return issue_tokens($c, $client);
}

sub grant_refresh {
    my ($c, $p, $client) = @_;

    my $tok = $p->{refresh_token} // '';
    my $rt = $S->{refresh}{$tok};

    return invalid_grant($c, 'Invalid refresh token')
        if !$rt || !$rt->{valid} || $rt->{client_id} ne $client;

    # rotation: the presented token is dead from now on
    $rt->{valid} = 0;

    return issue_tokens($c, $client);
}

sub issue_tokens {
    my ($c, $client) = @_;

    my $ttl = $S->{cfg}{access_ttl};
    my $jti = uuid_from(rng_new(random_token(16)));
    my $head = encode_base64url('{"alg":"RS256","typ":"JWT"}');
    my $body = encode_base64url(encode_json({
        user_name => $SELLER_ID, scope => [ split / /, $SCOPE ],
        allegro_api => \1, exp => time() + $ttl, client_id => $client,
        jti => $jti }));
    my $access = "$head.$body." . random_token(64);
    my $refresh = "$head." . random_token(48) . '.' . random_token(64);

    $S->{access}{$access} = { client_id => $client, exp => time() + $ttl,
        revoked => 0 };
    $S->{refresh}{$refresh} = { client_id => $client, valid => 1 };

    $c->res->headers->content_type('application/json;charset=UTF-8');
    $c->res->headers->cache_control('no-store');
    $c->render(data => encode_json({
        access_token => $access, token_type => 'bearer',
        refresh_token => $refresh, expires_in => 0 + $ttl, scope => $SCOPE,
        allegro_api => \1, jti => $jti }));
}


###############################################################################
# API

my $api = under('/' => sub ($c) {
    my $path = $c->req->url->path->to_string;

    return 1 if $path =~ m{^/(?:_fake|auth)/};

    return FakeCommon::fault_gate($c, $S->{faults}, $S->{stats},
        \&fault_error);
});

my $authed = $api->under('/' => sub ($c) {
    my $path = $c->req->url->path->to_string;

    return 1 if $path =~ m{^/(?:_fake|auth)/};

    my ($tok) = ($c->req->headers->authorization // '')
        =~ /^Bearer\s+(\S+)$/i;
    my $at = defined $tok ? $S->{access}{$tok} : undef;

    if (!$at) {
        auth_error($c, 401, 'invalid_token', 'Invalid access token');
        return undef;
    }

    if ($at->{revoked}) {
        auth_error($c, 401, 'invalid_token', 'Access token revoked');
        return undef;
    }

    if ($at->{exp} <= time()) {
        auth_error($c, 401, 'invalid_token', 'Access token expired');
        return undef;
    }

    my $now = now_ms();
    my $win = $S->{rate}{ $at->{client_id} } //= [];

    if (!FakeCommon::window_admit($win, $S->{cfg}{per_minute}, 60000,
                                  $now))
    {
        $S->{stats}{rate_limited}++;
        $c->res->headers->header('Retry-After' =>
            FakeCommon::window_retry_after($win, 60000, $now));
        api_error($c, 429, 'TooManyRequestsException',
            'Too many requests. Rate limit of '
            . "$S->{cfg}{per_minute} requests per minute exceeded",
            'Too many requests. Please try again later.');
        return undef;
    }

    my $accept = $c->req->headers->accept // '';

    if (index($accept, $MEDIA) < 0) {
        api_error($c, 406, 'NotAcceptableException',
            "Not acceptable representation requested. Please check 'Accept'"
            . ' request header',
            'The request contains incorrect data. Contact the author of the'
            . ' application.');
        return undef;
    }

    return 1;
});

$authed->get('/me' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/me');

    api_json($c, 200, {
        id => $SELLER_ID, login => 'Sklep_Zazolc', firstName => 'Amadeusz',
        lastName => 'Iksiński', email => 'sklep@example.pl',
        baseMarketplace => { id => 'allegro-pl' },
        company => { name => 'Zażółć Sp. z o.o.', taxId => '5260250274' },
        features => [],
    });
});

$authed->get('/order/event-stats' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/order/event-stats');

    my $last = $S->{events}[-1];

    api_json($c, 200, $last
        ? { latestEvent => { id => $last->{id},
              occurredAt => $last->{ev}{occurredAt} } }
        : {});
});

$authed->get('/order/events' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/order/events');

    my $q = $c->req->query_params;
    my $limit = $q->param('limit') // 100;
    my @types = @{ $q->every_param('type') };
    my $from = $q->param('from');

    return api_error($c, 422, 'VALIDATION_ERROR',
        'limit must be an integer between 1 and 1000')
        if $limit !~ /^\d+$/ || $limit < 1 || $limit > 1000;

    my $start = 0;

    if (defined $from) {
        return api_error($c, 422, 'VALIDATION_ERROR', 'Invalid event id')
            if $from !~ /^\d+$/;
        $start = $from - 1532603898317497;
        $start = 0 if $start < 0;
    }

    my %want = map { $_ => 1 } @types;
    my @out;
    my $ev = $S->{events};

    for (my $i = $start; $i < @$ev && @out < $limit; $i++) {
        next if @types && !$want{ $ev->[$i]{type} };
        push @out, $ev->[$i]{json} //= encode_json($ev->[$i]{ev});
    }

    api_json($c, 200, '{"events":[' . join(',', @out) . ']}');
});

$authed->get('/order/checkout-forms/:id' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/order/checkout-forms/{id}');

    my $id = $c->param('id');

    return api_error($c, 422, 'VALIDATION_ERROR',
        'Checkout form id is not a valid UUID')
        if $id !~ /^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i;

    my $rec = $S->{by_id}{ lc $id }
        or return api_error($c, 404, 'NotFoundException',
            "Checkout form with id $id not found",
            'The order could not be found.');

    api_json($c, 200, order_json($rec));
});

$authed->get('/order/checkout-forms' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/order/checkout-forms');

    my $q = $c->req->query_params;
    my $limit = $q->param('limit') // 100;
    my $offset = $q->param('offset') // 0;
    my $sort = $q->param('sort') // '-lineItems.boughtAt';

    return api_error($c, 400, 'IllegalArgumentException',
        'limit and offset must be integers')
        if $limit !~ /^-?\d+$/ || $offset !~ /^-?\d+$/;
    return api_error($c, 422, 'VALIDATION_ERROR',
        'limit must be between 1 and 100')
        if $limit < 1 || $limit > 100;
    return api_error($c, 422, 'VALIDATION_ERROR',
        "offset must be at least 0 and offset + limit at most"
        . " $S->{cfg}{offset_limit}")
        if $offset < 0 || $offset + $limit > $S->{cfg}{offset_limit};
    return api_error($c, 400, 'IllegalArgumentException',
        'Unsupported sort value')
        if $sort !~ /^-?(?:lineItems\.boughtAt|updatedAt)$/;

    my %range;

    for my $k (qw(updatedAt.gte updatedAt.lte lineItems.boughtAt.gte
                  lineItems.boughtAt.lte))
    {
        my $v = $q->param($k) // next;
        $range{$k} = parse_iso_ms($v)
            // return api_error($c, 422, 'VALIDATION_ERROR',
                "$k is not an ISO 8601 date-time");
    }

    my %eq;
    for my $k (qw(status fulfillment.status buyer.login payment.id
                  marketplace.id delivery.method.id))
    {
        my $v = $q->param($k);
        $eq{$k} = $v if defined $v;
    }

    my $m = filtered_orders($sort, \%range, \%eq);

    my $end = $offset + $limit;
    $end = @$m if $end > @$m;
    my @page = $offset < @$m ? @$m[ $offset .. $end - 1 ] : ();

    api_json($c, 200, '{"checkoutForms":['
        . join(',', map { order_json($_) } @page) . '],"count":'
        . scalar(@page) . ',"totalCount":' . scalar(@$m) . '}');
});

# a walk asks the same filter for every page: the last answer is kept
# until the data changes

sub filtered_orders {
    my ($sort, $range, $eq) = @_;

    my $all = sorted_orders($sort);
    return $all if !%$range && !%$eq;

    my $key = join "\0", $sort,
        map({ "$_=$range->{$_}" } sort keys %$range),
        map({ "$_=$eq->{$_}" } sort keys %$eq);
    my $c = $S->{filtered};

    return $c->{list} if $c && $c->{gen} == $S->{gen} && $c->{key} eq $key;

    my @m = grep { order_matches($_, $range, $eq) } @$all;
    $S->{filtered} = { gen => $S->{gen}, key => $key, list => \@m };

    return \@m;
}

sub sorted_orders {
    my ($sort) = @_;

    my $c = $S->{sorted}{$sort};
    return $c->{list} if $c && $c->{gen} == $S->{gen};

    my $key = $sort =~ /updatedAt/ ? 'updated_ms' : 'bought_ms';
    my @list;

    # stable: equal times ordered by id, the same way either direction
    if ($sort =~ /^-/) {
        @list = sort {
            $b->{$key} <=> $a->{$key} || $a->{o}{id} cmp $b->{o}{id}
        } @{ $S->{orders} };
    } else {
        @list = sort {
            $a->{$key} <=> $b->{$key} || $a->{o}{id} cmp $b->{o}{id}
        } @{ $S->{orders} };
    }

    $S->{sorted}{$sort} = { gen => $S->{gen}, list => \@list };

    return \@list;
}

sub order_matches {
    my ($rec, $range, $eq) = @_;

    my $o = $rec->{o};

    return 0 if exists $range->{'updatedAt.gte'}
        && $rec->{updated_ms} < $range->{'updatedAt.gte'};
    return 0 if exists $range->{'updatedAt.lte'}
        && $rec->{updated_ms} > $range->{'updatedAt.lte'};
    return 0 if exists $range->{'lineItems.boughtAt.gte'}
        && $rec->{bought_ms} < $range->{'lineItems.boughtAt.gte'};
    return 0 if exists $range->{'lineItems.boughtAt.lte'}
        && $rec->{bought_ms} > $range->{'lineItems.boughtAt.lte'};

    return 1 if !%$eq;

    my %have = (
        'status' => $o->{status},
        'fulfillment.status' => $o->{fulfillment}{status},
        'buyer.login' => $o->{buyer}{login},
        'payment.id' => $o->{payment} ? $o->{payment}{id} : '',
        'marketplace.id' => $o->{marketplace}{id},
        'delivery.method.id' => $o->{delivery}{method}{id},
    );

    for my $k (keys %$eq) {
        return 0 if $have{$k} ne $eq->{$k};
    }

    return 1;
}


###############################################################################
# control

sub body_json {
    my ($c) = @_;

    my $b = $c->req->body;
    return {} if !length $b;

    my $j = eval { decode_json($b) };

    return ref $j eq 'HASH' ? $j : undef;
}

sub control_bad {
    my ($c, $msg) = @_;

    $c->render(json => { error => $msg }, status => 400);
}

post '/_fake/seed' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');
    my %out;

    for my $k (qw(orders add mutate)) {
        return control_bad($c, "$k must be a non-negative integer")
            if defined $j->{$k} && $j->{$k} !~ /^\d+$/;
    }

    seed_orders($j->{orders}, $j->{seed} // $ENVCFG{seed})
        if defined $j->{orders};
    $out{added} = add_orders($j->{add}) if $j->{add};
    $out{mutated} = mutate_orders($j->{mutate}) if $j->{mutate};

    $out{orders} = scalar @{ $S->{orders} };
    $out{events} = scalar @{ $S->{events} };
    $out{latest_event} = @{ $S->{events} } ? $S->{events}[-1]{id} : undef;

    $c->render(json => \%out);
};

post '/_fake/faults' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');

    my $err = FakeCommon::fault_add($S->{faults}, $j, '/');
    return control_bad($c, $err) if defined $err;

    $c->render(json => { faults => $S->{faults} });
};

post '/_fake/tokens' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');
    my $action = $j->{action} // '';
    my $which = $j->{which} // ($action eq 'revoke' ? 'all' : 'access');

    return control_bad($c, 'action must be expire or revoke')
        if $action !~ /^(?:expire|revoke)$/;
    return control_bad($c, 'which must be access, refresh or all')
        if $which !~ /^(?:access|refresh|all)$/;

    my $n = 0;

    if ($which ne 'refresh') {
        for my $at (values %{ $S->{access} }) {
            $action eq 'expire' ? ($at->{exp} = time() - 1)
                : ($at->{revoked} = 1);
            $n++;
        }
    }

    if ($which ne 'access') {
        for my $rt (values %{ $S->{refresh} }) {
            $rt->{valid} = 0;
            $n++;
        }
    }

    $c->render(json => { affected => $n });
};

post '/_fake/config' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');

    for my $k (qw(access_ttl per_minute offset_limit)) {
        next if !exists $j->{$k};
        return control_bad($c, "$k must be a positive integer")
            if ($j->{$k} // '') !~ /^\d+$/ || $j->{$k} < 1;
        $S->{cfg}{$k} = 0 + $j->{$k};
    }

    $S->{cfg}{deny} = $j->{deny} ? 1 : 0 if exists $j->{deny};

    my %cfg = %{ $S->{cfg} };
    delete $cfg{client_secret};

    $c->render(json => \%cfg);
};

get '/_fake/stats' => sub ($c) {
    $c->render(json => $S->{stats});
};

get '/_fake/orders/:id' => sub ($c) {
    my $rec = $S->{by_id}{ $c->param('id') }
        or return $c->render(json => { error => 'no such order' },
            status => 404);

    $c->render(json => $rec->{o});
};

post '/_fake/reset' => sub ($c) {
    reset_state();
    $c->render(json => { reset => \1, orders => scalar @{ $S->{orders} } });
};

any '/*whatever' => { whatever => '' } => sub ($c) {
    api_error($c, 404, 'NotFoundException', 'Resource not found');
};


hook after_dispatch => sub ($c) {
    FakeCommon::count_status($S->{stats}, $c->res->code)
        if $c->req->url->path->to_string !~ m{^/(?:_fake|auth)/};
};

reset_state();

app->log->level('warn');
app->secrets([ random_token(16) ]);
app->start;
