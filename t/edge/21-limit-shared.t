#!/usr/bin/perl

# Limit state lives in shared memory: with two workers a key has one
# bucket whichever worker counts a request, and a reload keeps every
# bucket (a tenant over its limit stays over it across the reload).
#
# `listen ... reuseport` gives each worker its own socket and the kernel
# spreads connections over them by their source port, so requests on
# separate connections reach both workers; the test checks that they did
# ($pid in a response header), or the sharing would be proved by nothing.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);

# a response body as JSON, or {}: a failed request fails its own
# assertions, not the rest of the file
sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(17);

my $secret = $t->keygen(type => 'hmac', bytes => 32);
$t->write_file('jwks.json', $t->jwks($t->jwk($secret, kid => 'h1')));

$t->echo_backend(port => 8081);

my $conf = <<'EOF';
%%MODULE%%

worker_processes 2;

http {
    hubgate_limit_zone shared size=1m;

    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;
        server_name localhost;

        add_header X-Worker $pid always;
        add_header X-Conf VERSION always;
        add_header X-Limit $hubgate_limit_status always;

        location /burst/ {
            hubgate_limit zone=shared key=$http_x_key rate=1r/m burst=4
                          nodelay;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_limit zone=shared key=$hubgate_tenant rate=1r/m;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /status {
            hubgate_status;
        }
    }
}
EOF

$t->write_file_expand('nginx.conf', $conf =~ s/VERSION/one/r);
$t->run;

# run returns once the port accepts; the workers may still be starting
ok($t->wait_for(sub { (my @w = $t->worker_pids) == 2 }), 'two workers');
my @workers = $t->worker_pids;

sub statuses {
    return join ' ', map { $_->status // 'none' } @_;
}

# one bucket for a key across workers: 1r/m burst=4 lets exactly 5 through

{
    my @r = map { $t->request(GET => '/burst/x',
        headers => { 'X-Key' => 'k1' }) } 1 .. 24;

    my %by = map { $_ => 1 } map { $_->header('X-Worker') // '-' } @r;
    is_deeply([ sort keys %by ], [ sort { $a <=> $b } @workers ],
        'requests on separate connections reached both workers');

    is(scalar(grep { ($_->status // 0) == 200 } @r), 5,
        'exactly burst + 1 passed across both workers');
    is(statuses(@r), join(' ', ('200') x 5, ('429') x 19),
        'the first five passed, every later one was rejected');

    my %rejected_by = map { ($_->header('X-Worker') // '-') => 1 }
        grep { ($_->status // 0) == 429 } @r;
    is(scalar keys %rejected_by, 2, 'both workers rejected the key');

    my $z = js($t->request(GET => '/status'))->{limits}{shared};
    is("$z->{passed}/$z->{rejected}/$z->{keys}", '5/19/1',
        'status: one key, 5 passed, 19 rejected');
}

# a reload keeps the buckets

my $tok = $t->token(key => $secret, kid => 'h1', add => { tid => 'acme' });
my @auth = (headers => { Authorization => "Bearer $tok" });

{
    my @r = map { $t->request(GET => '/api/x', @auth) } 1 .. 2;
    is(statuses(@r), '200 429', 'tenant acme exhausted (1r/m burst=0)');
    is(js($r[0])->{headers}{'x-hubgate-tenant'}[0], 'acme',
        'keyed by the tenant claim');
}

$t->write_file_expand('nginx.conf', $conf =~ s/VERSION/two/r);
ok($t->reload, 'reload');

$t->wait_for(sub { (my @w = $t->worker_pids) == 2 });
my @new = $t->worker_pids;
ok(@new == 2 && !(grep { my $n = $_; grep { $_ == $n } @workers } @new),
    'two new workers');

{
    my @r = map { $t->request(GET => '/api/x', @auth) } 1 .. 8;
    is(join(' ', map { $_->header('X-Conf') // '-' } @r),
        join(' ', ('two') x 8), 'the new configuration answers');
    is(statuses(@r), join(' ', ('429') x 8),
        'tenant acme is still limited right after the reload');
    my %by = map { ($_->header('X-Worker') // '-') => 1 } @r;
    ok(!(grep { my $w = $_; grep { $_ == $w } @workers } keys %by),
        'answered by new workers');
    like($r[0]->header('Retry-After') // '', qr/^[1-9]\d*$/,
        'with Retry-After');

    my $other = $t->token(key => $secret, kid => 'h1',
        add => { tid => 'globex' });
    is($t->request(GET => '/api/x',
        headers => { Authorization => "Bearer $other" })->status, 200,
        'another tenant passes after the reload');

    is($t->request(GET => '/burst/x', headers => { 'X-Key' => 'k1' })
        ->status, 429, 'key k1 also still limited');

    my $z = js($t->request(GET => '/status'))->{limits}{shared};
    is("$z->{passed}/$z->{rejected}/$z->{keys}", '7/29/3',
        'zone counters and keys kept across the reload');
}
