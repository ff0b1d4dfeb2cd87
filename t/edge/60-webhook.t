#!/usr/bin/perl

# hubgate_webhook with file secrets (secret=), one location per scheme:
# stripe, standard (and its svix-* names), github (and GitHub's documented
# vector), square, intuit, mailchimp, and the generic hmac with hex,
# base64, sha1 with a prefix, and sha512 over "<ts>.<body>".  For each:
# a valid delivery reaches the backend with the raw body byte-exact, one
# X-Hubgate-Webhook set by the module (scheme=..., ;id=... for standard
# and github) and an X-Hubgate-Auth over it; a tampered body, a wrong
# secret, a missing or malformed header, a stale or future timestamp are
# 401 and reach nothing; the same delivery twice passes twice (the
# sidecar deduplicates); a client-sent X-Hubgate-Webhook never reaches
# the backend.  Rotation: two secret= files, two lines in one file, two
# v1 in one Stripe-Signature.  $hubgate_webhook_status and
# $hubgate_webhook_id, and the webhooks counters of hubgate_status.
#
# The signers are Perl (t/lib/Hubgate/Webhook.pm), independent of
# ngx_module/hg_webhook.c.  secret_request is in 62-webhook-secret-request.t,
# pubsub in 63-webhook-pubsub.t, bodies in 61-webhook-body.t and nginx -t
# in 64-webhook-config.t.

use strict;
use warnings;

use Digest::SHA ();
use JSON::PP;
use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);
use Hubgate::Webhook qw(:all);

# a response body as JSON, or {}: a failed request fails its own
# assertions, not the rest of the file
sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

###############################################################################
# secrets

my $ikey = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
$t->write_file('identity.secret', "$ikey\n");

my %S = (
    stripe    => 'whsec_' . new_id(),
    stripe_a  => 'whsec_' . new_id(),
    stripe_b  => 'whsec_' . new_id(),
    standard  => whsec_new(24),
    standard2 => whsec_new(32),
    github    => 'gh-' . new_id(),
    github2   => 'gh-' . new_id(),
    githubdoc => "It's a Secret to Everybody",
    square    => 'sq-' . new_id(),
    intuit    => 'verifier-' . new_id(),
    mailchimp => new_id('mc'),
    mailchimp2 => new_id('mc'),
    hmac      => 'hm-' . new_id(),
);

$t->write_file('stripe.whsec', "$S{stripe}\n");
$t->write_file('stripe-a.whsec', "$S{stripe_a}\n");
$t->write_file('stripe-b.whsec', "$S{stripe_b}");
# one file, two secrets: CRLF, a blank line, trailing blanks trimmed
$t->write_file('standard.whsec', "$S{standard}\r\n\r\n$S{standard2} \t\n");
$t->write_file('github.secret', "$S{github}\n$S{github2}\r\n");
$t->write_file('github-doc.secret', "$S{githubdoc}\n");
$t->write_file('square.secret', "$S{square}\n");
$t->write_file('intuit.secret', "$S{intuit}\n");
$t->write_file('mailchimp.secret', "$S{mailchimp}\n$S{mailchimp2}\n");
$t->write_file('hmac.secret', "$S{hmac}\n");

my $SQ_UUID = new_uuid();
my $SQ_URL = "https://hooks.example.com/api/v1/webhooks/square/$SQ_UUID";

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF' =~ s/SQ_URL/$SQ_URL/r);
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;

        client_max_body_size 1m;
        client_body_buffer_size 1m;

        proxy_set_header X-WH-Status $hubgate_webhook_status;
        proxy_set_header X-WH-Id $hubgate_webhook_id;
        add_header X-WH-Status $hubgate_webhook_status always;
        add_header X-WH-Id $hubgate_webhook_id always;

        location ~ "^/api/v1/webhooks/stripe/(?<hg_integration>[0-9a-f-]{36})$" {
            hubgate_webhook stripe secret=%%TESTDIR%%/stripe.whsec;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/stripe-rotation/ {
            hubgate_webhook stripe secret=%%TESTDIR%%/stripe-a.whsec
                                   secret=%%TESTDIR%%/stripe-b.whsec;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/stripe-tolerance/ {
            hubgate_webhook stripe secret=%%TESTDIR%%/stripe.whsec
                                   tolerance=60s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/standard/ {
            hubgate_webhook standard secret=%%TESTDIR%%/standard.whsec;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/github/ {
            hubgate_webhook github secret=%%TESTDIR%%/github.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/github-doc/ {
            hubgate_webhook github secret=%%TESTDIR%%/github-doc.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/square/ {
            hubgate_webhook square secret=%%TESTDIR%%/square.secret
                                   url=SQ_URL;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/quickbooks/ {
            hubgate_webhook intuit secret=%%TESTDIR%%/intuit.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/mailchimp/ {
            hubgate_webhook mailchimp secret=%%TESTDIR%%/mailchimp.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/mailchimp-param/ {
            hubgate_webhook mailchimp secret=%%TESTDIR%%/mailchimp.secret
                                      param=token;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/hmac-hex/ {
            hubgate_webhook hmac secret=%%TESTDIR%%/hmac.secret
                                 header=X-Signature;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/hmac-base64/ {
            hubgate_webhook hmac secret=%%TESTDIR%%/hmac.secret
                                 header=X-Shopify-Hmac-Sha256
                                 alg=sha256 encoding=base64;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/hmac-sha1/ {
            hubgate_webhook hmac secret=%%TESTDIR%%/hmac.secret
                                 header=X-Hub-Signature alg=sha1
                                 prefix=sha1=;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/hmac-ts/ {
            hubgate_webhook hmac secret=%%TESTDIR%%/hmac.secret
                                 header=X-Sig alg=sha512 encoding=hex
                                 prefix=v1= timestamp_header=X-Timestamp
                                 tolerance=120s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /_hubgate/status {
            hubgate_status;
        }
    }
}
EOF

$t->run;

###############################################################################
# helpers

sub forwarded {
    return scalar(() = $t->backend_requests('backend_8081'));
}

# post(sign(...)) with the body first: deliver($body, $uri, @headers)
sub deliver {
    my ($body, $uri, @headers) = @_;
    return post($uri, $body, @headers);
}

sub post {
    my ($uri, $body, @headers) = @_;
    return $t->request(POST => $uri, body => $body,
        headers => [ 'Content-Type' => 'application/json', @headers ]);
}

# the value of a header in a list of pairs (case-insensitive)
sub hval {
    my ($name, @pairs) = @_;
    while (my ($n, $v) = splice @pairs, 0, 2) {
        return $v if lc $n eq lc $name;
    }
    return undef;
}

sub without {
    my ($re, @pairs) = @_;
    my @out;
    while (my ($n, $v) = splice @pairs, 0, 2) {
        push @out, $n, $v if $n !~ $re;
    }
    return @out;
}

sub replace {
    my ($name, $value, @pairs) = @_;
    return (without(qr/^\Q$name\E$/i, @pairs), $name => $value);
}

# one byte of the body changed (the same length)
sub tamper {
    my ($body) = @_;
    my $i = int(length($body) / 2);
    my $c = substr($body, $i, 1);
    substr($body, $i, 1) = $c eq 'x' ? 'y' : 'x';
    return $body;
}

sub status_json {
    return js($t->request(GET => '/_hubgate/status'));
}

# a rejection: status, $hubgate_webhook_status in the answer
sub rejected {
    my ($name, $r, $reason, $code) = @_;
    $code //= 401;
    is($r->status, $code, "$name: $code");
    is($r->header('X-WH-Status') // '', $reason,
        "$name: \$hubgate_webhook_status is $reason");
}

# a verified delivery as the backend saw it
sub verified {
    my ($name, $r, %w) = @_;

    my $seen = js($r);
    my $h = $seen->{headers} || {};

    is($r->status, 200, "$name: 200") or diag($r->raw);
    ok(defined $seen->{body} && $seen->{body} eq $w{body}
        && ($seen->{body_sha256} // '') eq Digest::SHA::sha256_hex($w{body}),
        "$name: the backend got the raw body byte-exact");
    is_deeply($h->{'x-hubgate-webhook'}, [ $w{webhook} ],
        "$name: one X-Hubgate-Webhook: $w{webhook}");
    my $ts = verify_identity($ikey, ($h->{'x-hubgate-auth'} || [])->[0],
        method => 'POST', uri => $w{uri}, webhook => $w{webhook});
    ok(defined $ts && abs($ts - time) <= 60,
        "$name: X-Hubgate-Auth signs it (no tenant, subject, roles), now");
    is_deeply([ grep { $h->{"x-hubgate-$_"} } qw(tenant subject roles) ],
        [], "$name: no X-Hubgate-Tenant, -Subject, -Roles");
    is(($h->{'x-wh-status'} || [])->[0], 'OK',
        "$name: \$hubgate_webhook_status OK (as proxied)");
    # without an id of the scheme's, the event id hubgated stores: the
    # body's SHA-256
    my $want = ($w{id} // '') ne '' ? $w{id}
        : 'sha256:' . Digest::SHA::sha256_hex($w{body});
    is($r->header('X-WH-Id') // '', $want,
        "$name: \$hubgate_webhook_id is '$want'");

    return $seen;
}

###############################################################################
# every scheme, the same checks
#
# sign->($body, $secret, %opts) returns ($uri, @headers); opts: t.

my $ST_UUID = new_uuid();
my $now = time;

my @schemes = (
    {
        label => 'stripe',
        scheme => 'stripe',
        body => qq({\r\n  "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",\r\n)
            . qq(  "object": "event", "type": "invoice.paid",\r\n)
            . qq(  "data": {"note": "caf\xc3\xa9 \\r\\n \\u00e9"}\r\n}\r\n),
        payload_id => 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
        secret => $S{stripe},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ("/api/v1/webhooks/stripe/$ST_UUID",
                stripe_sign($body, secret => $secret, %o));
        },
        missing => qr/^Stripe-Signature$/i,
        malformed => [ 'Stripe-Signature' => 't=abc,v1=' . ('0' x 64) ],
        tolerance => 300,
        future_ok => 1,
    },
    {
        label => 'standard',
        scheme => 'standard',
        body => qq({"type":"user.created","data":{"id":"u_1","name":"J\xc3\xb6rg"}}),
        id_header => 'webhook-id',
        secret => $S{standard},
        wrong => sub { whsec_new(24) },
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/standard/' . new_uuid(),
                standard_sign($body, secret => $secret, %o));
        },
        missing => qr/^webhook-signature$/i,
        malformed => [ 'webhook-signature' => 'v1,not base64!' ],
        tolerance => 300,
    },
    {
        label => 'github',
        scheme => 'github',
        body => qq({"action":"opened","number":1,"pull_request":{"title":"\xe2\x9c\x93"}}\n),
        id_header => 'X-GitHub-Delivery',
        secret => $S{github},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/github/' . new_uuid(),
                github_sign($body, secret => $secret, %o),
                'X-GitHub-Event' => 'pull_request');
        },
        missing => qr/^X-Hub-Signature-256$/i,
        malformed => [ 'X-Hub-Signature-256' => 'sha1=' . ('0' x 40) ],
    },
    {
        label => 'square',
        scheme => 'square',
        body => qq({"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated",)
            . qq("event_id":"13b867cf-db3d-4b1c-90b6-2f32a9d78124",)
            . qq("created_at":"2020-02-06T21:27:34.308Z","data":{}}),
        payload_id => '13b867cf-db3d-4b1c-90b6-2f32a9d78124',
        secret => $S{square},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ("/api/v1/webhooks/square/$SQ_UUID",
                square_sign($body, secret => $secret, url => $SQ_URL));
        },
        missing => qr/^x-square-hmacsha256-signature$/i,
        malformed => [ 'x-square-hmacsha256-signature' => 'abc' ],
    },
    {
        label => 'intuit',
        scheme => 'intuit',
        body => qq({"specversion":"1.0","id":"88cd52a5-ae2a-4b2b-b3d8-ba8f5e53d3b9",)
            . qq("source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",)
            . qq("type":"qbo.customer.created.v1","time":"2025-01-15T10:00:00Z",)
            . qq("intuitentityid":"1234","intuitaccountid":"310687",)
            . qq("data":{}}),
        payload_id => '88cd52a5-ae2a-4b2b-b3d8-ba8f5e53d3b9',
        secret => $S{intuit},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/quickbooks/' . new_uuid(),
                intuit_sign($body, secret => $secret));
        },
        missing => qr/^intuit-signature$/i,
        malformed => [ 'intuit-signature' => '!!!' ],
    },
    {
        label => 'mailchimp',
        scheme => 'mailchimp',
        unsigned => 1,
        body => 'type=subscribe&fired_at=2009-03-26+21%3A35%3A57'
            . '&data%5Bemail%5D=api%40mailchimp.com',
        secret => $S{mailchimp},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return (mailchimp_url('/api/v1/webhooks/mailchimp/' . new_uuid(),
                $secret));
        },
        # the key is in the URL: "missing" is a URL without it
        missing_uri => sub { '/api/v1/webhooks/mailchimp/' . new_uuid() },
        malformed_uri => sub {
            mailchimp_url(mailchimp_url('/api/v1/webhooks/mailchimp/'
                . new_uuid(), $S{mailchimp}), $S{mailchimp})
        },
    },
    {
        label => 'hmac hex',
        scheme => 'hmac',
        body => qq({"event":"order.created","id":42,"s":"\xf0\x9f\x98\x80"}),
        secret => $S{hmac},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/hmac-hex/' . new_uuid(),
                hmac_sign($body, secret => $secret, header => 'X-Signature'));
        },
        missing => qr/^X-Signature$/i,
        malformed => [ 'X-Signature' => 'zz' . ('0' x 62) ],
    },
    {
        label => 'hmac base64',
        scheme => 'hmac',
        body => qq({"id":820982911946154508,"email":"jon\@doe.ca"}),
        secret => $S{hmac},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/hmac-base64/' . new_uuid(),
                hmac_sign($body, secret => $secret,
                    header => 'X-Shopify-Hmac-Sha256', encoding => 'base64'),
                'X-Shopify-Topic' => 'orders/create');
        },
        missing => qr/^X-Shopify-Hmac-Sha256$/i,
        malformed => [ 'X-Shopify-Hmac-Sha256' => ('A' x 10) ],
    },
    {
        label => 'hmac sha1 prefix',
        scheme => 'hmac',
        body => qq({"zen":"Design for failure."}),
        secret => $S{hmac},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/hmac-sha1/' . new_uuid(),
                hmac_sign($body, secret => $secret, header => 'X-Hub-Signature',
                    alg => 'sha1', prefix => 'sha1='));
        },
        missing => qr/^X-Hub-Signature$/i,
        # the hex without its prefix
        malformed => [ 'X-Hub-Signature' => '0' x 40 ],
    },
    {
        label => 'hmac sha512 timestamped',
        scheme => 'hmac',
        body => qq({"event":"charge","amount":"12.30"}),
        secret => $S{hmac},
        sign => sub {
            my ($body, $secret, %o) = @_;
            return ('/api/v1/webhooks/hmac-ts/' . new_uuid(),
                hmac_sign($body, secret => $secret, header => 'X-Sig',
                    alg => 'sha512', prefix => 'v1=',
                    timestamp_header => 'X-Timestamp', t => $o{t}));
        },
        missing => qr/^X-Timestamp$/i,
        malformed => [ 'X-Timestamp' => '12a' ],
        tolerance => 120,
    },
);

for my $s (@schemes) {
    $s->{wrong} //= sub { 'not-the-secret-' . new_id() };
}

for my $s (@schemes) {
    my $L = $s->{label};
    my $body = $s->{body};

    my ($uri, @h) = $s->{sign}->($body, $s->{secret});
    my $webhook = "scheme=$s->{scheme}" . (defined $s->{id_header}
        ? ';id=' . hval($s->{id_header}, @h) : '');
    my $id = defined $s->{id_header} ? hval($s->{id_header}, @h)
        : $s->{payload_id};

    my $before = forwarded();
    my $r = post($uri, $body, @h);
    verified("$L: valid", $r, body => $body, uri => $uri, webhook => $webhook,
        id => $id);
    is(forwarded(), $before + 1, "$L: forwarded once");

    # rejections reach nothing
    $before = forwarded();

    if (!$s->{unsigned}) {
        rejected("$L: tampered body", post($uri, tamper($body), @h),
            'signature');
    }

    rejected("$L: wrong secret",
        deliver($body, $s->{sign}->($body, $s->{wrong}->())),
        'signature');

    if ($s->{missing}) {
        rejected("$L: header missing",
            post($uri, $body, without($s->{missing}, @h)), 'missing');
        rejected("$L: malformed header",
            post($uri, $body, replace(@{ $s->{malformed} }, @h)), 'format');
        rejected("$L: no headers at all", post($uri, $body), 'missing');
    } else {
        rejected("$L: key missing", post($s->{missing_uri}->(), $body),
            'missing');
        rejected("$L: key twice", post($s->{malformed_uri}->(), $body),
            'format');
    }

    if (my $tol = $s->{tolerance}) {
        rejected("$L: stale (t = now - $tol - 100)",
            deliver($body, $s->{sign}->($body, $s->{secret},
                t => time - $tol - 100)), 'stale');
        if ($s->{future_ok}) {
            is(deliver($body, $s->{sign}->($body, $s->{secret},
                t => time + $tol + 100))->status, 200,
                "$L: ahead (t = now + $tol + 100): 200, as the provider's"
                . " own libraries accept");
            $before++;          # that one was forwarded
        } else {
            rejected("$L: future (t = now + $tol + 100)",
                deliver($body, $s->{sign}->($body, $s->{secret},
                    t => time + $tol + 100)), 'future');
        }
        # the signature first: an unsigned request learns nothing of our clock
        rejected("$L: stale and a wrong secret",
            deliver($body, $s->{sign}->($body, $s->{wrong}->(),
                t => time - 3 * $tol)), 'signature');
    }

    is(forwarded(), $before, "$L: no rejected delivery reached the backend");

    if (my $tol = $s->{tolerance}) {
        my $half = int($tol / 2);
        is(deliver($body, $s->{sign}->($body, $s->{secret},
            t => time - $half))->status, 200,
            "$L: t = now - $half (within the tolerance): 200");
        is(deliver($body, $s->{sign}->($body, $s->{secret},
            t => time + $half))->status, 200,
            "$L: t = now + $half (within the tolerance): 200");
    }

    # the same delivery twice: the edge does not deduplicate
    $before = forwarded();
    my @twice = map { post($uri, $body, @h)->status } 1 .. 2;
    is("@twice", '200 200', "$L: the same delivery twice: 200 both times");
    is(forwarded(), $before + 2, "$L: both forwarded (dedup is the sidecar's)");

    # a client-sent X-Hubgate-Webhook / X-Hubgate-Auth never arrive
    $r = post($uri, $body, 'X-Hubgate-Webhook' => 'scheme=stripe;id=evil',
        'X-Hubgate-Auth' => 't=1,v1=' . ('0' x 64),
        'X-Hubgate-Tenant' => 'evil', @h,
        'x-hubgate-webhook' => 'scheme=hmac');
    my $seen = js($r)->{headers} || {};
    is_deeply($seen->{'x-hubgate-webhook'}, [ $webhook ],
        "$L: forged X-Hubgate-Webhook replaced by the module's");
    ok(defined verify_identity($ikey, ($seen->{'x-hubgate-auth'} || [])->[0],
        method => 'POST', uri => $uri, webhook => $webhook)
        && @{ $seen->{'x-hubgate-auth'} } == 1,
        "$L: one X-Hubgate-Auth, the module's");
    ok(!$seen->{'x-hubgate-tenant'}, "$L: forged X-Hubgate-Tenant removed");
}

###############################################################################
# scheme details

# GitHub's documented example, header value as published

{
    my $sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f'
        . '4379c8b043e17';
    is(hval('X-Hub-Signature-256', github_sign('Hello, World!',
        secret => "It's a Secret to Everybody")), $sig,
        'github_sign reproduces GitHub\'s documented signature');

    my $uri = '/api/v1/webhooks/github-doc/' . new_uuid();
    my $r = $t->request(POST => $uri, body => 'Hello, World!', headers => [
        'Content-Type' => 'text/plain',
        'X-Hub-Signature-256' => $sig,
        'X-GitHub-Delivery' => '72d3162e-cc78-11e3-81ab-4c9367dc0958' ]);
    verified('github documented vector', $r, body => 'Hello, World!',
        uri => $uri,
        webhook => 'scheme=github;id=72d3162e-cc78-11e3-81ab-4c9367dc0958',
        id => '72d3162e-cc78-11e3-81ab-4c9367dc0958');

    rejected('github documented vector, one letter of the secret off',
        $t->request(POST => $uri, body => 'Hello, World!', headers => [
            github_sign('Hello, World!',
                secret => "It's a secret to everybody") ]), 'signature');
}

# github without X-GitHub-Delivery: no id; an id with ";id=" in it is the
# whole rest of the value

{
    my $body = '{"zen":"Keep it logically awesome."}';
    my $uri = '/api/v1/webhooks/github/' . new_uuid();
    verified('github without X-GitHub-Delivery',
        post($uri, $body, github_sign($body, secret => $S{github},
            delivery => undef)),
        body => $body, uri => $uri, webhook => 'scheme=github', id => '');

    my $odd = 'abc;id=x=y';
    verified('github delivery id holding ";id="',
        post($uri, $body, github_sign($body, secret => $S{github},
            delivery => $odd)),
        body => $body, uri => $uri, webhook => "scheme=github;id=$odd",
        id => $odd);

    rejected('github delivery id with a control byte',
        post($uri, $body, github_sign($body, secret => $S{github},
            delivery => "bad\x01id")), 'format');
}

# rotation: a request signed by either secret passes

{
    my $body = '{"id":"evt_rot","type":"customer.updated"}';
    my $uri = '/api/v1/webhooks/stripe-rotation/' . new_uuid();

    is(post($uri, $body, stripe_sign($body, secret => $S{stripe_a}))->status,
        200, 'rotation: two secret= files, signed by the first: 200');
    is(post($uri, $body, stripe_sign($body, secret => $S{stripe_b}))->status,
        200, 'rotation: signed by the second (no final newline): 200');
    rejected('rotation: signed by neither',
        post($uri, $body, stripe_sign($body, secret => $S{stripe})),
        'signature');
    is(post($uri, $body, stripe_sign($body,
        secret => [ $S{stripe}, $S{stripe_b} ]))->status, 200,
        'rotation: two v1, the second one matches: 200');
    is(post($uri, $body, stripe_sign($body, secret => $S{stripe_a},
        extra => [ 'v0=' . ('0' x 64), 'v1=' . ('a' x 64) ]))->status, 200,
        'rotation: v0 and a bogus v1 besides a good v1: 200');

    my $suri = '/api/v1/webhooks/standard/' . new_uuid();
    for my $k (qw(standard standard2)) {
        my @h = standard_sign($body, secret => $S{$k});
        is(post($suri, $body, @h)->status, 200,
            "rotation: standard, line " . ($k eq 'standard' ? 1 : 2)
            . " of one file (CRLF, blank line, trailing blanks): 200");
    }
    is(post($suri, $body, standard_sign($body,
        secret => [ whsec_new(), $S{standard2} ]))->status, 200,
        'rotation: standard, "v1,<a> v1,<b>", the second matches: 200');

    my $guri = '/api/v1/webhooks/github/' . new_uuid();
    is(post($guri, $body, github_sign($body, secret => $S{github2}))->status,
        200, 'rotation: github, second line of one file: 200');

    my $muri = '/api/v1/webhooks/mailchimp/' . new_uuid();
    is(post(mailchimp_url($muri, $S{mailchimp2}), $body)->status, 200,
        'rotation: mailchimp, second key: 200');
}

# standard: svix-* names; only v1 entries count

{
    my $body = '{"type":"invoice.created"}';
    my $uri = '/api/v1/webhooks/standard/' . new_uuid();
    my @h = standard_sign($body, secret => $S{standard}, svix => 1);
    my $id = hval('svix-id', @h);
    verified('standard with svix-* headers', post($uri, $body, @h),
        body => $body, uri => $uri, webhook => "scheme=standard;id=$id",
        id => $id);

    my @v = standard_sign($body, secret => $S{standard});
    my $good = hval('webhook-signature', @v);
    my ($b64) = $good =~ /^v1,(.*)$/;
    rejected('standard: the right MAC under "v1a," only',
        post($uri, $body, replace('webhook-signature', "v1a,$b64", @v)),
        'format');
    is(post($uri, $body, replace('webhook-signature',
        "v1a,$b64 v1,$b64", @v))->status, 200,
        'standard: "v1a,..." ignored beside a good "v1,..."');
    rejected('standard: the id is signed',
        post($uri, $body, replace('webhook-id', 'msg_other', @v)),
        'signature');
    rejected('standard: the timestamp is signed',
        post($uri, $body, replace('webhook-timestamp',
            hval('webhook-timestamp', @v) + 1, @v)), 'signature');
}

# square: the notification URL is part of the signed payload

{
    my $body = '{"merchant_id":"M1","type":"payment.created",'
        . '"event_id":"e-url","data":{}}';
    my $uri = "/api/v1/webhooks/square/$SQ_UUID";
    rejected('square: signed for another notification URL',
        post($uri, $body, square_sign($body, secret => $S{square},
            url => 'https://hooks.example.com/api/v1/webhooks/square/'
                . new_uuid())), 'signature');
    rejected('square: signed over the body alone',
        post($uri, $body, square_sign($body, secret => $S{square}, url => '')),
        'signature');
    rejected('square: signed for the URL as called here',
        post($uri, $body, square_sign($body, secret => $S{square},
            url => 'http://localhost' . $uri)), 'signature');
}

# stripe: the payload id of a JSON body holding the escape \u0000 (valid
# JSON, RFC 8259: parsed with JSON_ALLOW_NUL)

{
    my $body = '{"id":"evt_nul","type":"charge.succeeded",'
        . '"data":{"s":"a\\u0000b"}}';
    my $uri = "/api/v1/webhooks/stripe/$ST_UUID";
    my $r = post($uri, $body, stripe_sign($body, secret => $S{stripe}));
    is($r->status, 200, 'stripe: a payload holding \\u0000: 200');
    is($r->header('X-WH-Id') // '', 'evt_nul',
        'stripe: a payload holding \\u0000: $hubgate_webhook_id evt_nul');
}

# stripe: tolerance=60s

{
    my $body = '{"id":"evt_tol","type":"charge.succeeded"}';
    my $uri = '/api/v1/webhooks/stripe-tolerance/' . new_uuid();
    is(post($uri, $body, stripe_sign($body, secret => $S{stripe},
        t => time - 30))->status, 200, 'tolerance=60s: 30 s old: 200');
    rejected('tolerance=60s: 120 s old',
        post($uri, $body, stripe_sign($body, secret => $S{stripe},
            t => time - 120)), 'stale');
    is(post($uri, $body, stripe_sign($body, secret => $S{stripe},
        t => time + 120))->status, 200,
        'tolerance=60s: 120 s ahead: 200 (Stripe refuses only the old)');
}

# mailchimp: param=token

{
    my $body = 'type=unsubscribe&data%5Bemail%5D=a%40b.c';
    my $uri = '/api/v1/webhooks/mailchimp-param/' . new_uuid();
    verified('mailchimp param=token',
        post(mailchimp_url($uri, $S{mailchimp}, param => 'token'), $body),
        body => $body,
        uri => mailchimp_url($uri, $S{mailchimp}, param => 'token'),
        webhook => 'scheme=mailchimp', id => '');
    rejected('mailchimp param=token: the key under ?key=',
        post(mailchimp_url($uri, $S{mailchimp}), $body), 'missing');
    rejected('mailchimp: a prefix of the key',
        post(mailchimp_url($uri, substr($S{mailchimp}, 0, -1),
            param => 'token'), $body), 'signature');
}

###############################################################################
# counters: the exact change each outcome makes under "webhooks"

sub webhook_counters {
    my $s = status_json()->{webhooks} || {};
    my %f = (accepted => $s->{accepted} // 0);
    $f{"rejected.$_"} = $s->{rejected}{$_} // 0
        for keys %{ $s->{rejected} || {} };
    return \%f;
}

{
    my $s = status_json();
    ok(exists $s->{webhooks}{accepted}, 'status: webhooks.accepted');
    is_deeply([ sort keys %{ $s->{webhooks}{rejected} || {} } ],
        [ sort qw(missing format stale future signature no_secret
            unavailable) ], 'status: webhooks.rejected has every reason');
}

sub changes {
    my ($name, $action, $want) = @_;
    my $before = webhook_counters();
    $action->();
    my $after = webhook_counters();
    my %d;
    for my $k (keys %$after) {
        my $n = $after->{$k} - ($before->{$k} // 0);
        $d{$k} = $n if $n;
    }
    is_deeply(\%d, $want, "counters: $name") or diag(explain(\%d));
}

{
    my $body = '{"id":"evt_count","type":"ping"}';
    my $uri = "/api/v1/webhooks/stripe/$ST_UUID";

    changes('accepted', sub {
        post($uri, $body, stripe_sign($body, secret => $S{stripe}));
    }, { accepted => 1 });
    changes('missing', sub { post($uri, $body) }, { 'rejected.missing' => 1 });
    changes('format', sub {
        post($uri, $body, 'Stripe-Signature' => 'garbage');
    }, { 'rejected.format' => 1 });
    changes('stale', sub {
        post($uri, $body, stripe_sign($body, secret => $S{stripe},
            t => time - 1000));
    }, { 'rejected.stale' => 1 });
    changes('future', sub {
        post('/api/v1/webhooks/standard/' . new_uuid(), $body,
            standard_sign($body, secret => $S{standard}, t => time + 1000));
    }, { 'rejected.future' => 1 });
    changes('signature', sub {
        post($uri, tamper($body), stripe_sign($body, secret => $S{stripe}));
    }, { 'rejected.signature' => 1 });
    changes('a request elsewhere changes nothing', sub {
        $t->request(GET => '/_hubgate/status');
    }, {});

    # Prometheus agrees with the JSON
    my $c = webhook_counters();
    my $prom = $t->request(GET => '/_hubgate/status?format=prometheus')->body
        // '';
    like($prom, qr/^hubgate_webhook_accepted_total \Q$c->{accepted}\E$/m,
        'prometheus: hubgate_webhook_accepted_total');
    my @bad = grep {
        my ($reason) = /^rejected\.(.*)/;
        $prom !~ /^hubgate_webhook_rejected_total\{reason="\Q$reason\E"\} \Q$c->{$_}\E$/m
    } grep { /^rejected\./ } sort keys %$c;
    is("@bad", '', 'prometheus: hubgate_webhook_rejected_total per reason');
}

$t->done_testing;
