#!/usr/bin/perl

# hubgate_jwt_cache: verified tokens are cached in shared memory, so every
# worker hits what any worker verified (counted by hubgate_status); claims
# are still checked on every request, so a cached token that expires is
# refused; and the cache key includes the location's policy, so a token
# verified under one key set is not accepted under another with the same
# kid.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(30);

my $ka = $t->keygen(type => 'rsa', name => 'ka');
my $kb = $t->keygen(type => 'rsa', name => 'kb');

# the same kid, two different keys
$t->write_file('a.json', $t->jwks($t->jwk($ka, kid => 'k')));
$t->write_file('b.json', $t->jwks($t->jwk($kb, kid => 'k')));

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

worker_processes 2;

http {
    hubgate_jwt_cache zone=jwt:1m ttl=1h;

    server {
        # one listening socket per worker: connections spread over both
        listen 127.0.0.1:%%PORT_8080%% reuseport;
        server_name localhost;

        add_header X-Pid $pid always;

        location /a/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/a.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the same keys under another policy (leeway)
        location /a2/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/a.json;
            hubgate_jwt_leeway 5s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the same kid, another key
        location /b/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/b.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /status {
            hubgate_status;
        }
    }
}
EOF

$t->run;

sub status { $t->request(GET => '/status')->json }

sub counts {
    my $s = status();
    return "hits=$s->{cache}{hits} misses=$s->{cache}{misses}";
}

sub get {
    my ($uri, $tok) = @_;

    return $t->request(GET => $uri,
        headers => { Authorization => "Bearer $tok" });
}

sub outcome {
    my ($r) = @_;

    return ($r->status // 'none') . ' '
        . ($r->header('WWW-Authenticate') // '-');
}

sub bad {
    return '401 Bearer realm="api", error="invalid_token", '
        . "error_description=\"$_[0]\"";
}

my $OK = '200 -';
my ($accepted, $bad_sig) = (0, 0);

is(counts(), 'hits=0 misses=0', 'status: nothing cached yet');

my $tok = $t->token(key => $ka, kid => 'k');

is(outcome(get('/a/1', $tok)), $OK, 'first request: verified');
$accepted++;
is(counts(), 'hits=0 misses=1', 'a miss');

# the same token on new connections until both workers served it: every
# request is one more hit, whichever worker it reached

my (%grew, $n, $ok);
my $hits = 0;
$ok = 1;

for $n (1 .. 60) {
    my $r = get('/a/2', $tok);
    $accepted++;
    $ok = 0 if $r->status != 200;

    my $s = status();
    my $pid = $r->header('X-Pid') // 'none';

    $grew{$pid}++ if $s->{cache}{hits} == $hits + 1
        && $s->{cache}{misses} == 1;
    $hits = $s->{cache}{hits};

    last if keys %grew >= 2 && $n >= 6;
}

ok($ok, 'every request passed');
is(scalar keys %grew, 2, 'both workers served the token');
is($hits, $accepted - 1, 'every request after the first was a hit');
is(counts(), "hits=$hits misses=1",
    'one miss in all, whichever worker verified it');

# the policy is part of the key

is(outcome(get('/b/1', $tok)), bad('bad_signature'),
    'same token, same kid, another key: not accepted from the cache');
$bad_sig++;
is(counts(), "hits=$hits misses=2", 'it was a miss there');
is(outcome(get('/b/2', $tok)), bad('bad_signature'),
    'still refused the second time');
$bad_sig++;
is(counts(), "hits=$hits misses=3", 'a refused token is not cached');

is(outcome(get('/a2/1', $tok)), $OK, 'same keys, another policy: verified');
$accepted++;
is(counts(), "hits=$hits misses=4", 'a miss: its own cache entry');
is(outcome(get('/a2/2', $tok)), $OK, 'again');
$accepted++;
is(counts(), 'hits=' . ++$hits . ' misses=4', 'a hit');

my $tok_b = $t->token(key => $kb, kid => 'k');
is(outcome(get('/b/3', $tok_b)), $OK, 'a token of key b where b is: passes');
$accepted++;
is(outcome(get('/b/4', $tok_b)), $OK, 'again');
$accepted++;
is(outcome(get('/a/3', $tok_b)), bad('bad_signature'),
    'the token cached for key b is refused where the key is a');
$bad_sig++;
is(counts(), 'hits=' . ++$hits . ' misses=6',
    'b: one miss and one hit; a: one miss');

# an expired token stays refused even though it was cached

my $soon = $t->token(key => $ka, kid => 'k',
    add => { exp => time() + 2 });

is(outcome(get('/a/4', $soon)), $OK, 'a token expiring in 2 s: passes');
$accepted++;
is(outcome(get('/a/5', $soon)), $OK, 'and again, from the cache');
$accepted++;
is(counts(), 'hits=' . ++$hits . ' misses=7', 'cached: one miss, one hit');

my ($last, $passed) = (undef, 0);
ok($t->wait_for(sub {
    $last = get('/a/6', $soon);
    $passed++ if $last->status == 200;
    return $last->status != 200;
}, 6), 'once expired, the cached token is refused');
$accepted += $passed;
is(outcome($last), bad('expired'), 'as expired');

# a cache entry ends with its token's exp: the refused request missed
my $s = status();
is($s->{cache}{misses}, 8, 'the expired token is a miss: its entry ended');
is($s->{cache}{hits}, $hits + $passed,
    'hits grew by the requests that passed');

# the JWT counters agree

is($s->{jwt}{accepted}, $accepted, 'status: jwt.accepted');
is($s->{jwt}{rejected}{bad_signature}, $bad_sig,
    'status: jwt.rejected.bad_signature');
is($s->{jwt}{rejected}{expired}, 1, 'status: jwt.rejected.expired');
is(join(',', map { $s->{jwt}{rejected}{$_} } qw(missing malformed no_key)),
    '0,0,0', 'status: nothing else rejected');
