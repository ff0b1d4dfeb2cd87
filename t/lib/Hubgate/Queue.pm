package Hubgate::Queue;

=head1 NAME

Hubgate::Queue - helpers for the job queue suites (t/sidecar/72-queue.t,
73-queue-instances.t): the test clock, job rows, a second hubgated on the
same database

=head1 SYNOPSIS

    use Hubgate::Queue qw(advance job wait_sql);

    my $r = advance($s, 60);                # POST /api/v1/admin/test-clock
    my $j = job($s, $id);                   # { status => 'done', ... }
    wait_sql($s, "SELECT count(*) = 5 FROM jobs WHERE status = 'done'",
        10) or fail(...);

    my $b = Hubgate::Queue::Instance->start($s, name => 'b',
        conf => { log_level => 'debug' });  # same database, own socket
    $b->log; $b->stop;

=head1 DESCRIPTION

=over

=item advance($s, $seconds, %ident)

Moves the daemon's test clock (admin identity of tenant C<acme> unless
C<tenant> is given); returns the response (a Hubgate::Test response).

=item job($s, $id)

The row of job C<$id> as a hashref (read as the schema owner, so every
tenant), with C<run_at_ms> and C<updated_at_ms> (epoch milliseconds) added.
Undef when there is none.

=item wait_sql($s, $sql, $timeout = 10, role => $role)

Waits until C<$sql> (one value, as the schema owner unless C<role> says
otherwise) reads C<t>; true then, false at the deadline.

=item Hubgate::Queue::Instance->start($s, name => $n, conf => {...})

Another hubgated serving from the same database as C<$s>: its conf is
C<$s>'s hubgated.conf with C<listen> = E<lt>dirE<gt>/hubgated-E<lt>nE<gt>.sock
and the keys of C<conf> replaced or added, written to
C<hubgated-E<lt>nE<gt>.conf>; its log is C<hubgated-E<lt>nE<gt>.log> (so
C<no_secrets_ok> searches it too).  Waits for C</healthz>; dies when it
does not answer in 10 s.  Methods: C<socket>, C<pid>, C<alive>,
C<log>, C<request(...)> (as C<< $s->request >> on its socket), C<stop>,
C<kill9>.  Stopped at the latest when the test ends.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(advance job wait_sql);

my @RUNNING;


sub advance {
    my ($s, $seconds, %id) = @_;

    return $s->request(POST => '/api/v1/admin/test-clock',
        json => { advance_seconds => $seconds },
        ident => { tenant => $id{tenant} // 'acme', subject => 'clock',
                   roles => 'admin' });
}

sub job {
    my ($s, $id) = @_;

    croak "job: not an id" if $id !~ /^\d+$/;

    my @cols = qw(id tenant_id kind status attempts max_attempts lease_owner
        last_error unique_key cancel_requested run_at_ms updated_at_ms
        payload);
    my $row = $s->psql("SELECT id, tenant_id, kind, status, attempts,"
        . " max_attempts, COALESCE(lease_owner, ''),"
        . " COALESCE(last_error, ''), COALESCE(unique_key, ''),"
        . " cancel_requested,"
        . " (extract(epoch FROM run_at) * 1000)::bigint,"
        . " (extract(epoch FROM updated_at) * 1000)::bigint, payload"
        . " FROM jobs WHERE id = $id;");

    return undef if !defined $row || $row eq '';

    my %j;
    @j{@cols} = split /\|/, $row, scalar @cols;

    return \%j;
}

sub wait_sql {
    my ($s, $sql, $timeout, %o) = @_;

    return $s->{t}->wait_for(sub {
        my ($rc, $out) = $s->psql($sql, %o);
        return $rc == 0 && $out eq 't';
    }, $timeout // 10);
}


package Hubgate::Queue::Instance;

use Carp qw(croak);
use POSIX ();

sub start {
    my ($class, $s, %o) = @_;

    my $name = $o{name} // 'b';
    my $dir = $s->testdir;
    my $self = bless { s => $s, name => $name,
        socket => "$dir/hubgated-$name.sock",
        conf => "$dir/hubgated-$name.conf",
        logfile => "$dir/hubgated-$name.log" }, $class;

    my %over = (%{ $o{conf} || {} }, listen => $self->{socket});
    my $text = '';

    for my $line (split /\n/, $s->{t}->read_file('hubgated.conf')) {
        my ($k) = $line =~ /^(\w+)\s*=/;
        next if defined $k && exists $over{$k};
        $text .= "$line\n";
    }

    for my $k (sort keys %over) {
        my $v = $over{$k};
        $v = '"' . ($v =~ s/(["\\])/\\$1/gr) . '"' if $v =~ /[\s#"']/;
        $text .= "$k = $v\n";
    }

    $s->{t}->write_file("hubgated-$name.conf", $text);

    STDOUT->flush;
    STDERR->flush;

    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{logfile} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec { $s->{bin} } $s->{bin}, '-c', $self->{conf}, 'serve'
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    push @RUNNING, $self;

    my $ok = $s->{t}->wait_for(sub {
        return 'gone' if !$self->alive;
        return 0 if !-S $self->{socket};
        my $r = $self->request(GET => '/healthz', timeout => 2);
        return ($r->status // 0) == 200 ? 'ready' : 0;
    }, 10);

    croak "hubgated $name did not start:\n" . $self->log
        if !$ok || $ok ne 'ready';

    return $self;
}

sub socket { $_[0]{socket} }

sub pid {
    my ($self) = @_;

    return $self->alive ? $self->{pid} : undef;
}

sub alive {
    my ($self) = @_;

    my $pid = $self->{pid} // return 0;

    return 1 if waitpid($pid, POSIX::WNOHANG()) == 0;

    $self->{pid} = undef;
    return 0;
}

sub log {
    my ($self) = @_;

    return $self->{s}{t}->read_file("hubgated-$self->{name}.log") // '';
}

sub request {
    my ($self, $method, $uri, %opts) = @_;

    # Hubgate::Sidecar::request signs and sends to ->socket: borrow it
    no warnings 'redefine';
    local *Hubgate::Sidecar::socket = sub { $self->{socket} };

    return $self->{s}->request($method, $uri, %opts);
}

sub stop {
    my ($self) = @_;

    return if !$self->alive;

    kill 'TERM', $self->{pid};

    if (!$self->{s}{t}->wait_for(sub { !$self->alive }, 10)) {
        $self->kill9;
    }
}

sub kill9 {
    my ($self) = @_;

    return if !$self->alive;

    kill 'KILL', $self->{pid};
    waitpid($self->{pid}, 0);
    $self->{pid} = undef;
}

END {
    my $exit = $?;
    $_->stop for grep { $_->alive } @RUNNING;
    $? = $exit;
}

1;
