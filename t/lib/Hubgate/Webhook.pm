package Hubgate::Webhook;

=head1 NAME

Hubgate::Webhook - webhook signers for hubgate's edge suites (t/edge/6*)

=head1 SYNOPSIS

    use lib 't/lib';
    use Hubgate::Test qw(:all);
    use Hubgate::Webhook qw(:all);

    my $body = '{"id":"evt_1","type":"invoice.paid"}';

    my $r = $t->request(POST => "/api/v1/webhooks/stripe/$uuid",
        body => $body, headers => [
            'Content-Type' => 'application/json',
            stripe_sign($body, secret => 'whsec_abc'),
        ]);

    # rotation: one v1 per secret, in one header
    stripe_sign($body, secret => [ 'whsec_new', 'whsec_old' ], t => time - 10);

    standard_sign($body, secret => 'whsec_' . encode_base64($key, ''),
        id => 'msg_1');
    github_sign($body, secret => "It's a Secret to Everybody",
        delivery => '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    square_sign($body, secret => $s, url => 'https://hooks.example.com/x');
    intuit_sign($body, secret => $verifier_token);
    hmac_sign($body, secret => $s, header => 'X-Signature', alg => 'sha512',
        encoding => 'base64', prefix => 'v1=',
        timestamp_header => 'X-Timestamp', t => time);
    my $uri = mailchimp_url("/api/v1/webhooks/mailchimp/$uuid", $key);

=head1 DESCRIPTION

Pure Perl (core modules only: Digest::SHA, MIME::Base64), independent of
the module's C code (ngx_module/hg_webhook.c), so that the edge tests
check the module against the providers' documented schemes rather than
against itself.  Every C<*_sign> function takes the raw body (bytes) and
options, and returns a list of header pairs, ready to go into the
arrayref form of C<< Hubgate::Test->request(headers => [...]) >>.

Base64 is the standard alphabet with padding (what the providers send).
Hex is lowercase.  Nothing is exported by default; C<:all> exports every
function below.

=head2 Signers

A C<secret> option is one secret (a string) or an arrayref of secrets;
schemes whose header can carry several signatures (stripe, standard) put
one per secret in it, the others use the first.

=over

=item stripe_sign($body, secret => $s | [ ... ], t => $ts, extra => [ ... ])

C<Stripe-Signature: t=E<lt>tsE<gt>,v1=E<lt>hexE<gt>[,v1=...]>, each v1 the
HMAC-SHA256 of C<"E<lt>tsE<gt>.E<lt>bodyE<gt>"> keyed with the whole
C<whsec_...> string.  C<t> defaults to now.  C<extra>: more
C<name=value> items appended (a C<v0=...>, a bogus C<v1=...>).

=item standard_sign($body, secret => $whsec | [ ... ], id => $id, t => $ts, svix => 1)

Standard Webhooks (Svix): C<webhook-id>, C<webhook-timestamp>,
C<webhook-signature: v1,E<lt>b64E<gt>[ v1,E<lt>b64E<gt>...]> over
C<"E<lt>idE<gt>.E<lt>tsE<gt>.E<lt>bodyE<gt>">, the key being the
base64-decoded part of C<whsec_E<lt>base64E<gt>> (see C<whsec_key>).  C<id>
defaults to a fresh C<msg_...>; C<< svix => 1 >> uses the C<svix-*> names.

=item github_sign($body, secret => $s, delivery => $id)

C<X-Hub-Signature-256: sha256=E<lt>hexE<gt>> of the body, and
C<X-GitHub-Delivery> (default: a fresh UUID; C<< delivery => undef >>
leaves the header out).

=item square_sign($body, secret => $s, url => $notification_url)

C<x-square-hmacsha256-signature>: base64 HMAC-SHA256 of the notification
URL followed by the body (no separator).  C<url> is required.

=item intuit_sign($body, secret => $verifier_token)

C<intuit-signature>: base64 HMAC-SHA256 of the body.

=item hmac_sign($body, secret => $s, header => $name, alg => 'sha256',
encoding => 'hex', prefix => '', timestamp_header => $name, t => $ts)

The generic scheme: C<header> carries C<prefix> then the hex or base64
HMAC-C<alg> (sha1, sha256, sha512) of the body, or, with
C<timestamp_header>, of C<"E<lt>tsE<gt>.E<lt>bodyE<gt>"> and that header
set to C<t> (default now).

=back

=head2 Other helpers

=over

=item mailchimp_url($uri, $secret, param => 'key')

C<$uri> with C<param=secret> added to its query (C<?> or C<&>).  The
secret goes in as is, not percent-encoded: secrets are meant to be
URL-safe, and the module compares the raw value.

=item whsec_key($whsec)

The key bytes of a C<whsec_E<lt>base64E<gt>> secret (the prefix may be
absent).

=item whsec_new($bytes = 24)

A fresh C<whsec_> secret of that many random bytes.

=item mac($alg, $encoding, $key, $data)

The HMAC itself: C<$alg> sha1|sha256|sha512, C<$encoding> hex|base64|raw.

=item new_uuid, new_id($prefix)

A random v4-looking UUID; C<$prefix> followed by 24 random alphanumerics.

=item identity_canonical(%fields), verify_identity($key, $value, %fields)

What the edge signs for hubgated (ngx_module/hg_identity.h), computed
here independently: C<verify_identity> checks an C<X-Hubgate-Auth> value
(C<t=E<lt>unixE<gt>,v1=E<lt>hexE<gt>>) against the identity secret
C<$key> (the file's bytes, trailing whitespace removed) and the fields
C<method>, C<uri> (unparsed), C<tenant>, C<subject>, C<roles>, C<webhook>
(absent ones are empty).  Returns the signed t, or undef.

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha1 hmac_sha256 hmac_sha512);
use Exporter qw(import);
use MIME::Base64 qw(encode_base64 decode_base64);

our @EXPORT_OK = qw(stripe_sign standard_sign github_sign square_sign
    intuit_sign hmac_sign mailchimp_url whsec_key whsec_new mac new_uuid
    new_id identity_canonical verify_identity);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my %HMAC = (sha1 => \&hmac_sha1, sha256 => \&hmac_sha256,
    sha512 => \&hmac_sha512);


sub mac {
    my ($alg, $encoding, $key, $data) = @_;

    my $f = $HMAC{ $alg // 'sha256' } or croak "mac: unknown alg $alg";
    my $m = $f->($data, $key);

    $encoding //= 'hex';

    return unpack('H*', $m) if $encoding eq 'hex';
    return encode_base64($m, '') if $encoding eq 'base64';
    return $m if $encoding eq 'raw';

    croak "mac: unknown encoding $encoding";
}

sub _secrets {
    my ($name, %o) = @_;

    my $s = $o{secret} // croak "$name: secret needed";
    my @s = ref $s ? @$s : ($s);
    croak "$name: secret needed" if !@s;

    return @s;
}

sub _body {
    my ($body) = @_;

    croak 'body needed (may be "")' if !defined $body;
    croak 'body must be bytes' if utf8::is_utf8($body) && $body =~ /[^\x00-\xff]/;

    return $body;
}

sub stripe_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my $ts = $o{t} // time;
    my @items = ("t=$ts",
        map { 'v1=' . mac('sha256', 'hex', $_, "$ts.$body") }
        _secrets('stripe_sign', %o));
    push @items, @{ $o{extra} || [] };

    return ('Stripe-Signature' => join ',', @items);
}

sub whsec_key {
    my ($whsec) = @_;

    my $b64 = $whsec =~ s/^whsec_//r;
    croak "whsec_key: not base64: $whsec" if $b64 !~ m{^[A-Za-z0-9+/]+=*$};

    return decode_base64($b64);
}

sub _random_bytes {
    my ($n) = @_;

    my $bytes = '';

    if (open my $r, '<:raw', '/dev/urandom') {
        read($r, $bytes, $n);
        close $r;
    }

    $bytes .= chr(int rand 256) while length($bytes) < $n;

    return $bytes;
}

sub whsec_new {
    my ($n) = @_;

    return 'whsec_' . encode_base64(_random_bytes($n // 24), '');
}

sub new_uuid {
    my $h = unpack 'H*', _random_bytes(16);

    substr($h, 12, 1) = '4';
    substr($h, 16, 1) = (qw(8 9 a b))[ hex(substr($h, 16, 1)) % 4 ];

    return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4),
        substr($h, 16, 4), substr($h, 20, 12);
}

sub new_id {
    my ($prefix) = @_;

    my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');

    return ($prefix // '')
        . join '', map { $c[ ord($_) % @c ] } split //, _random_bytes(24);
}

sub standard_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my $ts = $o{t} // time;
    my $id = $o{id} // new_id('msg_');
    my $sig = join ' ', map {
        'v1,' . mac('sha256', 'base64', whsec_key($_), "$id.$ts.$body")
    } _secrets('standard_sign', %o);
    my $p = $o{svix} ? 'svix' : 'webhook';

    return ("$p-id" => $id, "$p-timestamp" => $ts, "$p-signature" => $sig);
}

sub github_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my ($secret) = _secrets('github_sign', %o);
    my @h = ('X-Hub-Signature-256'
        => 'sha256=' . mac('sha256', 'hex', $secret, $body));
    my $delivery = exists $o{delivery} ? $o{delivery} : new_uuid();
    push @h, 'X-GitHub-Delivery' => $delivery if defined $delivery;

    return @h;
}

sub square_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my ($secret) = _secrets('square_sign', %o);
    my $url = $o{url} // croak 'square_sign: url needed';

    return ('x-square-hmacsha256-signature'
        => mac('sha256', 'base64', $secret, $url . $body));
}

sub intuit_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my ($secret) = _secrets('intuit_sign', %o);

    return ('intuit-signature' => mac('sha256', 'base64', $secret, $body));
}

sub hmac_sign {
    my ($body, %o) = @_;

    $body = _body($body);
    my ($secret) = _secrets('hmac_sign', %o);
    my $header = $o{header} // croak 'hmac_sign: header needed';
    my $payload = $body;
    my @h;

    if (defined $o{timestamp_header}) {
        my $ts = $o{t} // time;
        $payload = "$ts.$body";
        push @h, $o{timestamp_header} => $ts;
    }

    unshift @h, $header => ($o{prefix} // '')
        . mac($o{alg} // 'sha256', $o{encoding} // 'hex', $secret, $payload);

    return @h;
}

sub mailchimp_url {
    my ($uri, $secret, %o) = @_;

    my $param = $o{param} // 'key';

    return $uri . ($uri =~ /\?/ ? '&' : '?') . "$param=$secret";
}

sub identity_canonical {
    my (%f) = @_;

    return "hubgate-identity-v1\n" . join '', map {
        my $v = $f{$_} // '';
        length($v) . ":$v\n";
    } qw(t method uri tenant subject roles webhook);
}

sub verify_identity {
    my ($key, $value, %f) = @_;

    my ($ts, $mac) = ($value // '') =~ /^t=(0|[1-9]\d*),v1=([0-9a-f]{64})$/
        or return undef;

    return mac('sha256', 'hex', $key, identity_canonical(%f, t => $ts))
        eq $mac ? $ts : undef;
}


1;
