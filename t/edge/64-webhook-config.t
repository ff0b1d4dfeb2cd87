#!/usr/bin/perl

# hubgate_webhook and hubgate_webhook_cache: configuration mistakes fail
# `nginx -t` with a message that names the directive and the mistake (one
# case each); a configuration using every scheme and parameter passes.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);
use Hubgate::Webhook qw(:all);

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;

my $rsa = $t->keygen(type => 'rsa');
$t->write_file('google.json', $t->jwks($t->jwk($rsa, kid => 'g1')));
$t->write_file('identity.secret', ('k' x 64) . "\n");
$t->write_file('ok.secret', "a-secret\n");
$t->write_file('whsec.secret', whsec_new() . "\n");
$t->write_file('empty.secret', "\r\n\n \n");
$t->write_file('blank.secret', '');
$t->write_file('long.secret', ('x' x 1025) . "\n");
$t->write_file('many.secret', join('', map { "secret-$_\n" } 1 .. 17));
$t->write_file('sixteen.secret', join('', map { "secret-$_\n" } 1 .. 16));
mkdir $t->testdir . '/adir';

my $OK = 'secret=%%TESTDIR%%/ok.secret';
my $CACHE = 'hubgate_webhook_cache zone=whsec:1m;';
my $ID = 'hubgate_identity_secret %%TESTDIR%%/identity.secret;';

sub conf {
    my ($http, $server, $location) = @_;
    return <<"EOF";
%%MODULE%%

http {
    $http

    server {
        listen 127.0.0.1:%%PORT_8090%%;
        $server

        location /api/v1/webhooks/x/ {
            $location
            proxy_pass http://127.0.0.1:%%PORT_8091%%;
        }

        location /api/v1/webhook-secrets/ {
            internal;
            proxy_pass http://127.0.0.1:%%PORT_8091%%;
        }
    }
}
EOF
}

# name, http lines, server lines, location lines, what the message says
my @cases = (
    [ 'unknown scheme', '', '', "hubgate_webhook paypal $OK;",
      qr/hubgate_webhook: unknown scheme "paypal"/ ],
    [ 'scheme names are case-sensitive', '', '', "hubgate_webhook Stripe $OK;",
      qr/hubgate_webhook: unknown scheme "Stripe"/ ],
    [ 'no scheme at all', '', '', 'hubgate_webhook;',
      qr/invalid number of arguments in "hubgate_webhook"/ ],
    [ 'square without url=', '', '', "hubgate_webhook square $OK;",
      qr/hubgate_webhook square needs url=/ ],
    [ 'hmac without header=', '', '', "hubgate_webhook hmac $OK;",
      qr/hubgate_webhook.*header=/ ],
    [ 'neither secret= nor secret_request=', '', '', 'hubgate_webhook stripe;',
      qr/hubgate_webhook stripe needs secret=<file> or secret_request=<uri>/ ],
    [ 'secret file missing', '', '',
      'hubgate_webhook stripe secret=%%TESTDIR%%/missing.secret;',
      qr/hubgate_webhook: cannot open secret file "[^"]*missing\.secret"/ ],
    [ 'secret file is a directory', '', '',
      'hubgate_webhook stripe secret=%%TESTDIR%%/adir;',
      qr/hubgate_webhook: (?:secret file "[^"]*adir" is not a readable file|cannot read secret file "[^"]*adir")/ ],
    [ 'secret file of blank lines only', '', '',
      'hubgate_webhook stripe secret=%%TESTDIR%%/empty.secret;',
      qr/hubgate_webhook: secret file "[^"]*empty\.secret" holds no secret/ ],
    [ 'secret file empty', '', '',
      'hubgate_webhook github secret=%%TESTDIR%%/blank.secret;',
      qr/hubgate_webhook: secret file "[^"]*blank\.secret" holds no secret/ ],
    [ 'a secret over 1024 bytes', '', '',
      'hubgate_webhook github secret=%%TESTDIR%%/long.secret;',
      qr/hubgate_webhook: a secret in "[^"]*long\.secret" is longer than 1024 bytes/ ],
    [ '17 secrets', '', '',
      'hubgate_webhook github secret=%%TESTDIR%%/many.secret;',
      qr/hubgate_webhook: 17 secrets, at most 16/ ],
    [ '16 + 1 secrets over two files', '', '',
      'hubgate_webhook github secret=%%TESTDIR%%/sixteen.secret '
      . 'secret=%%TESTDIR%%/ok.secret;',
      qr/hubgate_webhook: 17 secrets, at most 16/ ],
    [ 'standard with a secret that is not whsec_<base64>', '', '',
      "hubgate_webhook standard $OK;",
      qr/hubgate_webhook standard: .*whsec_/ ],
    [ 'secret_request without hubgate_webhook_cache', '', $ID,
      'hubgate_webhook stripe secret_request=/api/v1/webhook-secrets/stripe/x;',
      qr/hubgate_webhook secret_request= needs "hubgate_webhook_cache zone=<name>:<size>"/ ],
    [ 'secret_request without hubgate_identity_secret', $CACHE, '',
      'hubgate_webhook stripe secret_request=/api/v1/webhook-secrets/stripe/x;',
      qr/hubgate_webhook secret_request= needs hubgate_identity_secret/ ],
    [ 'secret_request that is not a URI', $CACHE, $ID,
      'hubgate_webhook stripe secret_request=http://sidecar/x;',
      qr/hubgate_webhook: secret_request="http:\/\/sidecar\/x" must be a path/ ],
    [ 'pubsub without audience=', '', '',
      "hubgate_webhook pubsub email=a\@b.c;\n"
      . 'hubgate_jwt_key_file %%TESTDIR%%/google.json;',
      qr/hubgate_webhook pubsub needs audience= .* and email=/ ],
    [ 'pubsub without email=', '', '',
      "hubgate_webhook pubsub audience=https://h/x;\n"
      . 'hubgate_jwt_key_file %%TESTDIR%%/google.json;',
      qr/hubgate_webhook pubsub needs audience= .* and email=/ ],
    [ 'pubsub without keys', '', '',
      "hubgate_webhook pubsub audience=https://h/x email=a\@b.c;",
      qr/hubgate_webhook pubsub needs Google's keys/ ],
    [ 'pubsub with a secret', '', '',
      "hubgate_webhook pubsub audience=https://h/x email=a\@b.c $OK;\n"
      . 'hubgate_jwt_key_file %%TESTDIR%%/google.json;',
      qr/hubgate_webhook pubsub takes no secret/ ],
    [ 'hmac alg=md5', '', '',
      "hubgate_webhook hmac $OK header=X-Sig alg=md5;",
      qr/hubgate_webhook: unknown alg "md5": use sha256, sha512 or sha1/ ],
    [ 'hmac alg=SHA256 (case)', '', '',
      "hubgate_webhook hmac $OK header=X-Sig alg=SHA256;",
      qr/hubgate_webhook: unknown alg "SHA256"/ ],
    [ 'hmac encoding=base32', '', '',
      "hubgate_webhook hmac $OK header=X-Sig encoding=base32;",
      qr/hubgate_webhook: unknown encoding "base32": use hex or base64/ ],
    [ 'unknown parameter', '', '', "hubgate_webhook stripe $OK colour=red;",
      qr/hubgate_webhook: invalid parameter "colour=red"/ ],
    [ 'tolerance=abc', '', '', "hubgate_webhook stripe $OK tolerance=abc;",
      qr/hubgate_webhook: invalid tolerance "abc"/ ],
    [ 'secret_ttl=-1', $CACHE, $ID,
      'hubgate_webhook stripe secret_request=/api/v1/webhook-secrets/s/x '
      . 'secret_ttl=-1;',
      qr/hubgate_webhook: invalid secret_ttl "-1"/ ],
    [ 'hubgate_webhook_cache without zone=', 'hubgate_webhook_cache 1m;', '',
      "hubgate_webhook stripe $OK;",
      qr/hubgate_webhook_cache: invalid "1m": use zone=<name>:<size>/ ],
    [ 'hubgate_webhook_cache too small', 'hubgate_webhook_cache zone=w:4k;',
      '', "hubgate_webhook stripe $OK;",
      qr/hubgate_webhook_cache: zone "w" is too small/ ],
    [ 'hubgate_webhook twice in a location', '', '',
      "hubgate_webhook stripe $OK;\nhubgate_webhook github $OK;",
      qr/"hubgate_webhook" directive is duplicate/ ],
);

my $i = 0;

for my $c (@cases) {
    my ($name, $http, $server, $location, $re) = @$c;
    my $file = 'case' . ++$i . '.conf';
    $t->write_file_expand($file, conf($http, $server, $location));
    my ($rc, $out) = $t->test_config($file);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: the message says so") or diag($out);
}

# a directory given as a secret file: refused as such, not by a failed read
# that nginx logs as [crit]

{
    $t->write_file_expand('dir.conf', conf('', '',
        'hubgate_webhook stripe secret=%%TESTDIR%%/adir;'));
    my ($rc, $out) = $t->test_config('dir.conf');
    unlike($out, qr/\[crit\]/,
        'a directory as secret file: no [crit] line, a plain [emerg]');
}

# everything at once passes

{
    my $loc = join "\n", map { "location /api/v1/webhooks/$_->[0]/ {\n"
        . "    $_->[1]\n    proxy_pass http://127.0.0.1:%%PORT_8091%%;\n}" } (
        [ s1 => 'hubgate_webhook stripe secret=%%TESTDIR%%/sixteen.secret'
            . ' tolerance=5m;' ],
        [ s2 => 'hubgate_webhook stripe'
            . ' secret_request=/api/v1/webhook-secrets/stripe/$arg_i'
            . ' secret_ttl=30s;' ],
        [ sq => "hubgate_webhook square $OK url=https://h.example/x;" ],
        [ sq2 => "hubgate_webhook square $OK url=https://\$host\$uri;" ],
        [ in => "hubgate_webhook intuit $OK;" ],
        [ sw => 'hubgate_webhook standard secret=%%TESTDIR%%/whsec.secret'
            . ' tolerance=1m;' ],
        [ gh => "hubgate_webhook github $OK;" ],
        [ mc => "hubgate_webhook mailchimp $OK param=token;" ],
        [ h1 => "hubgate_webhook hmac $OK header=X-Sig;" ],
        [ h2 => "hubgate_webhook hmac $OK header=X-Sig alg=sha512"
            . ' encoding=base64 prefix=v1= timestamp_header=X-Ts'
            . ' tolerance=2m;' ],
        [ h3 => "hubgate_webhook hmac $OK header=X-Hub-Signature alg=sha1"
            . ' prefix=sha1=;' ],
        [ ps => 'hubgate_webhook pubsub audience=https://h/x email=a@b.c;'
            . "\n    hubgate_jwt_key_file %%TESTDIR%%/google.json;" ],
    );
    $t->write_file_expand('all.conf', conf($CACHE, $ID, '') =~
        s/(\n        location \/api\/v1\/webhooks\/x\/)/\n$loc\n$1/r);
    my ($rc, $out) = $t->test_config('all.conf');
    is($rc, 0, 'every scheme and parameter: nginx -t passes') or diag($out);
}

$t->done_testing;
