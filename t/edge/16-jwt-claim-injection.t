#!/usr/bin/perl

# A validly signed token whose claims hold CR/LF must not add headers
# upstream: the module refuses it (bad_claim_type), and $jwt_claim_*
# variables never expose such a value.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(7);

my $key = $t->keygen(type => 'rsa');
$t->write_file('jwks.json', $t->jwks($t->jwk($key, kid => 'k1')));
$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
            hubgate_jwt "api";
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            proxy_set_header X-Note $jwt_claim_note;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }
    }
}
EOF

$t->run;

for my $claim (qw(sub tid roles)) {
    my $tok = $t->token(key => $key, kid => 'k1',
        add => { $claim => "alice\r\nX-Hubgate-Tenant: evil" });
    my $r = $t->request(GET => '/', headers => {
        Authorization => "Bearer $tok" });
    is($r->status, 401, "CR/LF in $claim refused");
    like($r->header('WWW-Authenticate'), qr/error_description="bad_claim_type"/,
        "as bad_claim_type ($claim)");
}

my $tok = $t->token(key => $key, kid => 'k1',
    add => { note => "a\nX-Injected: 1" });
my $r = $t->request(GET => '/', headers => { Authorization => "Bearer $tok" });
is_deeply([$r->status, $r->json->{headers}{'x-injected'},
           $r->json->{headers}{'x-note'}], [200, undef, undef],
    'a control character in another claim: the variable is empty, '
    . 'nothing injected');
