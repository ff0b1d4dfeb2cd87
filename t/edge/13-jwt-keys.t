#!/usr/bin/perl

# Where JWT keys come from.  hubgate_jwt_key_file may repeat (JWKS and PEM
# files, every key usable).  hubgate_jwt_key_request fetches a JWKS by
# subrequest, shares it between workers, refetches on its TTL and, at most
# once a minute, on an unknown kid (unknown kids are negative-cached); an
# identity provider that fails (500, bad JSON) gives 401 no_key and an
# [error] line naming the URI, and nginx keeps serving; the subrequest is a
# GET without the client's body.  Fetches are counted at the backend.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(54);

my $dir = $t->testdir;

my %key;
$key{$_} = $t->keygen(type => 'rsa', name => $_) for qw(a b d x f1 other);
$key{f2} = $t->keygen(type => 'ec256', name => 'f2');

sub jwks { $t->jwks(map { $t->jwk($key{$_}, kid => $_) } @_) }

# the identity provider: /<name> answers idp/<name>.body with the status in
# idp/<name>.status (200 when absent); both may change between requests

sub publish {
    my ($name, $body, $status) = @_;

    $t->write_file("idp/$name.status.tmp", $status // 200);
    rename "$dir/idp/$name.status.tmp", "$dir/idp/$name.status";
    $t->write_file("idp/$name.body.tmp", $body);
    rename "$dir/idp/$name.body.tmp", "$dir/idp/$name.body";
}

$t->backend(port => 8082, name => 'idp', handler => sub {
    my ($req) = @_;

    my ($name) = $req->{uri} =~ m{^/(\w+)} or return (404, {}, '');
    my $read = sub {
        open my $fh, '<', "$dir/idp/$name.$_[0]" or return undef;
        local $/;
        return scalar <$fh>;
    };

    return ($read->('status') // 404,
        { 'Content-Type' => 'application/json' }, $read->('body') // '');
});

$t->echo_backend(port => 8081);

$t->write_file('f1.json', jwks('f1'));
$t->write_file('f2-only.pem', $t->read_file('f2.pub.pem'));

my $idp_loc = join '', map { <<"EOF" } qw(jwks unk ttl e500 ejson post);
        location = /_jwks_$_ {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_8082%%/$_;
        }

EOF

(my $conf = <<'EOF') =~ s/IDP_LOCATIONS\n/$idp_loc/;
%%MODULE%%

worker_processes 2;

http {
    server {
        # one listening socket per worker: connections spread over both
        listen 127.0.0.1:%%PORT_8080%% reuseport;
        server_name localhost;

        add_header X-Pid $pid always;

        location /files/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/f1.json;
            hubgate_jwt_key_file %%TESTDIR%%/f2-only.pem;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /main/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_jwks;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /unk/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_unk;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /ttl/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_ttl ttl=1s;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /e500/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_e500;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /ejson/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_ejson;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /post/ {
            hubgate_jwt api;
            hubgate_jwt_key_request /_jwks_post;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

IDP_LOCATIONS
        location /status {
            hubgate_status;
        }
    }
}
EOF

$t->write_file_expand('nginx.conf', $conf);

publish($_, jwks('a')) for qw(jwks unk ttl post);
publish('e500', '{"error":"down"}', 500);
publish('ejson', 'this is not JSON', 200);

$t->run;

# a token signed by key $k under kid $kid (default: $k); each one distinct
# (its own jti), so no two requests send the same token

my $seq = 0;

sub tok {
    my ($k, $kid) = @_;

    return $t->token(key => $key{$k}, kid => $kid // $k,
        add => { jti => 'j' . ++$seq });
}

sub get {
    my ($uri, $tok, %opts) = @_;

    return $t->request($opts{method} // 'GET' => $uri,
        headers => [ Authorization => "Bearer $tok",
            @{ $opts{headers} || [] } ],
        (defined $opts{body} ? (body => $opts{body}) : ()),
        (defined $opts{timeout} ? (timeout => $opts{timeout}) : ()));
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

sub fetches {
    my ($name) = @_;

    return scalar grep { $_->{uri} =~ m{^/\Q$name\E\b} }
        $t->backend_requests('idp');
}

# sends requests (new connection each) until both workers have answered;
# returns the distinct outcomes and the number of workers seen

sub on_both_workers {
    my ($code) = @_;

    my (%pid, %out);

    for (1 .. 60) {
        my $r = $code->();
        $out{ outcome($r) }++;
        $pid{ $r->header('X-Pid') // 'none' }++;
        last if keys %pid >= 2 && $_ >= 4;
    }

    return (join(', ', sort keys %out), scalar keys %pid);
}

my $OK = '200 -';
my ($outs, $workers);

# hubgate_jwt_key_file repeated

is(outcome(get('/files/1', tok('f1'))), $OK, 'key file 1 (JWKS, kid f1)');
is(outcome(get('/files/2', $t->token(key => $key{f2}))), $OK,
    'key file 2 (PEM, no kid): ES256 without a kid');
is(outcome(get('/files/3', tok('f2', 'anything'))), $OK,
    'key file 2: a kid it lacks still reaches the kid-less PEM key');
is(outcome(get('/files/4', tok('other', 'f1'))), bad('bad_signature'),
    'a third key under kid f1: bad_signature');
is(outcome(get('/files/5', tok('other', 'zz'))), bad('no_key'),
    'a third key under an unknown kid: no_key (no RSA key without a kid)');

# key request: first fetch, then shared by both workers

is(fetches('jwks'), 0, 'nothing fetched before the first request');
is(outcome(get('/main/1', tok('a'))), $OK, 'kid a: fetched, passes');
is(fetches('jwks'), 1, 'one fetch');

my ($first) = $t->backend_requests('idp');
is(join(' ', $first->{method}, $first->{uri}), 'GET /jwks',
    'the subrequest is a GET to the proxied URI');

($outs, $workers) = on_both_workers(sub { get('/main/2', tok('a')) });
is($outs, $OK, 'new tokens with kid a, many connections: all pass');
is($workers, 2, 'both workers answered');
is(fetches('jwks'), 1, 'no refetch, in either worker');

# a kid published later is picked up by the unknown-kid refresh

publish('jwks', jwks('a', 'b'));
is(outcome(get('/main/3', tok('b'))), $OK,
    'kid b, published since: refetched, passes');
is(fetches('jwks'), 2, 'exactly one refetch');

($outs, $workers) = on_both_workers(sub { get('/main/4', tok('b')) });
is($outs, $OK, 'kid b on both workers: all pass');
is($workers, 2, 'both workers answered');
($outs) = on_both_workers(sub { get('/main/5', tok('a')) });
is($outs, $OK, 'kid a still passes with the new document');
is(fetches('jwks'), 2, 'no further fetch');

is(outcome(get('/main/6', tok('x', 'zz'))), bad('no_key'),
    'an unknown kid right after a refresh: no_key');
is(fetches('jwks'), 2, 'and no refetch (at most one a minute)');

# unknown kids: one refetch, then the negative cache

is(outcome(get('/unk/1', tok('a'))), $OK, 'unk: kid a passes');
is(fetches('unk'), 1, 'unk: one fetch');
is(outcome(get('/unk/2', tok('x', 'x1'))), bad('no_key'),
    'unknown kid x1: no_key');
is(fetches('unk'), 2, 'the first unknown kid triggers one refetch');
is(outcome(get('/unk/3', tok('x', 'x2'))), bad('no_key'),
    'a second unknown kid within the minute: no_key');
is(fetches('unk'), 2, 'without a refetch');

($outs, $workers) = on_both_workers(sub { get('/unk/4', tok('x', 'x1')) });
is($outs, bad('no_key'), 'kid x1 again, on both workers: no_key');
is(fetches('unk'), 2, 'negative-cached: no refetch');

publish('unk', jwks('a', 'x'));
is(outcome(get('/unk/5', tok('x'))), bad('no_key'),
    'a kid published within the minute waits for the next refresh');
is(fetches('unk'), 2, 'no refetch for it either');
is(outcome(get('/unk/6', tok('a'))), $OK, 'known kids keep passing');

# ttl=1s: refetched after the TTL

is(outcome(get('/ttl/1', tok('a'))), $OK, 'ttl: kid a passes');
is(fetches('ttl'), 1, 'ttl: one fetch');

my %seen;
ok($t->wait_for(sub {
    $seen{ outcome(get('/ttl/2', tok('a'))) }++;
    return fetches('ttl') >= 2;
}), 'ttl: refetched once the TTL is over');
is(join(', ', sort keys %seen), $OK, 'every request passed meanwhile');

publish('ttl', jwks('d'));
my $last;
ok($t->wait_for(sub {
    $last = get('/ttl/3', tok('a'));
    return $last->status != 200;
}), 'ttl: kid a, removed from the document, stops passing');
is(outcome($last), bad('no_key'), 'with no_key');
is(outcome(get('/ttl/4', tok('d'))), $OK, 'the new kid d passes');

# the identity provider fails at a refresh: the old keys stay

my $mark = $t->log_mark;
my $n = fetches('ttl');
publish('ttl', 'oops', 500);
%seen = ();
ok($t->wait_for(sub {
    $seen{ outcome(get('/ttl/5', tok('d'))) }++;
    return fetches('ttl') > $n;
}), 'ttl: refetch attempted while the identity provider fails');
is(join(', ', sort keys %seen), $OK,
    'the keys already fetched keep working');
ok($t->wait_for(sub { $t->errlog_since($mark)
    =~ /\[error\] .*hubgate: jwks request "\/_jwks_ttl" failed: status 500/ }),
    'the failed refresh is logged with its URI');

# an identity provider answering 500, or something that is not a JWKS

$mark = $t->log_mark;
is(outcome(get('/e500/1', tok('a'))), bad('no_key'), '500 from the IdP: no_key');
ok($t->wait_for(sub { $t->errlog_since($mark)
    =~ /\[error\] .*hubgate: jwks request "\/_jwks_e500" failed: status 500/ }),
    '[error] line naming the URI');

$mark = $t->log_mark;
is(outcome(get('/ejson/1', tok('a'))), bad('no_key'),
    'not JSON from the IdP: no_key');
ok($t->wait_for(sub { $t->errlog_since($mark)
    =~ /\[error\] .*hubgate: jwks from "\/_jwks_ejson" refused/ }),
    '[error] line naming the URI');

is(outcome(get('/main/7', tok('b'))), $OK,
    'nginx keeps serving other locations');

# a failed first fetch backs off for 2 s: then the keys arrive
publish('e500', jwks('a'));
ok($t->wait_for(sub { outcome(get('/e500/2', tok('a'))) eq $OK }, 10),
    'once the IdP answers, its keys are used');

my $status = $t->request(GET => '/status')->json;
is($status->{jwks}{failed}, 3,
    'status: 3 failed fetches (ttl 500, e500, ejson)');

# the subrequest does not carry the client's body

my $body = 'field=value&' . ('x' x 5000);
# (a short client timeout: a JWKS request that waits for a body never sent
# would otherwise hold the test for nginx's 60 s proxy_read_timeout)
my $r = get('/post/1', tok('a'), method => 'POST', body => $body,
    timeout => 3,
    headers => [ 'Content-Type' => 'application/x-www-form-urlencoded' ]);
is(outcome($r), $OK, 'POST with a body: passes');

my ($jwks_req) = grep { $_->{uri} eq '/post' } $t->backend_requests('idp');
is(join(' ', map { $_ // '-' } $jwks_req->{method},
    $jwks_req->{body_length}), 'GET 0',
    'the JWKS request is a GET without the client body');
is(($r->status // 0) == 200 ? $r->json->{body_sha256} : 'none',
    sha256_hex($body), 'the backend got the client body intact');

# the same with a chunked body (no Content-Length to leak): the zone above
# never got a document, so this request fetches too

my $chunked = join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
    'field=value&', 'x' x 3000) . "0\r\n\r\n";
$r = get('/post/2', tok('a'), method => 'POST', body => $chunked,
    timeout => 3, headers => [ 'Transfer-Encoding' => 'chunked' ]);
is(outcome($r), $OK, 'chunked POST: passes');

($jwks_req) = grep { $_->{uri} eq '/post' } reverse
    $t->backend_requests('idp');
is(join(' ', map { $_ // '-' } $jwks_req->{method},
    $jwks_req->{body_length}), 'GET 0',
    'chunked POST: the JWKS request is a GET without a body');
is(($r->status // 0) == 200 ? $r->json->{body_sha256} : 'none',
    sha256_hex('field=value&' . 'x' x 3000),
    'chunked POST: the backend got the client body intact');
