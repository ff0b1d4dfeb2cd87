#!/usr/bin/perl
# hubgate webhook bench: turns what bench/webhook.sh collected in its work
# directory into the markdown of bench/results-webhook.md (stdout).
#
#   perl bench/webhook_report.pl <workdir>
#
# Reads <workdir>/meta (key=value), scenarios.tsv, runs.tsv and
# logs/{nginx-bad,nginx-errors,hubgated-errors}.txt.  Exits 1 when a run
# was invalid (non-2xx, socket errors, a 2xx'd event not stored or without
# its job, distinct events used up, a verified request not counted by the
# module, a lost process) or a log holds alerts, crashes or errors; 0
# otherwise (a missed target is not a failure: the table says so).

use strict;
use warnings;

my $dir = shift or die "usage: webhook_report.pl <workdir>\n";

my %m;
open my $fh, '<', "$dir/meta" or die "$dir/meta: $!\n";
while (<$fh>) {
    chomp;
    my ($k, $v) = split /=/, $_, 2;
    $m{$k} = $v if defined $v;
}
close $fh;

my (@order, %sc);
open $fh, '<', "$dir/scenarios.tsv" or die "$dir/scenarios.tsv: $!\n";
while (<$fh>) {
    chomp;
    next if !length;
    my ($id, $kind, $path, $base, $target, $label) = split /\t/;
    push @order, $id;
    $sc{$id} = { kind => $kind, path => $path, base => $base,
                 target => $target, label => $label, runs => [] };
}
close $fh;

my @cols = qw(id run att rate reqs dur st sock rows jobs sent wrapped
              accepted ncpu hcpu pcpu lcpu other);
open $fh, '<', "$dir/runs.tsv" or die "$dir/runs.tsv: $!\n";
while (<$fh>) {
    chomp;
    my %r;
    @r{@cols} = split /\t/;
    push @{ $sc{$r{id}}{runs} }, \%r if $sc{$r{id}};
}
close $fh;

sub median {
    my @v = sort { $a <=> $b } @_;
    return undef if !@v;
    return $v[$#v / 2] if @v % 2;
    return ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub fmt_int {
    my $n = sprintf '%.0f', shift;
    1 while $n =~ s/^(\d+)(\d{3})/$1,$2/;
    return $n;
}

sub slurp {
    my $f = shift;
    open my $h, '<', $f or return ();
    my @l = map { chomp; s/`/'/g; $_ } <$h>;
    close $h;
    return @l;
}

my $invalid = 0;

for my $id (@order) {
    my $s = $sc{$id};
    my (@rate, @problems, @noisy, @retried, %us);

    for my $r (@{ $s->{runs} }) {
        my $n = $r->{run};
        if ($r->{rate} eq 'FAILED') {
            push @problems, "run $n: the load generator failed or a process is gone";
            next;
        }
        push @rate, $r->{rate};
        push @retried, $n if $r->{att} > 1;
        push @noisy, sprintf('run %d: other processes used %.2f of a core',
                             $n, $r->{other})
            if $r->{other} > ($m{noise_max} // 0.15);

        my $count = $r->{rows} eq '-' ? $r->{reqs} : $r->{rows};
        if ($count > 0) {
            for my $k (qw(ncpu hcpu pcpu lcpu)) {
                push @{ $us{$k} }, $r->{$k} * 1e6 / $count;
            }
        }

        if ($s->{kind} =~ /^ceiling:/) {
            push @problems, "run $n: $r->{st} failed inserts" if $r->{st};
            push @problems, "run $n: $r->{rows} rows in PostgreSQL for "
                . "$r->{reqs} inserts" if $r->{rows} != $r->{reqs};
            next;
        }

        push @problems, "run $n: $r->{st} non-2xx" if $r->{st};
        push @problems, "run $n: $r->{sock} socket errors" if $r->{sock};

        if ($id eq 'fwd_verify' && $r->{accepted} < $r->{reqs}) {
            push @problems, "run $n: the module accepted $r->{accepted} "
                . "webhooks for $r->{reqs} responses";
        }
        if ($id eq 'fwd_plain' && $r->{accepted} != 0) {
            push @problems, "run $n: the module verified $r->{accepted} "
                . "webhooks in the baseline";
        }

        if ($s->{kind} eq 'stream') {
            push @problems, "run $n: distinct events used up $r->{wrapped} "
                . "time(s) (raise BENCH_EVENT_RATE_MAX)" if $r->{wrapped};
            push @problems, "run $n: $r->{rows} rows for $r->{reqs} 2xx "
                . "responses (a 2xx'd event is missing)"
                if $r->{rows} < $r->{reqs} - $r->{st};
            push @problems, "run $n: $r->{rows} rows for $r->{sent} requests "
                . "sent" if $r->{rows} > $r->{sent};
            push @problems, "run $n: $r->{jobs} webhook.process jobs for "
                . "$r->{rows} rows" if $r->{jobs} != $r->{rows};
            push @problems, "run $n: the module accepted $r->{accepted} "
                . "webhooks for $r->{reqs} responses"
                if $r->{accepted} < $r->{reqs};
        }
    }

    push @problems, 'no runs' if !@rate;

    $s->{median} = median(@rate);
    $s->{all} = \@rate;
    $s->{problems} = \@problems;
    $s->{noisy} = \@noisy;
    $s->{retried} = \@retried;
    $s->{valid} = !@problems;
    $s->{us} = { map { $_ => median(@{ $us{$_} || [] }) } qw(ncpu hcpu pcpu lcpu) };
    $s->{us}{total} = 0;
    $s->{us}{total} += $s->{us}{$_} // 0 for qw(ncpu hcpu pcpu lcpu);
    $invalid = 1 if !$s->{valid};
}

my $out = '';
sub p { $out .= join('', @_) . "\n"; }

p '# hubgate webhook benchmark (`bench/webhook.sh`)';
p '';
p 'Generated by `bench/webhook.sh` (`make bench-webhook`, also run by '
  . '`make bench`); overwritten on every run.';
p '';
p "- date: $m{date}; machine: $m{nproc} CPUs, $m{cpu}, Linux $m{kernel}";
p "- module: $m{module}, loaded from a private copy; hubgated $m{hubgated}; "
  . "nginx $m{nginx} (Debian), one worker process, access_log off; "
  . "PostgreSQL $m{postgresql} (the private cluster of `tools/services.sh`: "
  . "$m{pg_durability}); wrk $m{wrk}";
p "- hubgated: its defaults ($m{threads} worker threads, database pool "
  . "$m{pool}, log $m{loglevel} in $m{logformat}, one line per request, to a "
  . "file), behind nginx over its Unix socket (keepalive 32)";
p "- load: $m{runs} run(s) x $m{secs} s per scenario (round robin, after a "
  . "$m{warmup} s warm-up each), medians; wrk -t1 -c$m{conns} with "
  . '`bench/webhook.lua`';
p "- forward scenarios: a $m{fwd_bytes}-byte Stripe event POSTed with one "
  . "fixed, valid `Stripe-Signature` (signed at $m{fwd_t}); both locations "
  . '`client_body_buffer_size 64k` and `proxy_pass` over HTTP/1.1 keepalive '
  . 'to a second server block of the same nginx answering `return 200`; the '
  . 'verifying one has `hubgate_webhook stripe secret=<file> tolerance=1h` '
  . '(the timestamp is checked, with a tolerance the fixed timestamp stays '
  . 'within for the whole bench)';
p "- intake: every request a distinct Stripe event (id `evt_<run>_<n>`) of "
  . "$m{event_bytes} bytes, signed beforehand by `bench/wh_events.pl` "
  . "($m{rate_max} per second of run), through `hubgate_webhook stripe "
  . 'secret=<file> tolerance=1h` to `POST /api/v1/webhooks/stripe/<uuid>`: '
  . 'one transaction per event (webhook_events row + webhook.process job), '
  . 'committed before the 200. events/s = rows committed, counted in '
  . "PostgreSQL after the run, / wrk's duration";
p '- ceiling: `bench/wh_ceiling.c`, N libpq connections (threads), '
  . 'autocommit, one prepared INSERT into webhook_events (the same columns '
  . 'and body, as hubgate_app under row-level security) per row, each '
  . 'committed; no job row, no HTTP';
p "- CPU pinning: $m{pinning}; load average before / after: "
  . "$m{load_before} / $m{load_after}";
p "- noise control: a run during which processes other than nginx's "
  . 'worker, hubgated, PostgreSQL and the load generator used more than '
  . "$m{noise_max} of a core is repeated (at most $m{max_retries} repeats; "
  . 'used: ' . ($m{retries_used} // 0) . '). The machine has '
  . "$m{nproc} shared cores: other work on it (builds) lowers the numbers "
  . 'by an amount the noise column only partly shows.';
p '';
p '| scenario | median /s | runs (/s) | compared with | ratio | target | met | CPU µs per request or row: nginx + hubgated + PostgreSQL + load generator = all | checks |';
p '|---|--:|---|---|--:|---|---|---|---|';

sub fmt_us { defined $_[0] ? sprintf('%.1f', $_[0]) : '—' }

for my $id (@order) {
    my $s = $sc{$id};
    my $med = $s->{median};
    my ($vs, $ratio, $target, $met) = ('—', undef, '—', '—');
    my $b = $s->{base} ne '-' ? $sc{ $s->{base} } : undef;

    if ($b) {
        $vs = $b->{label};
        $vs =~ s/ \(baseline\)//;
        $ratio = $med / $b->{median} if defined $med && $b->{median};
    }

    if ($s->{target} =~ /^ratio:(.*)/) {
        $target = "≥ $1 ×";
        $met = (!$s->{valid} || ($b && !$b->{valid})) ? '**INVALID**'
             : defined $ratio ? ($ratio >= $1 ? 'yes' : '**no**') : '—';
    } elsif ($s->{target} =~ /^abs:(.*)/) {
        $target = '≥ ' . fmt_int($1) . '/s';
        $met = !$s->{valid} ? '**INVALID**'
             : defined $med ? ($med >= $1 ? 'yes' : '**no**') : '—';
    } elsif (!$s->{valid}) {
        $met = '**INVALID**';
    }
    $met .= ' (noisy)' if @{ $s->{noisy} } && $met =~ /yes|no/;

    my @checks;
    if ($s->{valid}) {
        push @checks, $s->{kind} =~ /^ceiling:/
            ? 'every insert committed and counted in PostgreSQL'
            : 'all 2xx, no socket errors';
        push @checks, 'the module verified every request'
            if $id eq 'fwd_verify';
        push @checks, "every 2xx'd event stored once with its job, "
            . 'no event used twice' if $s->{kind} eq 'stream';
    } else {
        push @checks, @{ $s->{problems} };
    }
    push @checks, map { "**noisy** $_" } @{ $s->{noisy} };
    push @checks, 'repeated (noisy first): run ' . join(', ', @{ $s->{retried} })
        if @{ $s->{retried} };

    my $u = $s->{us};
    p "| $s->{label} | ", (defined $med ? fmt_int($med) : '—'), ' | ',
      join(', ', map { fmt_int($_) } @{ $s->{all} }), " | $vs | ",
      (defined $ratio ? sprintf('%.3f', $ratio) : '—'), " | $target | $met | ",
      join(' + ', map { fmt_us($u->{$_}) } qw(ncpu hcpu pcpu lcpu)),
      ' = ', fmt_us($u->{total}), ' | ', join('; ', @checks), ' |';
}

p '';
p 'Targets (issue 4): verify + forward ≥ 0.9 × the same POST forwarded '
  . 'without verification; durable intake ≥ 5,000 events/s. CPU µs = the '
  . 'CPU time (user + system, from /proc) of each part during a run divided '
  . 'by the responses wrk counted (forward rows) or the rows committed '
  . '(intake, ceiling), median over runs. With ' . $m{nproc} . ' CPUs shared '
  . 'by all parts, about ' . fmt_int($m{nproc} * 1e6) . ' / (all µs) per '
  . 'second is what the CPUs allow.';
p '';

my ($fp, $fv, $in, $ce) = @sc{qw(fwd_plain fwd_verify intake ceiling)};
my @notes;
if ($fp && $fv && $fp->{us}{ncpu} && $fv->{us}{ncpu}) {
    push @notes, sprintf('verification costs %.1f µs of nginx worker CPU per '
        . "request (%.1f vs %.1f µs): HMAC-SHA256 over the %d-byte body, the "
        . 'header parse, the timestamp check and the identity signature; by '
        . 'worker CPU per request the ratio is %.3f',
        $fv->{us}{ncpu} - $fp->{us}{ncpu}, $fv->{us}{ncpu}, $fp->{us}{ncpu},
        $m{fwd_bytes}, $fp->{us}{ncpu} / $fv->{us}{ncpu});
}
if ($fp && $fp->{us}{ncpu} && $m{sha256_bytes_per_s}) {
    my $h = $m{fwd_bytes} * 1e6 / $m{sha256_bytes_per_s};
    my $bound = $fp->{us}{ncpu} / ($fp->{us}{ncpu} + $h);
    push @notes, sprintf('the hash alone: SHA-256 runs at %.0f MB/s on one '
        . 'core here (`openssl speed -evp sha256 -bytes %d`, pinned like the '
        . 'worker), %.1f µs per %d-byte body; with the baseline\'s %.1f µs '
        . 'of worker CPU per request, a verifier that hashes the body in the '
        . 'worker cannot exceed %.3f × the baseline (%.1f µs / (%.1f + %.1f))'
        . '; the measured ratio by worker CPU is %s of that bound',
        $m{sha256_bytes_per_s} / 1e6, $m{fwd_bytes}, $h, $m{fwd_bytes},
        $fp->{us}{ncpu}, $bound, $fp->{us}{ncpu}, $fp->{us}{ncpu}, $h,
        ($fv && $fv->{us}{ncpu})
            ? sprintf('%.3f', ($fp->{us}{ncpu} / $fv->{us}{ncpu}) / $bound)
            : '—');
}
if ($in && $in->{us}{total}) {
    push @notes, sprintf('an event through the intake costs %.1f µs of CPU '
        . 'in all: %.1f in nginx, %.1f in hubgated, %.1f in PostgreSQL, %.1f '
        . 'in wrk', map { $in->{us}{$_} // 0 } qw(total ncpu hcpu pcpu lcpu));
}
for my $c (grep { $_ } @sc{qw(ceiling ceiling_pool)}) {
    next if !$in || !$in->{median} || !$c->{median};
    push @notes, sprintf('intake / %s: %.3f (PostgreSQL %.1f µs per row '
        . 'there, %.1f per intake event: the intake adds the job row and '
        . 'its group\'s transaction)', $c->{label}, $in->{median} / $c->{median},
        $c->{us}{pcpu} // 0, $in->{us}{pcpu} // 0);
}
if (defined $m{dup_jobs}) {
    push @notes, "after all runs: $m{total_rows} webhook_events rows (intake "
        . "and ceiling), $m{total_jobs} webhook.process jobs, "
        . "$m{dup_jobs} events with more than one job";
    $invalid = 1 if $m{dup_jobs};
}
if ($m{intake_commits} && $m{total_jobs}) {
    push @notes, sprintf('group commit: the %d intake events were committed '
        . 'in %d transactions, %.1f events per commit on average',
        $m{total_jobs}, $m{intake_commits},
        $m{total_jobs} / $m{intake_commits});
}
if (@notes) {
    p 'Notes:';
    p '';
    p "- $_" for @notes;
    p '';
}

my @nginx_bad = slurp("$dir/logs/nginx-bad.txt");
my @nginx_err = slurp("$dir/logs/nginx-errors.txt");
my @hg_err = slurp("$dir/logs/hubgated-errors.txt");
# wrk drops its connections with requests in flight at the end of a run
my @hg_gone = grep { /no longer available for sending|client closed/ } @hg_err;
@hg_err = grep { !/no longer available for sending|client closed/ } @hg_err;

p '## logs';
p '';
p '- nginx: ' . (@nginx_bad ? '**' . scalar(@nginx_bad) . ' alert/crit/emerg or crash line(s)**, first: `' . $nginx_bad[0] . '`'
                            : 'no alert, crit, emerg or crash line')
  . '; ' . (@nginx_err ? scalar(@nginx_err) . ' [error] line(s) under load, first: `' . $nginx_err[0] . '`'
                       : 'no [error] under load');
p '- hubgated: ' . (@hg_err ? '**' . scalar(@hg_err) . ' warn/error line(s) '
                              . 'under load**, first: `' . $hg_err[0] . '`'
                            : 'no warn or error line under load')
  . (@hg_gone ? '; ' . scalar(@hg_gone) . ' warning(s) about a client gone '
                . '(wrk drops its connections with requests in flight at '
                . 'the end of a run)' : '');
p '- processes: ' . join('; ',
    $m{hubgated_gone} ? '**hubgated is gone**' : 'hubgated ran throughout',
    $m{nginx_worker_lost} ? "**nginx's worker was replaced (crash?)**"
                          : "nginx's worker ran throughout");
p '';

$invalid = 1 if @nginx_bad || @hg_err || $m{hubgated_gone}
    || $m{nginx_worker_lost};

print $out;
exit($invalid ? 1 : 0);
