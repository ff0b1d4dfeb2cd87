#!/usr/bin/perl

# A fake Stripe: Connect OAuth (authorize, token with rotating refresh
# tokens, deauthorize) and the read API the sync uses (GET /v1/account,
# /v1/customers, /v1/invoices, /v1/charges and each by id) with Stripe's
# list envelope, cursor pagination (starting_after, ending_before,
# has_more), created filters, error bodies and form-encoded requests, plus
# a control API under /_fake that no real Stripe has.
#
#   perl t/fakes/fake_stripe.pl daemon -l http://127.0.0.1:PORT
#
# One process, state in memory.  Environment:
#   FAKE_STRIPE_CLIENT_ID      Connect client id (default ca_demo_stripe)
#   FAKE_STRIPE_PLATFORM_KEY   the platform's secret key
#                              (default sk_test_platform_demo)
#   FAKE_STRIPE_PER_SECOND     requests per account per second (default
#                              100), then 429 code rate_limit
#   FAKE_SEED                  generator seed (default 1)
#   FAKE_STRIPE_CUSTOMERS, FAKE_STRIPE_INVOICES, FAKE_STRIPE_CHARGES
#                              objects generated for every new account
#                              (default 5, 10, 5: invoices' charges extra)
#   FAKE_BASE_TIME             epoch seconds the generated objects end at
#                              (default 1790812800)
#
# Control API (JSON):
#   POST /_fake/seed   {"account", "customers", "invoices", "charges",
#                      "seed", "mutate"} (no account: every account; an
#                      unknown account is created)
#   POST /_fake/keys   {"key": "rk_test_...", "account": "acct_..."}
#   POST /_fake/faults, /_fake/tokens, /_fake/config ({"access_ttl",
#                      "deny", "per_second", "retry_after",
#                      "connect_account"}), GET /_fake/stats,
#                      POST /_fake/reset: as the Allegro fake's

use strict;
use warnings;
use utf8;

use File::Basename qw(dirname);
use lib dirname(__FILE__);

use MIME::Base64 qw(decode_base64);
use Mojo::JSON qw(encode_json decode_json);
use Mojolicious::Lite -signatures;

use FakeCommon qw(rng_new rng_int rng_pick rng_hex now_ms random_token);

my %ENVCFG = (
    client_id => $ENV{FAKE_STRIPE_CLIENT_ID} // 'ca_demo_stripe',
    platform_key => $ENV{FAKE_STRIPE_PLATFORM_KEY} // 'sk_test_platform_demo',
    per_second => $ENV{FAKE_STRIPE_PER_SECOND} // 100,
    seed => $ENV{FAKE_SEED} // 1,
    customers => $ENV{FAKE_STRIPE_CUSTOMERS} // 5,
    invoices => $ENV{FAKE_STRIPE_INVOICES} // 10,
    charges => $ENV{FAKE_STRIPE_CHARGES} // 5,
    base_time => $ENV{FAKE_BASE_TIME} // 1790812800,
);

my $PLATFORM = 'acct_platformdemo00';
my %KIND = (customers => 'customer', invoices => 'invoice',
    charges => 'charge');

my $S;


###############################################################################
# data for the generator

my @NAMES = ('Zażółć GmbH', 'Gęś & Co. KG', 'Łódź Trading s.r.o.',
    'Müller Bäckerei', 'Café Crème SARL', 'Ślusarz Sp. z o.o.',
    'Żółw Logistics BV', 'Jörg Schäfer', 'Ana Ionescu', 'Łucja Wójcik',
    'Søren Kierkegaard ApS', 'Ærø Design');
my @PLACES = (
    [ 'DE', 'Berlin', '10115', 'Friedrichstraße 12', 19 ],
    [ 'DE', 'München', '80331', 'Marienplatz 8', 19 ],
    [ 'PL', 'Łódź', '90-001', 'ul. Piotrkowska 104', 23 ],
    [ 'FR', 'Paris', '75001', '3 rue de Rivoli', 20 ],
    [ 'NL', 'Utrecht', '3511', 'Oudegracht 150', 21 ],
    [ 'RO', 'București', '010011', 'Calea Victoriei 25', 19 ],
    [ 'IE', 'Dublin', 'D02 X285', '1 Grafton Street', 23 ],
);
my @ITEMS = ('Abonnement Pro (Monat)', 'Beratung — Stunde',
    'Licencja roczna „Gęś”', 'Support prioritaire', 'Hosting Żółw XL',
    'Onboarding workshop', 'Übersetzung pro Seite');


###############################################################################
# state

sub reset_state {
    $S = {
        cfg => {
            client_id => $ENVCFG{client_id},
            per_second => $ENVCFG{per_second},
            access_ttl => 0,
            deny => 0,
            retry_after => undef,
            connect_account => undef,
        },
        accounts => {},
        codes => {},
        keys => {},
        refresh => {},
        rate => {},
        faults => [],
        stats => FakeCommon::stats_new(),
        mutate_seq => 0,
        seq => 0,
    };

    new_account($PLATFORM, 'Hubgate Platform', 0);
}

sub new_account {
    my ($id, $name, $generate) = @_;

    my $acct = $S->{accounts}{$id} = {
        id => $id,
        name => $name,
        customers => [],
        invoices => [],
        charges => [],
        by_id => {},
        created => $ENVCFG{base_time} - 400 * 86400,
        deauthorized => 0,
    };

    seed_account($acct, $ENVCFG{customers}, $ENVCFG{invoices},
        $ENVCFG{charges}, $ENVCFG{seed})
        if $generate;

    return $acct;
}


###############################################################################
# the generator: customers, their invoices (paid ones with a charge) and
# standalone charges; amounts in cents, VAT per line rounded half up

sub obj_id {
    my ($r, $prefix) = @_;

    return $prefix . '_' . join '', map {
        (0 .. 9, 'A' .. 'Z', 'a' .. 'z')[ rng_int($r, 62) ] } 1 .. 24;
}

sub seed_account {
    my ($acct, $nc, $ni, $nch, $seed) = @_;

    my $r = rng_new("stripe:$seed:$acct->{id}");
    my $end = $ENVCFG{base_time};
    my $span = 90 * 86400;

    $acct->{$_} = [] for qw(customers invoices charges);
    $acct->{by_id} = {};

    for (1 .. $nc) {
        my $p = rng_pick($r, \@PLACES);
        my $name = rng_pick($r, \@NAMES);
        my $mail = lc($name);
        $mail =~ s/[^a-z0-9]+/./g;
        $mail =~ s/^\.|\.$//g;

        add_obj($acct, 'customers', {
            id => obj_id($r, 'cus'),
            object => 'customer',
            address => {
                city => $p->[1], country => $p->[0], line1 => $p->[3],
                line2 => undef, postal_code => $p->[2], state => undef,
            },
            balance => 0,
            created => $end - $span - rng_int($r, $span),
            currency => 'eur',
            default_source => undef,
            delinquent => \0,
            description => undef,
            email => ($mail || 'customer') . '@example.com',
            invoice_prefix => uc(rng_hex($r, 8)),
            livemode => \0,
            metadata => {},
            name => $name,
            phone => undef,
            preferred_locales => [],
            shipping => undef,
            tax_exempt => 'none',
            _rate => $p->[4],
        });
    }

    my @cus = @{ $acct->{customers} };

    for my $i (1 .. ($ni && @cus ? $ni : 0)) {
        my $cus = rng_pick($r, \@cus);
        # a few share a second, so the tie-break matters
        my $created = $end - rng_int($r, $span);
        $created = $acct->{invoices}[-1]{created}
            if @{ $acct->{invoices} } && rng_int($r, 10) == 0;
        my $inv = gen_invoice($r, $acct, $cus, $created);

        add_obj($acct, 'invoices', $inv);
        add_obj($acct, 'charges', gen_charge($r, $acct, $cus, $inv))
            if $inv->{status} eq 'paid';
    }

    for (1 .. ($nch && @cus ? $nch : 0)) {
        add_obj($acct, 'charges', gen_charge($r, $acct, rng_pick($r, \@cus),
            undef, $end - rng_int($r, $span)));
    }
}

sub add_obj {
    my ($acct, $kind, $o) = @_;

    $o->{_seq} = ++$S->{seq};
    push @{ $acct->{$kind} }, $o;
    $acct->{by_id}{ $o->{id} } = $o;
    $acct->{sorted}{$kind} = undef;
}

sub gen_invoice {
    my ($r, $acct, $cus, $created) = @_;

    my $id = obj_id($r, 'in');
    my $rate = $cus->{_rate};
    my $txr = 'txr_' . rng_hex($r, 24);
    my ($subtotal, $tax) = (0, 0);
    my @lines;

    for (1 .. 1 + rng_int($r, 4)) {
        my $unit = 500 + rng_int($r, 99500);
        my $qty = 1 + rng_int($r, 5);
        my $amount = $unit * $qty;
        # half up, in integers: amount * rate% = amount * rate / 100
        my $line_tax = int(($amount * $rate + 50) / 100);
        my $prod = 'prod_' . rng_hex($r, 14);

        $subtotal += $amount;
        $tax += $line_tax;

        push @lines, {
            id => 'il_' . rng_hex($r, 24),
            object => 'line_item',
            amount => $amount,
            currency => 'eur',
            description => rng_pick($r, \@ITEMS),
            discountable => \1,
            invoice => $id,
            livemode => \0,
            metadata => {},
            period => { start => $created, end => $created },
            price => {
                id => 'price_' . rng_hex($r, 24),
                object => 'price',
                active => \1,
                currency => 'eur',
                product => $prod,
                type => 'one_time',
                unit_amount => $unit,
                unit_amount_decimal => "$unit",
            },
            proration => \0,
            quantity => $qty,
            tax_amounts => [ { amount => $line_tax, inclusive => \0,
                tax_rate => $txr } ],
            tax_rates => [ {
                id => $txr, object => 'tax_rate', active => \1,
                country => $cus->{address}{country},
                display_name => 'VAT', inclusive => \0,
                jurisdiction => $cus->{address}{country},
                percentage => 0 + $rate,
            } ],
            type => 'invoiceitem',
        };
    }

    my $p = rng_int($r, 100);
    my $status = $p < 10 ? 'draft' : $p < 30 ? 'open' : $p < 85 ? 'paid'
        : $p < 95 ? 'void' : 'uncollectible';
    my $total = $subtotal + $tax;
    my $paid = $status eq 'paid' ? $total : 0;

    return {
        id => $id,
        object => 'invoice',
        account_country => 'DE',
        account_name => $acct->{name},
        amount_due => $total,
        amount_paid => $paid,
        amount_remaining => $status eq 'paid' || $status eq 'void'
            ? 0 : $total,
        attempt_count => $status eq 'paid' ? 1 : 0,
        attempted => $status eq 'paid' ? \1 : \0,
        auto_advance => $status eq 'draft' ? \1 : \0,
        billing_reason => 'manual',
        charge => undef,
        collection_method => 'send_invoice',
        created => $created,
        currency => 'eur',
        customer => $cus->{id},
        customer_address => $cus->{address},
        customer_email => $cus->{email},
        customer_name => $cus->{name},
        description => undef,
        due_date => $created + 14 * 86400,
        hosted_invoice_url => undef,
        lines => {
            object => 'list',
            data => \@lines,
            has_more => \0,
            total_count => scalar @lines,
            url => "/v1/invoices/$id/lines",
        },
        livemode => \0,
        metadata => {},
        number => $status eq 'draft' ? undef
            : uc(substr($cus->{invoice_prefix}, 0, 8)) . '-'
              . sprintf('%04d', 1 + rng_int($r, 9999)),
        paid => $status eq 'paid' ? \1 : \0,
        period_end => $created,
        period_start => $created,
        status => $status,
        status_transitions => {
            finalized_at => $status eq 'draft' ? undef : $created + 60,
            marked_uncollectible_at => $status eq 'uncollectible'
                ? $created + 86400 : undef,
            paid_at => $status eq 'paid' ? $created + 3600 : undef,
            voided_at => $status eq 'void' ? $created + 7200 : undef,
        },
        subtotal => $subtotal,
        tax => $tax,
        total => $total,
        total_tax_amounts => [ { amount => $tax, inclusive => \0,
            tax_rate => $txr } ],
    };
}

sub gen_charge {
    my ($r, $acct, $cus, $inv, $created) = @_;

    my $amount = $inv ? $inv->{total} : 300 + rng_int($r, 50000);
    $created //= $inv->{status_transitions}{paid_at};

    my $p = $inv ? 100 : rng_int($r, 100);
    my $status = $p < 10 ? 'failed' : $p < 15 ? 'pending' : 'succeeded';
    my $refunded = $status eq 'succeeded' && $p < 25
        ? ($p < 20 ? $amount : int($amount / 2)) : 0;
    my $id = obj_id($r, 'ch');

    $inv->{charge} = $id if $inv;

    return {
        id => $id,
        object => 'charge',
        amount => $amount,
        amount_captured => $status eq 'succeeded' ? $amount : 0,
        amount_refunded => $refunded,
        balance_transaction => $status eq 'succeeded'
            ? obj_id($r, 'txn') : undef,
        billing_details => {
            address => $cus->{address}, email => $cus->{email},
            name => $cus->{name}, phone => undef,
        },
        captured => $status eq 'succeeded' ? \1 : \0,
        created => $created,
        currency => 'eur',
        customer => $cus->{id},
        description => $inv ? "Payment for Invoice" : rng_pick($r, \@ITEMS),
        failure_code => $status eq 'failed' ? 'card_declined' : undef,
        failure_message => $status eq 'failed'
            ? 'Your card was declined.' : undef,
        invoice => $inv ? $inv->{id} : undef,
        livemode => \0,
        metadata => {},
        outcome => {
            network_status => $status eq 'failed'
                ? 'declined_by_network' : 'approved_by_network',
            reason => undef,
            risk_level => 'normal',
            seller_message => $status eq 'failed'
                ? 'The bank did not return any further details with this'
                  . ' decline.' : 'Payment complete.',
            type => $status eq 'failed' ? 'issuer_declined' : 'authorized',
        },
        paid => $status eq 'succeeded' ? \1 : \0,
        payment_intent => obj_id($r, 'pi'),
        payment_method => obj_id($r, 'pm'),
        receipt_email => $cus->{email},
        refunded => $refunded && $refunded == $amount ? \1 : \0,
        status => $status,
    };
}

# K open or draft invoices become paid now, each with a new charge

sub mutate_account {
    my ($acct, $k) = @_;

    my $r = rng_new('mutate:' . ++$S->{mutate_seq} . ":$acct->{id}");
    my $now = time();
    my @done;

    for my $inv (grep { $_->{status} =~ /^(?:open|draft)$/ }
                 @{ $acct->{invoices} })
    {
        last if @done >= $k;

        my $cus = $acct->{by_id}{ $inv->{customer} } or next;

        delete $inv->{_json};
        $inv->{status} = 'paid';
        $inv->{paid} = \1;
        $inv->{amount_paid} = $inv->{total};
        $inv->{amount_remaining} = 0;
        $inv->{attempted} = \1;
        $inv->{attempt_count} = 1;
        $inv->{status_transitions}{finalized_at} //= $now;
        $inv->{status_transitions}{paid_at} = $now;
        $inv->{number} //= uc(substr($cus->{invoice_prefix}, 0, 8))
            . '-' . sprintf('%04d', 1 + rng_int($r, 9999));

        add_obj($acct, 'charges', gen_charge($r, $acct, $cus, $inv, $now));
        push @done, $inv->{id};
    }

    return \@done;
}


###############################################################################
# responses

sub stripe_json {
    my ($c, $status, $body) = @_;

    $c->res->headers->content_type('application/json');
    $c->res->headers->header('Request-Id' => 'req_' . random_token(10));
    $c->render(data => ref $body ? encode_json($body) : $body,
        status => $status);
}

sub stripe_error {
    my ($c, $status, %e) = @_;

    $e{type} //= 'invalid_request_error';

    stripe_json($c, $status, { error => \%e });
}

sub oauth_error {
    my ($c, $status, $error, $desc) = @_;

    stripe_json($c, $status, { error => $error, error_description => $desc });
}

sub fault_error {
    my ($c, $f) = @_;

    return stripe_error($c, 429, code => 'rate_limit',
        message => 'Too many requests hit the API too quickly.')
        if $f->{status} == 429;

    stripe_error($c, $f->{status}, type => 'api_error',
        message => 'Injected fault');
}

# last four characters only, as Stripe shows a key

sub masked {
    my ($key) = @_;

    my ($pre) = $key =~ /^((?:sk|rk|pk)_(?:test|live)_)/;
    $pre //= '';

    return $pre . '****' . (length $key > 4 ? substr($key, -4) : '');
}

# form bodies only: Stripe rejects JSON and anything else

sub form_body_ok {
    my ($c) = @_;

    return 1 if !length $c->req->body;

    my $ct = $c->req->headers->content_type // '';
    return 1 if $ct =~ m{^application/x-www-form-urlencoded}i;

    stripe_error($c, 400, message => 'Invalid request (check that your POST'
        . ' content type is application/x-www-form-urlencoded). If you have'
        . ' any questions, we can help at https://support.stripe.com/.');

    return 0;
}

# the secret key of a request: Bearer, or Basic with the key as user name

sub request_key {
    my ($c) = @_;

    my $h = $c->req->headers->authorization // return undef;

    return $1 if $h =~ /^Bearer\s+(\S+)$/i;

    if ($h =~ /^Basic\s+(\S+)$/i) {
        my ($user) = split /:/, decode_base64($1), 2;
        return $user if defined $user && length $user;
    }

    return undef;
}


###############################################################################
# Connect OAuth

get '/oauth/authorize' => sub ($c) {
    my $q = $c->req->query_params->to_hash;

    $S->{stats}{last_authorize} = $q;

    my $redirect = $q->{redirect_uri};

    return oauth_error($c, 400, 'invalid_request',
        'No redirect_uri given and none configured')
        if !defined $redirect || $redirect !~ m{^https?://};
    return oauth_error($c, 400, 'invalid_client',
        'No application matches the supplied client identifier')
        if ($q->{client_id} // '') ne $S->{cfg}{client_id};
    return oauth_error($c, 400, 'invalid_request',
        "Invalid response_type: must be 'code'")
        if ($q->{response_type} // '') ne 'code';

    my $scope = $q->{scope} // 'read_only';
    return oauth_error($c, 400, 'invalid_scope',
        'Invalid scope: must be read_only or read_write')
        if $scope !~ /^(?:read_only|read_write)$/;

    my $url = Mojo::URL->new($redirect);

    if ($S->{cfg}{deny}) {
        $url->query->merge(error => 'access_denied',
            error_description => 'The user denied your request');
    } else {
        my $code = 'ac_' . random_token(24);

        $S->{codes}{$code} = { scope => $scope, expires => time() + 300,
            redirect_uri => $redirect };
        $url->query->merge(code => $code, scope => $scope);
    }

    $url->query->merge(state => $q->{state}) if defined $q->{state};

    $c->redirect_to($url);
};

sub platform_ok {
    my ($c, $p) = @_;

    my $key = request_key($c) // $p->{client_secret};

    return defined $key
        && FakeCommon::ct_equal($key, $ENVCFG{platform_key});
}

post '/oauth/token' => sub ($c) {
    return if !form_body_ok($c);

    my $p = $c->req->params->to_hash;

    $S->{stats}{last_token_request} = FakeCommon::redact_form($p,
        qw(code refresh_token client_secret));
    $S->{stats}{last_token_request}{basic_auth} =
        ($c->req->headers->authorization // '') =~ /^Basic/i ? \1 : \0;
    $S->{stats}{last_token_request}{bearer_auth} =
        ($c->req->headers->authorization // '') =~ /^Bearer/i ? \1 : \0;

    my $fault = FakeCommon::fault_take($S->{faults}, '/oauth/token');
    if ($fault && defined $fault->{status}) {
        $S->{stats}{faults_injected}++;
        return fault_error($c, $fault);
    }

    return oauth_error($c, 401, 'invalid_client',
        'No valid API key provided')
        if !platform_ok($c, $p);

    my $grant = $p->{grant_type} // '';

    if ($grant eq 'authorization_code') {
        $S->{stats}{token_calls}{authorization_code}++;

        my $code = delete $S->{codes}{ $p->{code} // '' };

        if (!$code || $code->{expires} < time()) {
            $S->{stats}{invalid_grant}++;
            my $shown = $p->{code} // '';
            $shown = substr($shown, 0, 7) . '...' if length $shown > 7;
            return oauth_error($c, 400, 'invalid_grant',
                "Authorization code does not exist: $shown");
        }

        my $want = $S->{cfg}{connect_account};
        my $acct = defined $want && $S->{accounts}{$want}
            ? $S->{accounts}{$want}
            : new_account($want // 'acct_'
                . substr(random_token(24) =~ s/[^A-Za-z0-9]//gr, 0, 16),
                'Connected ' . ($want // 'account'), 1);

        $acct->{deauthorized} = 0;

        return issue_tokens($c, $acct, $code->{scope});
    }

    if ($grant eq 'refresh_token') {
        $S->{stats}{token_calls}{refresh_token}++;

        my $rt = $S->{refresh}{ $p->{refresh_token} // '' };
        my $acct = $rt ? $S->{accounts}{ $rt->{account} } : undef;

        if (!$rt || !$rt->{valid} || !$acct || $acct->{deauthorized}) {
            $S->{stats}{invalid_grant}++;
            return oauth_error($c, 400, 'invalid_grant',
                'Invalid refresh token');
        }

        $rt->{valid} = 0;

        return issue_tokens($c, $acct, $rt->{scope});
    }

    oauth_error($c, 400, 'unsupported_grant_type',
        'Unsupported grant type');
};

sub issue_tokens {
    my ($c, $acct, $scope) = @_;

    my $access = 'sk_test_' . random_token(36);
    my $refresh = 'rt_' . random_token(36);
    my $ttl = $S->{cfg}{access_ttl};

    $S->{keys}{$access} = { account => $acct->{id}, kind => 'oauth',
        exp => $ttl ? time() + $ttl : 0, revoked => 0 };
    $S->{refresh}{$refresh} = { account => $acct->{id}, scope => $scope,
        valid => 1 };

    stripe_json($c, 200, {
        access_token => $access,
        livemode => \0,
        refresh_token => $refresh,
        token_type => 'bearer',
        stripe_publishable_key => 'pk_test_' . (random_token(24) =~ s/\W//gr),
        stripe_user_id => $acct->{id},
        scope => $scope,
    });
}

post '/oauth/deauthorize' => sub ($c) {
    return if !form_body_ok($c);

    my $p = $c->req->params->to_hash;

    return oauth_error($c, 401, 'invalid_client',
        'No valid API key provided')
        if !platform_ok($c, $p);
    return oauth_error($c, 400, 'invalid_client',
        'No application matches the supplied client identifier')
        if ($p->{client_id} // '') ne $S->{cfg}{client_id};

    my $id = $p->{stripe_user_id} // '';
    my $acct = $S->{accounts}{$id};

    return oauth_error($c, 400, 'invalid_client',
        "This application is not connected to stripe account $id")
        if !$acct || $acct->{deauthorized} || $id eq $PLATFORM;

    $acct->{deauthorized} = 1;
    $_->{account} eq $id and $_->{revoked} = 1 for values %{ $S->{keys} };
    $_->{account} eq $id and $_->{valid} = 0 for values %{ $S->{refresh} };

    stripe_json($c, 200, { stripe_user_id => $id });
};


###############################################################################
# API

my $api = under('/' => sub ($c) {
    my $path = $c->req->url->path->to_string;

    return 1 if $path !~ m{^/v1/};

    return FakeCommon::fault_gate($c, $S->{faults}, $S->{stats},
        \&fault_error);
});

my $authed = $api->under('/v1' => sub ($c) {
    my $key = request_key($c);

    if (!defined $key) {
        stripe_error($c, 401, message => 'You did not provide an API key.'
            . ' You need to provide your API key in the Authorization'
            . ' header, using Bearer auth (e.g. \'Authorization: Bearer'
            . ' YOUR_SECRET_KEY\').');
        return undef;
    }

    my $acct;
    my $hdr = $c->req->headers->header('Stripe-Account');

    if (FakeCommon::ct_equal($key, $ENVCFG{platform_key})) {
        $acct = $hdr // $PLATFORM;

        my $rec = $S->{accounts}{$acct};
        if (!$rec || $rec->{deauthorized}) {
            stripe_error($c, 403, code => 'account_invalid',
                message => "The provided key '" . masked($key)
                . "' does not have access to account '$acct' (or that"
                . ' account does not exist). Application access may have'
                . ' been revoked.');
            return undef;
        }

    } else {
        my $k = $S->{keys}{$key};

        if (!$k || $k->{revoked} || ($k->{exp} && $k->{exp} <= time())) {
            stripe_error($c, 401,
                message => 'Invalid API Key provided: ' . masked($key));
            return undef;
        }

        $acct = $k->{account};

        if (defined $hdr && $hdr ne $acct) {
            stripe_error($c, 403, code => 'account_invalid',
                message => "The provided key '" . masked($key)
                . "' does not have access to account '$hdr' (or that"
                . ' account does not exist).');
            return undef;
        }
    }

    my $now = now_ms();
    my $win = $S->{rate}{$acct} //= [];

    if (!FakeCommon::window_admit($win, $S->{cfg}{per_second}, 1000, $now)) {
        $S->{stats}{rate_limited}++;
        $c->res->headers->header('Retry-After' => $S->{cfg}{retry_after})
            if defined $S->{cfg}{retry_after};
        stripe_error($c, 429, code => 'rate_limit',
            message => 'Too many requests hit the API too quickly. We'
            . ' recommend an exponential backoff of your requests.');
        return undef;
    }

    return undef if !form_body_ok($c);

    $c->stash(account => $S->{accounts}{$acct});

    return 1;
});

$authed->get('/account' => sub ($c) {
    FakeCommon::count_call($S->{stats}, '/v1/account');

    my $acct = $c->stash('account');

    stripe_json($c, 200, {
        id => $acct->{id},
        object => 'account',
        business_profile => { name => $acct->{name}, url => undef,
            support_email => undef },
        business_type => 'company',
        capabilities => { card_payments => 'active',
            transfers => 'active' },
        charges_enabled => \1,
        country => 'DE',
        created => $acct->{created},
        default_currency => 'eur',
        details_submitted => \1,
        email => undef,
        metadata => {},
        payouts_enabled => \1,
        settings => { dashboard => { display_name => $acct->{name},
            timezone => 'Europe/Berlin' } },
        type => 'standard',
    });
});

for my $kind (qw(customers invoices charges)) {
    $authed->get("/$kind" => sub ($c) { list_objects($c, $kind) });
    $authed->get("/$kind/:id" => sub ($c) { get_object($c, $kind) });
}

$authed->any('/*rest' => { rest => '' } => sub ($c) {
    stripe_error($c, 404, message => 'Unrecognized request URL ('
        . $c->req->method . ': ' . $c->req->url->path . ').');
});

sub public {
    my ($o) = @_;

    return { map { $_ => $o->{$_} } grep { !/^_/ } keys %$o };
}

sub get_object {
    my ($c, $kind) = @_;

    FakeCommon::count_call($S->{stats}, "/v1/$kind/{id}");

    my $acct = $c->stash('account');
    my $id = $c->param('id');
    my $o = $acct->{by_id}{$id};

    return stripe_error($c, 404, code => 'resource_missing', param => 'id',
        message => "No such $KIND{$kind}: '$id'")
        if !$o || $o->{object} ne $KIND{$kind};

    stripe_json($c, 200, $o->{_json} //= encode_json(public($o)));
}

# newest first; equal times by the later-made object first, as Stripe

sub sorted_list {
    my ($acct, $kind) = @_;

    return $acct->{sorted}{$kind} //= [ sort {
        $b->{created} <=> $a->{created} || $b->{_seq} <=> $a->{_seq}
    } @{ $acct->{$kind} } ];
}

sub int_param {
    my ($c, $name, $v) = @_;

    return $v if $v =~ /^\d+$/;

    stripe_error($c, 400, code => 'parameter_invalid_integer',
        param => $name, message => "Invalid integer: $v");

    return undef;
}

sub list_objects {
    my ($c, $kind) = @_;

    FakeCommon::count_call($S->{stats}, "/v1/$kind");

    my $acct = $c->stash('account');
    my $q = $c->req->query_params;

    my $limit = $q->param('limit') // 10;
    int_param($c, 'limit', $limit) // return;
    return stripe_error($c, 400, code => 'parameter_invalid_integer',
        param => 'limit', message => 'Invalid limit: must be between 1 and'
        . ' 100')
        if $limit < 1 || $limit > 100;

    my ($after, $before) = ($q->param('starting_after'),
        $q->param('ending_before'));

    return stripe_error($c, 400, param => 'ending_before',
        message => 'You may only specify one of these parameters:'
        . ' starting_after, ending_before.')
        if defined $after && defined $before;

    my %created;

    for my $op (qw(gt gte lt lte)) {
        my $v = $q->param("created[$op]") // next;
        $created{$op} = int_param($c, "created[$op]", $v) // return;
    }

    if (defined(my $v = $q->param('created'))) {
        $created{gte} = $created{lte} = int_param($c, 'created', $v)
            // return;
    }

    my %eq;
    $eq{customer} = $q->param('customer')
        if defined $q->param('customer') && $kind ne 'customers';
    $eq{status} = $q->param('status')
        if defined $q->param('status') && $kind eq 'invoices';
    $eq{email} = $q->param('email')
        if defined $q->param('email') && $kind eq 'customers';

    my $sorted = sorted_list($acct, $kind);
    my @all = %created || %eq
        ? grep { list_match($_, \%created, \%eq) } @$sorted : @$sorted;

    my ($from, $to);

    if (defined $after || defined $before) {
        my $cursor = $after // $before;
        my $param = defined $after ? 'starting_after' : 'ending_before';
        my ($pos) = grep { $all[$_]{id} eq $cursor } 0 .. $#all;

        if (!defined $pos) {
            return stripe_error($c, 400, code => 'resource_missing',
                param => $param,
                message => "No such $KIND{$kind}: '$cursor'");
        }

        if (defined $after) {
            ($from, $to) = ($pos + 1, $pos + $limit);
        } else {
            ($from, $to) = ($pos - $limit, $pos - 1);
            $from = 0 if $from < 0;
        }

    } else {
        ($from, $to) = (0, $limit - 1);
    }

    $to = $#all if $to > $#all;

    my @page = $from <= $to ? @all[ $from .. $to ] : ();
    my $more = defined $before ? $from > 0 : $to < $#all;

    stripe_json($c, 200, '{"object":"list","data":['
        . join(',', map { $_->{_json} //= encode_json(public($_)) } @page)
        . '],"has_more":' . ($more ? 'true' : 'false')
        . ",\"url\":\"/v1/$kind\"}");
}

sub list_match {
    my ($o, $cr, $eq) = @_;

    return 0 if exists $cr->{gt} && $o->{created} <= $cr->{gt};
    return 0 if exists $cr->{gte} && $o->{created} < $cr->{gte};
    return 0 if exists $cr->{lt} && $o->{created} >= $cr->{lt};
    return 0 if exists $cr->{lte} && $o->{created} > $cr->{lte};

    for my $k (keys %$eq) {
        return 0 if ($o->{$k} // '') ne $eq->{$k};
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

    for my $k (qw(customers invoices charges mutate)) {
        return control_bad($c, "$k must be a non-negative integer")
            if defined $j->{$k} && $j->{$k} !~ /^\d+$/;
    }

    my @accts;

    if (defined $j->{account}) {
        return control_bad($c, 'account must look like acct_...')
            if $j->{account} !~ /^acct_\w+$/;
        push @accts, $S->{accounts}{ $j->{account} }
            // new_account($j->{account}, "Account $j->{account}", 0);
    } else {
        @accts = grep { $_->{id} ne $PLATFORM } values %{ $S->{accounts} };
    }

    my %out;

    for my $acct (@accts) {
        if (grep { defined $j->{$_} } qw(customers invoices charges)) {
            seed_account($acct, $j->{customers} // $ENVCFG{customers},
                $j->{invoices} // 0, $j->{charges} // 0,
                $j->{seed} // $ENVCFG{seed});
        }

        my $m = $j->{mutate} ? mutate_account($acct, $j->{mutate}) : [];

        $out{ $acct->{id} } = {
            customers => scalar @{ $acct->{customers} },
            invoices => scalar @{ $acct->{invoices} },
            charges => scalar @{ $acct->{charges} },
            mutated => $m,
        };
    }

    $c->render(json => { accounts => \%out });
};

post '/_fake/keys' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');

    return control_bad($c, 'key must start sk_test_ or rk_test_')
        if ($j->{key} // '') !~ /^(?:sk|rk)_test_\w+$/;
    return control_bad($c, 'account must look like acct_...')
        if ($j->{account} // '') !~ /^acct_\w+$/;

    $S->{accounts}{ $j->{account} }
        // new_account($j->{account}, "Account $j->{account}", 1);

    $S->{keys}{ $j->{key} } = { account => $j->{account}, kind => 'key',
        exp => 0, revoked => 0 };

    $c->render(json => { account => $j->{account} });
};

post '/_fake/faults' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');

    my $err = FakeCommon::fault_add($S->{faults}, $j, '/v1/');
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
        for my $k (grep { $_->{kind} eq 'oauth' } values %{ $S->{keys} }) {
            $action eq 'expire' ? ($k->{exp} = time() - 1)
                : ($k->{revoked} = 1);
            $n++;
        }
    }

    if ($which ne 'access') {
        $_->{valid} = 0, $n++ for values %{ $S->{refresh} };
    }

    $c->render(json => { affected => $n });
};

post '/_fake/config' => sub ($c) {
    my $j = body_json($c) // return control_bad($c, 'JSON object expected');

    for my $k (qw(access_ttl per_second)) {
        next if !exists $j->{$k};
        return control_bad($c, "$k must be a non-negative integer")
            if ($j->{$k} // '') !~ /^\d+$/;
        $S->{cfg}{$k} = 0 + $j->{$k};
    }

    if (exists $j->{retry_after}) {
        return control_bad($c, 'retry_after must be an integer or null')
            if defined $j->{retry_after} && $j->{retry_after} !~ /^\d+$/;
        $S->{cfg}{retry_after} = $j->{retry_after};
    }

    if (exists $j->{connect_account}) {
        return control_bad($c, 'connect_account must look like acct_...')
            if defined $j->{connect_account}
               && $j->{connect_account} !~ /^acct_\w+$/;
        $S->{cfg}{connect_account} = $j->{connect_account};
    }

    $S->{cfg}{deny} = $j->{deny} ? 1 : 0 if exists $j->{deny};

    $c->render(json => $S->{cfg});
};

get '/_fake/stats' => sub ($c) {
    $c->render(json => { %{ $S->{stats} },
        accounts => [ sort grep { $_ ne $PLATFORM }
            keys %{ $S->{accounts} } ] });
};

post '/_fake/reset' => sub ($c) {
    reset_state();
    $c->render(json => { reset => \1 });
};


hook after_dispatch => sub ($c) {
    FakeCommon::count_status($S->{stats}, $c->res->code)
        if $c->req->url->path->to_string =~ m{^/v1/};
};

reset_state();

app->log->level('warn');
app->secrets([ random_token(16) ]);
app->start;
