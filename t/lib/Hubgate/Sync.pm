package Hubgate::Sync;

=head1 NAME

Hubgate::Sync - hubgated connected to the fake providers, for the sync
suites (t/sidecar/7x-sync*.t)

=head1 SYNOPSIS

    my $t = Hubgate::Test->new;
    my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => 0);
    my $s = Hubgate::Sidecar->new($t, conf => {
        Hubgate::Sync::conf($t, allegro => $allegro), test_clock => 'on' });
    $s->migrate; $s->tenant_create('acme'); $s->start;

    my $id = Hubgate::Sync::connect($s, $allegro, tenant => 'acme');
    my $run = Hubgate::Sync::sync($s, $id, tenant => 'acme');
    is($run->{status}, 'succeeded');

=head1 FUNCTIONS

=over

=item conf($t, allegro => $fake, stripe => $fake)

The hubgated.conf keys that point the providers at the fakes, with the
client secrets in 0600 files of the test directory.

=item connect($s, $fake, tenant => $slug)

The whole authorization-code flow as a browser runs it: POST
/api/v1/integrations, the fake's authorize URL (it consents and
redirects), the callback on hubgated.  Returns the integration id (dies
when a step fails).

=item start($s, $id, tenant => $slug, body => {...})

POST /api/v1/integrations/{id}/syncs; returns the sync id.

=item wait_run($s, $sync, tenant => $slug, timeout => 60)

Polls GET /api/v1/syncs/{id} until the run has ended; returns it.

=item sync(...)

start then wait_run.

=item api($s, $method, $path, tenant => $slug, ...)

A request signed for the tenant (roles user,admin); returns the decoded
JSON (or undef) and, in list context, the response too.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use JSON::PP;
use Mojo::URL;

my $JSON = JSON::PP->new->canonical->utf8;


sub conf {
    my ($t, %f) = @_;
    my %c;

    if (my $a = $f{allegro}) {
        $t->write_file('allegro.secret', $a->{client_secret} . "\n");
        chmod 0600, $t->testdir . '/allegro.secret';
        %c = (%c, allegro_api_url => $a->url, allegro_auth_url => $a->url,
            allegro_client_id => $a->client_id,
            allegro_client_secret_file => $t->testdir . '/allegro.secret');
    }

    if (my $s = $f{stripe}) {
        $t->write_file('stripe.secret', $s->{client_secret} . "\n");
        chmod 0600, $t->testdir . '/stripe.secret';
        %c = (%c, stripe_api_url => $s->url, stripe_connect_url => $s->url,
            stripe_client_id => $s->client_id,
            stripe_secret_key_file => $t->testdir . '/stripe.secret');
    }

    return %c;
}

sub api {
    my ($s, $method, $path, %o) = @_;

    my $tenant = delete $o{tenant} // croak 'api: tenant';
    my $r = $s->request($method => "/api$path",
        ident => { tenant => $tenant, subject => 'sync-test',
            roles => 'user,admin' }, %o);
    my $j = eval { $JSON->decode($r->body) };

    return wantarray ? ($j, $r) : $j;
}

sub connect {
    my ($s, $fake, %o) = @_;

    my $tenant = $o{tenant} // 'acme';
    my ($j, $r) = api($s, POST => '/v1/integrations', tenant => $tenant,
        json => { provider => $fake->name,
            display_name => $o{display_name} // ucfirst($fake->name) });
    croak 'create: ' . $r->status . ' ' . $r->body
        if $r->status != 201 || !$j->{authorize_url};

    my $url = Mojo::URL->new($j->{authorize_url});
    my $res = $fake->request(GET => $url->path_query);
    my $loc = $res->headers->location
        // croak 'authorize: ' . ($res->code // '?') . ' ' . $res->body;

    my $cb = Mojo::URL->new($loc);
    my $cr = $s->request(GET => $cb->path_query, ident => {},
        headers => { Accept => 'application/json' });
    croak 'callback: ' . $cr->status . ' ' . $cr->body if $cr->status != 200;

    return $j->{id};
}

sub start {
    my ($s, $id, %o) = @_;

    my ($j, $r) = api($s, POST => "/v1/integrations/$id/syncs",
        tenant => $o{tenant} // 'acme', json => $o{body} // {});
    croak 'sync: ' . $r->status . ' ' . $r->body if $r->status != 202;

    return $j->{sync_id};
}

sub wait_run {
    my ($s, $sync, %o) = @_;

    my $run;
    $s->{t}->wait_for(sub {
        $run = api($s, GET => "/v1/syncs/$sync", tenant => $o{tenant} // 'acme');
        return $run && $run->{status}
            && $run->{status} =~ /^(succeeded|failed|cancelled)$/;
    }, $o{timeout} // 60);

    return $run;
}

sub sync {
    my ($s, $id, %o) = @_;

    return wait_run($s, start($s, $id, %o), %o);
}

1;
