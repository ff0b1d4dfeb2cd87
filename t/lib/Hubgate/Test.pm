package Hubgate::Test;

=head1 NAME

Hubgate::Test - nginx test harness for hubgate's edge suites (t/edge)

=head1 SYNOPSIS

    use strict;
    use warnings;
    use Test::More;
    use lib 't/lib';                  # t/run.pl passes -It/lib already
    use Hubgate::Test;

    my $t = Hubgate::Test->new;
    $t->skip_unless_module_built;
    $t->plan(2);                      # + 1 for the error.log check

    my $pem = $t->keygen(type => 'rsa');
    $t->write_file('jwks.json', $t->jwks($t->jwk($pem, kid => 'k1')));

    $t->echo_backend(port => 8081);
    $t->write_file_expand('nginx.conf', <<'EOF');
    %%MODULE%%
    http {
        server {
            listen 127.0.0.1:%%PORT_8080%%;
            location / {
                hubgate_jwt api;
                hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
                proxy_pass http://127.0.0.1:%%PORT_8081%%;
            }
        }
    }
    EOF
    $t->run;

    my $tok = $t->token(key => $pem, kid => 'k1');
    my $r = $t->request(GET => '/x', headers => {
        Authorization => "Bearer $tok" });
    is($r->status, 200, 'valid token passes');
    is($r->json->{headers}{'x-hubgate-tenant'}[0], 't1', 'tenant header');

=head1 DESCRIPTION

One C<.t> per feature, with its nginx.conf embedded, in the manner of
nginx's own test suite.  The harness owns the temporary directory, the
ports, the nginx process and the Perl backends, and adds one test to every
file: error.log (and nginx's own stdout/stderr) must hold no C<[alert]>,
C<[emerg]> or C<[crit]> line and no sanitizer report.  That check runs
after nginx has stopped, so crashes at exit are caught too.

Declare the plan with C<< $t->plan(N) >> (N without the check) or end
with C<< $t->done_testing >>; do not call Test::More's own C<plan> or
C<done_testing> once nginx has run.

=head2 Environment

    TEST_NGINX_BINARY   nginx binary (default /usr/sbin/nginx)
    HUBGATE_MODULE      the module .so (default <repo>/build/
                        ngx_http_hubgate_module.so)
    HUBGATE_JWT_TOOL    hg-jwt (default <repo>/build/hg-jwt)
    HUBGATE_ASAN=1      run nginx with LD_PRELOAD=libasan (for the module
                        built by `make asan`); timeouts are tripled
    HUBGATE_KEEP=1      keep the temporary directory (its path is printed)
    HUBGATE_LOG_LEVEL   error_log level (default info; debug works)

=head2 Construction and files

=over

=item new(%opts)

Options: C<module> (path; C<undef> with C<< no_module => 1 >> to load
nothing), C<nginx>, C<log_level>, C<user> (main-level C<user> directive
added when running as root and the conf has none; default C<root>, so
workers can reach the temporary directory and Unix sockets; pass
C<< user => '' >> to add nothing).

=item testdir, repo, module, nginx_binary

Paths.  C<module> is absolute.

=item skip_unless_module_built, skip_unless_tool

C<plan skip_all> when the .so (or build/hg-jwt) is missing.

=item write_file($name, $content)

Writes bytes into the test directory (subdirectories made); returns the
full path.

=item write_file_expand($name, $content)

Expands C<%%PORT_8080%%> (a free TCP port on 127.0.0.1, the same one for
the same number throughout the file), C<%%TESTDIR%%>, C<%%REPO%%> and
C<%%MODULE%%> (C<load_module E<lt>pathE<gt>;>), then writes it.  An unknown
C<%%NAME%%> dies.

A file ending in C<.conf> that has a top-level C<http>, C<events> or
C<%%MODULE%%> is a main configuration and gets defaults for whatever it
does not set itself: C<load_module> (prepended unless C<%%MODULE%%> or
C<load_module> is there), C<daemon on>, C<pid>,
C<error_log E<lt>dirE<gt>/error.log E<lt>levelE<gt>>, C<user root> (see
C<new>), C<events {}> (appended: a block before C<load_module> makes it
"too late"), and in C<http>: C<access_log> and the five C<*_temp_path>
directives inside the test directory.

=item port($n)

The real port behind C<%%PORT_$n%%> (allocated on first use).

=back

=head2 nginx

=over

=item run

Starts nginx (C<-p E<lt>dirE<gt>/ -c nginx.conf -e error.log>) and returns
when the pid file names a live master and every C<listen> port (and
C<listen unix:> socket) of nginx.conf accepts.  Dies with the error.log
tail if nginx does not start.

=item restart

Stops nginx only (backends keep running) and runs it again: state kept
across restarts, shared memory rebuilt.

=item stop

Graceful stop (QUIT; TERM then KILL after a deadline), then the
backends.  Called for you at the end.

=item reload(%opts)

Sends SIGHUP to the master (what C<nginx -s reload> does once the new
configuration parsed; sending it directly also exercises a configuration
that only the master rejects) and waits until new workers serve and the
old ones are gone or shutting down.  Returns 1 on success; 0 when the
master logged C<[emerg]>/C<[alert]>/C<[crit]> after the signal (the old
configuration keeps running; allow those lines with C<allow_alerts>) or
nothing happened before the deadline.  C<< via => 'cli' >> uses
C<nginx -s reload> instead.

=item test_config($name = 'nginx.conf')

Runs C<nginx -t> on that file; returns C<($exit_code, $output)> in list
context, the exit code in scalar context.  Its log goes to
C<nginx-t.log>, not error.log, so a rejected configuration does not trip
the alert check.

=item master_pid, worker_pids

From the pid file and /proc.

=item errlog, log_mark, errlog_since($mark)

error.log contents; an offset; what was logged after it.  Typical use:

    my $m = $t->log_mark;
    $t->request(GET => '/');
    ok($t->wait_for(sub { $t->errlog_since($m) =~ /rejected/ }), 'logged');

=item read_file($name)

Contents of a file in the test directory (undef when absent).

=item allow_alerts(qr/.../, ...), todo_alerts($reason)

Lines matching any pattern are not counted by the alert check; or the
whole check becomes a TODO test.

=item wait_for($code, $timeout = 5)

Polls C<$code> every 20 ms until it returns true; returns that value, or
false at the deadline.  Use it instead of C<sleep>.

=item plan($n), done_testing

Test::More's, with one test added for the alert check.

=back

=head2 HTTP client

Functions (exported by default: C<http>, C<http_get>; on request:
C<request>, C<parse_response>) and methods of the same names.  The
functions act on the last C<Hubgate::Test> made.

=over

=item http($raw, %opts)

Sends C<$raw> to 127.0.0.1 and returns the raw response (framed by
Content-Length, chunked, or end of stream; 1xx answers are read past and
included).  C<undef> when the connection fails.  Options: C<port> (logical
port, default 8080), C<ssl> (IO::Socket::SSL, no verification), C<sni>,
C<timeout> (default 10 s), C<socket> (send on this connected socket and
leave it open), C<start> (send, return the socket without reading),
C<unix> (path of a Unix socket instead of a port).

=item connect(%opts)

A connected socket for C<http(..., socket =E<gt> $s)> (keep-alive tests).

=item http_get($uri, %opts)

C<GET $uri HTTP/1.1> with C<Host: localhost> and C<Connection: close>;
C<headers> as in C<request>.  Returns the raw response.

=item request($method => $uri, %opts)

Builds an HTTP/1.1 request: C<headers> (hashref, or arrayref of pairs for
order and repeats; a value may be an arrayref for repeats), C<body> (adds
Content-Length unless a Content-Length or Transfer-Encoding header is
given), C<host> (default localhost), C<keepalive> (no
C<Connection: close>), C<version>, plus the C<http> options.  Returns a
response object (a blessed hashref):

    $r->status, $r->reason, $r->body (chunked decoded), $r->raw,
    $r->header('Name')      # all values in list context, joined by ", "
                            # in scalar context, undef when absent
    $r->{headers}{lc name}  # arrayref of values
    $r->json                # body decoded (dies on bad JSON)

=item parse_response($raw)

The same object from raw text.

=back

=head2 Backends

=over

=item backend(port => $n | unix => $name, handler => $code, name => $s)

Forks a small HTTP/1.1 server (one process per connection, keep-alive,
Content-Length and chunked request bodies).  The listening socket exists
before C<backend> returns, so there is nothing to wait for.  The handler
gets the request as a hashref (C<method>, C<uri>, C<version>, C<headers>
{lc name =E<gt> [values]}, C<header_list> [[name, value]...], C<body>) and
returns C<($status, $headers, $body)> (headers as hashref or arrayref of
pairs; Content-Length added), or a single string that is written raw
before closing (for broken responses).  Without a handler it is the echo
backend.  Every request is appended to C<E<lt>nameE<gt>.requests> (JSON
lines; the name defaults to C<backend_E<lt>portE<gt>> or the socket name).
C<unix> names a socket in the test directory (chmod 0666).  Returns the
name.

=item echo_backend(%opts)

C<backend> whose answer is 200 C<application/json>:
C<{method, uri, version, headers, header_list, body, body_length,
body_sha256}> (body bytes as \u00XX escapes, so C<json> gives them back
exactly).

=item backend_requests($name)

The requests a backend has seen so far, oldest first.

=item run_daemon($code, @args)

Forks C<< $code->(@args) >> as its own process group (stdout and stderr
into C<daemon-N.log>), stopped with the rest.  Wait for it with
C<wait_port> or C<wait_unix>.

=item wait_port($n, $timeout), wait_unix($path, $timeout)

True once a TCP connect to C<port($n)> (or the Unix socket) succeeds.

=back

=head2 Keys and tokens (need build/hg-jwt: make tools)

=over

=item keygen(type => $type, name => $name, bits => $n, bytes => $n,
secret => $bytes)

Types: rsa (2048 bits unless C<bits>), rsa1024, rsa4096, rsa-pss, ec256,
ec384, ec521, secp256k1, ed25519, ed448, hmac (C<bytes> random bytes,
default 32, or the given C<secret>).  Writes C<E<lt>nameE<gt>.pem> and
C<E<lt>nameE<gt>.pub.pem> (hmac: C<E<lt>nameE<gt>.bin>); C<name> defaults
to the type (and a counter when taken).  Returns the private key (or
secret) path, or C<($private, $public)> in list context.

=item jwk($file, kid => , alg => , use => , secret => 1)

Public JWK text of a PEM file (private or public) or oct JWK of a secret
file (any file not starting with C<-----BEGIN>, or C<< secret => 1 >>).

=item jwks(@jwks)

C<{"keys":[...]}> from JWK texts or hashrefs.

=item token(%opts)

A compact JWS by C<hg-jwt sign>.  C<key> (file), C<alg> (default from
the keygen type: RS256, ES256/384/512, EdDSA, HS256; C<none> needs no
key), C<kid>, C<header> (hashref, encoded canonically, or raw text used
verbatim), C<claims> (hashref or raw text; default
C<{tid =E<gt> 't1', sub =E<gt> 'u1', exp =E<gt> time + 3600}>), C<add>
(hashref merged into the default claims; an undef value removes the
claim), C<der> (DER ECDSA signature).

=item tokens(count => $n, template => $text, alg => , key => , kid => )

C<$n> tokens from C<hg-jwt sign --count>; in the template C<{i}> is the
index and C<{exp}> now + 1 day.

=item ssl_cert(name => 'localhost')

Self-signed P-256 certificate: returns (C<name.crt>, C<name.key>) paths.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use Fcntl qw(:flock);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP ();
use POSIX ();
use Socket qw(SOCK_STREAM SOMAXCONN);
use Test::More ();
use Time::HiRes ();

our @EXPORT = qw(http http_get);
our @EXPORT_OK = qw(http http_get request parse_response);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $CURRENT;
my @INSTANCES;
my %USED_PORTS;
my $DAEMON_SEQ = 0;
my $ALERTS_CHECKED = 0;
my $ENDING = 0;

my $REPO = abs_path(dirname(__FILE__) . '/../../..');
my $JSON = JSON::PP->new->canonical->allow_nonref;

my %KEY_ALG = (
    'rsa' => 'RS256', 'rsa1024' => 'RS256', 'rsa4096' => 'RS256',
    'rsa-pss' => 'PS256', 'ec256' => 'ES256', 'ec384' => 'ES384',
    'ec521' => 'ES512', 'secp256k1' => 'ES256K', 'ed25519' => 'EdDSA',
    'ed448' => 'EdDSA', 'hmac' => 'HS256',
);

my %GENPKEY = (
    'rsa' => [ 'RSA', 'rsa_keygen_bits:2048' ],
    'rsa1024' => [ 'RSA', 'rsa_keygen_bits:1024' ],
    'rsa4096' => [ 'RSA', 'rsa_keygen_bits:4096' ],
    'rsa-pss' => [ 'RSA-PSS', 'rsa_keygen_bits:2048' ],
    'ec256' => [ 'EC', 'ec_paramgen_curve:P-256' ],
    'ec384' => [ 'EC', 'ec_paramgen_curve:P-384' ],
    'ec521' => [ 'EC', 'ec_paramgen_curve:P-521' ],
    'secp256k1' => [ 'EC', 'ec_paramgen_curve:secp256k1' ],
    'ed25519' => [ 'ED25519' ],
    'ed448' => [ 'ED448' ],
);

my @TEMP_PATHS = (
    [ client_body_temp_path => 'client_body_temp' ],
    [ proxy_temp_path => 'proxy_temp' ],
    [ fastcgi_temp_path => 'fastcgi_temp' ],
    [ uwsgi_temp_path => 'uwsgi_temp' ],
    [ scgi_temp_path => 'scgi_temp' ],
);


###############################################################################
# construction

sub new {
    my ($class, %opts) = @_;

    my $keep = $ENV{HUBGATE_KEEP} ? 1 : 0;
    my $dir = File::Temp->newdir('hubgate-XXXXXX', TMPDIR => 1,
        CLEANUP => !$keep);
    chmod 0755, "$dir";

    my $module = exists $opts{module} ? $opts{module}
        : $ENV{HUBGATE_MODULE} || "$REPO/build/ngx_http_hubgate_module.so";
    $module = abs_path($module) // $module if defined $module;

    my $self = bless {
        dir => $dir,
        testdir => "$dir",
        keep => $keep,
        nginx => $opts{nginx} || $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx',
        module => $opts{no_module} ? undef : $module,
        tool => $ENV{HUBGATE_JWT_TOOL} || "$REPO/build/hg-jwt",
        log_level => $opts{log_level} || $ENV{HUBGATE_LOG_LEVEL} || 'info',
        user => exists $opts{user} ? $opts{user} : 'root',
        asan => $ENV{HUBGATE_ASAN} ? 1 : 0,
        ports => {},
        listen => {},
        daemons => [],
        backends => {},
        keys => {},
        allow => [],
        todo => undef,
        started => 0,
        owner => $$,
    }, $class;

    $self->{slow} = $self->{asan} ? 3 : 1;

    push @INSTANCES, $self;
    $CURRENT = $self;

    # so that END stops nginx and the backends on ^C, a runner's kill, or
    # a reader of our output gone away
    for my $sig (qw(INT TERM HUP PIPE)) {
        next if $SIG{$sig} && $SIG{$sig} ne 'DEFAULT';

        $SIG{$sig} = sub {
            # later writes to a closed pipe must fail quietly; once END
            # runs, let it finish its cleaning up
            $SIG{PIPE} = 'IGNORE';
            exit 1 if !$ENDING;
        };
    }

    return $self;
}

sub testdir { $_[0]{testdir} }
sub repo { $REPO }
sub module { $_[0]{module} }
sub nginx_binary { $_[0]{nginx} }

sub skip_unless_module_built {
    my ($self) = @_;

    return $self if !defined $self->{module} || -f $self->{module};

    Test::More::plan(skip_all => "module not built: $self->{module}"
        . " (make module)");
}

sub skip_unless_tool {
    my ($self) = @_;

    return $self if -x $self->{tool};

    Test::More::plan(skip_all => "hg-jwt not built: $self->{tool}"
        . " (make tools)");
}

sub plan {
    my ($self, $n) = @_;

    Test::More::plan(tests => $n + 1);

    return $self;
}

sub done_testing {
    my ($self) = @_;

    _finish_all();
    Test::More::done_testing();

    return $self;
}


###############################################################################
# files and configuration

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = $name =~ m{^/} ? $name : "$self->{testdir}/$name";
    make_path(dirname($path));

    open my $fh, '>:raw', $path or croak "write $path: $!";
    print $fh $content;
    close $fh or croak "write $path: $!";

    return $path;
}

sub read_file {
    my ($self, $name) = @_;

    my $path = $name =~ m{^/} ? $name : "$self->{testdir}/$name";

    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $content = <$fh>;
    close $fh;

    return $content // '';
}

sub write_file_expand {
    my ($self, $name, $content) = @_;

    if ($name =~ /\.conf$/) {
        $content = $self->_conf_defaults($content)
            if _is_main_conf($content);
        $self->_note_listen($name, $content);
    }

    $content = $self->_expand($content);

    return $self->write_file($name, $content);
}

sub port {
    my ($self, $n) = @_;

    $self = $CURRENT if !ref $self;

    return $self->{ports}{$n} //= _free_port();
}

sub _free_port {
    for (1 .. 2000) {
        # below the usual ephemeral range, so no outgoing connection has it
        my $p = 10000 + int(rand(22000));
        next if $USED_PORTS{$p};

        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $p, Proto => 'tcp', Listen => 1, ReuseAddr => 0)
            or next;
        close $s;

        $USED_PORTS{$p} = 1;
        return $p;
    }

    croak "no free TCP port found";
}

sub _expand {
    my ($self, $text) = @_;

    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%TESTDIR%%/$self->{testdir}/g;
    $text =~ s/%%REPO%%/$REPO/g;

    if ($text =~ /%%MODULE%%/) {
        croak "%%MODULE%%: no module configured" if !defined $self->{module};
        $text =~ s/%%MODULE%%/load_module $self->{module};/g;
    }

    croak "unknown placeholder $1" if $text =~ /(%%[A-Z][A-Z0-9_]*%%)/;

    return $text;
}

# comments and quoted strings blanked out, positions kept

sub _mask {
    my ($text) = @_;

    $text =~ s{("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|#[^\n]*)}
              {' ' x length($1)}gse;

    # the placeholder stands for a whole statement
    $text =~ s/%%MODULE%%/;         /g;

    return $text;
}

# the top level of a masked text: inner blocks blanked, braces made ';' so
# every directive starts after ';' or at the beginning

sub _top_level {
    my ($masked) = @_;

    my $depth = 0;
    my $out = '';

    for my $c (split //, $masked) {
        if ($c eq '{') {
            $out .= $depth++ ? ' ' : ';';

        } elsif ($c eq '}') {
            $out .= --$depth ? ' ' : ';';

        } else {
            $out .= $depth ? ($c eq "\n" ? "\n" : ' ') : $c;
        }
    }

    return $out;
}

sub _has_directive {
    my ($top, $name) = @_;

    return $top =~ /(?:^|;)\s*\Q$name\E\b/s;
}

# [name, position of '{', position of '}'] of each top-level block

sub _blocks {
    my ($masked) = @_;

    my (@blocks, $depth, $start);
    my $stmt = 0;
    $depth = 0;

    for my $i (0 .. length($masked) - 1) {
        my $c = substr($masked, $i, 1);

        if ($c eq '{') {
            if ($depth++ == 0) {
                my ($word) = substr($masked, $stmt, $i - $stmt) =~ /^\s*(\S+)/;
                $start = [ $word // '', $i ];
            }

        } elsif ($c eq '}') {
            if (--$depth == 0) {
                push @blocks, [ @$start, $i ];
                $stmt = $i + 1;
            }

        } elsif ($c eq ';' && $depth == 0) {
            $stmt = $i + 1;
        }
    }

    return @blocks;
}

sub _is_main_conf {
    my ($text) = @_;

    return 1 if $text =~ /%%MODULE%%/;

    my $top = _top_level(_mask($text));

    return _has_directive($top, 'http') || _has_directive($top, 'events')
        || _has_directive($top, 'load_module');
}

sub _conf_defaults {
    my ($self, $text) = @_;

    my $dir = $self->{testdir};
    my $masked = _mask($text);
    my $top = _top_level($masked);

    my ($http) = grep { $_->[0] eq 'http' } _blocks($masked);

    if ($http) {
        my $inner = substr($masked, $http->[1] + 1,
            $http->[2] - $http->[1] - 1);
        my $itop = _top_level($inner);
        my $add = '';

        for my $p (@TEMP_PATHS) {
            $add .= "    $p->[0] $dir/$p->[1];\n"
                if !_has_directive($itop, $p->[0]);
        }

        $add .= "    access_log $dir/access.log;\n"
            if !_has_directive($itop, 'access_log');

        substr($text, $http->[1] + 1, 0) = "\n    # added by Hubgate::Test\n"
            . $add if $add;
    }

    my $main = '';

    $main .= "%%MODULE%%\n"
        if $text !~ /%%MODULE%%/ && !_has_directive($top, 'load_module')
        && defined $self->{module};
    $main .= "daemon on;\n" if !_has_directive($top, 'daemon');
    $main .= "pid $dir/nginx.pid;\n" if !_has_directive($top, 'pid');
    $main .= "error_log $dir/error.log $self->{log_level};\n"
        if !_has_directive($top, 'error_log');
    $main .= "user $self->{user};\n"
        if $> == 0 && $self->{user} && !_has_directive($top, 'user');
    # after the text: a block before load_module makes it "too late"
    my $tail = _has_directive($top, 'events') ? '' : "\nevents { }\n";

    return $main . $text . $tail;
}

sub _note_listen {
    my ($self, $name, $text) = @_;

    my (@ports, @unix);
    my $masked = _mask($text);

    while ($masked =~ /(?:^|[;{}])\s*listen\s+([^;{}]+);/g) {
        my ($addr, @params) = split ' ', $1;
        next if grep { $_ eq 'udp' } @params;

        if ($addr =~ /^unix:(.+)$/) {
            push @unix, $1;

        } elsif ($addr =~ /%%PORT_(\d+)%%/) {
            push @ports, $1;
        }
    }

    $self->{listen}{$name} = { ports => \@ports, unix => \@unix };
}


###############################################################################
# nginx

sub _env {
    my ($self) = @_;

    return () if !$self->{asan};

    my $lib = `gcc -print-file-name=libasan.so`;
    chomp $lib;
    croak "HUBGATE_ASAN=1 but libasan.so not found" if $lib !~ m{^/};

    my $opts = 'detect_leaks=0:abort_on_error=0:halt_on_error=1'
        . ':detect_odr_violation=0';
    $opts .= ":$ENV{ASAN_OPTIONS}" if $ENV{ASAN_OPTIONS};

    return (LD_PRELOAD => $lib, ASAN_OPTIONS => $opts);
}

# a child must not inherit unwritten output: it would print it again

sub _flush {
    STDOUT->flush;
    STDERR->flush;
}

# runs a command with its output appended to a file; returns the exit code

sub _system_to {
    my ($self, $out, $env, @cmd) = @_;

    _flush();
    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        @ENV{ keys %$env } = values %$env;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    waitpid($pid, 0);

    return $? == -1 ? 127 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
}

sub _nginx_args {
    my ($self, $conf, $log) = @_;

    my $dir = $self->{testdir};

    return ($self->{nginx}, '-p', "$dir/", '-c', "$dir/$conf",
        '-e', "$dir/$log");
}

sub test_config {
    my ($self, $conf) = @_;

    $conf //= 'nginx.conf';
    my $out = "$self->{testdir}/nginx-t.out";
    unlink $out;

    my $rc = $self->_system_to($out, { $self->_env },
        $self->_nginx_args($conf, 'nginx-t.log'), '-t');

    my $output = $self->read_file('nginx-t.out') // '';

    return wantarray ? ($rc, $output) : $rc;
}

sub run {
    my ($self) = @_;

    my $dir = $self->{testdir};
    croak "run: write nginx.conf first" if !-f "$dir/nginx.conf";
    croak "run: nginx is already running" if $self->_running;

    $self->{started} = 1;
    unlink "$dir/nginx.pid";

    my $rc = $self->_system_to("$dir/nginx.out", { $self->_env },
        $self->_nginx_args('nginx.conf', 'error.log'));

    if ($rc != 0) {
        croak "nginx did not start (exit $rc):\n" . $self->_log_tail;
    }

    my $ok = $self->wait_for(sub {
        my $pid = $self->master_pid;
        return $pid && _alive($pid);
    }, 10);

    croak "nginx wrote no pid file:\n" . $self->_log_tail if !$ok;

    $self->{master} = $self->master_pid;

    $self->_wait_listen or croak "nginx does not accept connections:\n"
        . $self->_log_tail;

    return $self;
}

sub _wait_listen {
    my ($self) = @_;

    # nginx.conf and the files it includes by name
    my $main = _mask($self->read_file('nginx.conf') // '');
    my @confs = grep {
        $_ eq 'nginx.conf'
            || $main =~ /^\s*include\s+\S*\Q$_\E\s*;/m
    } sort keys %{ $self->{listen} };

    for my $l (map { $self->{listen}{$_} } @confs) {
        for my $n (@{ $l->{ports} }) {
            return 0 if !$self->wait_port($n, 10);
        }

        for my $path (@{ $l->{unix} }) {
            return 0 if !$self->wait_unix($self->_expand($path), 10);
        }
    }

    return 1;
}

sub master_pid {
    my ($self) = @_;

    my $pid = $self->read_file('nginx.pid');
    return undef if !defined $pid || $pid !~ /^(\d+)\s*$/;

    return $1;
}

sub _running {
    my ($self) = @_;

    return $self->{master} && _alive($self->{master});
}

# a zombie counts as gone: in a container nobody may reap the daemon

sub _alive {
    my ($pid) = @_;

    return 0 if !kill(0, $pid);

    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    close $fh;

    my ($state) = $stat =~ /\)\s+(\S)/;

    return defined $state && $state ne 'Z' && $state ne 'X';
}

# children of the master that are "worker process" but not shutting down

sub worker_pids {
    my ($self, %opts) = @_;

    my $master = $self->{master} // $self->master_pid // return ();
    my @pids;

    opendir my $dh, '/proc' or return ();

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // '';
        close $fh;

        my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or next;
        next if $ppid != $master || $state eq 'Z';

        open $fh, '<', "/proc/$pid/cmdline" or next;
        my $title = do { local $/; <$fh> } // '';
        close $fh;

        next if $title !~ /worker process/;
        next if !$opts{all} && $title =~ /shutting down/;

        push @pids, $pid;
    }

    closedir $dh;

    return sort { $a <=> $b } @pids;
}

sub reload {
    my ($self, %opts) = @_;

    croak "reload: nginx is not running" if !$self->_running;

    my $master = $self->{master};
    my %old = map { $_ => 1 } $self->worker_pids(all => 1);
    my $mark = $self->log_mark;

    if (($opts{via} // '') eq 'cli') {
        my $rc = $self->_system_to("$self->{testdir}/nginx.out",
            { $self->_env }, $self->_nginx_args('nginx.conf', 'error.log'),
            '-s', 'reload');
        return 0 if $rc != 0;

    } else {
        kill 'HUP', $master or croak "reload: kill HUP $master: $!";
    }

    my $result = $self->wait_for(sub {
        return 'failed'
            if $self->errlog_since($mark) =~ /\[(?:emerg|alert|crit)\]/;

        my @new = $self->worker_pids;
        return 0 if !@new || grep { $old{$_} } @new;

        return 'ok';
    }, $opts{timeout} // 10);

    return 0 if !$result || $result ne 'ok';

    return $self->_wait_listen ? 1 : 0;
}

sub restart {
    my ($self) = @_;

    $self->_stop_nginx;

    return $self->run;
}

sub stop {
    my ($self) = @_;

    $self->_stop_nginx;
    $self->_stop_daemons;

    return $self;
}

sub _stop_nginx {
    my ($self) = @_;

    my $pid = delete $self->{master};
    $pid //= $self->master_pid if $self->{started};
    return if !$pid;

    return if !_alive($pid);

    for my $sig (qw(QUIT TERM KILL)) {
        kill $sig, $pid;
        return if $self->wait_for(sub { !_alive($pid) }, 10);
        Test::More::diag("nginx master $pid survived SIG$sig");
    }
}

sub _stop_daemons {
    my ($self) = @_;

    my @pids = @{ $self->{daemons} };
    $self->{daemons} = [];

    for my $pid (@pids) {
        kill 'TERM', -$pid;
        kill 'TERM', $pid;
    }

    for my $pid (@pids) {
        my $gone = $self->wait_for(sub {
            waitpid($pid, POSIX::WNOHANG()) != 0;
        }, 5);

        if (!$gone) {
            kill 'KILL', -$pid;
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
    }
}

sub errlog {
    my ($self) = @_;

    return $self->read_file('error.log') // '';
}

sub log_mark {
    my ($self) = @_;

    return -s "$self->{testdir}/error.log" // 0;
}

sub errlog_since {
    my ($self, $mark) = @_;

    my $log = $self->errlog;

    return length($log) > $mark ? substr($log, $mark) : '';
}

sub _log_tail {
    my ($self, $n) = @_;

    $n //= 20;
    my @lines;

    for my $f ('nginx.out', 'error.log') {
        my $text = $self->read_file($f) // next;
        my @l = split /\n/, $text;
        splice @l, 0, @l - $n if @l > $n;
        push @lines, "--- $f", @l;
    }

    return join('', map { "    $_\n" } @lines);
}

sub wait_for {
    my ($self, $code, $timeout) = @_;

    $self = $CURRENT if !ref $self;
    my $deadline = Time::HiRes::time() + ($timeout // 5) * $self->{slow};

    while (1) {
        my $v = $code->();
        return $v if $v;
        return $v if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

sub allow_alerts {
    my ($self, @re) = @_;

    push @{ $self->{allow} }, @re;

    return $self;
}

sub todo_alerts {
    my ($self, $reason) = @_;

    $self->{todo} = $reason // 'alerts expected';

    return $self;
}


###############################################################################
# the error.log check, once per file, after nginx has stopped

my $NGX_LINE = qr{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]};
my $BAD_OTHER = qr{AddressSanitizer|LeakSanitizer|ThreadSanitizer
    |UndefinedBehaviorSanitizer|runtime\ error:|segfault|signal\ 11\b}x;

sub _alert_lines {
    my ($self) = @_;

    my @bad;

    for my $file ('error.log', 'nginx.out') {
        my $text = $self->read_file($file) // next;

        for my $line (split /\n/, $text) {
            if ($line =~ $NGX_LINE || $line =~ /^nginx: \[(\w+)\]/) {
                next if $1 !~ /^(?:alert|emerg|crit)$/;

            } elsif ($line !~ $BAD_OTHER) {
                next;
            }

            next if grep { $line =~ $_ } @{ $self->{allow} };
            push @bad, "$file: $line";
        }
    }

    return @bad;
}

# returns true when alerts were found too late to report them as a test

sub _finish_all {
    return 0 if $ALERTS_CHECKED;

    my @mine = grep { $_->{owner} == $$ } @INSTANCES;
    $_->stop for @mine;

    my @started = grep { $_->{started} } @mine;
    return 0 if !@started;

    $ALERTS_CHECKED = 1;

    my (@bad, $todo);

    for my $t (@started) {
        push @bad, $t->_alert_lines;
        $todo //= $t->{todo};
    }

    my $tb = Test::More->builder;
    my $hub = Test2::API::test2_stack()->top;

    if ($hub->ended) {
        # the test called Test::More::done_testing itself: too late for ok()
        return 0 if !@bad;
        Test::More::diag("alerts in error.log (use \$t->done_testing):");
        Test::More::diag("  $_") for @bad[0 .. ($#bad > 19 ? 19 : $#bad)];
        return 1;
    }

    $tb->todo_start($todo) if defined $todo;

    my $name = 'no alerts or sanitizer reports in error.log';
    Test::More::ok(!@bad, $name)
        or Test::More::diag(join "\n",
            @bad[0 .. ($#bad > 29 ? 29 : $#bad)],
            @bad > 30 ? ('... ' . (@bad - 30) . ' more') : ());

    $tb->todo_end if defined $todo;

    return 0;
}

END {
    # waitpid below changes $?, which becomes the exit status
    my $exit = $?;
    $ENDING = 1;

    # whoever reads our output may be gone: writes must fail, not kill us
    $SIG{PIPE} = 'IGNORE';

    # first of all, leave no process behind
    $_->stop for grep { $_->{owner} == $$ } @INSTANCES;

    for my $t (grep { $_->{owner} == $$ } @INSTANCES) {
        next if !$t->{started} || Test::More->builder->is_passing;
        Test::More::diag("error.log tail of $t->{testdir}:\n"
            . $t->_log_tail(15));
    }

    my $late = _finish_all();

    for my $t (grep { $_->{owner} == $$ } @INSTANCES) {
        Test::More::diag("kept $t->{testdir}") if $t->{keep};
    }

    $? = $exit || ($late ? 1 : 0);
}


###############################################################################
# HTTP client

sub _self_and_args {
    return (shift, @_) if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    return ($CURRENT, @_);
}

sub connect {
    my ($self, %opts) = _self_and_args(@_);

    my $timeout = ($opts{timeout} // 10) * ($self ? $self->{slow} : 1);
    my $s;

    if ($opts{unix}) {
        $s = IO::Socket::UNIX->new(Type => SOCK_STREAM,
            Peer => $opts{unix});

    } else {
        my $port = $opts{port_raw}
            // ($self ? $self->port($opts{port} // 8080) : $opts{port});

        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $port, Proto => 'tcp', Timeout => $timeout);
    }

    if (!$s) {
        Test::More::diag("connect failed: $!");
        return undef;
    }

    if ($opts{ssl}) {
        require IO::Socket::SSL;

        IO::Socket::SSL->start_SSL($s,
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_hostname => $opts{sni} // 'localhost',
            Timeout => $timeout)
            or do {
                Test::More::diag("TLS handshake failed: "
                    . IO::Socket::SSL::errstr());
                return undef;
            };
    }

    $s->autoflush(1);

    return $s;
}

sub http {
    my ($self, $request, %opts) = _self_and_args(@_);

    local $SIG{PIPE} = 'IGNORE';

    my $timeout = ($opts{timeout} // 10) * ($self ? $self->{slow} : 1);
    my $s = $opts{socket} || $self->connect(%opts) || return undef;

    if (defined $request && length $request) {
        my $off = 0;

        while ($off < length $request) {
            my $n = syswrite($s, $request, length($request) - $off, $off);
            if (!defined $n) {
                next if $!{EINTR};
                last;
            }
            $off += $n;
        }
    }

    return $s if $opts{start};

    my $head = ($request // '') =~ /^HEAD\s/;
    my $raw = _read_response($s, Time::HiRes::time() + $timeout, $head);

    close $s if !$opts{socket};

    return $raw;
}

sub _read_some {
    my ($s, $deadline) = @_;

    while (1) {
        # TLS may hold decrypted bytes that select() cannot see
        if (!($s->can('pending') && $s->pending)) {
            my $left = $deadline - Time::HiRes::time();
            return undef if $left <= 0;
            next if !IO::Select->new($s)->can_read($left);
        }

        my $buf = '';
        my $n = sysread($s, $buf, 65536);

        if (!defined $n) {
            next if $!{EINTR} || $!{EAGAIN};
            return '';
        }

        return $buf;
    }
}

# one response, framed as HTTP frames it; 1xx answers are read past

sub _read_response {
    my ($s, $deadline, $head) = @_;

    my $buf = '';
    my $raw = '';

    while (1) {
        my $end;

        while (($end = index($buf, "\r\n\r\n")) < 0) {
            my $d = _read_some($s, $deadline);
            return _timeout($raw . $buf) if !defined $d;
            return $raw . $buf if !length $d;
            $buf .= $d;
        }

        my $headers = substr($buf, 0, $end + 4);
        my ($status) = $headers =~ m{^HTTP/\d\.\d\s+(\d{3})};
        $status //= 0;

        if ($status >= 100 && $status < 200 && $status != 101) {
            $raw .= $headers;
            $buf = substr($buf, $end + 4);
            next;
        }

        my $body = substr($buf, $end + 4);
        my $need;

        if ($head || $status == 204 || $status == 304 || $status == 101) {
            $need = 0;

        } elsif ($headers =~ /^Transfer-Encoding:[^\r]*chunked/mi) {
            $need = 'chunked';

        } elsif ($headers =~ /^Content-Length:\s*(\d+)/mi) {
            $need = $1;
        }

        while (1) {
            if (!defined $need) {
                # until the end of the stream
            } elsif ($need eq 'chunked') {
                last if defined _dechunk($body);
            } elsif (length($body) >= $need) {
                last;
            }

            my $d = _read_some($s, $deadline);
            return _timeout($raw . $headers . $body) if !defined $d;
            last if !length $d;
            $body .= $d;
        }

        return $raw . $headers . $body;
    }
}

sub _timeout {
    my ($partial) = @_;

    Test::More::diag("http: timed out waiting for a response");

    return $partial;
}

# a complete chunked body decoded, or undef when incomplete

sub _dechunk {
    my ($body) = @_;

    my $out = '';
    my $pos = 0;

    while (1) {
        my $eol = index($body, "\r\n", $pos);
        return undef if $eol < 0;

        my ($hex) = substr($body, $pos, $eol - $pos) =~ /^([0-9a-fA-F]+)/;
        return undef if !defined $hex;

        my $len = hex $hex;
        $pos = $eol + 2;

        if ($len == 0) {
            # trailers end with an empty line
            my $end = index($body, "\r\n\r\n", $pos - 2);
            return undef if $end < 0;
            return $out;
        }

        return undef if length($body) < $pos + $len + 2;

        $out .= substr($body, $pos, $len);
        $pos += $len + 2;
    }
}

sub _header_lines {
    my ($headers) = @_;

    return '' if !$headers;

    my @pairs = ref $headers eq 'HASH'
        ? map { $_ => $headers->{$_} } sort keys %$headers
        : @$headers;

    my $text = '';

    while (my ($n, $v) = splice @pairs, 0, 2) {
        for my $one (ref $v eq 'ARRAY' ? @$v : $v) {
            $text .= "$n: $one\r\n";
        }
    }

    return $text;
}

sub http_get {
    my ($self, $uri, %opts) = _self_and_args(@_);

    return $self->http("GET $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n" . _header_lines($opts{headers})
        . "\r\n", %opts);
}

sub request {
    my ($self, $method, $uri, %opts) = _self_and_args(@_);

    my $lines = _header_lines($opts{headers});
    my $req = "$method $uri HTTP/" . ($opts{version} // '1.1') . "\r\n";

    # host => undef sends none; a Host in headers replaces the default
    if (defined $opts{host}) {
        $req .= "Host: $opts{host}\r\n";

    } elsif (!exists $opts{host} && $lines !~ /^Host:/mi) {
        $req .= "Host: localhost\r\n";
    }

    $req .= "Connection: close\r\n"
        if !$opts{keepalive} && $lines !~ /^Connection:/mi;
    $req .= "Content-Length: " . length($opts{body}) . "\r\n"
        if defined $opts{body}
           && $lines !~ /^(?:Content-Length|Transfer-Encoding):/mi;
    $req .= $lines . "\r\n";
    $req .= $opts{body} if defined $opts{body};

    return parse_response($self->http($req, %opts));
}

sub parse_response {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($raw) = @_;

    return Hubgate::Test::Response->new($raw);
}


###############################################################################
# backends

sub run_daemon {
    my ($self, $code, @args) = @_;

    my $log = "$self->{testdir}/daemon-" . ++$DAEMON_SEQ . ".log";
    _flush();
    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        _daemon_child($log);
        eval { $code->(@args); 1 } or print STDERR "daemon died: $@";
        POSIX::_exit(0);
    }

    push @{ $self->{daemons} }, $pid;

    return $pid;
}

sub _daemon_child {
    my ($log) = @_;

    POSIX::setpgid(0, 0);
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP PIPE);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', $log or POSIX::_exit(1);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(1);
    STDOUT->autoflush(1);

    # no TAP from here on, whatever the code does
    Test::More->builder->no_ending(1);
}

sub wait_port {
    my ($self, $n, $timeout) = @_;

    my $port = $self->port($n);

    return $self->wait_for(sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $port, Proto => 'tcp') or return 0;
        close $s;
        return 1;
    }, $timeout // 10);
}

sub wait_unix {
    my ($self, $path, $timeout) = @_;

    return $self->wait_for(sub {
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
            or return 0;
        close $s;
        return 1;
    }, $timeout // 10);
}

sub echo_backend {
    my ($self, %opts) = @_;

    return $self->backend(%opts, handler => \&_echo);
}

sub backend {
    my ($self, %opts) = @_;

    my ($listen, $name);

    if (defined $opts{unix}) {
        my $path = $opts{unix} =~ m{^/} ? $opts{unix}
            : "$self->{testdir}/$opts{unix}";
        unlink $path;

        $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path,
            Listen => SOMAXCONN) or croak "backend: listen $path: $!";
        chmod 0666, $path;
        $name = $opts{name} // basename($path);

    } else {
        my $n = $opts{port} // croak "backend: port or unix needed";

        $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $self->port($n), Proto => 'tcp', ReuseAddr => 1,
            Listen => SOMAXCONN)
            or croak "backend: listen port $n (" . $self->port($n) . "): $!";
        $name = $opts{name} // "backend_$n";
    }

    my $log = "$self->{testdir}/$name.requests";
    my $handler = $opts{handler} // \&_echo;

    open my $touch, '>>', $log or croak "backend: $log: $!";
    close $touch;

    my $pid = $self->run_daemon(\&_backend_loop, $listen, $handler, $log);

    close $listen;
    $self->{backends}{$name} = $log;

    return $name;
}

sub backend_requests {
    my ($self, $name) = @_;

    my $log = $self->{backends}{$name} // croak "no backend $name";
    my $text = $self->read_file($log) // '';

    # a line still being written is not a request yet
    $text =~ s/[^\n]+\z//;

    return map { $JSON->decode($_) } grep { length } split /\n/, $text;
}

sub _backend_loop {
    my ($listen, $handler, $log) = @_;

    $SIG{CHLD} = 'IGNORE';

    while (1) {
        my $c = $listen->accept;

        if (!$c) {
            next if $!{EINTR} || $!{ECONNABORTED};
            die "accept: $!";
        }

        my $pid = fork();

        if (defined $pid && $pid == 0) {
            close $listen;
            eval { _backend_conn($c, $handler, $log); 1 }
                or print STDERR "backend: $@";
            POSIX::_exit(0);
        }

        close $c;
    }
}

sub _backend_conn {
    my ($c, $handler, $log) = @_;

    local $SIG{PIPE} = 'IGNORE';
    my $buf = '';

    while (1) {
        my $req = _read_request($c, \$buf) or return;

        if (open my $fh, '>>', $log) {
            flock $fh, LOCK_EX;
            syswrite $fh, $JSON->encode(_req_summary($req)) . "\n";
            close $fh;
        }

        my @res = $handler->($req);

        if (@res == 1) {
            _write_all($c, $res[0]);
            return;
        }

        my ($status, $headers, $body) = @res;
        $body //= '';

        my $close = $req->{version} eq 'HTTP/1.0'
            || grep { lc eq 'close' } @{ $req->{headers}{connection} || [] };

        my $lines = _header_lines($headers);
        $lines .= "Content-Length: " . length($body) . "\r\n"
            if $lines !~ /^(?:Content-Length|Transfer-Encoding):/mi;
        $lines .= "Connection: close\r\n" if $close;

        _write_all($c, "HTTP/1.1 $status " . _reason($status) . "\r\n"
            . $lines . "\r\n" . $body);

        return if $close;
    }
}

sub _write_all {
    my ($c, $data) = @_;

    my $off = 0;

    while ($off < length $data) {
        my $n = syswrite($c, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $!{EINTR};
            return;
        }
        $off += $n;
    }
}

sub _reason {
    my ($status) = @_;

    my %r = (200 => 'OK', 201 => 'Created', 202 => 'Accepted',
        204 => 'No Content', 301 => 'Moved Permanently', 302 => 'Found',
        304 => 'Not Modified', 400 => 'Bad Request', 401 => 'Unauthorized',
        403 => 'Forbidden', 404 => 'Not Found', 409 => 'Conflict',
        422 => 'Unprocessable Entity', 429 => 'Too Many Requests',
        500 => 'Internal Server Error', 502 => 'Bad Gateway',
        503 => 'Service Unavailable', 504 => 'Gateway Timeout');

    return $r{$status} // 'Status';
}

# one request from a connection; undef at end of stream

sub _read_request {
    my ($c, $buf) = @_;

    my $end;
    my $deadline = Time::HiRes::time() + 60;

    while (($end = index($$buf, "\r\n\r\n")) < 0) {
        my $d = _read_some($c, $deadline);
        return undef if !defined $d || !length $d;
        $$buf .= $d;
    }

    my $head = substr($$buf, 0, $end);
    $$buf = substr($$buf, $end + 4);

    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $uri, $version) = split / /, $line, 3;

    my %req = (method => $method, uri => $uri, version => $version // '',
        headers => {}, header_list => [], body => '');

    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{ $req{headers}{ lc $n } }, $v;
        push @{ $req{header_list} }, [ $n, $v ];
    }

    my $te = join ',', @{ $req{headers}{'transfer-encoding'} || [] };

    if ($te =~ /chunked/i) {
        my $body;

        until (defined($body = _dechunk($$buf))) {
            my $d = _read_some($c, $deadline);
            return undef if !defined $d || !length $d;
            $$buf .= $d;
        }

        $req{body} = $body;
        # what follows the chunked body belongs to the next request
        my $eot = index($$buf, "\r\n\r\n", _chunked_end($$buf) - 4);
        $$buf = substr($$buf, $eot + 4);

    } elsif (my ($len) = ($req{headers}{'content-length'} || [])->[0]) {
        while (length($$buf) < $len) {
            my $d = _read_some($c, $deadline);
            return undef if !defined $d || !length $d;
            $$buf .= $d;
        }

        $req{body} = substr($$buf, 0, $len);
        $$buf = substr($$buf, $len);
    }

    return \%req;
}

# offset just past a complete chunked body (which _dechunk accepted)

sub _chunked_end {
    my ($body) = @_;

    my $pos = 0;

    while (1) {
        my $eol = index($body, "\r\n", $pos);
        my $len = hex substr($body, $pos, $eol - $pos);
        $pos = $eol + 2;
        return index($body, "\r\n\r\n", $pos - 2) + 4 if $len == 0;
        $pos += $len + 2;
    }
}

sub _req_summary {
    my ($req) = @_;

    return {
        method => $req->{method},
        uri => $req->{uri},
        version => $req->{version},
        headers => $req->{headers},
        header_list => $req->{header_list},
        body => $req->{body},
        body_length => length $req->{body},
        body_sha256 => sha256_hex($req->{body}),
    };
}

sub _echo {
    my ($req) = @_;

    return (200, { 'Content-Type' => 'application/json' },
        JSON::PP->new->canonical->ascii->encode(_req_summary($req)));
}


###############################################################################
# keys and tokens

sub _run_capture {
    my ($self, @cmd) = @_;

    _flush();
    my $pid = open(my $fh, '-|') // croak "fork: $!";

    my $err = "$self->{testdir}/tools.err";
    unlink $err;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDERR, '>', $err;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    if ($?) {
        my $msg = $self->read_file('tools.err') // '';
        croak "@cmd[0, 1] failed (exit " . ($? >> 8) . "): $msg";
    }

    return $out;
}

sub _tool {
    my ($self) = @_;

    croak "hg-jwt not built: $self->{tool} (make tools)"
        if !-x $self->{tool};

    return $self->{tool};
}

sub keygen {
    my ($self, %opts) = @_;

    my $type = $opts{type} // 'rsa';
    my $name = $opts{name};

    if (!defined $name) {
        $name = $type;
        my $i = 1;
        $name = $type . ++$i while $self->{keys_named}{$name};
    }

    $self->{keys_named}{$name} = 1;
    my $dir = $self->{testdir};

    if ($type eq 'hmac') {
        my $secret = $opts{secret};

        if (!defined $secret) {
            open my $r, '<:raw', '/dev/urandom' or croak "urandom: $!";
            read($r, $secret, $opts{bytes} // 32) or croak "urandom: $!";
            close $r;
        }

        my $path = $self->write_file("$name.bin", $secret);
        $self->{keys}{$path} = $type;

        return wantarray ? ($path, $path) : $path;
    }

    my $gen = $GENPKEY{$type} or croak "keygen: unknown type $type";
    my @opt = map { ('-pkeyopt', $_) } @$gen[1 .. $#$gen];

    if ($opts{bits}) {
        s/^rsa_keygen_bits:\K\d+$/$opts{bits}/ for @opt;
    }

    my ($priv, $pub) = ("$dir/$name.pem", "$dir/$name.pub.pem");

    $self->_run_capture('openssl', 'genpkey', '-algorithm', $gen->[0], @opt,
        '-out', $priv);
    $self->_run_capture('openssl', 'pkey', '-in', $priv, '-pubout',
        '-out', $pub);

    $self->{keys}{$priv} = $type;
    $self->{keys}{$pub} = $type;

    return wantarray ? ($priv, $pub) : $priv;
}

sub jwk {
    my ($self, $file, %opts) = @_;

    my $head = substr($self->read_file($file) // croak("jwk: no $file"),
        0, 10);
    my $secret = $opts{secret} // $head ne '-----BEGIN';

    my @cmd = ($self->_tool, 'jwk', ($secret ? '--secret' : '--key'), $file);
    push @cmd, "--$_", $opts{$_} for grep { defined $opts{$_} }
        qw(kid alg use);

    my $out = $self->_run_capture(@cmd);
    chomp $out;

    return $out;
}

sub jwks {
    my ($self, @jwks) = @_;

    return '{"keys":['
        . join(',', map { ref $_ ? $JSON->encode($_) : $_ } @jwks) . ']}';
}

sub _sign_args {
    my ($self, %opts) = @_;

    my $alg = $opts{alg}
        // (defined $opts{key} ? $KEY_ALG{ $self->{keys}{ $opts{key} }
                                           // '' } : undef)
        // croak "token: alg needed (key type unknown)";

    my @cmd = ($self->_tool, 'sign', '--alg', $alg);

    push @cmd, '--key', $opts{key} if defined $opts{key};
    push @cmd, '--kid', $opts{kid} if defined $opts{kid};
    push @cmd, '--der' if $opts{der};

    if (defined $opts{header}) {
        push @cmd, '--header',
            ref $opts{header} ? $JSON->encode($opts{header}) : $opts{header};
    }

    return @cmd;
}

sub token {
    my ($self, %opts) = @_;

    my $claims = $opts{claims}
        // { tid => 't1', sub => 'u1', exp => time() + 3600 };

    if (ref $claims && $opts{add}) {
        my $add = $opts{add};
        $claims = { %$claims };

        for my $k (keys %$add) {
            if (defined $add->{$k}) {
                $claims->{$k} = $add->{$k};
            } else {
                delete $claims->{$k};
            }
        }
    }

    my $out = $self->_run_capture($self->_sign_args(%opts), '--payload',
        ref $claims ? $JSON->encode($claims) : $claims);
    chomp $out;

    return $out;
}

sub tokens {
    my ($self, %opts) = @_;

    my $tpl = $opts{template}
        // '{"tid":"t{i}","sub":"u{i}","exp":{exp}}';

    my $out = $self->_run_capture($self->_sign_args(%opts),
        '--count', $opts{count} // 1, '--payload-template', $tpl);

    return split /\n/, $out;
}

sub ssl_cert {
    my ($self, %opts) = @_;

    my $name = $opts{name} // 'localhost';
    my $dir = $self->{testdir};

    $self->_run_capture('openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', "/CN=$name", '-addext', "subjectAltName=DNS:$name",
        '-keyout', "$dir/$name.key", '-out', "$dir/$name.crt");

    return ("$dir/$name.crt", "$dir/$name.key");
}


###############################################################################

package Hubgate::Test::Response;

sub new {
    my ($class, $raw) = @_;

    my $self = bless { raw => $raw // '', status => undef, reason => undef,
        version => undef, headers => {}, header_list => [], body => undef },
        $class;

    return $self if !defined $raw;

    # the final response: 1xx heads before it are skipped
    my $text = $raw;

    while ($text =~ m{^HTTP/\d\.\d\s+1(?!01)\d\d\b}) {
        my $end = index($text, "\r\n\r\n");
        last if $end < 0;
        $text = substr($text, $end + 4);
    }

    my $end = index($text, "\r\n\r\n");
    my $head = $end < 0 ? $text : substr($text, 0, $end);
    my $body = $end < 0 ? '' : substr($text, $end + 4);

    my ($line, @lines) = split /\r\n/, $head;

    if (defined $line
        && $line =~ m{^(HTTP/\d\.\d)\s+(\d{3})(?:\s+(.*))?$})
    {
        @$self{qw(version status reason)} = ($1, $2, $3 // '');
    }

    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{ $self->{headers}{ lc $n } }, $v;
        push @{ $self->{header_list} }, [ $n, $v ];
    }

    if (grep { /chunked/i } @{ $self->{headers}{'transfer-encoding'} || [] })
    {
        my $decoded = Hubgate::Test::_dechunk($body);
        $body = $decoded if defined $decoded;
    }

    $self->{body} = $body;

    return $self;
}

sub status { $_[0]{status} }
sub reason { $_[0]{reason} }
sub body { $_[0]{body} }
sub raw { $_[0]{raw} }

sub header {
    my ($self, $name) = @_;

    my $v = $self->{headers}{ lc $name } or return wantarray ? () : undef;

    return wantarray ? @$v : join(', ', @$v);
}

sub json {
    my ($self) = @_;

    return JSON::PP->new->utf8->decode($self->{body} // '');
}


1;
