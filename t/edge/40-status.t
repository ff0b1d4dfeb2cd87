#!/usr/bin/perl

# hubgate_status: the edge counters as JSON and as Prometheus text.  Each
# action is checked by the exact change it makes to every counter (all
# other counters unchanged), then the Prometheus text is checked against
# the JSON, then a reload keeps every counter.

use strict;
use warnings;

use JSON::PP;
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
$t->plan(43);

my $secret = $t->keygen(type => 'hmac', bytes => 32);
my $other = $t->keygen(type => 'hmac', bytes => 32);
$t->write_file('jwks.json', $t->jwks($t->jwk($secret, kid => 'h1')));

$t->echo_backend(port => 8081);

my $conf = <<'EOF';
%%MODULE%%

http {
    hubgate_jwt_cache zone=jwt:1m ttl=5m;
    hubgate_limit_zone api size=1m;
    hubgate_limit_zone spare size=64k;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        add_header X-Conf VERSION always;

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /admin/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_require $jwt_claim_admin;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # an internal redirect runs the access phase twice for one request
        location /redirect/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            try_files /nonexistent @redirected;
        }

        location @redirected {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /limited/ {
            hubgate_limit zone=api key=$http_x_key rate=1r/m burst=1 nodelay;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /_hubgate/status {
            hubgate_status;
        }
    }
}
EOF

$t->write_file_expand('nginx.conf', $conf =~ s/VERSION/one/r);
$t->run;

sub status_raw {
    return $t->request(GET => '/_hubgate/status' . (shift // ''));
}

sub status {
    return js(status_raw());
}

# {a}{b}{c} => "a.b.c"

sub flat {
    my ($h, $prefix, $out) = @_;
    $out //= {};
    for my $k (keys %$h) {
        my $name = defined $prefix ? "$prefix.$k" : $k;
        if (ref $h->{$k} eq 'HASH') {
            flat($h->{$k}, $name, $out);
        } else {
            $out->{$name} = $h->{$k};
        }
    }
    return $out;
}

# the counters that changed, and by how much
sub delta {
    my ($before, $after) = map { flat($_) } @_;
    my %d;
    for my $k (keys %$after) {
        my $n = $after->{$k} - ($before->{$k} // 0);
        $d{$k} = $n if $n;
    }
    return \%d;
}

my $auth = 'Bearer ' . $t->token(key => $secret, kid => 'h1');

# checks what one action changes

sub changes {
    my ($name, $action, $want) = @_;
    my $before = status();
    $action->();
    is_deeply(delta($before, status()), $want, $name)
        or diag(explain(delta($before, status())));
}

###############################################################################
# the document

{
    my $r = status_raw();
    is($r->status, 200, 'status: 200');
    is($r->header('Content-Type'), 'application/json', 'JSON');
    my $s = eval { decode_json($r->body) };
    ok($s, 'parses as JSON') or diag($r->body);

    my %f = %{ flat($s) };
    ok(!(grep { $_ != 0 } values %f), 'every counter starts at 0');
    my @reasons = qw(missing malformed too_large bad_json bad_alg crit no_key
        bad_signature bad_claim_type expired not_yet_valid bad_issuer
        bad_audience invalid_request insufficient_scope);
    ok(!(grep { !exists $s->{jwt}{rejected}{$_} } @reasons),
        'jwt.rejected has every reason of the README');
    is_deeply([ sort keys %{ $s->{limits} } ], [ 'api', 'spare' ],
        'one entry per limit zone');
    is_deeply([ sort keys %{ $s->{limits}{api} } ],
        [ sort qw(passed delayed rejected dry_run_rejected keys evicted) ],
        'limit zone fields');
    ok(exists $s->{cache}{hits} && exists $s->{cache}{misses}
        && exists $s->{jwt}{accepted} && exists $s->{spoofed_headers_removed},
        'cache, accepted and spoofed_headers_removed are there');
}

###############################################################################
# each counter, by the change one request makes

changes('no token: rejected.missing', sub {
    is($t->request(GET => '/api/x')->status, 401, 'no token: 401');
}, { 'jwt.rejected.missing' => 1 });

changes('a valid token, first time: accepted, cache miss', sub {
    is($t->request(GET => '/api/x', headers => { Authorization => $auth })
        ->status, 200, 'valid: 200');
}, { 'jwt.accepted' => 1, 'cache.misses' => 1 });

changes('the same token again: accepted, cache hit', sub {
    is($t->request(GET => '/api/x', headers => { Authorization => $auth })
        ->status, 200, 'valid again: 200');
}, { 'jwt.accepted' => 1, 'cache.hits' => 1 });

changes('an expired token: rejected.expired', sub {
    my $tok = $t->token(key => $secret, kid => 'h1',
        add => { exp => time - 600 });
    my $r = $t->request(GET => '/api/x',
        headers => { Authorization => "Bearer $tok" });
    is($r->status, 401, 'expired: 401');
}, { 'jwt.rejected.expired' => 1, 'cache.misses' => 1 });

changes('a bad signature: rejected.bad_signature', sub {
    my $tok = $t->token(key => $other, kid => 'h1');
    my $r = $t->request(GET => '/api/x',
        headers => { Authorization => "Bearer $tok" });
    is($r->status, 401, 'bad signature: 401');
    like($r->header('WWW-Authenticate') // '',
        qr/error_description="bad_signature"/, 'named bad_signature');
}, { 'jwt.rejected.bad_signature' => 1, 'cache.misses' => 1 });

changes('a malformed Authorization: invalid_request', sub {
    is($t->request(GET => '/api/x',
        headers => { Authorization => 'Bearer a b' })->status, 400,
        'malformed: 400');
}, { 'jwt.rejected.invalid_request' => 1 });

changes('a failed require: insufficient_scope (the token was valid)', sub {
    is($t->request(GET => '/admin/x', headers => { Authorization => $auth })
        ->status, 403, 'require: 403');
}, { 'jwt.accepted' => 1, 'jwt.rejected.insufficient_scope' => 1,
     'cache.hits' => 1 });

changes('spoofed headers: spoofed_headers_removed', sub {
    my $r = $t->request(GET => '/limited/x',
        headers => { 'X-Hubgate-Tenant' => 'evil' });
    is($r->status, 200, 'spoofed header, no key: 200');
}, { 'spoofed_headers_removed' => 1 });

changes('limits: passed and rejected per zone, one new key', sub {
    my @r = map { $t->request(GET => '/limited/x',
        headers => { 'X-Key' => 'k1' }) } 1 .. 3;
    is(join(' ', map { $_->status } @r), '200 200 429',
        '1r/m burst=1: 2 pass, 1 rejected');
}, { 'limits.api.passed' => 2, 'limits.api.rejected' => 1,
     'limits.api.keys' => 1 });

changes('one request through an internal redirect counts once', sub {
    is($t->request(GET => '/redirect/x', headers => { Authorization => $auth })
        ->status, 200, 'internal redirect: 200');
}, { 'jwt.accepted' => 1, 'cache.hits' => 1 });

changes('the status page counts nothing itself', sub {
    status() for 1 .. 3;
    status_raw('?format=prometheus') for 1 .. 2;
}, {});

###############################################################################
# the same counters as Prometheus text

{
    my $json = status();
    my $r = status_raw('?format=prometheus');
    is($r->status, 200, 'prometheus: 200');
    like($r->header('Content-Type') // '', qr{^text/plain; version=0\.0\.4},
        'prometheus: text/plain; version=0.0.4');

    my (%m, @bad);
    for my $line (split /\n/, $r->body) {
        next if $line =~ /^# (HELP|TYPE) /;
        if ($line =~ /^([a-z_]+(?:\{[^}]*\})?) (\d+)$/) {
            $m{$1} = $2;
        } else {
            push @bad, $line;
        }
    }
    is_deeply(\@bad, [], 'every line is a comment or "name{labels} value"');

    my %want = (
        'hubgate_jwt_accepted_total' => $json->{jwt}{accepted},
        'hubgate_jwt_cache_hits_total' => $json->{cache}{hits},
        'hubgate_jwt_cache_misses_total' => $json->{cache}{misses},
        'hubgate_spoofed_headers_removed_total'
            => $json->{spoofed_headers_removed},
        (map { ("hubgate_jwt_rejected_total{reason=\"$_\"}"
                => $json->{jwt}{rejected}{$_}) }
            keys %{ $json->{jwt}{rejected} }),
        (map { my $z = $_; map {
                ("hubgate_limit_requests_total{zone=\"$z\",result=\"$_\"}"
                    => $json->{limits}{$z}{$_}) }
                qw(passed delayed rejected dry_run_rejected) }
            keys %{ $json->{limits} }),
        (map { ("hubgate_limit_keys{zone=\"$_\"}"
                => $json->{limits}{$_}{keys},
                "hubgate_limit_evicted_total{zone=\"$_\"}"
                => $json->{limits}{$_}{evicted}) }
            keys %{ $json->{limits} }),
    );

    is_deeply({ map { $_ => $m{$_} } keys %want }, \%want,
        'every JSON counter has its Prometheus sample, same value');
    is($m{'hubgate_jwt_rejected_total{reason="expired"}'}, 1,
        'e.g. rejected{reason="expired"} 1');
    is($m{'hubgate_limit_requests_total{zone="api",result="rejected"}'}, 1,
        'e.g. limit rejected{zone="api"} 1');
}

###############################################################################
# only GET and HEAD

{
    my $r = $t->request(POST => '/_hubgate/status', body => '{}');
    is($r->status, 405, 'POST: 405');
    $r = $t->request(DELETE => '/_hubgate/status');
    is($r->status, 405, 'DELETE: 405');
    $r = $t->request(HEAD => '/_hubgate/status');
    is($r->status, 200, 'HEAD: 200');
}

###############################################################################
# a reload keeps every counter

{
    my $before = status();
    $t->write_file_expand('nginx.conf', $conf =~ s/VERSION/two/r);
    ok($t->reload, 'reload');

    my $r = status_raw();
    is($r->header('X-Conf'), 'two', 'the new configuration answers');
    is_deeply(js($r), $before, 'every counter is unchanged by the reload');

    changes('counting goes on from there', sub {
        $t->request(GET => '/api/x', headers => { Authorization => $auth });
        $t->request(GET => '/api/x');
        $t->request(GET => '/limited/x', headers => { 'X-Key' => 'k1' });
    }, { 'jwt.accepted' => 1, 'cache.hits' => 1, 'jwt.rejected.missing' => 1,
         'limits.api.rejected' => 1 });
}
