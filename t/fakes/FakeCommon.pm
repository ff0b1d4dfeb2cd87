package FakeCommon;

# What the fake providers (t/fakes/fake_*.pl) share: a seeded random
# generator (the same seed gives the same data on every machine), ISO 8601
# times in milliseconds, fault injection as a Mojolicious bridge, rolling
# rate-limit windows and the request counters behind GET /_fake/stats.
#
# Nothing here knows a provider: error bodies are built by the callbacks
# the apps pass in.  Money is integer minor units everywhere; format_minor
# turns it into the decimal string the wire carries.

use strict;
use warnings;

use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url);
use Mojo::IOLoop;
use POSIX qw(floor);
use Time::HiRes ();
use Time::Local qw(timegm);

our @EXPORT_OK = qw(rng_new rng_int rng_pick rng_hex uuid_from iso_ms
    parse_iso_ms format_minor now_ms random_token);
use Exporter qw(import);


###############################################################################
# seeded generator: a 64-bit LCG (Knuth's MMIX constants), high bits out

sub rng_new {
    my ($seed) = @_;

    my $s = 0;

    # fold any seed text into the state
    for my $ch (split //, "$seed") {
        use integer;
        $s = $s * 31 + ord($ch);
    }

    return \$s;
}

sub _next31 {
    my ($r) = @_;

    use integer;
    $$r = $$r * 6364136223846793005 + 1442695040888963407;

    return ($$r >> 33) & 0x7fffffff;
}

# uniform in [0, n); n below 2^31

sub rng_int {
    my ($r, $n) = @_;

    return _next31($r) % $n;
}

sub rng_pick {
    my ($r, $list) = @_;

    return $list->[ rng_int($r, scalar @$list) ];
}

sub rng_hex {
    my ($r, $len) = @_;

    my $out = '';
    $out .= sprintf('%07x', _next31($r) & 0xfffffff) while length $out < $len;

    return substr($out, 0, $len);
}

# uuid-shaped (version 4 nibble, RFC 4122 variant) from the generator

sub uuid_from {
    my ($r) = @_;

    my $h = rng_hex($r, 32);

    substr($h, 12, 1) = '4';
    substr($h, 16, 1) = (qw(8 9 a b))[ hex(substr($h, 16, 1)) & 3 ];

    return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4),
        substr($h, 16, 4), substr($h, 20, 12);
}


###############################################################################
# unpredictable values (tokens, codes): not from the seeded generator

sub random_token {
    my ($bytes) = @_;

    my $raw = '';

    if (open my $fh, '<:raw', '/dev/urandom') {
        read $fh, $raw, $bytes // 24;
        close $fh;
    }

    # a fallback that still never repeats within a process
    $raw = sha256(rand() . Time::HiRes::time() . $$ . ++$FakeCommon::SEQ)
        if length $raw < ($bytes // 24);

    return encode_base64url($raw);
}


###############################################################################
# times

sub now_ms {
    return int(Time::HiRes::time() * 1000);
}

sub iso_ms {
    my ($ms) = @_;

    my $s = floor($ms / 1000);
    my @t = gmtime($s);

    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, @t[3, 2, 1, 0], $ms - $s * 1000);
}

# ISO 8601 date-time (Z or +hh:mm, optional fraction) to epoch ms; undef
# when it is not one

sub parse_iso_ms {
    my ($text) = @_;

    return undef if !defined $text;

    my ($y, $mo, $d, $h, $mi, $s, $frac, $zone) = $text =~ m{
        ^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?
        (Z|z|[+-]\d\d:?\d\d)$ }x or return undef;

    return undef if $mo < 1 || $mo > 12 || $d < 1 || $d > 31 || $h > 23
        || $mi > 59 || ($s // 0) > 60;

    my $epoch = eval { timegm($s // 0, $mi, $h, $d, $mo - 1, $y) };
    return undef if !defined $epoch;

    my $ms = $epoch * 1000;
    $ms += int(substr(($frac // '') . '000', 0, 3));

    if ($zone =~ /^([+-])(\d\d):?(\d\d)$/) {
        my $off = ($2 * 60 + $3) * 60000;
        $ms += $1 eq '+' ? -$off : $off;
    }

    return $ms;
}


###############################################################################
# money: integer minor units to "123.45"

sub format_minor {
    my ($minor) = @_;

    my $sign = $minor < 0 ? '-' : '';
    my $abs = abs $minor;

    return sprintf('%s%d.%02d', $sign, int($abs / 100), $abs % 100);
}


###############################################################################
# counters

sub stats_new {
    return {
        token_calls => { authorization_code => 0, refresh_token => 0 },
        invalid_grant => 0,
        api_calls => 0,
        by_path => {},
        by_status => {},
        rate_limited => 0,
        faults_injected => 0,
        last_authorize => undef,
        last_token_request => undef,
    };
}

# api_calls and by_status count every API request (whatever its fate),
# by_path the ones that reached a handler, by the spec's path template

sub count_call {
    my ($stats, $key) = @_;

    $stats->{by_path}{$key}++;
}

sub count_status {
    my ($stats, $status) = @_;

    $stats->{api_calls}++;
    $stats->{by_status}{$status // 0}++;
}


###############################################################################
# rolling windows: true when one more request fits, and then it is counted

sub window_admit {
    my ($win, $limit, $span_ms, $now) = @_;

    shift @$win while @$win && $win->[0] <= $now - $span_ms;

    return 0 if @$win >= $limit;

    push @$win, $now;

    return 1;
}

# whole seconds until the oldest request leaves the window (at least 1)

sub window_retry_after {
    my ($win, $span_ms, $now) = @_;

    return 1 if !@$win;

    my $ms = $win->[0] + $span_ms - $now;

    return $ms <= 0 ? 1 : int(($ms + 999) / 1000);
}


###############################################################################
# faults: a list of {status, count, path_prefix, latency_ms, retry_after}

sub fault_add {
    my ($faults, $spec, $default_prefix) = @_;

    # {"clear": true}: no fault any more
    if ($spec->{clear}) {
        @$faults = ();
        return undef;
    }

    my %f = (
        status => $spec->{status},
        count => $spec->{count} // 1,
        path_prefix => $spec->{path_prefix} // $default_prefix,
        latency_ms => $spec->{latency_ms} // 0,
        retry_after => $spec->{retry_after},
    );

    return 'count must be a positive integer'
        if $f{count} !~ /^\d+$/ || $f{count} < 1;
    return 'status must be an HTTP error status'
        if defined $f{status} && $f{status} !~ /^[45]\d\d$/;
    return 'latency_ms must be a non-negative integer'
        if $f{latency_ms} !~ /^\d+$/;
    return 'a fault needs a status or a latency'
        if !defined $f{status} && !$f{latency_ms};

    push @$faults, \%f;

    return undef;
}

# the first fault for this path, used up by one; undef when none

sub fault_take {
    my ($faults, $path) = @_;

    for my $i (0 .. $#$faults) {
        my $f = $faults->[$i];
        next if index($path, $f->{path_prefix}) != 0;

        splice @$faults, $i, 1 if --$f->{count} <= 0;

        return $f;
    }

    return undef;
}

# the bridge: 1 to go on, undef when the fault answered or will continue
# the request later.  $error->($c, $fault) renders a fault's error.

sub fault_gate {
    my ($c, $faults, $stats, $error) = @_;

    my $f = fault_take($faults, $c->req->url->path->to_string)
        or return 1;

    $stats->{faults_injected}++;

    my $act = sub {
        if (defined $f->{status}) {
            $c->res->headers->header('Retry-After' => $f->{retry_after})
                if defined $f->{retry_after};
            $error->($c, $f);
            return;
        }

        $c->continue;
    };

    if ($f->{latency_ms}) {
        $c->render_later;
        Mojo::IOLoop->timer($f->{latency_ms} / 1000 => $act);
        return undef;
    }

    $act->();

    return undef;
}


###############################################################################
# constant-time comparison of two secrets

sub ct_equal {
    my ($x, $y) = @_;

    return 0 if !defined $x || !defined $y || length $x != length $y;

    my $diff = 0;
    $diff |= ord(substr($x, $_, 1)) ^ ord(substr($y, $_, 1))
        for 0 .. length($x) - 1;

    return $diff == 0;
}


###############################################################################
# form fields with their secret values hidden, for last_token_request

sub redact_form {
    my ($params, @secret) = @_;

    my %out;
    my %hide = map { $_ => 1 } @secret;

    for my $k (keys %$params) {
        $out{$k} = $hide{$k} ? '***' : $params->{$k};
    }

    return \%out;
}


1;
