package Hubgate::Sidecar;

=head1 NAME

Hubgate::Sidecar - hubgated, PostgreSQL and Redis for the end-to-end
suites (t/sidecar)

=head1 SYNOPSIS

    use strict;
    use warnings;
    use Test::More;
    use Hubgate::Test qw(:all);
    use Hubgate::Sidecar;

    my $t = Hubgate::Test->new;
    $t->skip_unless_module_built;
    my $s = Hubgate::Sidecar->new($t);      # services, database, files

    $s->migrate;
    $s->tenant_create('acme');
    $s->start;                              # waits for /healthz

    # straight to the socket, with an identity signed as the edge would
    my $r = $s->request(GET => '/api/v1/integrations',
        ident => { tenant => 'acme', subject => 'u1' });

    # or through nginx: the conf proxies /api/, /healthz and /metrics
    $t->write_file('jwks.json', $s->jwks);
    $t->write_file_expand('nginx.conf', $s->nginx_conf);
    $t->run;
    $r = $t->request(GET => '/api/v1/providers', headers => {
        Authorization => 'Bearer ' . $s->token(tenant => 'acme') });

    $s->no_secrets_ok;                      # grep every log for secrets
    $t->done_testing;

=head1 DESCRIPTION

One object per test file.  C<new> makes everything hubgated needs inside
the L<Hubgate::Test> directory and a database of its own; the END block
stops every hubgated it started and drops that database (kept with
C<HUBGATE_KEEP=1>, like the directory).

=head2 Construction

=over

=item new($t, %opts)

C<$t> is the L<Hubgate::Test> whose directory, C<wait_for> and HTTP
client are used.  C<plan skip_all> when build/hubgated (the environment variable
C<HUBGATED> names another, such as build/asan/hubgated) or psql is
missing.  Then:

starts the private PostgreSQL and Redis with C<tools/services.sh start>
unless they answer already (and stops them at the end in that case, as
t/sql/schema.t does);

creates the database C<hubgate_t_E<lt>pidE<gt>_E<lt>nE<gt>> owned by
C<hubgate>, with the public schema closed to PUBLIC and open (USAGE) to
C<hubgate_app>, as tools/services.sh sets up C<hubgate>;

writes into the test directory: C<kek> (C<"1 E<lt>64 hexE<gt>">, mode
0600), C<identity.secret> (64 hex, 0600; the file nginx's
C<hubgate_identity_secret> reads too), C<sign.pem> (P-256, 0600) and
C<hubgated.conf> (see C<write_conf>).

Options: C<conf> (hashref of extra or overriding keys, as C<write_conf>).

=item write_conf(%keys)

Writes C<hubgated.conf>: the defaults of the suite (listen =
E<lt>dirE<gt>/hubgated.sock, both database URLs, redis_address, the three
key files, log_format json, log_level info, identity_max_age 5s,
shutdown_timeout 10s, worker_threads 2, database_pool_size 4) overlaid by
the C<conf> of C<new>, then by C<%keys>; a key whose value is undef is
left out, the key C<_raw> is a text appended as is.  Returns the path.

=item conf_path, socket, testdir, db, kek_hex, identity_secret, pg_host,
pg_port

Paths and names.  C<kek_hex> is the hex of version 1; C<pg_host> is the
PostgreSQL socket directory.

=item conninfo($role)

The libpq connection string of the test database for that role.

=item add_kek($version, $hex), remove_kek($version)

Rewrites C<kek> with C<$version> added (a fresh random key unless
C<$hex> is given; returns the hex), or without C<$version>.

=back

=head2 Commands

=over

=item cmd(@args)

Runs C<hubgated -c E<lt>confE<gt> @args>; returns C<($exit, $stdout,
$stderr)>.  C<$exit> is 128 + signal after a signal.

=item migrate, tenant_create($slug)

C<hubgated migrate>; C<hubgated tenant create $slug>.  Both die when the
command fails.  C<tenant_create> returns the tenant's uuid.

=item token(tenant => $slug, subject => $s, roles => 'a,b', ttl => '1h')

C<hubgated token mint>: a JWT for nginx (issuer and audience of the
conf).  Remembered as a secret (see C<no_secrets_ok>).

=item jwks

C<hubgated token jwks>: the JWKS nginx verifies those tokens with.

=back

=head2 The daemon

=over

=item start(%opts)

Forks C<hubgated -c E<lt>confE<gt> serve> (stdout and stderr appended to
C<hubgated.log>) and waits until C<GET /healthz> on the socket answers
200.  Returns 1; or 0 when the process exits first (its exit code in
C<< $s->exit_code >>) or nothing answered within C<timeout> seconds
(default 10; the process is then killed).  Dies if one runs already.

=item pid, alive

The running daemon's pid (undef when none); true while it runs (a zombie
is reaped and counts as gone).

=item stop($timeout = 10)

SIGTERM and wait.  Returns the exit code (0 for a clean exit, 128 +
signal), or undef when it had to be killed with SIGKILL after
C<$timeout>.

=item kill9

SIGKILL and wait.  The socket stays behind, as after a crash.

=item hup

SIGHUP (reload).

=item wait_exit($timeout = 10)

Waits for the daemon to end by itself; the exit code, or undef at the
deadline.

=item exit_code

Exit code of the last daemon that ended (as C<stop> returns it).

=back

=head2 Logs

=over

=item log, log_mark, log_since($mark)

C<hubgated.log>: all of it; its size now; what was written after a mark.

=item wait_log($re, $mark = 0, $timeout = 5)

Waits until the log after C<$mark> matches; returns the match (true) or
false at the deadline.

=item log_events($mark = 0)

The JSON lines of the log after C<$mark>, decoded (hashrefs; text lines
are skipped).

=item log_clean_ok($name)

One test: C<hubgated.log> holds no sanitizer report (AddressSanitizer,
LeakSanitizer, UBSan's "runtime error:"), for runs with
C<HUBGATED=build/asan/hubgated>.

=back

=head2 HTTP to the socket

=over

=item request($method => $uri, %opts)

C<< $t->request >> (same options: C<headers>, C<body>, ...) sent to the
daemon's Unix socket.  C<< ident => {tenant, subject, roles, webhook,
time, secret, method, uri} >> adds C<X-Hubgate-Tenant>,
C<-Subject>, C<-Roles>, C<-Webhook> for the values given and
C<X-Hubgate-Auth> signed over them (method and uri default to the
request's: give others to sign something else).  C<< json => $data >>
sends it as an C<application/json> body.

=item ident(%id)

The C<X-Hubgate-Auth> value for those fields (as C<hg-jwt ident>),
computed in Perl: HMAC-SHA256 with the identity secret (or
C<secret> =E<gt> bytes) over "hubgate-identity-v1\n" then
"E<lt>lengthE<gt>:E<lt>valueE<gt>\n" for t, method, uri, tenant, subject,
roles and webhook.

=back

=head2 SQL

=over

=item psql($sql, role => 'hubgate', db => $name)

Runs the SQL with psql (-X -q -At, ON_ERROR_STOP) on the test database;
returns C<($exit, $stdout, $stderr)>, stdout without its last newline.
In scalar context: stdout, and a diag when psql failed.

=item psql_session(role => 'hubgate')

A psql kept open: returns an object with C<send($sql)> (written to its
stdin), C<wait_output($re, $timeout)> (its stdout so far, once it
matches) and C<close> (ends it, returns its exit code).  Used to hold
locks while hubgated works.

=item waiting_backends($like)

How many C<hubgate_app> backends of the test database wait on a lock
(only those whose query is C<LIKE $like>, when given: the sync engine's
workers may wait too).

=back

=head2 nginx

=over

=item nginx_conf(%opts)

An nginx.conf for C<< $t->write_file_expand >>: a server on
C<%%PORT_8080%%> with C<hubgate_identity_secret>, C<location /api/>
(C<hubgate_jwt> with C<jwks.json> of the test directory, issuer and
audience of the conf, C<hubgate_jwt_require $hubgate_tenant>,
Authorization removed, C<proxy_pass http://unix:E<lt>socketE<gt>;> with
HTTP/1.1 keepalive), and C<= /healthz> and C<= /metrics> proxied the same
way without a token.  C<client_max_body_size> from C<body_size> (default
1m).  C<< webhooks => { $provider => $args } >> adds, for each provider,
the contract's webhook location: C<location ~
"^/api/v1/webhooks/$provider/(?E<lt>hg_integrationE<gt>uuid)$"> with
C<client_body_buffer_size> as large as C<client_max_body_size>,
C<hubgate_webhook $provider $args> (C<$args> as given, for example
C<secret=%%TESTDIR%%/stripe.whsec>) and the same C<proxy_pass>.  C<$args>
may instead be C<< { scheme => $s, args => $a, conf => $text } >>: that
location then says C<hubgate_webhook $s $a> (C<scheme> defaults to the
provider) and holds the lines of C<$text> (more directives: a
C<hubgate_jwt_key_file> for pubsub, an C<add_header>) before its
C<proxy_pass>.  C<< webhook_cache => 'whsec:1m' >> adds, for
C<secret_request>, C<hubgate_webhook_cache zone=whsec:1m> to C<http> and
the contract's C<internal> C<location /api/v1/webhook-secrets/> proxied to
hubgated.  Without them the text is unchanged.

=back

=head2 Secrets

=over

=item add_secret($label => $value, ...)

Values that must never be logged (API keys sent in bodies, for example).
The KEK hex, the identity secret, the signing key's base64 lines and
every C<token> are added by themselves.

=item secrets

The list of C<[$label, $value]> pairs to search for.

=item no_secrets_ok($name)

One test: no secret (nor the signature part of a token) occurs in any
file of the test directory named C<*.log> or C<*.out> (hubgated's log,
nginx's error.log and access.log, command output kept).  The diag names
the file and the label, never the value.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex);
use File::Basename qw(dirname);
use IO::Handle;
use IO::Socket::UNIX;
use JSON::PP ();
use POSIX ();
use Test::More ();
use Time::HiRes ();

use Hubgate::Test ();

my $REPO = abs_path(dirname(__FILE__) . '/../../..');
my $PGBIN = $ENV{HUBGATE_PG_BIN} // '/usr/lib/postgresql/15/bin';
my $SVC = "$REPO/tools/services.sh";

my @INSTANCES;
my $DB_SEQ = 0;
my $SERVICES_STARTED = 0;


###############################################################################
# construction

sub new {
    my ($class, $t, %opts) = @_;

    croak "Hubgate::Sidecar->new: a Hubgate::Test first" if !ref $t;

    my $bin = $ENV{HUBGATED} // "$REPO/build/hubgated";

    Test::More::plan(skip_all => "hubgated not built: $bin"
        . " (make build/hubgated)")
        if !-x $bin;
    Test::More::plan(skip_all => "psql not found in $PGBIN")
        if !-x "$PGBIN/psql";

    my $self = bless {
        t => $t,
        bin => $bin,
        dir => $t->testdir,
        conf_opts => $opts{conf} || {},
        secrets => [],
        owner => $$,
        pid => undef,
        exit => undef,
    }, $class;

    push @INSTANCES, $self;

    $self->_services;
    $self->_create_db;
    $self->_write_keys;
    $self->write_conf;

    return $self;
}

sub testdir { $_[0]{dir} }
sub conf_path { "$_[0]{dir}/hubgated.conf" }
sub socket { "$_[0]{dir}/hubgated.sock" }
sub db { $_[0]{db} }
sub kek_hex { $_[0]{kek}{1} }
sub identity_secret { $_[0]{identity} }
sub exit_code { $_[0]{exit} }
sub pg_host { $_[0]{pghost} }
sub pg_port { $_[0]{pgport} }

sub _services {
    my ($self) = @_;

    if (system("$SVC status >/dev/null 2>&1") != 0) {
        my $out = `$SVC start 2>&1`;

        Test::More::BAIL_OUT("tools/services.sh start failed:\n$out")
            if $? != 0;

        $SERVICES_STARTED = 1;
    }

    my %env;

    for my $line (split /\n/, `$SVC env`) {
        next if $line !~ /^export (.*)$/;
        for my $kv (split / /, $1) {
            $env{$1} = $2 if $kv =~ /^(\w+)='?([^']*)'?$/;
        }
    }

    croak "tools/services.sh env: no PGHOST" if !$env{PGHOST};

    $self->{pghost} = $env{PGHOST};
    $self->{pgport} = $env{PGPORT};
    $self->{redis} = $env{HUBGATE_REDIS_SOCKET};
}

sub _create_db {
    my ($self) = @_;

    my $db = "hubgate_t_${$}_" . ++$DB_SEQ;

    my ($rc, undef, $err) = $self->psql(
        "CREATE DATABASE $db OWNER hubgate ENCODING 'UTF8'"
        . " TEMPLATE template0;", role => 'postgres', db => 'postgres');
    croak "CREATE DATABASE $db: $err" if $rc != 0;

    $self->{db} = $db;

    ($rc, undef, $err) = $self->psql("REVOKE ALL ON SCHEMA public FROM PUBLIC;"
        . " GRANT USAGE ON SCHEMA public TO hubgate_app;", role => 'postgres');
    croak "schema grants on $db: $err" if $rc != 0;
}

sub _hex {
    my ($n) = @_;

    my $hex = '';

    if (open my $fh, '<:raw', '/dev/urandom') {
        read($fh, my $buf, $n) == $n or croak "read /dev/urandom: $!";
        close $fh;
        $hex = unpack 'H*', $buf;

    } else {
        $hex = join '', map { sprintf '%02x', int rand 256 } 1 .. $n;
    }

    return $hex;
}

sub _write_secret_file {
    my ($self, $name, $content) = @_;

    my $path = $self->{t}->write_file($name, $content);
    chmod 0600, $path or croak "chmod $path: $!";

    return $path;
}

sub _write_keys {
    my ($self) = @_;

    $self->{kek} = { 1 => _hex(32) };
    $self->_write_kek;
    $self->add_secret('KEK version 1' => $self->{kek}{1});

    $self->{identity} = _hex(32);
    $self->_write_secret_file('identity.secret', "$self->{identity}\n");
    $self->add_secret('identity secret' => $self->{identity});

    my $pem = "$self->{dir}/sign.pem";
    my $out = `openssl genpkey -algorithm EC \\
        -pkeyopt ec_paramgen_curve:P-256 -out '$pem' 2>&1`;
    croak "openssl genpkey: $out" if $? != 0;
    chmod 0600, $pem;

    my $text = $self->{t}->read_file('sign.pem');
    my $i = 0;
    for my $line (split /\n/, $text) {
        next if $line =~ /^-----/ || length($line) < 16;
        $self->add_secret('signing key line ' . ++$i => $line);
    }
}

sub _write_kek {
    my ($self) = @_;

    $self->_write_secret_file('kek', join '',
        map { "$_ $self->{kek}{$_}\n" }
        sort { $a <=> $b } keys %{ $self->{kek} });
}

sub add_kek {
    my ($self, $version, $hex) = @_;

    $self->{kek}{$version} = $hex // _hex(32);
    $self->_write_kek;
    $self->add_secret("KEK version $version" => $self->{kek}{$version});

    return $self->{kek}{$version};
}

sub remove_kek {
    my ($self, $version) = @_;

    delete $self->{kek}{$version};
    $self->_write_kek;
}

sub conninfo {
    my ($self, $user) = @_;

    return "host=$self->{pghost} port=$self->{pgport} dbname=$self->{db}"
        . " user=$user";
}

sub write_conf {
    my ($self, %over) = @_;

    my $dir = $self->{dir};
    my @keys = (
        listen => $self->socket,
        database_url => $self->conninfo('hubgate_app'),
        admin_database_url => $self->conninfo('hubgate'),
        database_pool_size => 4,
        redis_address => $self->{redis},
        kek_file => "$dir/kek",
        identity_secret_file => "$dir/identity.secret",
        identity_max_age => '5s',
        token_signing_key_file => "$dir/sign.pem",
        token_issuer => 'hubgate',
        token_audience => 'hubgate-api',
        log_format => 'json',
        log_level => 'info',
        shutdown_timeout => '10s',
        worker_threads => 2,
        # OAuth providers configured; their APIs on a closed local port,
        # so a scheduled sync fails at once, never reaching the internet
        # (Hubgate::Sync::conf points them at a fake)
        allegro_api_url => 'http://127.0.0.1:9',
        stripe_api_url => 'http://127.0.0.1:9',
        allegro_client_id => 'test-allegro-client',
        allegro_client_secret_file => "$dir/allegro-client.secret",
        stripe_client_id => 'ca_test_hubgate',
        stripe_secret_key_file => "$dir/stripe-platform.secret",
    );

    for my $f ('allegro-client.secret', 'stripe-platform.secret') {
        next if -e "$dir/$f";
        $self->_write_secret_file($f, 'sk_test_' . _hex(16) . "\n");
    }

    my %all = (@keys, %{ $self->{conf_opts} }, %over);
    my @order = @keys[grep { !($_ % 2) } 0 .. $#keys];
    my %seen = map { $_ => 1 } @order, '_raw';
    push @order, grep { !$seen{$_} } sort keys %all;

    my $text = "# written by Hubgate::Sidecar\n";

    for my $k (@order) {
        next if !defined $all{$k};
        my $v = $all{$k};
        $v = '"' . ($v =~ s/(["\\])/\\$1/gr) . '"'
            if $v =~ /[\s#"']/ || $v eq '';
        $text .= "$k = $v\n";
    }

    $text .= $all{_raw} if defined $all{_raw};

    return $self->{t}->write_file('hubgated.conf', $text);
}


###############################################################################
# commands

sub _run {
    my ($self, $stdin, @cmd) = @_;

    my $n = ++$self->{runs};
    my ($out, $err) = ("$self->{dir}/.cmd-$n.stdout",
        "$self->{dir}/.cmd-$n.stderr");

    STDOUT->flush;
    STDERR->flush;

    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        if (defined $stdin) {
            open STDIN, '<', $stdin or POSIX::_exit(126);
        } else {
            open STDIN, '<', '/dev/null';
        }
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    waitpid($pid, 0);
    my $rc = _status($?);

    my @res = map {
        my $c = $self->{t}->read_file($_) // '';
        unlink $_;
        $c;
    } ($out, $err);

    return ($rc, @res);
}

sub _status {
    my ($w) = @_;

    return 127 if $w == -1;
    return 128 + ($w & 127) if $w & 127;
    return $w >> 8;
}

sub cmd {
    my ($self, @args) = @_;

    return $self->_run(undef, $self->{bin}, '-c', $self->conf_path, @args);
}

sub migrate {
    my ($self) = @_;

    my ($rc, $out, $err) = $self->cmd('migrate');
    croak "hubgated migrate failed ($rc): $out$err" if $rc != 0;

    return $out;
}

sub tenant_create {
    my ($self, $slug, @more) = @_;

    my ($rc, $out, $err) = $self->cmd('tenant', 'create', $slug, @more);
    croak "hubgated tenant create $slug failed ($rc): $out$err" if $rc != 0;

    my ($id) = $out =~ /id ([0-9a-f-]{36})/;
    croak "tenant create printed no id: $out" if !$id;

    return $id;
}

sub token {
    my ($self, %o) = @_;

    my @args = ('token', 'mint', '--tenant', $o{tenant} // 'acme');
    push @args, '--subject', $o{subject} if defined $o{subject};
    push @args, '--roles', $o{roles} if defined $o{roles};
    push @args, '--ttl', $o{ttl} if defined $o{ttl};

    my ($rc, $out, $err) = $self->cmd(@args);
    croak "hubgated token mint failed ($rc): $err" if $rc != 0;

    chomp $out;
    $self->add_secret('token for ' . ($o{subject} // 'default') => $out);

    return $out;
}

sub jwks {
    my ($self) = @_;

    my ($rc, $out, $err) = $self->cmd('token', 'jwks');
    croak "hubgated token jwks failed ($rc): $err" if $rc != 0;

    return $out;
}


###############################################################################
# the daemon

sub start {
    my ($self, %opts) = @_;

    croak "start: hubgated runs already (pid $self->{pid})" if $self->alive;

    my $log = "$self->{dir}/hubgated.log";
    my $timeout = $opts{timeout} // 10;

    STDOUT->flush;
    STDERR->flush;

    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec { $self->{bin} } $self->{bin}, '-c', $self->conf_path, 'serve'
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $self->{exit} = undef;

    my $ready = $self->{t}->wait_for(sub {
        return 'gone' if !$self->alive;
        # a socket left by a killed daemon refuses: no request, no diag
        my $c = IO::Socket::UNIX->new(Peer => $self->socket) or return 0;
        close $c;

        my $r = $self->request(GET => '/healthz', timeout => 2);
        return ($r->status // 0) == 200 ? 'ready' : 0;
    }, $timeout);

    return 1 if $ready && $ready eq 'ready';

    if ($self->alive) {
        Test::More::diag("hubgated did not answer /healthz in $timeout s");
        $self->kill9;
    }

    return 0;
}

sub pid {
    my ($self) = @_;

    return $self->alive ? $self->{pid} : undef;
}

sub alive {
    my ($self) = @_;

    my $pid = $self->{pid} // return 0;
    my $w = waitpid($pid, POSIX::WNOHANG());

    return 1 if $w == 0;

    $self->{exit} = _status($?) if $w == $pid;
    $self->{pid} = undef;

    return 0;
}

sub wait_exit {
    my ($self, $timeout) = @_;

    my $gone = $self->{t}->wait_for(sub { !$self->alive }, $timeout // 10);

    return $gone ? $self->{exit} : undef;
}

sub stop {
    my ($self, $timeout) = @_;

    return $self->{exit} if !$self->alive;

    kill 'TERM', $self->{pid};

    my $rc = $self->wait_exit($timeout // 10);
    return $rc if defined $rc;

    Test::More::diag("hubgated $self->{pid} survived SIGTERM: SIGKILL");
    $self->kill9;

    return undef;
}

sub kill9 {
    my ($self) = @_;

    return if !$self->alive;

    my $pid = $self->{pid};
    kill 'KILL', $pid;
    waitpid($pid, 0);
    $self->{exit} = _status($?);
    $self->{pid} = undef;
}

sub hup {
    my ($self) = @_;

    croak "hup: hubgated is not running" if !$self->alive;
    kill 'HUP', $self->{pid};
}


###############################################################################
# logs

sub log {
    my ($self) = @_;

    return $self->{t}->read_file('hubgated.log') // '';
}

sub log_mark {
    my ($self) = @_;

    return -s "$self->{dir}/hubgated.log" // 0;
}

sub log_since {
    my ($self, $mark) = @_;

    my $log = $self->log;

    return length($log) > ($mark // 0) ? substr($log, $mark // 0) : '';
}

sub wait_log {
    my ($self, $re, $mark, $timeout) = @_;

    return $self->{t}->wait_for(sub {
        my @m = $self->log_since($mark) =~ $re;
        return @m ? ($m[0] // 1) || 1 : 0;
    }, $timeout // 5);
}

sub log_events {
    my ($self, $mark) = @_;

    my @ev;

    for my $line (split /\n/, $self->log_since($mark)) {
        next if $line !~ /^\{/;
        my $o = eval { JSON::PP->new->decode($line) } or next;
        push @ev, $o;
    }

    return @ev;
}


sub log_clean_ok {
    my ($self, $name) = @_;

    my @bad = grep { /AddressSanitizer|LeakSanitizer|runtime error:/ }
        split /\n/, $self->log;

    my $ok = Test::More::ok(!@bad, $name
        // 'no sanitizer report in hubgated.log');
    Test::More::diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)])
        if @bad;

    return $ok;
}


###############################################################################
# HTTP to the socket

sub ident {
    my ($self, %id) = @_;

    my $t = $id{time} // time;
    my $text = "hubgate-identity-v1\n";

    for my $v ($t, $id{method} // '', $id{uri} // '', $id{tenant} // '',
        $id{subject} // '', $id{roles} // '', $id{webhook} // '')
    {
        $text .= length($v) . ":$v\n";
    }

    return "t=$t,v1="
        . hmac_sha256_hex($text, $id{secret} // $self->{identity});
}

sub request {
    my ($self, $method, $uri, %opts) = @_;

    my @headers = ref $opts{headers} eq 'HASH'
        ? map { $_ => $opts{headers}{$_} } sort keys %{ $opts{headers} }
        : @{ $opts{headers} || [] };

    if (exists $opts{json}) {
        $opts{body} = JSON::PP->new->canonical->encode($opts{json});
        push @headers, 'Content-Type' => 'application/json';
    }

    if (my $id = $opts{ident}) {
        my %map = (tenant => 'X-Hubgate-Tenant', subject => 'X-Hubgate-Subject',
            roles => 'X-Hubgate-Roles', webhook => 'X-Hubgate-Webhook');

        for my $f (qw(tenant subject roles webhook)) {
            push @headers, $map{$f} => $id->{$f}
                if defined $id->{$f} && length $id->{$f};
        }

        push @headers, 'X-Hubgate-Auth' => $self->ident(method => $method,
            uri => $uri, %$id);
    }

    delete @opts{qw(headers json ident)};

    return $self->{t}->request($method => $uri, %opts,
        headers => \@headers, unix => $self->socket);
}


###############################################################################
# SQL

sub _psql_cmd {
    my ($self, %o) = @_;

    return ("$PGBIN/psql", '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
        '-h', $self->{pghost}, '-p', $self->{pgport},
        '-U', $o{role} // 'hubgate', '-d', $o{db} // $self->{db});
}

sub psql {
    my ($self, $sql, %o) = @_;

    my $file = "$self->{dir}/.psql-" . ++$self->{runs} . '.sql';
    $self->{t}->write_file($file, $sql);

    my ($rc, $out, $err) = $self->_run($file, $self->_psql_cmd(%o));
    unlink $file;
    $out =~ s/\n\z//;

    return ($rc, $out, $err) if wantarray;

    Test::More::diag("psql failed ($rc): $err") if $rc != 0;

    return $out;
}

sub psql_session {
    my ($self, %o) = @_;

    my $n = ++$self->{runs};
    my $out = "$self->{dir}/.session-$n.out";

    STDOUT->flush;
    STDERR->flush;

    pipe(my $r, my $w) or croak "pipe: $!";
    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        close $w;
        open STDIN, '<&', $r or POSIX::_exit(126);
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        my @cmd = $self->_psql_cmd(%o);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    close $r;
    $w->autoflush(1);

    my $session = bless { pid => $pid, w => $w, out => $out,
        t => $self->{t} }, 'Hubgate::Sidecar::Session';

    push @{ $self->{sessions} }, $session;

    return $session;
}

sub waiting_backends {
    my ($self, $like) = @_;

    my $q = defined $like ? " AND query LIKE '" . ($like =~ s/'/''/gr) . "'"
        : '';

    return scalar $self->psql("SELECT count(*) FROM pg_stat_activity"
        . " WHERE datname = current_database() AND usename = 'hubgate_app'"
        . " AND wait_event_type = 'Lock'$q;", role => 'postgres');
}


###############################################################################
# nginx

sub nginx_conf {
    my ($self, %o) = @_;

    my $sock = $self->socket;
    my $body = $o{body_size} // '1m';
    my $wh = '';

    for my $p (sort keys %{ $o{webhooks} || {} }) {
        my $w = $o{webhooks}{$p};
        my ($scheme, $args, $more) = ref $w eq 'HASH'
            ? ($w->{scheme} // $p, $w->{args} // '', $w->{conf} // '')
            : ($p, $w, '');
        $more = join '', map { "            $_\n" }
            grep { length } map { s/^\s+|\s+$//gr } split /\n/, $more;

        $wh .= <<"EOF";

        location ~ "^/api/v1/webhooks/$p/(?<hg_integration>[0-9a-f-]{36})\$" {
            client_body_buffer_size $body;
            hubgate_webhook $scheme $args;
$more            proxy_pass http://unix:$sock;
        }
EOF
    }

    my ($cache, $secrets) = ('', '');

    if (my $zone = $o{webhook_cache}) {
        $cache = "    hubgate_webhook_cache zone=$zone;\n\n";
        $secrets = <<"EOF";

        location /api/v1/webhook-secrets/ {
            internal;
            proxy_pass http://unix:$sock;
        }
EOF
    }

    return <<"EOF";
%%MODULE%%

http {
$cache    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        client_max_body_size $body;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /api/ {
            hubgate_jwt api;
            hubgate_jwt_key_file %%TESTDIR%%/jwks.json;
            hubgate_jwt_issuer hubgate;
            hubgate_jwt_audience hubgate-api;
            hubgate_jwt_require \$hubgate_tenant error=403;

            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_pass http://unix:$sock;
        }

        location = /api/v1/oauth/callback {
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_pass http://unix:$sock;
        }

        location = /healthz {
            proxy_pass http://unix:$sock;
        }

        location = /metrics {
            proxy_pass http://unix:$sock;
        }
$wh$secrets    }
}
EOF
}


###############################################################################
# secrets

sub add_secret {
    my ($self, @pairs) = @_;

    while (my ($label, $value) = splice @pairs, 0, 2) {
        next if !defined $value || length($value) < 8;
        push @{ $self->{secrets} }, [ $label, $value ];

        # a JWT's signature alone is as good as the token
        push @{ $self->{secrets} }, [ "$label (signature)", $1 ]
            if $value =~ /^[\w-]+\.[\w-]+\.([\w-]{16,})$/;
    }

    return $self;
}

sub secrets {
    my ($self) = @_;

    return @{ $self->{secrets} };
}

sub no_secrets_ok {
    my ($self, $name) = @_;

    my $dir = $self->{dir};
    my @files = sort grep { -f && !/\/\.[^\/]*$/ }
        glob("$dir/*.log"), glob("$dir/*.out");
    my @found;
    my $bytes = 0;

    for my $f (@files) {
        my $text = $self->{t}->read_file($f) // next;
        $bytes += length $text;

        for my $s (@{ $self->{secrets} }) {
            push @found, (substr($f, length($dir) + 1) . ": $s->[0]")
                if index($text, $s->[1]) >= 0;
        }
    }

    my $ok = Test::More::ok(!@found && $bytes > 0, $name
        // 'no secret in any log (' . @files . " files, $bytes bytes, "
           . @{ $self->{secrets} } . ' secrets)');

    Test::More::diag(join "\n", @found) if @found;
    Test::More::diag("no log to search") if !$bytes;

    return $ok;
}


###############################################################################
# the end: daemons stopped, sessions closed, database dropped

sub _cleanup {
    my ($self) = @_;

    $_->close for @{ $self->{sessions} || [] };

    if ($self->alive) {
        kill 'TERM', $self->{pid};
        $self->kill9 if !$self->{t}->wait_for(sub { !$self->alive }, 5);
    }

    return if !$self->{db} || $ENV{HUBGATE_KEEP};

    $self->psql("DROP DATABASE IF EXISTS $self->{db} WITH (FORCE);",
        role => 'postgres', db => 'postgres');
}

END {
    my $exit = $?;

    for my $s (grep { $_->{owner} == $$ } @INSTANCES) {
        $s->_cleanup;
    }

    if ($SERVICES_STARTED && grep { $_->{owner} == $$ } @INSTANCES) {
        system("$SVC stop >/dev/null 2>&1");
    }

    if ($ENV{HUBGATE_KEEP}) {
        Test::More::diag("kept database $_->{db}")
            for grep { $_->{owner} == $$ && $_->{db} } @INSTANCES;
    }

    $? = $exit;
}


package Hubgate::Sidecar::Session;

use POSIX ();

sub send {
    my ($self, $sql) = @_;

    local $SIG{PIPE} = 'IGNORE';
    print { $self->{w} } $sql, "\n";
}

sub output {
    my ($self) = @_;

    open my $fh, '<', $self->{out} or return '';
    local $/;
    my $text = <$fh> // '';
    close $fh;

    return $text;
}

sub wait_output {
    my ($self, $re, $timeout) = @_;

    return $self->{t}->wait_for(sub {
        my $text = $self->output;
        return $text =~ $re ? $text : 0;
    }, $timeout // 5);
}

sub close {
    my ($self) = @_;

    return $self->{exit} if !$self->{pid};

    CORE::close($self->{w});
    my $pid = delete $self->{pid};

    my $gone = $self->{t}->wait_for(sub {
        waitpid($pid, POSIX::WNOHANG()) == $pid;
    }, 5);

    if (!$gone) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }

    $self->{exit} = $? >> 8;

    return $self->{exit};
}

1;
