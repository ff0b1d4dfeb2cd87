#!/usr/bin/perl

# hubgate_webhook pubsub: Google Pub/Sub push (Gmail notifications) sends
# Authorization: Bearer <RS256 OIDC token signed by Google>; the module
# checks it with the keys of hubgate_jwt_key_file in the same location,
# iss https://accounts.google.com, aud = audience=, email = email=.  The
# token's claims never become an identity: no X-Hubgate-Tenant, -Subject,
# -Roles, and X-Hubgate-Auth signs only the webhook.  The id is the
# payload's message.messageId.

use strict;
use warnings;

use JSON::PP;
use Test::More;

use lib 't/lib';
use Hubgate::Test qw(:all);
use Hubgate::Webhook qw(:all);

sub js {
    my ($r) = @_;
    return (eval { $r->json }) // {};
}

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;
$t->skip_unless_tool;

my $ikey = join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
$t->write_file('identity.secret', "$ikey\n");

my $google = $t->keygen(type => 'rsa', name => 'google');
my $other = $t->keygen(type => 'rsa', name => 'other');
$t->write_file('google.json', $t->jwks($t->jwk($google, kid => 'g1')));

my $AUD = 'https://hooks.example.com/api/v1/webhooks/gmail/push';
my $EMAIL = 'gmail-push@example-project.iam.gserviceaccount.com';

$t->echo_backend(port => 8081);

$t->write_file_expand('nginx.conf', <<"EOF");
%%MODULE%%

http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        server_name localhost;

        hubgate_identity_secret %%TESTDIR%%/identity.secret;
        add_header X-WH-Status \$hubgate_webhook_status always;
        add_header X-WH-Id \$hubgate_webhook_id always;

        location ~ "^/api/v1/webhooks/gmail/(?<hg_integration>[0-9a-f-]{36})\$" {
            hubgate_webhook pubsub audience=$AUD email=$EMAIL;
            hubgate_jwt_key_file %%TESTDIR%%/google.json;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /_hubgate/status {
            hubgate_status;
        }
    }
}
EOF

$t->run;

sub forwarded {
    return scalar(() = $t->backend_requests('backend_8081'));
}

# a Google push token, with claims changed by %add (undef removes)
sub google_token {
    my (%o) = @_;
    my $now = time;
    my %claims = (
        iss => 'https://accounts.google.com',
        aud => $AUD,
        azp => '113774264463038321964',
        sub => '113774264463038321964',
        email => $EMAIL,
        email_verified => JSON::PP::true,
        iat => $now - 5,
        exp => $now + 3600,
    );
    my $add = $o{add} || {};
    for my $k (keys %$add) {
        if (defined $add->{$k}) { $claims{$k} = $add->{$k} }
        else { delete $claims{$k} }
    }
    return $t->token(key => $o{key} // $google, kid => $o{kid} // 'g1',
        alg => 'RS256', claims => \%claims);
}

my $MSG_ID = '2070443601311540';
my $body = encode_json({
    message => {
        attributes => {},
        data => 'eyJlbWFpbEFkZHJlc3MiOiAidXNlckBleGFtcGxlLmNvbSIsICJoaXN0b3J5'
            . 'SWQiOiAiMTIzNDU2Nzg5MCJ9',
        messageId => $MSG_ID,
        message_id => $MSG_ID,
        publishTime => '2021-02-26T19:13:55.749Z',
    },
    subscription => 'projects/example-project/subscriptions/gmail-push',
}) . "\n";

sub push_req {
    my ($uri, $token, $b) = @_;
    return $t->request(POST => $uri, body => $b // $body, headers => [
        'Content-Type' => 'application/json',
        (defined $token ? (Authorization => "Bearer $token") : ()) ]);
}

###############################################################################

my $uri = '/api/v1/webhooks/gmail/' . new_uuid();

{
    my $r = push_req($uri, google_token());
    is($r->status, 200, 'pubsub: a valid Google token: 200') or diag($r->raw);
    my $seen = js($r);
    my $h = $seen->{headers} || {};
    is($seen->{body}, $body, 'the raw body forwarded byte-exact');
    is_deeply($h->{'x-hubgate-webhook'}, [ 'scheme=pubsub' ],
        'X-Hubgate-Webhook: scheme=pubsub');
    ok(defined verify_identity($ikey, ($h->{'x-hubgate-auth'} || [])->[0],
        method => 'POST', uri => $uri, webhook => 'scheme=pubsub'),
        'X-Hubgate-Auth: empty tenant, subject, roles; the webhook signed')
        or diag(verify_identity($ikey, ($h->{'x-hubgate-auth'} || [])->[0],
            method => 'POST', uri => $uri, webhook => 'scheme=pubsub',
            subject => '113774264463038321964')
            ? 'it is signed with the token\'s sub as the subject'
            : 'it does not verify with the token\'s sub either');
    is_deeply([ grep { $h->{"x-hubgate-$_"} } qw(tenant subject roles) ],
        [], 'the token\'s sub never becomes X-Hubgate-Subject')
        or diag(explain({ map { $_ => $h->{$_} } grep { /^x-hubgate-/ }
            keys %$h }));
    is($r->header('X-WH-Status'), 'OK', '$hubgate_webhook_status OK');
    is($r->header('X-WH-Id'), $MSG_ID,
        '$hubgate_webhook_id is message.messageId');
}

{
    my $n = forwarded();
    my @bad = (
        [ 'wrong aud', google_token(add => {
            aud => 'https://hooks.example.com/other' }) ],
        [ 'no aud', google_token(add => { aud => undef }) ],
        [ 'wrong email', google_token(add => {
            email => 'someone-else@example-project.iam.gserviceaccount.com' }) ],
        [ 'no email', google_token(add => { email => undef }) ],
        [ 'email_verified false', google_token(add => {
            email_verified => JSON::PP::false }) ],
        [ 'no email_verified', google_token(add => {
            email_verified => undef }) ],
        [ 'wrong iss', google_token(add => {
            iss => 'https://evil.example.com' }) ],
        [ 'expired', google_token(add => {
            iat => time - 7200, exp => time - 3600 }) ],
        [ 'signed by another key under kid g1',
          google_token(key => $other) ],
        [ 'an unknown kid', google_token(key => $other, kid => 'nope') ],
        [ 'alg none', $t->token(alg => 'none', claims => {
            iss => 'https://accounts.google.com', aud => $AUD,
            email => $EMAIL, email_verified => JSON::PP::true,
            exp => time + 3600 }) ],
    );

    for my $case (@bad) {
        my ($name, $tok) = @$case;
        my $r = push_req($uri, $tok);
        is($r->status, 401, "pubsub: $name: 401");
        isnt($r->header('X-WH-Status') // '', 'OK',
            "pubsub: $name: \$hubgate_webhook_status is not OK");
    }

    my $r = push_req($uri, undef);
    is($r->status, 401, 'pubsub: no Authorization: 401');
    is($r->header('X-WH-Status'), 'missing', '... missing');

    $r = $t->request(POST => $uri, body => $body, headers => [
        Authorization => 'Basic ' . 'dXNlcjpwYXNz' ]);
    is($r->status, 401, 'pubsub: Authorization Basic: 401');

    is(forwarded(), $n, 'pubsub: no rejected push reached the backend');
}

# the same push twice: passes twice (the sidecar deduplicates)

{
    my $tok = google_token();
    my $n = forwarded();
    is(join(' ', map { push_req($uri, $tok)->status } 1 .. 2), '200 200',
        'pubsub: the same push twice: 200 both times');
    is(forwarded(), $n + 2, 'pubsub: both forwarded');
}

# a client-sent X-Hubgate-Webhook is replaced

{
    my $r = $t->request(POST => $uri, body => $body, headers => [
        'Content-Type' => 'application/json',
        'X-Hubgate-Webhook' => 'scheme=stripe;id=evil',
        Authorization => 'Bearer ' . google_token() ]);
    is_deeply(js($r)->{headers}{'x-hubgate-webhook'}, [ 'scheme=pubsub' ],
        'pubsub: forged X-Hubgate-Webhook replaced');
}

# counters

{
    my $get = sub {
        js($t->request(GET => '/_hubgate/status'))->{webhooks} || {};
    };
    my $b = $get->();
    push_req($uri, google_token());
    push_req($uri, google_token(add => { aud => 'x' }));
    my $a = $get->();
    is(($a->{accepted} // 0) - ($b->{accepted} // 0), 1,
        'pubsub: webhooks.accepted + 1');
    my $rej = sub {
        my $s = shift;
        my $n = 0;
        $n += $_ for values %{ $s->{rejected} || {} };
        return $n;
    };
    is($rej->($a) - $rej->($b), 1, 'pubsub: webhooks.rejected + 1');
}

$t->done_testing;
