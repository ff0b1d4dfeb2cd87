#!/usr/bin/perl
# The C sources keep the declared style (.editorconfig, tools/format-check.pl).
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $repo = abs_path(dirname(__FILE__) . '/../..');
chdir $repo or die "$repo: $!\n";
my @files = sort(glob('ngx_module/*.[ch]'), glob('sidecar/*.[ch]'),
                 glob('sidecar/*/*.[ch]'));
ok(@files > 20, 'sources found (' . scalar(@files) . ')');

for my $f (@files) {
    my $out = `tools/format-check.pl $f`;
    is($out, '', "$f keeps the style") or diag($out);
}

done_testing();
