#!/usr/bin/perl
# make format-check: what can be checked mechanically of the C style
# (.editorconfig, STYLE.md): no tab, no trailing blank, at most 80 columns,
# no // comment, a final newline.  Prints file:line: problem; exit 1 if any.
use strict;
use warnings;

my $bad = 0;
for my $f (@ARGV) {
    open(my $fh, '<', $f) or die "$f: $!\n";
    my ($n, $last) = (0, '');
    while (my $l = <$fh>) {
        $n++;
        $last = $l;
        chomp(my $c = $l);
        my @p;
        push @p, 'tab' if $c =~ /\t/;
        push @p, 'trailing blank' if $c =~ /[ \t]$/;
        push @p, 'longer than 80 columns' if length($c) > 80;
        # a // outside strings and comments: good enough for our sources
        (my $code = $c) =~ s/"(?:[^"\\]|\\.)*"//g;
        $code =~ s{/\*.*?\*/}{}g;
        push @p, '// comment' if $code =~ m{(?<![:*])//} && $code !~ /^\s*\*/;
        print "$f:$n: $_\n" for @p;
        $bad += @p;
    }
    if ($n && $last !~ /\n\z/) {
        print "$f:$n: no final newline\n";
        $bad++;
    }
}
exit($bad ? 1 : 0);
