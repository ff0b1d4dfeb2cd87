#!/usr/bin/perl

# hubgate_webhook and the request body: 1 MB verified in memory and from a
# temporary file (small client_body_buffer_size), forwarded byte-exact;
# over client_max_body_size is nginx's 413 (Content-Length or chunked);
# chunked deliveries (odd chunk sizes, one byte, a chunk extension)
# verified over the whole body; an empty body; a body with every byte
# value.  The backend answers the length and SHA-256 of what it received,
# not the body itself.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
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

my $ikey = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
$t->write_file('identity.secret', "$ikey\n");

my $GH = 'gh-' . new_id();
my $ST = 'whsec_' . new_id();
my $SW = whsec_new(32);
$t->write_file('github.secret', "$GH\n");
$t->write_file('stripe.whsec', "$ST\n");
$t->write_file('standard.whsec', "$SW\n");

# what arrived, without echoing a megabyte back
$t->backend(port => 8081, name => 'sink', handler => sub {
    my ($req) = @_;
    return (200, { 'Content-Type' => 'application/json' },
        JSON::PP->new->canonical->encode({
            method => $req->{method},
            uri => $req->{uri},
            headers => $req->{headers},
            body_length => length $req->{body},
            body_sha256 => sha256_hex($req->{body}),
        }));
});

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;
        add_header X-WH-Status $hubgate_webhook_status always;

        # in memory
        location /api/v1/webhooks/github/ {
            client_max_body_size 2m;
            client_body_buffer_size 2m;
            hubgate_webhook github secret=%%TESTDIR%%/github.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the body goes to a temporary file
        location /api/v1/webhooks/stripe/ {
            client_max_body_size 2m;
            client_body_buffer_size 16k;
            hubgate_webhook stripe secret=%%TESTDIR%%/stripe.whsec;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/small/ {
            client_max_body_size 1k;
            hubgate_webhook github secret=%%TESTDIR%%/github.secret;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /api/v1/webhooks/standard/ {
            client_max_body_size 1m;
            client_body_buffer_size 8k;
            hubgate_webhook standard secret=%%TESTDIR%%/standard.whsec;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

# counted by lines: decoding megabyte bodies back from the log is slow
sub forwarded {
    my $log = $t->read_file('sink.requests') // '';
    return $log =~ tr/\n//;
}

# the raw bytes of a body of $n random bytes (every value, NULs included)
sub random_body {
    my ($n) = @_;
    open my $r, '<:raw', '/dev/urandom' or die "urandom: $!";
    read($r, my $b, $n) == $n or die "urandom: short read";
    close $r;
    return $b;
}

sub post {
    my ($uri, $body, @headers) = @_;
    return $t->request(POST => $uri, body => $body,
        headers => [ 'Content-Type' => 'application/octet-stream',
            @headers ]);
}

sub arrived {
    my ($name, $r, $body, $webhook, $uri) = @_;
    my $seen = js($r);
    is($r->status, 200, "$name: 200") or diag(substr($r->raw, 0, 500));
    ok(($seen->{body_length} // -1) == length($body)
        && ($seen->{body_sha256} // '') eq sha256_hex($body),
        "$name: the backend got the body byte-exact ("
        . length($body) . ' bytes)')
        or diag("got $seen->{body_length} bytes");
    is_deeply($seen->{headers}{'x-hubgate-webhook'}, [ $webhook ],
        "$name: X-Hubgate-Webhook $webhook");
    ok(defined verify_identity($ikey,
        ($seen->{headers}{'x-hubgate-auth'} || [])->[0], method => 'POST',
        uri => $uri, webhook => $webhook), "$name: X-Hubgate-Auth verifies");
}

# a chunked request, raw: chunks of the given sizes, then the last one
sub chunked {
    my ($uri, $body, $sizes, @headers) = @_;
    my $req = "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nTransfer-Encoding: chunked\r\n"
        . "Content-Type: application/octet-stream\r\n";
    while (my ($n, $v) = splice @headers, 0, 2) {
        $req .= "$n: $v\r\n";
    }
    $req .= "\r\n";
    my $off = 0;
    for my $size (@$sizes, length($body)) {
        my $n = $size < length($body) - $off ? $size : length($body) - $off;
        last if $n <= 0;
        $req .= sprintf("%x", $n) . ($size == 7 ? ';ext=1' : '') . "\r\n"
            . substr($body, $off, $n) . "\r\n";
        $off += $n;
    }
    $req .= "0\r\n\r\n";
    return parse_response($t->http($req, timeout => 30));
}

###############################################################################
# 1 MB

my $MB = random_body(1024 * 1024);

{
    my $uri = '/api/v1/webhooks/github/' . new_uuid();
    my @h = github_sign($MB, secret => $GH);
    my $id = { @h }->{'X-GitHub-Delivery'};
    arrived('1 MB in memory', post($uri, $MB, @h), $MB,
        "scheme=github;id=$id", $uri);

    my $bad = $MB;
    substr($bad, -1, 1) = chr(ord(substr($bad, -1, 1)) ^ 1);
    my $n = forwarded();
    my $r = post($uri, $bad, @h);
    is($r->status, 401, '1 MB in memory, last byte flipped: 401');
    is($r->header('X-WH-Status'), 'signature', '... signature');
    is(forwarded(), $n, '... and nothing forwarded');
}

{
    my $uri = '/api/v1/webhooks/stripe/' . new_uuid();
    my $mark = $t->log_mark;
    arrived('1 MB from a temporary file',
        post($uri, $MB, stripe_sign($MB, secret => $ST)), $MB,
        'scheme=stripe', $uri);
    like($t->errlog_since($mark),
        qr/a client request body is buffered to a temporary file/,
        '... which nginx did write to a temporary file');

    my $bad = $MB;
    substr($bad, 100_000, 1) = chr(ord(substr($bad, 100_000, 1)) ^ 0x80);
    my $r = post($uri, $bad, stripe_sign($MB, secret => $ST));
    is($r->status, 401, '1 MB from a temporary file, one byte flipped: 401');
    is($r->header('X-WH-Status'), 'signature', '... signature');

    # at the buffer size exactly, and one byte over it
    for my $len (16 * 1024, 16 * 1024 + 1, 3 * 16 * 1024 - 1) {
        my $b = random_body($len);
        arrived("$len bytes around client_body_buffer_size 16k",
            post($uri, $b, stripe_sign($b, secret => $ST)), $b,
            'scheme=stripe', $uri);
    }
}

# an empty body is a body like any other

{
    my $uri = '/api/v1/webhooks/github/' . new_uuid();
    my @h = github_sign('', secret => $GH, delivery => 'empty-1');
    arrived('empty body', post($uri, '', @h), '', 'scheme=github;id=empty-1',
        $uri);
    my $r = post($uri, 'x', @h);
    is($r->status, 401, 'empty body signed, one byte sent: 401');
}

###############################################################################
# 413

{
    my $n = forwarded();
    my $b = random_body(1025);
    my $r = post('/api/v1/webhooks/small/' . new_uuid(), $b,
        github_sign($b, secret => $GH));
    is($r->status, 413, '1025 bytes over client_max_body_size 1k: 413');

    my $ok = random_body(1024);
    my $uri = '/api/v1/webhooks/small/' . new_uuid();
    is(post($uri, $ok, github_sign($ok, secret => $GH))->status, 200,
        '1024 bytes, at client_max_body_size: 200');

    $r = chunked('/api/v1/webhooks/small/' . new_uuid(), $b, [ 512, 512 ],
        github_sign($b, secret => $GH));
    is($r->status, 413, 'chunked, 1025 bytes over 1k: 413');

    my $big = $MB . 'x' x (1024 * 1024 + 1);
    $r = post('/api/v1/webhooks/github/' . new_uuid(), $big,
        github_sign($big, secret => $GH));
    is($r->status, 413, '2 MB + 1 over client_max_body_size 2m: 413');
    is(forwarded(), $n + 1, 'only the 1024-byte one was forwarded');
}

###############################################################################
# chunked

{
    my $body = '{"type":"invoice.paid","data":{"lines":['
        . join(',', map { qq({"n":$_,"s":"caf\xc3\xa9"}) } 1 .. 300) . ']}}';
    my $uri = '/api/v1/webhooks/standard/' . new_uuid();
    my @h = standard_sign($body, secret => $SW, id => 'msg_chunked');

    arrived('chunked, odd sizes (1, 7 with an extension, 4096, the rest)',
        chunked($uri, $body, [ 1, 7, 4096 ], @h), $body,
        'scheme=standard;id=msg_chunked', $uri);
    arrived('chunked, one chunk', chunked($uri, $body, [], @h), $body,
        'scheme=standard;id=msg_chunked', $uri);

    my $r = chunked($uri, tamper_last($body), [ 100 ], @h);
    is($r->status, 401, 'chunked, tampered: 401');

    # past client_body_buffer_size 8k, into a temporary file
    my $big = random_body(300 * 1024);
    my @hb = standard_sign($big, secret => $SW, id => 'msg_big');
    arrived('chunked, 300 KB into a temporary file',
        chunked($uri, $big, [ (8191) x 10, 3, 65536 ], @hb), $big,
        'scheme=standard;id=msg_big', $uri);

    my $suri = '/api/v1/webhooks/stripe/' . new_uuid();
    arrived('chunked, 1 MB, stripe, temporary file',
        chunked($suri, $MB, [ (32768) x 5 ], stripe_sign($MB, secret => $ST)),
        $MB, 'scheme=stripe', $suri);
}

sub tamper_last {
    my ($b) = @_;
    substr($b, -2, 1) = substr($b, -2, 1) eq ']' ? '}' : ']';
    return $b;
}

$t->done_testing;
