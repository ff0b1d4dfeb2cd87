package Hubgate::Fake;

=head1 NAME

Hubgate::Fake - start a fake provider (t/fakes/fake_*.pl) from a test

=head1 SYNOPSIS

    use Hubgate::Test;
    use Hubgate::Fake;

    my $t = Hubgate::Test->new;
    my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_SEED => 7);

    $allegro->control(POST => '/_fake/seed', { orders => 1000 });
    my $tok = $allegro->oauth;              # the whole PKCE flow
    my $res = $allegro->api(GET => '/order/checkout-forms?limit=10',
        token => $tok->{access_token});
    is($allegro->stats->{token_calls}{authorization_code}, 1);

=head1 DESCRIPTION

C<new($t, $name, %env)> runs C<t/fakes/fake_$name.pl daemon> on a free
port of C<$t> (logical port C<fake_$name>) with C<%env> added to its
environment, by C<< $t->run_daemon >>, so the harness stops it with the
rest; it returns once C<GET /_fake/stats> answers, and dies when the fake
does not come up (with the daemon log's tail).

Methods:

=over

=item url, port, name

C<http://127.0.0.1:PORT>, the port, C<allegro> or C<stripe>.

=item control($method, $path, $json)

A control call; returns the decoded JSON answer (dies when the answer is
not 2xx JSON).

=item stats

C<GET /_fake/stats>, decoded.

=item request($method, $path, %opts)

A raw request: C<headers> (hashref), C<form> (hashref, form-encoded),
C<json> (a JSON body), C<body>.  Returns the Mojo::Message::Response
(C<code>, C<headers>, C<json>, C<body>).

=item api($method, $path, token => $t, %opts)

C<request> with the provider's auth and media type: Allegro gets
C<Authorization: Bearer> and C<Accept: application/vnd.allegro.public.v1+json>,
Stripe C<Authorization: Bearer> (and C<Stripe-Account> when C<account> is
given).

=item oauth(%opts)

The authorization-code flow against the fake, as a client would run it:
Allegro with PKCE S256 (C<verifier> to choose it; C<client_id>,
C<client_secret>, C<redirect_uri> to override), Stripe Connect with the
platform key.  Returns the token response, decoded (C<undef> when a step
failed; C<< $fake->{last_error} >> says which).

=item refresh($refresh_token)

C<grant_type=refresh_token>; returns the Mojo response.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64 encode_base64url);
use Mojo::JSON qw(encode_json);
use Mojo::URL;
use Mojo::UserAgent;

my %DEFAULTS = (
    allegro => {
        client_id => 'demo-allegro-client',
        client_secret => 'demo-allegro-secret',
        env_id => 'FAKE_ALLEGRO_CLIENT_ID',
        env_secret => 'FAKE_ALLEGRO_CLIENT_SECRET',
    },
    stripe => {
        client_id => 'ca_demo_stripe',
        client_secret => 'sk_test_platform_demo',
        env_id => 'FAKE_STRIPE_CLIENT_ID',
        env_secret => 'FAKE_STRIPE_PLATFORM_KEY',
    },
);

my $MEDIA = 'application/vnd.allegro.public.v1+json';


sub new {
    my ($class, $t, $name, %env) = @_;

    my $d = $DEFAULTS{$name} or croak "no fake provider '$name'";
    my $script = $t->repo . "/t/fakes/fake_$name.pl";
    croak "missing $script" if !-f $script;

    my $port = $t->port("fake_$name");

    my $pid = $t->run_daemon(sub {
        $ENV{$_} = $env{$_} for keys %env;
        exec $^X, $script, 'daemon', '-l', "http://127.0.0.1:$port"
            or die "exec $script: $!\n";
    });

    my $self = bless {
        t => $t,
        name => $name,
        port => $port,
        pid => $pid,
        url => "http://127.0.0.1:$port",
        client_id => $env{ $d->{env_id} } // $d->{client_id},
        client_secret => $env{ $d->{env_secret} } // $d->{client_secret},
        ua => Mojo::UserAgent->new(max_redirects => 0,
            inactivity_timeout => 30, request_timeout => 60),
    }, $class;

    my $up = $t->wait_port("fake_$name", 20) && $t->wait_for(sub {
        my $tx = $self->{ua}->get("$self->{url}/_fake/stats");
        return $tx->res->code && $tx->res->code == 200;
    }, 20);

    croak "fake $name did not start on port $port" if !$up;

    return $self;
}

sub url { $_[0]{url} }
sub port { $_[0]{port} }
sub name { $_[0]{name} }
sub ua { $_[0]{ua} }
sub client_id { $_[0]{client_id} }

sub request {
    my ($self, $method, $path, %opts) = @_;

    my @args = ($method, $self->{url} . $path, $opts{headers} // {});

    if ($opts{form}) {
        push @args, form => $opts{form};
    } elsif (exists $opts{json}) {
        push @args, json => $opts{json};
    } elsif (defined $opts{body}) {
        push @args, $opts{body};
    }

    my $tx = $self->{ua}->build_tx(@args);

    return $self->{ua}->start($tx)->res;
}

sub control {
    my ($self, $method, $path, $json) = @_;

    my $res = $self->request($method, $path,
        defined $json ? (json => $json) : ());
    my $code = $res->code // 0;

    croak "fake $self->{name}: $method $path: $code " . ($res->body // '')
        if $code < 200 || $code > 299 || !defined $res->json;

    return $res->json;
}

sub stats {
    my ($self) = @_;

    return $self->control(GET => '/_fake/stats');
}

sub api {
    my ($self, $method, $path, %opts) = @_;

    my %h = %{ $opts{headers} // {} };

    $h{Authorization} //= "Bearer $opts{token}" if defined $opts{token};

    if ($self->{name} eq 'allegro') {
        $h{Accept} //= $MEDIA;
    } elsif (defined $opts{account}) {
        $h{'Stripe-Account'} = $opts{account};
    }

    return $self->request($method, $path, %opts, headers => \%h);
}

sub oauth {
    my ($self, %opts) = @_;

    return $self->{name} eq 'allegro'
        ? $self->_oauth_allegro(%opts) : $self->_oauth_stripe(%opts);
}

sub _code_from {
    my ($self, $res, $state) = @_;

    my $loc = $res->headers->location;

    if (($res->code // 0) != 302 || !defined $loc) {
        $self->{last_error} = 'authorize: ' . ($res->code // 'no answer');
        return undef;
    }

    my $q = Mojo::URL->new($loc)->query;

    if (($q->param('state') // '') ne $state || !defined $q->param('code')) {
        $self->{last_error} = "authorize redirected to $loc";
        return undef;
    }

    return $q->param('code');
}

sub _oauth_allegro {
    my ($self, %opts) = @_;

    my $verifier = $opts{verifier} // encode_base64url(join '',
        map { chr int rand 256 } 1 .. 48);
    my $challenge = encode_base64url(sha256($verifier));
    my $redirect = $opts{redirect_uri} // 'http://127.0.0.1/callback';
    my $state = 'st' . int(rand(1e9));
    my $id = $opts{client_id} // $self->{client_id};

    my $url = Mojo::URL->new('/auth/oauth/authorize')->query(
        response_type => 'code', client_id => $id,
        redirect_uri => $redirect, state => $state,
        code_challenge => $challenge, code_challenge_method => 'S256');

    my $code = $self->_code_from($self->request(GET => "$url"), $state)
        // return undef;

    my $res = $self->request(POST => '/auth/oauth/token',
        headers => { Authorization => _basic_for($id,
            $opts{client_secret} // $self->{client_secret}) },
        form => { grant_type => 'authorization_code', code => $code,
            redirect_uri => $redirect,
            code_verifier => $opts{send_verifier} // $verifier });

    return $self->_token_result($res);
}

sub _oauth_stripe {
    my ($self, %opts) = @_;

    my $redirect = $opts{redirect_uri} // 'http://127.0.0.1/callback';
    my $state = 'st' . int(rand(1e9));

    my $url = Mojo::URL->new('/oauth/authorize')->query(
        response_type => 'code',
        client_id => $opts{client_id} // $self->{client_id},
        scope => 'read_write', state => $state, redirect_uri => $redirect);

    my $code = $self->_code_from($self->request(GET => "$url"), $state)
        // return undef;

    my $res = $self->request(POST => '/oauth/token',
        headers => { Authorization => 'Bearer '
            . ($opts{client_secret} // $self->{client_secret}) },
        form => { grant_type => 'authorization_code', code => $code });

    return $self->_token_result($res);
}

sub _token_result {
    my ($self, $res) = @_;

    if (($res->code // 0) != 200) {
        $self->{last_error} = 'token: ' . ($res->code // 'no answer') . ' '
            . ($res->body // '');
        return undef;
    }

    return $res->json;
}

sub refresh {
    my ($self, $refresh) = @_;

    if ($self->{name} eq 'allegro') {
        return $self->request(POST => '/auth/oauth/token',
            headers => { Authorization => $self->_basic },
            form => { grant_type => 'refresh_token',
                refresh_token => $refresh });
    }

    return $self->request(POST => '/oauth/token',
        headers => { Authorization => "Bearer $self->{client_secret}" },
        form => { grant_type => 'refresh_token', refresh_token => $refresh });
}

sub _basic {
    my ($self) = @_;

    return _basic_for($self->{client_id}, $self->{client_secret});
}

sub _basic_for {
    my ($id, $secret) = @_;

    return 'Basic ' . encode_base64("$id:$secret", '');
}


1;
