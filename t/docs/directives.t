#!/usr/bin/perl
# Every directive and variable the module declares is documented in the
# README's reference, and every directive the examples use exists.

use strict;
use warnings;
use Test::More;
use FindBin;

my $repo = "$FindBin::Bin/../..";

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return <$fh>;
}

my $src = join '', map { slurp($_) } glob "$repo/ngx_module/ngx_http_hubgate_*.c";
my $readme = slurp("$repo/README.md");
my $examples = join '', map { slurp($_) } glob "$repo/conf.examples/*.conf";

my @directives = $src =~ /\{\s*ngx_string\("(hubgate_[a-z_]+)"\),\s*NGX_HTTP_/g;
my @variables = $src =~ /\{\s*ngx_string\("((?:hubgate|jwt)_[a-z_]+)"\),\s*NULL,/g;

cmp_ok(scalar @directives, '>=', 15, 'directives found in the source');
cmp_ok(scalar @variables, '>=', 5, 'variables found in the source');

for my $d (@directives) {
    like($readme, qr/\|\s*`\Q$d\E[ `]/, "README documents directive $d");
}

for my $v (@variables) {
    my $name = $v =~ /_$/ ? "$v<name>" : $v;
    like($readme, qr/`\$\Q$name\E`/, "README documents variable \$$name");
}

my %known = map { $_ => 1 } @directives;
my %used = map { $_ => 1 } $examples =~ /^\s*(hubgate_[a-z_]+)\s/mg;

for my $d (sort keys %used) {
    ok($known{$d}, "conf.examples directive $d exists in the module");
}

done_testing();
