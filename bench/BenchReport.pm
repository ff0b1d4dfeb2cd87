package BenchReport;

# hubgate benches: what bench/sidecar_report.pl and bench/webhook_report.pl
# share to read a work directory and print numbers.

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(read_meta median fmt_int fmt_us);

# <dir>/meta: key=value lines, as the bench scripts' meta() writes them
sub read_meta {
    my ($dir) = @_;
    my %m;
    open my $fh, '<', "$dir/meta" or die "$dir/meta: $!\n";
    while (<$fh>) {
        chomp;
        my ($k, $v) = split /=/, $_, 2;
        $m{$k} = $v if defined $v;
    }
    close $fh;
    return %m;
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return undef if !@v;
    return $v[$#v / 2] if @v % 2;
    return ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# 12345.6 -> "12,346"
sub fmt_int {
    my $n = sprintf '%.0f', shift;
    1 while $n =~ s/^(\d+)(\d{3})/$1,$2/;
    return $n;
}

sub fmt_us { defined $_[0] ? sprintf('%.1f', $_[0]) : '—' }

1;
