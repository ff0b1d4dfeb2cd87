#!/usr/bin/perl

# secret_request asks once: while one request waits for hubgated's answer,
# the others for the same integration wait for it in the shared cache
# instead of asking too, across workers; a failed ask lets the requests
# waiting for it ask themselves, and the next delivery asks at once.
# Secrets that do not suit the scheme are refused when they arrive, so the
# cache never holds them.

use strict;
use warnings;

use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes ();

use lib 't/lib';
use Hubgate::Test qw(:all);
use Hubgate::Webhook qw(:all);

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $dir = $t->testdir;
$t->write_file('identity.secret', ('i' x 40) . "\n");
mkdir "$dir/fail";

# the sidecar: answers after 400 ms; 500 for integrations named in fail/
$t->backend(port => 8082, name => 'sidecar', handler => sub {
    my ($req) = @_;
    my ($uuid) = $req->{uri} =~ m{/([0-9a-f-]{36})$};
    Time::HiRes::sleep(0.4);
    return (500, {}, 'down') if $uuid && -e "$dir/fail/$uuid";
    # a secret the standard scheme cannot use (not "whsec_<base64>")
    return (200, { 'Content-Type' => 'application/json' },
        encode_json({ secrets => ['plain-secret'] }))
        if $req->{uri} =~ m{/standard/};
    return (200, { 'Content-Type' => 'application/json' },
        encode_json({ secrets => ['whsec_single'] }));
});
$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'CONF');
%%MODULE%%
worker_processes 2;
http {
    hubgate_webhook_cache zone=whsec:1m;
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        hubgate_identity_secret %%TESTDIR%%/identity.secret;

        location ~ "^/api/v1/webhooks/stripe/(?<hg_int>[0-9a-f-]{36})$" {
            hubgate_webhook stripe secret_ttl=1h
                secret_request=/api/v1/webhook-secrets/stripe/$hg_int;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location ~ "^/api/v1/webhooks/standard/(?<hg_int>[0-9a-f-]{36})$" {
            hubgate_webhook standard secret_ttl=1h
                secret_request=/api/v1/webhook-secrets/standard/$hg_int;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhook-secrets/ {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_8082%%;
        }
    }
}
CONF

$t->run;

# n deliveries at once to one integration: their statuses, sorted
sub burst {
    my ($uuid, $n) = @_;
    my $body = '{"id":"evt_burst","type":"invoice.paid"}';
    my @pids;

    for my $i (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $r = $t->request(POST => "/api/v1/webhooks/stripe/$uuid",
                body => $body,
                headers => [ stripe_sign($body, secret => 'whsec_single') ]);
            $t->write_file("burst.$uuid.$i", $r->status // 'none');
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    waitpid($_, 0) for @pids;

    return join ',', sort map { $t->read_file("burst.$uuid.$_") // 'none' }
        1 .. $n;
}

sub asked {
    my ($uuid) = @_;
    return scalar grep { $_->{uri} =~ /\Q$uuid\E$/ }
        $t->backend_requests('sidecar');
}

my $one = new_uuid();
is(burst($one, 12), join(',', ('200') x 12),
    'a cold cache: 12 deliveries at once, all 200');
is(asked($one), 1, 'and hubgated was asked once');
is(burst($one, 4), join(',', ('200') x 4), 'then from the cache');
is(asked($one), 1, 'without asking again');

my $bad = new_uuid();
$t->write_file("fail/$bad", '');
is(burst($bad, 6), join(',', ('503') x 6), 'hubgated failing: 503 for all 6');
ok(asked($bad) >= 2, 'a failed ask is not waited on: asked '
    . asked($bad) . ' times');
unlink "$dir/fail/$bad";
is(burst($bad, 1), '200', 'the next delivery asks again and passes');

# secrets that do not suit the scheme: 500, logged, and never cached
my $std = new_uuid();
my $sbody = '{"type":"ping"}';
for my $n (1, 2) {
    is($t->request(POST => "/api/v1/webhooks/standard/$std", body => $sbody,
        headers => [ standard_sign($sbody, secret => whsec_new(24)) ])
        ->status, 500, "secrets unfit for the scheme: 500 ($n)");
}
is(asked($std), 2, 'unfit secrets are not cached: asked twice');
like($t->errlog, qr/do not suit the standard scheme/,
    'and the log says why');

$t->done_testing;
