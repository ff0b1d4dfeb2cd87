#!/usr/bin/perl

# The harness itself: backends over TCP and Unix sockets, proxying,
# keep-alive, chunked bodies, TLS, reloads (good and bad), the log helpers,
# and keys and tokens from hg-jwt checked independently where Perl can
# (HMAC).  Needs no hubgate directive, so it runs against any module.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(decode_base64url encode_base64url);
use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->plan(33);

$t->echo_backend(port => 8081);
$t->echo_backend(unix => 'echo.sock');

$t->backend(port => 8082, handler => sub {
    my ($req) = @_;

    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\n"
        . "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
        if $req->{uri} eq '/chunked';

    return (429, [ 'Retry-After' => 7, 'X-Multi' => 'a', 'X-Multi' => 'b' ],
        "slow down\n");
});

my ($crt, $key) = $t->ssl_cert;

my $conf = <<'EOF';
%%MODULE%%

http {
    upstream echo_keepalive {
        server 127.0.0.1:%%PORT_8081%%;
        keepalive 4;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        listen 127.0.0.1:%%PORT_8443%% ssl;
        server_name localhost;

        ssl_certificate %%TESTDIR%%/localhost.crt;
        ssl_certificate_key %%TESTDIR%%/localhost.key;

        location /echo {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /unix {
            proxy_pass http://unix:%%TESTDIR%%/echo.sock:;
        }

        location /ka {
            proxy_pass http://echo_keepalive;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }

        location /other {
            proxy_pass http://127.0.0.1:%%PORT_8082%%;
        }

        location /chunked {
            proxy_pass http://127.0.0.1:%%PORT_8082%%;
        }

        location /version {
            return 200 "VERSION\n";
        }
    }
}
EOF

(my $v1 = $conf) =~ s/VERSION/one/;
$t->write_file_expand('nginx.conf', $v1);
$t->run;

# proxying to the echo backend

my $r = $t->request(GET => '/echo/a?b=1', headers => [
    'X-Test' => 'one', 'X-Test' => 'two', 'Authorization' => 'Bearer abc' ]);
is($r->status, 200, 'echo: 200');
my $seen = $r->json;
is($seen->{uri}, '/echo/a?b=1', 'echo: uri as received');
is_deeply($seen->{headers}{'x-test'}, [ 'one', 'two' ],
    'echo: repeated headers in order');
is($seen->{headers}{authorization}[0], 'Bearer abc', 'echo: authorization');
is($r->header('Content-Type'), 'application/json', 'response header');

my $bytes = join '', map { chr } 0 .. 255;
$r = $t->request(POST => '/unix/post', body => $bytes,
    headers => { 'Content-Type' => 'application/octet-stream' });
is($r->status, 200, 'unix socket backend: 200');
is($r->json->{body}, $bytes, 'binary body arrives byte for byte');
is($r->json->{body_length}, 256, 'body length');

my @seen = $t->backend_requests('echo.sock');
is(scalar @seen, 1, 'backend_requests counts');
is($seen[0]{method}, 'POST', 'backend_requests has the method');

# status, repeated response headers, raw and chunked responses

$r = $t->request(GET => '/other');
is($r->status, 429, 'handler status');
is($r->header('Retry-After'), 7, 'handler header');
is_deeply([ $r->header('X-Multi') ], [ 'a', 'b' ], 'multi-valued header');
is(scalar $r->header('X-Multi'), 'a, b', 'joined in scalar context');
is($r->header('X-Absent'), undef, 'absent header is undef');

$r = $t->request(GET => '/chunked');
is($r->header('Transfer-Encoding'), 'chunked', 'chunked to the client');
is($r->body, 'hello, world', 'chunked body decoded');

$r = parse_response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
is($r->status . ' ' . $r->body, '201 abc', 'parse_response: 1xx, trailers');

# keep-alive: two requests on one client connection and one upstream one

my $s = $t->connect;
my $raw = http("GET /ka/1 HTTP/1.1\r\nHost: localhost\r\n\r\n", socket => $s);
my $raw2 = http("GET /ka/2 HTTP/1.1\r\nHost: localhost\r\n\r\n", socket => $s);
close $s;
like($raw, qr{^HTTP/1\.1 200}, 'keep-alive: first');
like($raw2, qr{"uri":"/ka/2"}, 'keep-alive: second on the same connection');

# TLS

$r = $t->request(GET => '/version', port => 8443, ssl => 1);
is($r->body, "one\n", 'https');

# logs

my $mark = $t->log_mark;
$t->request(GET => '/missing-file');
ok($t->wait_for(sub {
    $t->errlog_since($mark) =~ /open\(\) ".*missing-file"/
}), 'errlog_since sees a new line');

# reload: a good configuration replaces the workers

my @old = $t->worker_pids;
(my $v2 = $conf) =~ s/VERSION/two/;
$t->write_file_expand('nginx.conf', $v2);
ok($t->reload, 'reload');
is($t->request(GET => '/version')->body, "two\n", 'new configuration serves');
ok(!(grep { my $o = $_; grep { $_ == $o } $t->worker_pids } @old),
    'old workers are gone or shutting down');

# reload: a configuration only the master rejects keeps the old one

$t->allow_alerts(qr/unknown directive "no_such_directive"/);
$t->write_file_expand('nginx.conf',
    $v2 =~ s/(http \{)/$1\n    no_such_directive;/r);
ok(!$t->reload, 'a bad reload reports failure');
is($t->request(GET => '/version')->body, "two\n", 'old configuration serves');

# keys and tokens

SKIP: {
    skip 'hg-jwt not built (make tools)', 6 if !-x $t->{tool};

    my $secret = $t->keygen(type => 'hmac', bytes => 48);
    my $tok = $t->token(key => $secret, kid => 'h1', add => { aud => 'api' });
    my ($h, $p, $sig) = split /\./, $tok;

    is(decode_base64url($sig),
        hmac_sha256("$h.$p", $t->read_file($secret)), 'HS256 signature');
    is_deeply(decode_json(decode_base64url($h)),
        { alg => 'HS256', typ => 'JWT', kid => 'h1' }, 'default header');
    my $claims = decode_json(decode_base64url($p));
    ok($claims->{aud} eq 'api' && $claims->{tid} eq 't1'
        && $claims->{exp} > time, 'default claims with add');

    my $pem = $t->keygen(type => 'ec256');
    my $jwk = decode_json($t->jwk($pem, kid => 'e1'));
    is(join(',', map { $_ // '-' } @$jwk{qw(kty crv kid)}), 'EC,P-256,e1',
        'EC JWK');

    $tok = $t->token(key => $pem, header => '{"alg":"ES256","alg":"x"}',
        claims => 'not json');
    ($h, $p) = split /\./, $tok;
    is(decode_base64url($h) . '|' . decode_base64url($p),
        '{"alg":"ES256","alg":"x"}|not json', 'raw header and claims');

    my @many = $t->tokens(key => $secret, count => 3);
    is(scalar(grep { /^[\w-]+\.[\w-]+\.[\w-]+$/ } @many), 3, 'tokens');
}
