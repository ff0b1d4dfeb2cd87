#!/usr/bin/perl

# hubgate_webhook ... secret_request=<uri>: the secrets come from hubgated
# through an internal location (here a Perl backend playing the sidecar,
# answering per integration what the test published).  The subrequest is a
# GET without a body, signed with X-Hubgate-Webhook: secret-request; the
# answer {"secrets":[...]} is cached in hubgate_webhook_cache for
# secret_ttl; 404 is the provider's 404 (unknown integration), 5xx, a
# refused connection or a timeout are 503; a secret rotated at the
# sidecar takes effect once secret_ttl=1s is over, old and new both
# accepted while the sidecar lists both.

use strict;
use warnings;

use JSON::PP;
use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);
use Hubgate::Webhook qw(:all);

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $dir = $t->testdir;
my $ikey = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
$t->write_file('identity.secret', "$ikey\n");

# the sidecar: GET /api/v1/webhook-secrets/<provider>/<uuid> answers
# sc/<uuid>.body with the status in sc/<uuid>.status (404 not_found when
# nothing was published); status "sleep" answers 200 after 3 s

sub publish {
    my ($uuid, $body, $status) = @_;
    $t->write_file("sc/$uuid.status.tmp", $status // 200);
    rename "$dir/sc/$uuid.status.tmp", "$dir/sc/$uuid.status";
    $t->write_file("sc/$uuid.body.tmp", $body);
    rename "$dir/sc/$uuid.body.tmp", "$dir/sc/$uuid.body";
}

sub secrets {
    my ($uuid, @secrets) = @_;
    publish($uuid, encode_json({ secrets => \@secrets }));
}

$t->backend(port => 8083, name => 'sidecar', handler => sub {
    my ($req) = @_;

    my $nf = '{"error":{"code":"not_found","message":"no such integration"}}';
    my ($uuid) = $req->{uri}
        =~ m{^/api/v1/webhook-secrets/[a-z]+/([0-9a-f-]{36})$}
        or return (404, { 'Content-Type' => 'application/json' }, $nf);

    my $read = sub {
        open my $fh, '<', "$dir/sc/$uuid.$_[0]" or return undef;
        local $/;
        return scalar <$fh>;
    };

    my $status = $read->('status') // 404;
    my $body = $read->('body') // $nf;

    if ($status eq 'sleep') {
        sleep 3;
        $status = 200;
    }

    return ($status, { 'Content-Type' => 'application/json' }, $body);
});

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

worker_processes 2;

http {
    hubgate_webhook_cache zone=whsec:1m;

    server {
        # one listening socket per worker: connections spread over both
        listen 127.0.0.1:%%PORT_8080%% reuseport;
        server_name localhost;

        add_header X-Pid $pid always;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;

        add_header X-WH-Status $hubgate_webhook_status always;
        add_header X-WH-Id $hubgate_webhook_id always;

        # as in the contract
        location ~ "^/api/v1/webhooks/stripe/(?<hg_integration>[0-9a-f-]{36})$" {
            client_max_body_size 1m;
            client_body_buffer_size 1m;
            hubgate_webhook stripe secret_request=/api/v1/webhook-secrets/stripe/$hg_integration secret_ttl=60s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location ~ "^/api/v1/webhooks/github/(?<hg_integration>[0-9a-f-]{36})$" {
            hubgate_webhook github secret_request=/api/v1/webhook-secrets/github/$hg_integration secret_ttl=1s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the sidecar does not listen
        location ~ "^/api/v1/webhooks/down/(?<hg_integration>[0-9a-f-]{36})$" {
            hubgate_webhook stripe secret_request=/api/v1/webhook-down/stripe/$hg_integration;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the sidecar answers too late
        location ~ "^/api/v1/webhooks/slow/(?<hg_integration>[0-9a-f-]{36})$" {
            hubgate_webhook stripe secret_request=/api/v1/webhook-slow/stripe/$hg_integration;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # a capture that lets anything through to secret_request
        location ~ "^/api/v1/webhooks/loose/(?<hg_integration>.+)$" {
            hubgate_webhook stripe secret_request=/api/v1/webhook-secrets/stripe/$hg_integration;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhook-secrets/ {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_8083%%;
        }

        location /api/v1/webhook-down/ {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_8099%%;
        }

        location /api/v1/webhook-slow/ {
            internal;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%%PORT_8083%%/api/v1/webhook-secrets/;
        }

        location = /_hubgate/status {
            hubgate_status;
        }
    }
}
EOF

$t->run;

sub forwarded {
    return scalar(() = $t->backend_requests('backend_8081'));
}

# the sidecar's requests for one integration
sub fetches {
    my ($uuid) = @_;
    return grep { ($_->{uri} // '') =~ /\Q$uuid\E$/ }
        $t->backend_requests('sidecar');
}

sub post {
    my ($uri, $body, @headers) = @_;
    return $t->request(POST => $uri, body => $body,
        headers => [ 'Content-Type' => 'application/json', @headers ]);
}

sub counters {
    my $s = js($t->request(GET => '/_hubgate/status'))->{webhooks} || {};
    return { accepted => $s->{accepted} // 0, %{ $s->{rejected} || {} } };
}

my $body = '{"id":"evt_3MtwBwLkdIwHu7ix28a3tqPa","object":"event",'
    . '"type":"payment_intent.succeeded"}';

###############################################################################
# the subrequest, and the cache

{
    my $A = new_uuid();
    my $sa = 'whsec_' . new_id();
    secrets($A, $sa);

    my $uri = "/api/v1/webhooks/stripe/$A";
    my $r = post($uri, $body, stripe_sign($body, secret => $sa),
        'X-Hubgate-Webhook' => 'secret-request',
        'X-Hubgate-Auth' => 't=1,v1=' . ('0' x 64));
    is($r->status, 200, 'secret_request: signed with the listed secret: 200')
        or diag($r->raw);
    my $seen = js($r);
    is($seen->{body}, $body, 'the raw body forwarded');
    is_deeply($seen->{headers}{'x-hubgate-webhook'}, [ 'scheme=stripe' ],
        'X-Hubgate-Webhook: scheme=stripe (the client\'s removed)');
    ok(defined verify_identity($ikey,
        ($seen->{headers}{'x-hubgate-auth'} || [])->[0], method => 'POST',
        uri => $uri, webhook => 'scheme=stripe'),
        'X-Hubgate-Auth of the delivery verifies');
    is($r->header('X-WH-Id'), 'evt_3MtwBwLkdIwHu7ix28a3tqPa',
        '$hubgate_webhook_id from the payload');

    my @f = fetches($A);
    is(scalar @f, 1, 'one subrequest to the sidecar');
    my $q = $f[0] || {};
    my $sub_uri = "/api/v1/webhook-secrets/stripe/$A";
    is($q->{method}, 'GET', 'subrequest: GET');
    is($q->{uri}, $sub_uri, "subrequest: $sub_uri");
    is($q->{body}, '', 'subrequest: no body');
    ok(!$q->{headers}{'content-length'} && !$q->{headers}{'transfer-encoding'},
        'subrequest: no Content-Length, no Transfer-Encoding')
        or diag(explain($q->{headers}));
    is_deeply($q->{headers}{'x-hubgate-webhook'}, [ 'secret-request' ],
        'subrequest: one X-Hubgate-Webhook: secret-request');
    is(scalar @{ $q->{headers}{'x-hubgate-auth'} || [] }, 1,
        'subrequest: one X-Hubgate-Auth');
    my $ts = verify_identity($ikey, ($q->{headers}{'x-hubgate-auth'} || [])
        ->[0], method => 'GET', uri => $sub_uri, webhook => 'secret-request');
    ok(defined $ts && abs($ts - time) < 60,
        'subrequest: X-Hubgate-Auth signs GET, its URI, secret-request');
    ok(!grep({ $q->{headers}{"x-hubgate-$_"} } qw(tenant subject roles)),
        'subrequest: no tenant, subject, roles');

    # cached: no second subrequest within secret_ttl=60s
    for my $i (1 .. 3) {
        my $b = qq({"id":"evt_cached_$i","type":"ping"});
        is(post($uri, $b, stripe_sign($b, secret => $sa))->status, 200,
            "cached secret, delivery $i: 200");
    }
    is(scalar(fetches($A)), 1, 'the cache answered: still one subrequest');

    # a wrong signature is not a reason to ask again
    is(post($uri, $body, stripe_sign($body, secret => 'whsec_x'))->status,
        401, 'cached secret, wrong signature: 401');
    is(scalar(fetches($A)), 1, 'and no subrequest for it');

    # another integration: its own entry
    my $B = new_uuid();
    my $sb = 'whsec_' . new_id();
    secrets($B, $sb);
    is(post("/api/v1/webhooks/stripe/$B", $body,
        stripe_sign($body, secret => $sb))->status, 200,
        'another integration: 200');
    is(scalar(fetches($B)), 1, 'another integration: its own subrequest');
    is(post("/api/v1/webhooks/stripe/$B", $body,
        stripe_sign($body, secret => $sa))->status, 401,
        'another integration: the first one\'s secret: 401');
    is(post($uri, $body, stripe_sign($body, secret => $sb))->status, 401,
        'and the other way round: 401');

    # several secrets listed: each passes
    my $C = new_uuid();
    my @sc = map { 'whsec_' . new_id() } 1 .. 3;
    secrets($C, @sc);
    is(join(' ', map { post("/api/v1/webhooks/stripe/$C", $body,
        stripe_sign($body, secret => $_))->status } @sc), '200 200 200',
        'three listed secrets: each passes');
}

# the cache is shared memory: both workers use the one entry

{
    my $M = new_uuid();
    my $sm = 'whsec_' . new_id();
    secrets($M, $sm);
    my (%pids, %codes);
    ok($t->wait_for(sub {
        my $b = '{"id":"evt_w' . int(rand 1e9) . '"}';
        my $r = post("/api/v1/webhooks/stripe/$M", $b,
            stripe_sign($b, secret => $sm));
        $codes{ $r->status // 'none' }++;
        $pids{ $r->header('X-Pid') // '' }++;
        return keys(%pids) >= 2;
    }, 10), 'two workers answered deliveries for one integration');
    is(join(',', sort keys %codes), '200', 'every delivery passed');
    is(scalar(fetches($M)), 1,
        'one subrequest for both workers (hubgate_webhook_cache is shared)');
}

# secret_request cannot be steered by what the client puts in the
# captured variable

{
    my $mark = $t->log_mark;
    my @before = $t->backend_requests('sidecar');
    my %got;
    for my $evil ('a%3Fb=1', 'a%23b', 'x%2F..%2F..%2Fadmin', 'a%20b',
                  'a%0D%0AX-Injected:%201')
    {
        my $r = post("/api/v1/webhooks/loose/$evil", $body,
            stripe_sign($body, secret => 'whsec_x'));
        $got{$evil} = $r->status // 'none';
    }
    is(join(' ', grep { $got{$_} eq '200' } sort keys %got), '',
        'loose capture: no steered secret_request lets a delivery through');
    my @after = $t->backend_requests('sidecar');
    my @odd = grep { $_->{uri} !~ m{^/api/v1/webhook-secrets/stripe/[^/?#\s]+$}
        || $_->{uri} =~ /\.\./ || grep({ /^x-injected$/ }
            keys %{ $_->{headers} }) } @after[ @before .. $#after ];
    is(scalar @odd, 0, 'the sidecar saw no query, fragment, "..", or '
        . 'injected header') or diag(explain([ map { $_->{uri} } @odd ]));
}

###############################################################################
# 404, 5xx, down, slow

{
    my $n = forwarded();
    my $before = counters();

    my $U = new_uuid();
    my $r = post("/api/v1/webhooks/stripe/$U", $body,
        stripe_sign($body, secret => 'whsec_' . new_id()));
    is($r->status, 404, 'unknown integration (sidecar 404): 404');
    is($r->header('X-WH-Status'), 'no_secret',
        '... $hubgate_webhook_status no_secret');

    my $E = new_uuid();
    publish($E, '{"error":{"code":"internal"}}', 500);
    $r = post("/api/v1/webhooks/stripe/$E", $body,
        stripe_sign($body, secret => 'whsec_' . new_id()));
    is($r->status, 503, 'sidecar 500: 503');
    is($r->header('X-WH-Status'), 'unavailable',
        '... $hubgate_webhook_status unavailable');

    my $J = new_uuid();
    publish($J, 'this is not JSON', 200);
    $r = post("/api/v1/webhooks/stripe/$J", $body,
        stripe_sign($body, secret => 'whsec_' . new_id()));
    is($r->status, 503, 'sidecar 200 with a body that is not JSON: 503');

    my $D = new_uuid();
    $r = post("/api/v1/webhooks/down/$D", $body,
        stripe_sign($body, secret => 'whsec_' . new_id()));
    is($r->status, 503, 'sidecar not listening: 503');
    is($r->header('X-WH-Status'), 'unavailable', '... unavailable');

    my $S = new_uuid();
    my $ss = 'whsec_' . new_id();
    publish($S, encode_json({ secrets => [ $ss ] }), 'sleep');
    $r = post("/api/v1/webhooks/slow/$S", $body,
        stripe_sign($body, secret => $ss));
    is($r->status, 503, 'sidecar slower than proxy_read_timeout: 503');

    is(forwarded(), $n, 'none of them reached the backend');

    my $after = counters();
    is($after->{no_secret} - ($before->{no_secret} // 0), 1,
        'webhooks.rejected.no_secret counted once');
    is($after->{unavailable} - ($before->{unavailable} // 0), 4,
        'webhooks.rejected.unavailable counted 4 times');
}

###############################################################################
# a failing sidecar recovers; rotation at the sidecar (secret_ttl=1s)

{
    my $R = new_uuid();
    my $uri = "/api/v1/webhooks/github/$R";
    my $sec = 'gh-' . new_id();
    publish($R, '{"error":"down"}', 500);
    is(post($uri, $body, github_sign($body, secret => $sec))->status, 503,
        'ttl=1s: the sidecar fails: 503');
    secrets($R, $sec);
    my $last;
    ok($t->wait_for(sub {
        $last = post($uri, $body, github_sign($body, secret => $sec));
        return ($last->status // 0) == 200;
    }, 10), 'once the sidecar answers, deliveries pass')
        or diag($last->raw);
}

{
    my $R = new_uuid();
    my $uri = "/api/v1/webhooks/github/$R";
    my ($old, $new) = map { 'gh-' . new_id() } 1 .. 2;
    my $with = sub {
        return post($uri, $body, github_sign($body, secret => $_[0]))->status
            // 0;
    };

    secrets($R, $old);
    is($with->($old), 200, 'rotation: the old secret passes');
    is($with->($new), 401, 'rotation: the new one, not yet listed: 401');

    # the tenant rotates with an overlap: the sidecar lists both
    secrets($R, $new, $old);
    my %seen;
    ok($t->wait_for(sub {
        $seen{ $with->($old) }++;
        return $with->($new) == 200;
    }, 10), 'rotation: the new secret passes once secret_ttl=1s is over');
    is(join(',', sort keys %seen), '200',
        'rotation: the old one passed all along');
    is($with->($old), 200, 'rotation: during the overlap, old: 200');
    is($with->($new), 200, 'rotation: during the overlap, new: 200');
    cmp_ok(scalar(fetches($R)), '>=', 2, 'rotation: asked the sidecar again');

    # the overlap ends: only the new one is listed
    secrets($R, $new);
    %seen = ();
    ok($t->wait_for(sub {
        $seen{ $with->($new) }++;
        return $with->($old) == 401;
    }, 10), 'rotation: the old secret stops passing once no longer listed');
    is(join(',', sort keys %seen), '200',
        'rotation: the new one passed all along');

    # an integration that disappears
    publish($R, '{"error":{"code":"not_found"}}', 404);
    ok($t->wait_for(sub { $with->($new) == 404 }, 10),
        'rotation: the integration deleted: 404 once the TTL is over');
}

$t->done_testing;
