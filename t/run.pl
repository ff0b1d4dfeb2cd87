#!/usr/bin/perl

# t/run.pl: the test runner behind `make test`.
#
#   perl t/run.pl [--fuzz-seconds N] [--timeout S] [-v] <dir or file>...
#
# What each argument runs:
#   t/unit    every build/unit/test_* binary, as TAP (CMOCKA_MESSAGE_OUTPUT=
#             TAP; several cmocka groups are merged into one plan)
#   t/edge    every t/edge/*.t, with perl -It/lib (any other directory: its
#             *.t files the same way)
#   t/asan    the t/edge/*.t and t/sidecar/*.t again with HUBGATE_ASAN=1,
#             HUBGATE_MODULE=build/asan/ngx_http_hubgate_module.so and
#             HUBGATED=build/asan/hubgated (missing: 1 failed)
#   t/fuzz    tools/fuzz.sh <seconds> build/fuzz/fuzz_* (it prints TAP)
#   a file    *.t with perl -It/lib, anything else executed as TAP
#
# Prints results per file as prove does, then a last line
# "N passed, N failed": passed counts passing test points (skipped and
# TODO ones included); failed counts failing test points, plus one for
# each file that died (exit 255 or a signal), timed out, had a bad or no
# plan, or exited non-zero without a failing test point, plus one for each
# suite that could not run (missing binaries).  Exit status 1 when anything
# failed.  An empty directory counts nothing.
#
# Each file runs under timeout(1): --timeout seconds (default 300, tripled
# for t/asan; HUBGATE_TEST_TIMEOUT sets the default).

use strict;
use warnings;

use Cwd qw(abs_path getcwd);
use File::Basename qw(basename dirname);
use File::Spec;
use Getopt::Long qw(GetOptions);
use TAP::Harness;
use TAP::Parser::Aggregator;

my $REPO = abs_path(dirname(__FILE__) . '/..');

exit tap_merge(@ARGV[1 .. $#ARGV]) if @ARGV && $ARGV[0] eq '--tap-merge';

my $fuzz_seconds = 10;
my $timeout = $ENV{HUBGATE_TEST_TIMEOUT} || 300;
my $verbose = 0;

GetOptions('fuzz-seconds=i' => \$fuzz_seconds, 'timeout=i' => \$timeout,
    'verbose|v' => \$verbose)
    or usage();
usage() if !@ARGV;

my $cwd = getcwd();
my @args = map { abs_path(File::Spec->rel2abs($_, $cwd)) // $_ } @ARGV;

chdir $REPO or die "run.pl: chdir $REPO: $!\n";

my $have_timeout = -x '/usr/bin/timeout' || -x '/bin/timeout';
my @suites = map { suites_for($_) } @args;

my $agg = TAP::Parser::Aggregator->new;
my $failed_extra = 0;
my $last_harness;

$agg->start;

for my $s (@suites) {
    if ($s->{error}) {
        print "$s->{label} .. FAILED: $s->{error}\n";
        $failed_extra++;
    }

    if (!@{ $s->{tests} || [] }) {
        print "$s->{label} .. nothing to run\n" if !$s->{error};
        next;
    }

    local %ENV = (%ENV, %{ $s->{env} || {} });

    my $harness = TAP::Harness->new({
        verbosity => $verbose ? 1 : 0,
        failures => 1,
        comments => 0,
        color => -t STDOUT ? 1 : 0,
        exec => $s->{exec},
    });

    $harness->aggregate_tests($agg, @{ $s->{tests} });
    $last_harness = $harness;
}

$agg->stop;

$last_harness->summary($agg) if $last_harness;

my ($passed, $failed) = (0, $failed_extra);

for my $desc ($agg->descriptions) {
    for my $p ($agg->parsers($desc)) {
        my $pass = scalar $p->passed;
        my $fail = scalar $p->failed;
        my $exit = $p->exit // 0;
        my $why;

        if ($p->wait & 127) {
            $why = 'killed by signal ' . ($p->wait & 127);

        } elsif ($exit == 124 && $have_timeout) {
            $why = 'timed out';

        } elsif ($exit == 255) {
            $why = 'died';

        } elsif ($p->parse_errors) {
            $why = join '; ', $p->parse_errors;

        } elsif ($exit != 0 && $fail == 0) {
            $why = "exit status $exit without a failing test";
        }

        if ($why) {
            print "$desc: counted as failed: $why\n";
            $fail++;
        }

        $passed += $pass;
        $failed += $fail;
    }
}

# the summary above knows nothing of suites that could not run
for my $s (grep { $_->{error} } @suites) {
    print "$s->{label}: counted as 1 failed: $s->{error}\n";
}

print "$passed passed, $failed failed\n";

# .ci/run repeats this as its last line, after anything make prints
if (open my $fh, '>', "$REPO/build/test-summary.txt") {
    print $fh "$passed passed, $failed failed\n";
    close $fh;
}

exit($failed ? 1 : 0);


sub usage {
    print STDERR "usage: perl t/run.pl [--fuzz-seconds N] [--timeout S]"
        . " [-v] <dir or file>...\n";
    exit 2;
}

sub rel {
    my ($path) = @_;

    return File::Spec->abs2rel($path, $REPO) if index($path, "$REPO/") == 0;
    return $path;
}

sub limited {
    my ($seconds, @cmd) = @_;

    return [ @cmd ] if !$have_timeout;
    return [ 'timeout', '--kill-after=10', $seconds, @cmd ];
}

sub perl_exec {
    my ($limit) = @_;

    return sub {
        my (undef, $file) = @_;
        return limited($limit, $^X, "-I$REPO/t/lib", $file);
    };
}

sub executables {
    my ($pattern) = @_;

    return grep { -f && -x && basename($_) !~ /\./ } sort glob($pattern);
}

# built binaries for t/<kind>/<prefix>*.c sources; an error for any missing

sub binaries_for {
    my ($kind, $prefix) = @_;

    my @bins = executables("$REPO/build/$kind/$prefix*");
    my %have = map { basename($_) => 1 } @bins;
    my @missing = grep { !$have{$_} }
        map { basename($_, '.c') } sort glob("$REPO/t/$kind/$prefix*.c");

    return (\@bins, @missing
        ? "not built: " . join(', ', map { "build/$kind/$_" } @missing)
          . " (make " . ($kind eq 'unit' ? 'unit' : 'fuzz-build') . ")"
        : undef);
}

sub suites_for {
    my ($path) = @_;

    my $label = rel($path);
    my $name = basename($path);

    if (-f $path) {
        my $exec = $path =~ /\.t$/ ? perl_exec($timeout)
            : sub { limited($timeout, $_[1]) };

        return { label => $label, tests => [ [ $path, $label ] ],
            exec => $exec };
    }

    if ($name eq 'unit' && -d $path) {
        my ($bins, $error) = binaries_for('unit', 'test_');

        return {
            label => $label,
            error => $error,
            env => { CMOCKA_MESSAGE_OUTPUT => 'TAP' },
            tests => [ map { [ $_, rel($_) ] } @$bins ],
            exec => sub {
                limited($timeout, $^X, "$REPO/t/run.pl", '--tap-merge',
                    $_[1]);
            },
        };
    }

    if ($name eq 'asan') {
        my $so = "$REPO/build/asan/ngx_http_hubgate_module.so";
        my $hg = "$REPO/build/asan/hubgated";

        for my $f ($so, $hg) {
            return { label => $label,
                error => "skipped: " . rel($f) . " not found (make test)" }
                if !-f $f;
        }

        return {
            label => $label,
            env => { HUBGATE_ASAN => 1, HUBGATE_MODULE => $so,
                     HUBGATED => $hg },
            tests => [ map { [ $_, 'asan:' . rel($_) ] }
                       sort(glob("$REPO/t/edge/*.t"),
                            glob("$REPO/t/sidecar/*.t")) ],
            exec => perl_exec($timeout * 3),
        };
    }

    if ($name eq 'fuzz' && -d $path) {
        my ($bins, $error) = binaries_for('fuzz', 'fuzz_');
        my $script = "$REPO/tools/fuzz.sh";

        return { label => $label, error => $error, tests => [] } if !@$bins;

        return { label => $label, error => "tools/fuzz.sh not found" }
            if !-x $script;

        my @cmd = ($script, $fuzz_seconds, map { rel($_) } @$bins);

        return {
            label => $label,
            error => $error,
            tests => [ [ $script, "fuzz ($fuzz_seconds s x "
                                  . @$bins . " targets)" ] ],
            exec => sub {
                limited($fuzz_seconds * @$bins + $timeout, @cmd);
            },
        };
    }

    if (-d $path) {
        return { label => $label,
            tests => [ map { [ $_, rel($_) ] } sort glob("$path/*.t") ],
            exec => perl_exec($timeout) };
    }

    return { label => $label, error => "no such file or directory" };
}

# Runs one binary and merges the TAP of its cmocka groups (each prints its
# own "1..N") into one stream with one plan at the end.  A group that ran
# fewer tests than it planned (a crash) becomes a failing test point.

sub tap_merge {
    my ($bin) = @_;

    my $pid = open(my $fh, '-|') // die "run.pl: fork: $!\n";

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec { $bin } $bin or die "run.pl: exec $bin: $!\n";
    }

    $| = 1;

    my ($n, $plan, $in_group) = (0, undef, 0);

    my $check_group = sub {
        if (defined $plan && $in_group < $plan) {
            $n++;
            print "not ok $n - group planned $plan tests, ran $in_group\n";
        }
        ($plan, $in_group) = (undef, 0);
    };

    while (my $line = <$fh>) {
        if ($line =~ /^1\.\.(\d+)/) {
            $check_group->();
            $plan = $1;

        } elsif ($line =~ /^(not )?ok\b\s*\d*\s*(.*)$/s) {
            $n++;
            $in_group++;
            print(($1 // '') . "ok $n $2");

        } elsif ($line =~ /^#/) {
            print $line;

        } else {
            print "# $line";
        }
    }

    close $fh;
    my $status = $?;

    $check_group->();
    print "1..$n\n";

    return 128 + ($status & 127) if $status & 127;
    return $status >> 8;
}
