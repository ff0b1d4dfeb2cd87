#!/usr/bin/perl

# Per-key limits: hubgate_limit_zone + hubgate_limit.  Constant and
# variable (per-plan) rates, r/h, burst and nodelay, the RateLimit answer
# and hubgate_limit_status, keys per tenant, JWT before limits, empty keys
# and empty rates, dry_run, two limits in one location, delays,
# $hubgate_limit_status, the log line per rejection, limits without JWT, a
# full zone that evicts instead of failing, and one count per client
# request through an internal redirect.
#
# Exact counts use 1r/m: the bucket drains 16 milli-requests a second, so
# nothing a test does in a few seconds frees a whole request.  Where the
# rate is faster (1r/s, 2r/s) the assertions only need the requests to
# arrive within half a second of each other.

use strict;
use warnings;

use Test::More;
use Time::HiRes ();

use lib 't/lib';
use Hubgate::Test qw(:all);

# a response body as JSON, or {}: a failed request fails its own
# assertions, not the rest of the file
sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;
$t->plan(91);

my $secret = $t->keygen(type => 'hmac', bytes => 32);
$t->write_file('jwks.json', $t->jwks($t->jwk($secret, kid => 'h1')));

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<'EOF');
%%MODULE%%

http {
    hubgate_limit_zone a     size=1m;
    hubgate_limit_zone plans size=1m;
    hubgate_limit_zone z     size=32k;
    hubgate_limit_zone redir size=1m;
    hubgate_limit_zone extra size=1m;

    map $jwt_claim_plan $plan_rate {
        pro      100r/s;
        default  1r/m;
    }

    map $http_x_plan $opt_rate {
        gold     1r/m;
        bogus    10r/x;
        default  "";
    }

    upstream echo {
        server 127.0.0.1:%%PORT_8081%%;
        keepalive 8;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        keepalive_requests 100000;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Limit-Status $hubgate_limit_status;

        add_header X-Limit $hubgate_limit_status always;

        location /const/ {
            hubgate_limit zone=a key=$http_x_key rate=1r/s burst=2 nodelay;
            proxy_pass http://echo;
        }

        location /slow/ {
            hubgate_limit zone=a key=$http_x_key rate=1r/m nodelay;
            hubgate_limit_status 503;
            proxy_pass http://echo;
        }

        location /hourly/ {
            hubgate_limit zone=a key=$http_x_key rate=1r/h nodelay;
            proxy_pass http://echo;
        }

        location /plan/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_limit zone=plans key=$hubgate_tenant rate=$plan_rate
                          burst=5 nodelay;
            proxy_pass http://echo;
        }

        location /optional/ {
            hubgate_limit zone=a key=$http_x_key rate=$opt_rate nodelay;
            proxy_pass http://echo;
        }

        location /dry/ {
            hubgate_limit zone=a key=$http_x_key rate=1r/m dry_run;
            proxy_pass http://echo;
        }

        location /drydelay/ {
            hubgate_limit zone=extra key=$http_x_key rate=1r/m burst=2
                          dry_run;
            proxy_pass http://echo;
        }

        # a per-key limit, then a shared one
        location /two/ {
            hubgate_limit zone=extra key=$http_x_key rate=1r/m burst=2
                          nodelay;
            hubgate_limit zone=extra key=$http_x_group rate=1r/m nodelay;
            proxy_pass http://echo;
        }

        location /delay/ {
            hubgate_limit zone=a key=$http_x_key rate=2r/s burst=2;
            proxy_pass http://echo;
        }

        location /logged/ {
            hubgate_limit zone=a key=$http_x_key rate=1r/m nodelay;
            hubgate_limit_log_level warn;
            proxy_pass http://echo;
        }

        location /many/ {
            hubgate_limit zone=z key=$http_x_key rate=1r/m;
            proxy_pass http://echo;
        }

        location = /status {
            hubgate_status;
        }
    }

    # a limit for the whole server, and a location that redirects
    # internally (try_files to a named location): still one client request
    server {
        listen 127.0.0.1:%%PORT_8082%%;
        server_name localhost;

        hubgate_limit zone=redir key=$http_x_key rate=1r/m burst=2 nodelay;
        add_header X-Limit $hubgate_limit_status always;

        location / {
            try_files /nonexistent @api;
        }

        location @api {
            proxy_pass http://echo;
        }
    }
}
EOF

$t->run;

sub get {
    my ($uri, %headers) = @_;
    return $t->request(GET => $uri, headers => \%headers);
}

sub statuses {
    my (@r) = @_;
    return join ' ', map { $_->status // 'none' } @r;
}

sub limit_zone {
    my ($name) = @_;
    return js(get('/status'))->{limits}{$name};
}

###############################################################################
# a constant rate: 1r/s burst=2 nodelay lets 3 through, then 429

{
    # one keep-alive connection: four requests well within a second
    my $s = $t->connect;
    my @r = map {
        $t->request(GET => '/const/a', keepalive => 1, socket => $s,
            headers => { 'X-Key' => 'const-1' })
    } 1 .. 4;
    close $s;

    is(statuses(@r), '200 200 200 429', '1r/s burst=2 nodelay: 3 pass');
    is(join(' ', map { $_->header('X-Limit') } @r),
        'PASSED PASSED PASSED REJECTED', '$hubgate_limit_status');
    is(js($r[0])->{headers}{'x-limit-status'}[0], 'PASSED',
        'the backend sees PASSED');

    my $rej = $r[3];
    is($rej->header('Retry-After'), '1',
        'Retry-After: the next request fits within 1 s');
    is($rej->header('RateLimit-Limit'), '3', 'RateLimit-Limit = burst + 1');
    is($rej->header('RateLimit-Remaining'), '0', 'RateLimit-Remaining: 0');
    is($rej->header('RateLimit-Reset'), '3',
        'RateLimit-Reset: 3 s until the bucket of 3 is empty');
    is(scalar(() = $rej->header('Retry-After')), 1, 'one Retry-After');
    is($r[0]->header('Retry-After'), undef, 'no Retry-After on a pass');

    # no JWT anywhere here: the limit alone requires no authentication
    is($r[0]->header('WWW-Authenticate'), undef, 'no WWW-Authenticate');
    is(js($r[0])->{headers}{authorization}, undef,
        'passed without any Authorization');
}

# the log line of that rejection, at the default level (error)
{
    my @lines = grep { /hubgate: limiting requests by zone "a", key "const-1"/ }
        split /\n/, $t->errlog;
    is(scalar @lines, 1, 'one log line for the one rejection');
    like($lines[0] // '', qr/\[error\] .* retry after 1s/,
        'default log level: [error], with zone, key and retry');
}

# hubgate_limit_status 503

{
    my @r = map { get('/slow/x', 'X-Key' => 'slow-1') } 1 .. 3;
    is(statuses(@r), '200 503 503', 'hubgate_limit_status 503');
    my $h = $r[1];
    like($h->header('Retry-After') // '', qr/^[1-9]\d*$/,
        '503 has an integer Retry-After >= 1');
    # 1r/m is counted as 16 milli-requests a second (as limit_req counts
    # it): one request every 62.5 s
    cmp_ok($h->header('Retry-After') // 0, '<=', 63,
        'Retry-After within one 1r/m period');
    is($h->header('RateLimit-Limit'), '1', 'RateLimit-Limit 1 (burst=0)');
    is($h->header('RateLimit-Remaining'), '0', 'RateLimit-Remaining 0');
    like($h->header('RateLimit-Reset') // '', qr/^[1-9]\d*$/,
        'RateLimit-Reset');
    is($h->header('X-Limit'), 'REJECTED', 'REJECTED with another status');
}

# r/h: 1r/h means one request an hour, so the second waits an hour

{
    my @r = map { get('/hourly/x', 'X-Key' => 'hourly-1') } 1 .. 2;
    is(statuses(@r), '200 429', '1r/h: one passes');
    my $retry = $r[1]->header('Retry-After') // 0;
    ok($retry >= 3590 && $retry <= 3600,
        '1r/h: Retry-After is an hour (3590..3600)')
        or diag("Retry-After: $retry");
}

###############################################################################
# the rate from a map on a claim: plans in nginx.conf

my %tok = (
    free1 => $t->token(key => $secret, kid => 'h1',
        add => { tid => 'free1', plan => 'free' }),
    free2 => $t->token(key => $secret, kid => 'h1',
        add => { tid => 'free2' }),
    pro1 => $t->token(key => $secret, kid => 'h1',
        add => { tid => 'pro1', plan => 'pro' }),
);

sub as {
    my ($who, $uri) = @_;
    return get($uri // '/plan/x', Authorization => "Bearer $tok{$who}");
}

{
    # free1 hammers; pro1 (same zone, same burst) asks in between, never
    # faster than one request per 20 ms: 100r/s drains 2 requests in that
    # time, so pro1 never fills its bucket while free1 stays at 1r/m
    my (@free, @pro);

    for my $i (1 .. 12) {
        push @free, as('free1');
        Time::HiRes::sleep(0.02);
        push @pro, as('pro1');
    }

    is(statuses(@free), join(' ', ('200') x 6, ('429') x 6),
        'a free tenant gets 429 after burst+1 (rate 1r/m from the map)');
    is(statuses(@pro), join(' ', ('200') x 12),
        'a pro tenant in the same zone is not limited (100r/s)');
    is($free[6]->header('RateLimit-Limit'), '6',
        'RateLimit-Limit = burst + 1 for the map rate');
    cmp_ok($free[6]->header('Retry-After') // 0, '>=', 1,
        'free tenant told to retry');
    is(js($free[0])->{headers}{'x-hubgate-tenant'}[0], 'free1',
        'the limit ran after JWT: tenant known');
    is($pro[11]->header('X-Limit'), 'PASSED', 'pro: PASSED');

    # per tenant: free2 (no plan claim: map default) has its own bucket
    my @free2 = map { as('free2') } 1 .. 7;
    is(statuses(@free2), join(' ', ('200') x 6, '429'),
        'another free tenant gets its own burst');
    is(as('free1')->status, 429, 'free1 still limited');

    # JWT runs first: a bad token of a limited tenant is 401, not 429,
    # and is not counted
    my $expired = $t->token(key => $secret, kid => 'h1',
        add => { tid => 'free1', exp => time - 600 });
    is(get('/plan/x', Authorization => "Bearer $expired")->status, 401,
        'an expired token of a limited tenant: 401 (JWT before limits)');
}

###############################################################################
# an empty key is not limited

{
    my @r = map { get('/const/nokey') } 1 .. 8;
    is(statuses(@r), join(' ', ('200') x 8), 'no X-Key: never limited');
    is($r[7]->header('X-Limit'), undef,
        'empty key: $hubgate_limit_status is empty');
    is(js($r[7])->{headers}{'x-limit-status'}, undef,
        'and the backend sees no status');

    @r = map { get('/const/nokey', 'X-Key' => '') } 1 .. 5;
    is(statuses(@r), join(' ', ('200') x 5), 'an empty X-Key: not limited');
}

# an empty rate from the map is no limit

{
    my @r = map { get('/optional/x', 'X-Key' => 'opt-1') } 1 .. 6;
    is(statuses(@r), join(' ', ('200') x 6), 'empty rate: not limited');
    is($r[5]->header('X-Limit'), undef, 'empty rate: no status');

    @r = map { get('/optional/x', 'X-Key' => 'opt-2', 'X-Plan' => 'gold') }
        1 .. 3;
    is(statuses(@r), '200 429 429', 'the same location limits with a rate');
}

###############################################################################
# dry_run: never rejects, but says so

{
    my @r = map { get('/dry/x', 'X-Key' => 'dry-1') } 1 .. 4;
    is(statuses(@r), '200 200 200 200', 'dry_run never rejects');
    is(join(' ', map { $_->header('X-Limit') // '-' } @r),
        'PASSED REJECTED_DRY_RUN REJECTED_DRY_RUN REJECTED_DRY_RUN',
        'dry_run: $hubgate_limit_status');
    is(js($r[1])->{headers}{'x-limit-status'}[0], 'REJECTED_DRY_RUN',
        'the backend sees REJECTED_DRY_RUN');
    is($r[1]->header('Retry-After'), undef, 'dry_run: no Retry-After');
    is($r[1]->header('RateLimit-Limit'), undef, 'dry_run: no RateLimit-*');
}

# dry_run without nodelay: a request that would wait does not

{
    my @r = map { get('/drydelay/x', 'X-Key' => 'drydelay-1') } 1 .. 3;
    is(statuses(@r), '200 200 200', 'dry_run, no nodelay: all 200');
    is(join(' ', map { $_->header('X-Limit') // '-' } @r),
        'PASSED DELAYED_DRY_RUN DELAYED_DRY_RUN', 'DELAYED_DRY_RUN');
}

###############################################################################
# two limits: a request one of them rejects is not counted by the other
# (as limit_req: it was not served)

{
    my @r = (
        get('/two/x', 'X-Key' => 'two-1', 'X-Group' => 'g1'),  # both pass
        get('/two/x', 'X-Key' => 'two-1', 'X-Group' => 'g1'),  # g1 rejects
        map { get('/two/x', 'X-Key' => 'two-1') } 1 .. 3,      # no group
    );
    is(statuses(@r), '200 429 200 200 429',
        'the per-key burst (3) is not spent by a request the shared limit '
        . 'rejected');
}

###############################################################################
# without nodelay: requests over the rate wait, then pass

{
    # four requests at once into 2r/s burst=2: one passes, two wait
    # (0.5 s and 1 s), the fourth does not fit
    my $raw = "GET /delay/x HTTP/1.1\r\nHost: localhost\r\n"
        . "X-Key: delay-1\r\nConnection: close\r\n\r\n";
    my @socks = map { $t->http($raw, start => 1) } 1 .. 4;
    my @r = map { my $x = parse_response($t->http(undef, socket => $_));
        close $_; $x } @socks;

    is(join(' ', sort map { $_->status // 'none' } @r), '200 200 200 429',
        'delay: three answered 200, one rejected');
    is(join(' ', sort map { $_->header('X-Limit') // '-' } @r),
        'DELAYED DELAYED PASSED REJECTED', 'delay: the status variable');
    my @delayed = grep { ($_->header('X-Limit') // '') eq 'DELAYED' } @r;
    is(scalar(grep { $_->status == 200 && js($_)->{uri} eq '/delay/x' }
        @delayed), 2, 'delayed requests reached the backend');
    is(join(' ', map { js($_)->{headers}{'x-limit-status'}[0] } @delayed),
        'DELAYED DELAYED', 'the backend sees DELAYED');
}

###############################################################################
# hubgate_limit_log_level warn: one line per rejection, naming zone and key

{
    my $mark = $t->log_mark;
    my @r = map { get('/logged/x', 'X-Key' => 'logkey-7') } 1 .. 4;
    is(statuses(@r), '200 429 429 429', 'three rejections');

    my $re = qr/^.*hubgate: limiting requests by zone "a", key "logkey-7".*$/m;
    ok($t->wait_for(sub { () = $t->errlog_since($mark) =~ /$re/g; }),
        'rejections logged');
    my @lines = $t->errlog_since($mark) =~ /$re/g;
    is(scalar @lines, 3, 'exactly one line per rejection');
    is(scalar(grep { /\[warn\]/ } @lines), 3, 'at [warn]');
    like($lines[0] // '', qr/retry after \d+s/, 'says when to retry');
}

###############################################################################
# a full zone evicts the least recently used key, never fails a request

{
    my $n = 2000;
    my %codes;
    my $s;

    for my $i (0 .. $n - 1) {
        $s //= $t->connect;
        my $r = $t->request(GET => '/many/x', keepalive => 1, socket => $s,
            headers => { 'X-Key' => "many-$i" });
        $codes{ $r->status // 'none' }++;

        if (!defined $r->status || ($r->header('Connection') // '')
            =~ /close/i)
        {
            close $s;
            undef $s;
        }
    }

    close $s if $s;

    is_deeply(\%codes, { 200 => $n }, "$n distinct keys in 32k: all 200");

    my $z = limit_zone('z');
    note("zone z after $n keys: keys $z->{keys}, evicted $z->{evicted}");
    cmp_ok($z->{evicted}, '>', 0, 'keys were evicted');
    cmp_ok($z->{keys}, '>', 0, 'keys are kept');
    cmp_ok($z->{keys}, '<', $n, 'fewer than all fit');
    is($z->{keys} + $z->{evicted}, $n, 'keys + evicted = distinct keys');
    is($z->{passed}, $n, 'every one passed');
    is($z->{rejected}, 0, 'none rejected');

    my $r = get('/many/x', 'X-Key' => "many-" . ($n - 1));
    is($r->status, 429, 'the most recent key is still tracked (1r/m)');

    $r = get('/many/x', 'X-Key' => 'many-0');
    is($r->status, 200, 'the least recent key was evicted: it passes again');
    is($r->header('X-Limit'), 'PASSED', 'as PASSED');

    $r = get('/many/x', 'X-Key' => 'brand-new');
    is($r->status, 200, 'a new key into a full zone passes');
    is($r->header('X-Limit'), 'PASSED', 'PASSED');

    my $z2 = limit_zone('z');
    is($z2->{keys} + $z2->{evicted}, $n + 2,
        'both were stored, evicting others');
    cmp_ok($z2->{evicted}, '>', $z->{evicted}, 'by evicting');
    is($z2->{rejected}, 1, 'one rejection');
    is(get('/many/x', 'X-Key' => 'brand-new')->status, 429,
        'the new key is limited from then on');
}

###############################################################################
# the zones' counters

{
    my $za = limit_zone('a');
    my $zp = limit_zone('plans');
    ok($za && $zp, 'status shows both zones');

    # zone a: const-1 3+1, slow-1 1+2, hourly-1 1+1, opt-2 1+2,
    # dry-1 1+3 (dry), delay-1 1+2 delayed+1, logkey-7 1+3
    is($za->{passed}, 3 + 1 + 1 + 1 + 1 + 1 + 1, 'zone a passed');
    is($za->{delayed}, 2, 'zone a delayed');
    is($za->{rejected}, 1 + 2 + 1 + 2 + 1 + 3, 'zone a rejected');
    is($za->{dry_run_rejected}, 3, 'zone a dry_run_rejected');
    is($za->{keys}, 7, 'zone a keys');
    is($za->{evicted}, 0, 'zone a evicted nothing');

    # plans: free1 6+7, pro1 12, free2 6+1
    is($zp->{passed}, 6 + 12 + 6, 'zone plans passed');
    is($zp->{rejected}, 7 + 1, 'zone plans rejected');
    is($zp->{keys}, 3, 'zone plans keys: three tenants');
}

###############################################################################
# a variable rate that is not a rate: not applied, and logged

{
    my $mark = $t->log_mark;
    my @r = map { get('/optional/x', 'X-Key' => 'opt-3',
        'X-Plan' => 'bogus') } 1 .. 3;
    is(statuses(@r), '200 200 200', 'an invalid rate from a map: no limit');
    is($r[2]->header('X-Limit'), undef, 'and no status');
    ok($t->wait_for(sub { $t->errlog_since($mark)
        =~ /hubgate_limit rate "10r\/x" is invalid/ }),
        'the invalid rate is logged');
}

# a bucket belongs to a key in a zone, whichever location counts it:
# const-1 (spent in /const/) is over the limit in /logged/ too
is(get('/logged/x', 'X-Key' => 'const-1')->status, 429,
    'one key, one bucket across locations of a zone');

# an internal redirect (try_files, error_page, a named location) runs the
# access phase again: a client request must still count once, as limit_req
# counts it (r->main remembers that the limit ran)

{
    my @r = map { $t->request(GET => '/x', port => 8082,
        headers => { 'X-Key' => 'redir-1' }) } 1 .. 4;
    is(statuses(@r), '200 200 200 429',
        'through try_files to a named location: 3 pass (burst=2), then 429');
    is(join(' ', map { $_->header('X-Limit') // '-' } @r),
        'PASSED PASSED PASSED REJECTED', 'and their status');
    my $z = limit_zone('redir');
    is("$z->{passed}/$z->{rejected}", '3/1',
        'zone counters: one decision per client request');
}

# PASSED/REJECTED at the response, once more, on a fresh key

{
    my $r1 = get('/slow/x', 'X-Key' => 'slow-2');
    my $r2 = get('/slow/x', 'X-Key' => 'slow-2');
    is($r1->header('X-Limit') . ' ' . $r2->header('X-Limit'),
        'PASSED REJECTED', 'PASSED then REJECTED');
    is(js($r1)->{headers}{'x-limit-status'}[0], 'PASSED',
        'proxy_set_header sees PASSED');
}

# many requests, no JWT, no tenant: nothing leaks into X-Hubgate-*

{
    my $r = get('/const/x', 'X-Key' => 'const-2');
    is(js($r)->{headers}{'x-hubgate-tenant'}, undef,
        'no tenant header without JWT');
}
