#!/usr/bin/perl
# hubgate webhook bench: signed Stripe events for bench/webhook.lua.
#
#   perl bench/wh_events.pl SECRET COUNT PREFIX BYTES [T] > FILE
#
# COUNT lines "<Stripe-Signature>\t<body>": body a Stripe-like event JSON
# of exactly BYTES bytes (padded in data.object.description), id
# "evt_<PREFIX>_<n>" (n = 0 .. COUNT-1), type invoice.paid; the signature
# "t=<T>,v1=<hex HMAC-SHA256 of '<T>.<body>' keyed with SECRET>" (T
# defaults to now), as Stripe signs.  Bodies hold no tab and no newline.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);

my ($secret, $count, $prefix, $bytes, $t) = @ARGV;

die "usage: wh_events.pl SECRET COUNT PREFIX BYTES [T]\n"
    if !defined $bytes || $count !~ /^\d+$/ || $bytes !~ /^\d+$/
    || $prefix !~ /^\w+$/;

$t //= time;

my $head = '{"id":"evt_%s_%d","object":"event","api_version":"2024-06-20",'
    . '"created":%d,"type":"invoice.paid","livemode":false,"data":{"object":'
    . '{"id":"in_%s_%d","object":"invoice","description":"';
my $tail = '"}}}';

binmode STDOUT;
my $buf = '';

for my $n (0 .. $count - 1) {
    my $body = sprintf $head, $prefix, $n, $t, $prefix, $n;
    my $pad = $bytes - length($body) - length($tail);
    die "wh_events.pl: BYTES $bytes is too small for the event\n" if $pad < 0;
    $body .= ('x' x $pad) . $tail;

    $buf .= "t=$t,v1=" . hmac_sha256_hex("$t.$body", $secret) . "\t$body\n";

    if (length($buf) > 1 << 20) {
        print $buf or die "write: $!\n";
        $buf = '';
    }
}

print $buf or die "write: $!\n";
close STDOUT or die "write: $!\n";
