#!/usr/bin/perl

# The module loads into Debian's nginx, nginx -t accepts it, nginx serves,
# and a directive the module does not have fails nginx -t by name.

use strict;
use warnings;

use File::Basename qw(basename);
use Test::More;

use lib 't/lib';
use Hubgate::Test;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->plan(8);

my $hubgate = basename($t->module // '') =~ /hubgate/;

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        location / {
            return 200 "hello\n";
        }
    }
}
EOF

my ($rc, $out) = $t->test_config;
is($rc, 0, 'nginx -t accepts the configuration with load_module')
    or diag($out);
like($out, qr/test is successful/, 'nginx -t says so');

$t->run;

my $r = $t->request(GET => '/');
is($r->status, 200, 'return 200 answers 200');
is($r->body, "hello\n", 'with its body');

like(http_get('/x'), qr{^HTTP/1\.1 200 .*hello$}s, 'raw http_get');

$t->write_file_expand('unknown.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
            hubgate_nonsense on;
            return 200;
        }
    }
}
EOF

($rc, $out) = $t->test_config('unknown.conf');
isnt($rc, 0, 'nginx -t fails on an unknown directive');
like($out, qr/unknown directive "hubgate_nonsense" in \S*unknown\.conf:\d+/,
    'and names it with file and line');

SKIP: {
    skip 'not the hubgate module', 1 if !$hubgate;

    $t->write_file_expand('known.conf', <<'EOF');
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
            hubgate_jwt off;
            return 200;
        }
    }
}
EOF

    ($rc, $out) = $t->test_config('known.conf');
    is($rc, 0, 'a hubgate directive is known once the module is loaded')
        or diag($out);
}
