#!/usr/bin/perl

# hubgate_jwt against the attacks of RFC 8725 (JWT best current practice),
# one case per class, each answered 401 with the exact RFC 6750 challenge
# Bearer realm="api", error="invalid_token", error_description="<reason>";
# and the RFC 6750 answers themselves: no token (or another scheme) is a
# bare challenge, a malformed bearer value a 400 invalid_request.

use strict;
use warnings;

use JSON::PP;
use MIME::Base64 qw(decode_base64url encode_base64url encode_base64);
use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;

my $J = JSON::PP->new->canonical;

my ($rsa, $rsa_pub) = $t->keygen(type => 'rsa', name => 'rsa');
my $ec = $t->keygen(type => 'ec256', name => 'ec');
my $hmac = $t->keygen(type => 'hmac', name => 'hmac', bytes => 32);

# the attacker's own keys
my $evil = $t->keygen(type => 'rsa', name => 'evil');
my $evil_ec384 = $t->keygen(type => 'ec384', name => 'evil384');
my $evil_hmac = $t->keygen(type => 'hmac', name => 'evilhmac', bytes => 32);

$t->write_file('jwks.json', $t->jwks(
    $t->jwk($rsa, kid => 'r1'),
    $t->jwk($ec, kid => 'e1'),
    $t->jwk($hmac, kid => 'h1'),
));

my $evil_jwk = $J->decode($t->jwk($evil, kid => 'evil'));

# an attacker's server for jku/x5u: it must never be asked
$t->backend(port => 8083, name => 'attacker', handler => sub {
    return (200, { 'Content-Type' => 'application/json' },
        $J->encode({ keys => [ $evil_jwk ] }));
});

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        # room for tokens over 8 KB: hubgate, not nginx, must refuse them
        large_client_header_buffers 4 32k;

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        # the RSA public key as a PEM file, no kid
        location /pem/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/rsa.pub.pem;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /rs256/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_algorithms RS256;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

my $now = time;
my $exp = $now + 3600;
my %claims = (tid => 't1', sub => 'u1', exp => $exp);

sub b64 { encode_base64url($_[0]) }

# a token signed as told; header and claims as hashrefs or raw text

sub sign {
    my (%o) = @_;

    return $t->token(
        key => $o{key} // $rsa,
        alg => $o{alg} // 'RS256',
        header => $o{header} // { alg => $o{alg} // 'RS256', typ => 'JWT',
            kid => $o{kid} // 'r1' },
        claims => $o{claims} // do {
            my %c = (%claims, %{ $o{add} || {} });
            delete @c{ grep { !defined $c{$_} } keys %c };
            \%c;
        },
        ($o{der} ? (der => 1) : ()),
    );
}

sub parts { split /\./, $_[0], -1 }

sub outcome {
    my ($r) = @_;

    return ($r->status // 'none') . ' '
        . ($r->header('WWW-Authenticate') // '-');
}

sub bad {
    my ($reason) = @_;

    return '401 Bearer realm="api", error="invalid_token", '
        . "error_description=\"$reason\"";
}

my $MISSING = '401 Bearer realm="api"';
my $INVALID_REQUEST = '400 Bearer realm="api", error="invalid_request", '
    . 'error_description="malformed"';

my $good = sign();
my ($gh, $gp, $gs) = parts($good);

# each case: [ name, uri, Authorization value (undef: none), expected ]
my @cases;

sub case {
    my ($name, $tok, $want, $uri) = @_;

    push @cases, [ $name, $uri // '/api/', defined $tok ? "Bearer $tok"
        : undef, $want ];
}

sub case_raw {
    my ($name, $auth, $want) = @_;

    push @cases, [ $name, '/api/', $auth, $want ];
}

case('control: a valid RS256 token', $good, '200 -');

# alg "none" in every spelling (RFC 8725 2.1, 3.1)

case('alg none, no signature',
    $t->token(alg => 'none', kid => 'r1'), bad('bad_alg'));
case('alg None',
    $t->token(alg => 'None', header => '{"alg":"None","typ":"JWT"}'),
    bad('bad_alg'));
case('alg NONE',
    $t->token(alg => 'NONE', header => '{"alg":"NONE","typ":"JWT"}'),
    bad('bad_alg'));
case('alg none carrying a valid RS256 signature',
    sign(header => { alg => 'none', kid => 'r1' }), bad('bad_alg'));
case('no alg member', sign(header => { kid => 'r1', typ => 'JWT' }),
    bad('bad_alg'));
case('alg not a string', sign(header => { alg => ['RS256'], kid => 'r1' }),
    bad('bad_alg'));

# algorithm confusion (RFC 8725 2.1): HMAC keyed with the public key

my @confused = (
    [ 'HS256 keyed with the RSA public PEM, kid of the RSA key (JWKS)',
      sign(key => $rsa_pub, alg => 'HS256', kid => 'r1'), '/api/' ],
    [ 'HS256 keyed with the RSA public PEM, no kid (PEM file)',
      sign(key => $rsa_pub, alg => 'HS256',
          header => { alg => 'HS256', typ => 'JWT' }), '/pem/' ],
    [ 'HS512 keyed with the RSA public PEM, no kid (PEM file)',
      sign(key => $rsa_pub, alg => 'HS512',
          header => { alg => 'HS512', typ => 'JWT' }), '/pem/' ],
);

# algorithms outside the allowlist

case('HS256 where only RS256 is allowed',
    sign(key => $hmac, alg => 'HS256', kid => 'h1'), bad('bad_alg'),
    '/rs256/');
case('ES256 where only RS256 is allowed',
    sign(key => $ec, alg => 'ES256', kid => 'e1'), bad('bad_alg'),
    '/rs256/');
case('ES384 is not a default algorithm',
    sign(key => $evil_ec384, alg => 'ES384', kid => 'e1'), bad('bad_alg'));
case('alg names are case-sensitive: rs256',
    sign(header => { alg => 'rs256', kid => 'r1' }), bad('bad_alg'));

# keys

case('unknown kid', sign(kid => 'nope'), bad('no_key'));
case('another key under the same kid', sign(key => $evil, kid => 'r1'),
    bad('bad_signature'));
case('HMAC with another secret under the same kid',
    sign(key => $evil_hmac, alg => 'HS256', kid => 'h1'),
    bad('bad_signature'));

# crit and b64 (RFC 7515 4.1.11, RFC 7797)

case('crit header', sign(header => { alg => 'RS256', kid => 'r1',
    crit => ['exp'] }), bad('crit'));
case('crit header, empty list', sign(header => { alg => 'RS256',
    kid => 'r1', crit => [] }), bad('crit'));
case('b64 false', sign(header => { alg => 'RS256', kid => 'r1',
    b64 => JSON::PP::false, crit => ['b64'] }), bad('crit'));
case('b64 true, not critical', sign(header => { alg => 'RS256',
    kid => 'r1', b64 => JSON::PP::true }), bad('crit'));

# jku, x5u, jwk, x5c are ignored (RFC 8725 3.10)

my $jku = 'http://127.0.0.1:' . $t->port(8083) . '/jwks.json';
my $cert = $t->testdir . '/evil.der';
system('openssl', 'req', '-new', '-x509', '-key', $evil, '-subj',
    '/CN=evil', '-days', '1', '-outform', 'DER', '-out', $cert) == 0
    or die "openssl req failed";
my $x5c = encode_base64($t->read_file($cert), '');

case('jku, x5u, jwk, x5c elsewhere; signed by the configured key',
    sign(header => { alg => 'RS256', kid => 'r1', jku => $jku,
        x5u => $jku, jwk => $evil_jwk, x5c => [$x5c] }), '200 -');
case('signed by the key embedded in jwk, kid of the real key',
    sign(key => $evil, header => { alg => 'RS256', kid => 'r1',
        jwk => $evil_jwk }), bad('bad_signature'));
case('signed by the key embedded in jwk, no kid',
    sign(key => $evil, header => { alg => 'RS256', jwk => $evil_jwk }),
    bad('bad_signature'));
case('signed by the key behind jku, its kid',
    sign(key => $evil, header => { alg => 'RS256', kid => 'evil',
        jku => $jku }), bad('no_key'));
case('signed by the key of the x5c certificate, no kid',
    sign(key => $evil, header => { alg => 'RS256', x5c => [$x5c] }),
    bad('bad_signature'));

# compact serialization only: 3 parts (RFC 8725 3.11 spirit, RFC 7515 7.1)

my $json_ser = $J->encode({ payload => $gp, signatures => [
    { protected => $gh, signature => $gs } ] });

case_raw('JSON serialization as the bearer value: not a b64token',
    "Bearer $json_ser", $INVALID_REQUEST);
case('JSON serialization, base64url-encoded: one part', b64($json_ser),
    bad('malformed'));
case('flattened JSON serialization, base64url-encoded',
    b64($J->encode({ payload => $gp, protected => $gh, signature => $gs })),
    bad('malformed'));
case('two parts', "$gh.$gp", bad('malformed'));
case('four parts', "$good.$gs", bad('malformed'));
case('trailing dot (four parts, the last empty)', "$good.",
    bad('malformed'));
case('five parts (JWE shape)', "$gh.$gp.$gs.$gs.$gs", bad('malformed'));
case('empty header part', ".$gp.$gs", bad('malformed'));
case('empty payload part', "$gh..$gs", bad('malformed'));
case('standard base64 "+" in the header', "$gh+.$gp.$gs",
    bad('malformed'));

# JSON: duplicates, types, depth (RFC 8725 3.9 and 3.11)

case('duplicate alg in the header',
    sign(header => '{"alg":"RS256","kid":"r1","alg":"none"}'),
    bad('bad_json'));
case('duplicate kid in the header',
    sign(header => '{"alg":"RS256","kid":"r1","kid":"r1"}'),
    bad('bad_json'));
case('duplicate sub in the payload',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp,"sub":"admin"})),
    bad('bad_json'));
case('duplicate exp in the payload',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":1,"exp":$exp})),
    bad('bad_json'));
case('header not JSON', b64('not json') . ".$gp.$gs", bad('bad_json'));
case('header a JSON array', sign(header => '["RS256"]'), bad('bad_json'));
case('payload not an object', sign(claims => '[1,2,3]'), bad('bad_json'));
case('kid not a string', sign(header => { alg => 'RS256', kid => 1 }),
    bad('bad_json'));

my $nest = sub { ('[' x $_[0]) . '1' . (']' x $_[0]) };

case('payload nested 8 deep: accepted',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp,"x":)
        . $nest->(7) . '}'), '200 -');
case('payload nested 9 deep',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp,"x":)
        . $nest->(8) . '}'), bad('bad_json'));
case('payload nested 2500 deep',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp,"x":)
        . $nest->(2499) . '}'), bad('bad_json'));
case('header nested 9 deep',
    sign(header => '{"alg":"RS256","kid":"r1","x":' . $nest->(8) . '}'),
    bad('bad_json'));
case('brackets inside strings do not count',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp,"x":"[[[[[[[[[[["})),
    '200 -');

# size: 8 KB at most

my %sized = map { $_ => sized_token($_) } 8192, 8193;

case('token of exactly 8192 bytes: accepted', $sized{8192}, '200 -');
case('token of 8193 bytes', $sized{8193}, bad('too_large'));
case('token of 20 KB', sign(add => { pad => 'x' x 15000 }),
    bad('too_large'));

# claims (RFC 8725 3.10 and the README: exp required, times are numbers)

case('exp as a string', sign(claims => { %claims, exp => "$exp" }),
    bad('bad_claim_type'));
case('nbf as a string', sign(add => { nbf => "$now" }),
    bad('bad_claim_type'));
case('iat as a boolean', sign(add => { iat => JSON::PP::true }),
    bad('bad_claim_type'));
case('exp missing', sign(add => { exp => undef }), bad('expired'));
case('expired a minute ago', sign(add => { exp => $now - 60 }),
    bad('expired'));
case('nbf in the future', sign(add => { nbf => $now + 120 }),
    bad('not_yet_valid'));
case('iat in the future', sign(add => { iat => $now + 120 }),
    bad('not_yet_valid'));
case('exp with a fraction is a number: accepted',
    sign(claims => qq({"tid":"t1","sub":"u1","exp":$exp.5})), '200 -');

# signatures (RFC 8725 3.4: ECDSA as raw R||S only)

my $es = sign(key => $ec, alg => 'ES256', kid => 'e1');
case('control: a valid ES256 token', $es, '200 -');
case('ES256 signature in DER', sign(key => $ec, alg => 'ES256', kid => 'e1',
    der => 1), bad('bad_signature'));

my $sig = decode_base64url($gs);
case('RSA signature truncated by 10 bytes',
    "$gh.$gp." . b64(substr($sig, 0, -10)), bad('bad_signature'));
case('RSA signature with one bit flipped',
    "$gh.$gp." . b64(substr($sig, 0, -1) . chr(ord(substr($sig, -1)) ^ 1)),
    bad('bad_signature'));
case('empty signature', "$gh.$gp.", bad('bad_signature'));

my ($eh, $ep, $esig) = parts($es);
case('ES256 signature truncated by one byte',
    "$eh.$ep." . b64(substr(decode_base64url($esig), 0, -1)),
    bad('bad_signature'));

case('tampered payload, original signature',
    "$gh." . b64($J->encode({ %claims, sub => 'admin' })) . ".$gs",
    bad('bad_signature'));
case('tampered header (kid moved to another key), original signature',
    b64($J->encode({ alg => 'RS256', typ => 'JWT', kid => 'e1' }))
        . ".$gp.$gs", bad('no_key'));

# RFC 6750

case_raw('no Authorization header', undef, $MISSING);
case_raw('Basic credentials', 'Basic dXNlcjpwYXNz', $MISSING);
case_raw('another scheme that starts like Bearer', "Bearerx $good",
    $MISSING);
case_raw('Bearer with no value', 'Bearer', $INVALID_REQUEST);
case_raw('Bearer with only spaces', 'Bearer    ', $INVALID_REQUEST);
case_raw('a space inside the token', "Bearer $gh. $gp.$gs",
    $INVALID_REQUEST);
case_raw('two tokens', "Bearer $good $good", $INVALID_REQUEST);
case_raw('a tab after Bearer', "Bearer\t$good", $INVALID_REQUEST);
case_raw('a quote inside the value', "Bearer \"$good\"", $INVALID_REQUEST);
case_raw('scheme in lower case, several spaces', "bearer   $good",
    '200 -');

$t->plan(@cases + @confused + 3);

my $accepted = 0;

for my $c (@cases) {
    my ($name, $uri, $auth, $want) = @$c;

    my $r = $t->request(GET => $uri,
        headers => [ defined $auth ? (Authorization => $auth) : () ]);

    $accepted++ if ($r->status // 0) == 200;
    is(outcome($r), $want, $name);
}

for my $c (@confused) {
    my ($name, $tok, $uri) = @$c;

    my $r = $t->request(GET => $uri,
        headers => { Authorization => "Bearer $tok" });

    like(outcome($r), qr/^401 Bearer realm="api", error="invalid_token", (?x)
        error_description="(?:no_key|bad_signature)"$/, $name);
}

is($accepted, scalar(grep { $_->[3] eq '200 -' } @cases),
    'every case got the answer it expected (count of 200s)');
is(scalar(my @r = $t->backend_requests('backend_8081')), $accepted,
    'only accepted requests reached the backend');
is(scalar(my @a = $t->backend_requests('attacker')), 0,
    'jku and x5u were never fetched');


# an HS256 token (kid h1) of exactly $len bytes: the header and the payload
# are padded until the base64url lengths add up

sub sized_token {
    my ($len) = @_;

    my $b64len = sub { int((4 * length($_[0]) + 2) / 3) };

    for my $hp (0 .. 3) {
        my $h = qq({"alg":"HS256","kid":"h1","typ":"JWT","x":")
            . ('y' x $hp) . '"}';

        for my $n (5500 .. 6500) {
            my $p = qq({"exp":$exp,"pad":") . ('x' x ($n - 40))
                . '","sub":"u1","tid":"t1"}';
            my $total = $b64len->($h) + 1 + $b64len->($p) + 1 + 43;

            next if $total != $len;

            my $tok = $t->token(key => $hmac, alg => 'HS256', header => $h,
                claims => $p);
            die "sized_token: got " . length($tok) . ", not $len"
                if length($tok) != $len;

            return $tok;
        }
    }

    die "sized_token: no padding gives $len bytes";
}
