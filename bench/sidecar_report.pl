#!/usr/bin/perl
# hubgate bench: the bench/results.md section for bench/sidecar.sh, from the
# numbers it collected in its work directory (printed to stdout).
#
#   perl bench/sidecar_report.pl <workdir>
#
# Reads <workdir>/meta (key=value), scenarios.tsv (id, path, label),
# runs.tsv (id run attempt rps requests duration_us bytes non2xx
# socket_errors nginx_cpu_s hubgated_cpu_s postgres_cpu_s wrk_cpu_s
# other_cores, or "FAILED" as rps) and logs/{nginx-bad,nginx-errors,
# hubgated-errors}.txt.  Exits 1 when a run was invalid or a log holds an
# error, 0 otherwise (a missed target is not a failure: the table says so).

use strict;
use warnings;

use FindBin ();
use lib $FindBin::Bin;
use BenchReport qw(read_meta median fmt_int fmt_us);
use Time::Local qw(timegm);

my $dir = shift or die "usage: sidecar_report.pl <workdir>\n";

my %m = read_meta($dir);
my $fh;

my (@order, %sc);
open $fh, '<', "$dir/scenarios.tsv" or die "$dir/scenarios.tsv: $!\n";
while (<$fh>) {
    chomp;
    next unless length;
    my ($id, $path, $label) = split /\t/;
    push @order, $id;
    $sc{$id} = { path => $path, label => $label, runs => [] };
}
close $fh;

open $fh, '<', "$dir/runs.tsv" or die "$dir/runs.tsv: $!\n";
while (<$fh>) {
    chomp;
    my %r;
    @r{qw(id run attempt rps reqs dur bytes status sock ncpu hcpu pcpu wcpu
          other)} = split /\t/;
    push @{ $sc{$r{id}}{runs} }, \%r if $sc{$r{id}};
}
close $fh;




sub lines_of {
    my $f = shift;
    open my $h, '<', $f or return ();
    my @l = grep { /\S/ } <$h>;
    close $h;
    return @l;
}

my $invalid = 0;

for my $id (@order) {
    my $s = $sc{$id};
    my (@rps, @problems, @noisy, %us, @bytes);

    for my $r (@{ $s->{runs} }) {
        my $n = $r->{run};
        if ($r->{rps} eq 'FAILED') {
            push @problems, "run $n: failed";
            next;
        }
        push @rps, $r->{rps};
        push @problems, "run $n: $r->{status} non-2xx" if $r->{status};
        push @problems, "run $n: $r->{sock} socket errors" if $r->{sock};
        push @noisy, sprintf('run %d: other processes used %.2f of a core',
                             $n, $r->{other})
            if $r->{other} > ($m{noise_max} // 0.15);
        next unless $r->{reqs};
        push @bytes, $r->{bytes} / $r->{reqs};
        for my $k (qw(ncpu hcpu pcpu wcpu)) {
            push @{ $us{$k} }, $r->{$k} * 1e6 / $r->{reqs};
        }
        push @{ $us{total} },
            ($r->{ncpu} + $r->{hcpu} + $r->{pcpu} + $r->{wcpu}) * 1e6
            / $r->{reqs};
    }

    push @problems, 'no runs' unless @rps;
    $s->{median} = median(@rps);
    $s->{all} = \@rps;
    $s->{problems} = \@problems;
    $s->{noisy} = \@noisy;
    $s->{bytes} = median(@bytes);
    $s->{us}{$_} = median(@{ $us{$_} // [] }) for qw(ncpu hcpu pcpu wcpu total);
    $s->{valid} = !@problems;
    $invalid = 1 unless $s->{valid};
}

my @nginx_bad = lines_of("$dir/logs/nginx-bad.txt");
my @nginx_err = lines_of("$dir/logs/nginx-errors.txt");
# hubgated's warnings that a client went away: wrk drops its connections
# with requests in flight when a run ends, nginx then closes the upstream
# connection, and hubgated cannot send the answer.  Expected within a
# second after the end of a run; anywhere else they count as errors.
my @ends = map { chomp; $_ } lines_of("$dir/run_ends");
my (@hg_err, @hg_gone);
for my $line (lines_of("$dir/logs/hubgated-errors.txt")) {
    my $gone = $line =~ /"level":"warn"/
        && $line =~ /socket is no longer available for sending/;
    if ($gone && $line =~ /"ts":"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+(?:\.\d+)?)Z"/) {
        my $t = timegm(0, $5, $4, $3, $2 - 1, $1) + $6;
        if (grep { $t >= $_ - 0.2 && $t <= $_ + 1.0 } @ends) {
            push @hg_gone, $line;
            next;
        }
    }
    push @hg_err, $line;
}
$invalid = 1 if @nginx_bad || @nginx_err || @hg_err;

my $out = '';
sub p { $out .= join('', @_) . "\n"; }

my $ratio = sub {
    my ($id, $base) = @_;
    my ($a, $b) = ($sc{$id}{median}, $sc{$base} ? $sc{$base}{median} : undef);
    return '—' if $id eq $base || !defined $a || !$b;
    return sprintf '%.3f', $a / $b;
};

p '<!-- sidecar bench: begin (written by bench/sidecar.sh; replaced on every run) -->';
p '## The API round trip through nginx (`bench/sidecar.sh`)';
p '';
p "- date: $m{date}; machine: $m{nproc} CPUs, $m{cpu}, Linux $m{kernel}";
p "- $m{hubgated}; nginx $m{nginx} (Debian), one worker process, "
  . "access_log off; PostgreSQL $m{postgresql} (the private cluster of "
  . "`tools/services.sh`); wrk $m{wrk}";
p "- path of an API request: wrk → nginx (plain HTTP on loopback) → "
  . "`hubgate_jwt` RS256 with the verified-token cache on ($m{ntokens} tokens "
  . "of one tenant, rotated) → per-tenant `hubgate_limit` (a rate far above "
  . "the load) → identity signature → `proxy_pass` to hubgated's Unix socket "
  . "(keepalive 32) → hubgated: signature check, tenant lookup, query under "
  . "row-level security, JSON";
p "- hubgated: its defaults ($m{threads} worker threads, database pool "
  . "$m{pool}, log $m{loglevel} in $m{logformat}, one line per request, to "
  . "a file); the tenant holds $m{ninteg} Stripe api-key integrations, "
  . "created through the API, so the page (`limit=$m{ninteg}`) is "
  . fmt_int($m{list_bytes}) . " bytes of JSON; the static-file row serves "
  . "that very answer";
p "- load: wrk -t1 -c$m{conns}, $m{runs} run(s) x $m{secs} s per scenario "
  . "(round robin, after a $m{warmup} s warm-up each), median req/s";
p "- CPU pinning: $m{pinning}; load average before / after: "
  . "$m{load_before} / $m{load_after}";
p "- noise control: a run during which processes other than nginx's "
  . "worker, wrk, hubgated and PostgreSQL used more than $m{noise_max} of a "
  . "core is repeated (at most $m{max_retries} repeats; used: "
  . ($m{retries_used} // 0) . ")";
p '';
p '| scenario | median req/s | runs (req/s) | × `return 200` | × static JSON '
  . '| bytes/response | CPU µs/request: nginx + hubgated + PostgreSQL + wrk = all | checks |';
p '|---|--:|---|--:|--:|--:|---|---|';

for my $id (@order) {
    my $s = $sc{$id};
    my $u = $s->{us};
    my @checks = $s->{valid}
        ? ('all 2xx, no socket errors')
        : ('**INVALID**: ' . join('; ', @{ $s->{problems} }));
    push @checks, 'noisy: ' . join('; ', @{ $s->{noisy} }) if @{ $s->{noisy} };
    p sprintf '| %s | %s | %s | %s | %s | %s | %s + %s + %s + %s = %s | %s |',
        $s->{label},
        defined $s->{median} ? fmt_int($s->{median}) : '—',
        join(', ', map { fmt_int($_) } @{ $s->{all} }),
        $ratio->($id, 'return'), $ratio->($id, 'static'),
        defined $s->{bytes} ? fmt_int($s->{bytes}) : '—',
        fmt_us($u->{ncpu}), fmt_us($u->{hcpu}), fmt_us($u->{pcpu}),
        fmt_us($u->{wcpu}), fmt_us($u->{total}), join('; ', @checks);
}

p '';
p 'CPU µs/request = the CPU time (user + system, from /proc) of nginx\'s '
  . 'worker, of hubgated (all threads), of the whole PostgreSQL cluster and '
  . 'of wrk during a run, divided by the responses wrk counted (median over '
  . 'runs). With ' . $m{nproc} . ' CPUs shared by all four, the round '
  . 'trip\'s req/s is about ' . fmt_int($m{nproc} * 1e6) . ' / (all µs) '
  . 'when the CPUs are the limit.';
p '';

my ($l, $mt, $st) = @sc{qw(list meta static)};
if ($l && $mt && $st && $l->{us}{total} && $mt->{us}{total}) {
    p 'Notes:';
    p '';
    p sprintf '- the round trip for %d integrations costs %.1f µs of CPU '
      . 'per request: %.1f in nginx (%.1f for the same bytes from a file), '
      . '%.1f in hubgated, %.1f in PostgreSQL, %.1f in wrk',
      $m{ninteg}, $l->{us}{total}, $l->{us}{ncpu}, $st->{us}{ncpu},
      $l->{us}{hcpu}, $l->{us}{pcpu}, $l->{us}{wcpu};
    p sprintf '- without the database (GET /api/v1/providers): %.1f µs in '
      . 'all, %.1f in hubgated: the proxy hop, the signature check, routing '
      . 'and the answer; the query, its rows and their JSON add %.1f µs in '
      . 'hubgated and %.1f in PostgreSQL',
      $mt->{us}{total}, $mt->{us}{hcpu},
      $l->{us}{hcpu} - $mt->{us}{hcpu}, $l->{us}{pcpu} - $mt->{us}{pcpu};
    p '';
}

my $mb = sub { sprintf '%.1f MB', $_[0] / 1024 };
my $target = 20 * 1024;
my $met = (defined $m{rss_start} && defined $m{rss_after})
    ? (($m{rss_start} <= $target && $m{rss_after} <= $target) ? 'yes' : '**no**')
    : '?';
p '### hubgated memory';
p '';
p '| VmRSS idle after start | VmRSS idle after the load | peak (VmHWM) | threads | target (DESIGN §6) | met |';
p '|--:|--:|--:|--:|---|---|';
p sprintf '| %s | %s | %s | %s | idle ≤ 20 MB | %s |',
    $mb->($m{rss_start} // 0), $mb->($m{rss_after} // 0),
    $mb->($m{rss_peak} // 0), $m{hg_threads} // '?', $met;
p '';
p 'Read from /proc/<pid>/status 2 s after /healthz first answered, and 3 s '
  . 'after the last run (MB = 1024 kB).';
p '';
p '### logs';
p '';
p '- nginx: ' . (@nginx_bad ? scalar(@nginx_bad) . ' alert/crit/emerg or crash line(s)'
                            : 'no alert, crit, emerg or crash line')
  . '; ' . (@nginx_err ? scalar(@nginx_err) . ' [error] line(s) under load'
                       : 'no [error] under load');
p '- hubgated: ' . (@hg_err ? '**' . scalar(@hg_err) . ' warn/error line(s) '
                              . 'under load**, first: '
                              . do { (my $x = $hg_err[0]) =~ s/\s+$//; "`$x`" }
                            : 'no warn or error line under load')
  . (@hg_gone ? '; ' . scalar(@hg_gone) . ' warning(s) "the socket is no '
                . 'longer available for sending", all within a second of '
                . 'the end of a wrk run (wrk drops its connections with '
                . 'requests in flight)'
              : '');
p '<!-- sidecar bench: end -->';

print $out;
exit($invalid ? 1 : 0);
