# Invoices generated from synced orders (autoGenerateInvoices): an Allegro
# sync issues one invoice per paid order, in the integration's series,
# paid when autoMarkAsPaid, whose payable is exactly what the buyer paid;
# a second sync issues none twice; orders paid later get theirs in the
# next sync; an integration without a seller profile keeps syncing and
# says why it issued nothing.  The generated documents pass the UBL 2.1
# XSD, the official EN 16931 rules (Saxon) and the KSeF FA(3) XSD.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin ();
use JSON::PP ();
use Test::More;
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Fake;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $repo = "$FindBin::Bin/../..";
my $specs = $ENV{HUBGATE_SPECS} || "$repo/../shared/specs";
my $saxon = $ENV{SAXON_JAR} || '/usr/share/java/Saxon-HE.jar';

my $allegro = Hubgate::Fake->new($t, 'allegro', FAKE_ORDERS => 300,
    FAKE_SEED => 81);
my $s = Hubgate::Sidecar->new($t, conf => {
    Hubgate::Sync::conf($t, allegro => $allegro),
    test_clock => 'on', scheduler_interval => '200ms', job_lease => '5s' });
$s->migrate;
$s->tenant_create('acme');
$s->tenant_create('bare');
$s->start;

my $T = 'acme';
sub api { Hubgate::Sync::api($s, @_) }

my ($j, $r) = api(PUT => '/v1/seller', tenant => $T, json => {
    seller => { name => 'Sklep Acme Sp. z o.o.', vat_id => 'PL5261040828',
        address => { street => 'ul. Prosta 1', city => 'Warszawa',
            postal_code => '00-001', country => 'PL' } },
    payment => { means_code => '30', iban => 'PL61109010140000071219812874' },
    payment_days => 7 });
is($r->status, 200, 'the seller profile') or diag $r->body;
($j, $r) = api(PUT => '/v1/invoice-series/AL', tenant => $T,
    json => { pattern => 'AL/{YYYY}/{SEQ:5}', reset => 'yearly' });
is($r->status, 200, 'the series AL') or diag $r->body;

my $id = Hubgate::Sync::connect($s, $allegro, tenant => $T);
($j, $r) = api(PUT => "/v1/integrations/$id/settings", tenant => $T,
    json => { autoGenerateInvoices => JSON::PP::true, invoiceSeries => 'AL',
        autoMarkAsPaid => JSON::PP::true, defaultVatRate => '23' });
is($r->status, 200, 'settings: generate invoices') or diag $r->body;

my $run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'the full sync succeeded') or diag explain $run;

my $paid = $s->psql(qq{SELECT count(*) FROM external_orders
    WHERE integration_id = '$id' AND status = 'paid'});
cmp_ok($paid, '>', 50, "the fake has paid orders ($paid)");
is($run->{invoices_created}, $paid, 'one invoice per paid order');
is($run->{invoices_failed}, 0, 'none failed') or diag $run->{invoice_error};
is($s->psql(q{SELECT count(*) FROM invoices}), $paid, 'stored');
is($s->psql(qq{SELECT count(*) FROM invoices i JOIN external_orders o
    ON o.integration_id = i.integration_id AND o.external_id = i.source_order_id
    WHERE o.status <> 'paid'}), 0, 'no invoice for an unpaid order');
is($s->psql(qq{SELECT count(*) FROM invoices i JOIN external_orders o
    ON o.integration_id = i.integration_id AND o.external_id = i.source_order_id
    WHERE i.payable_minor = o.total_minor AND i.currency = o.currency}), $paid,
    'every payable is exactly what the buyer paid');
is($s->psql(q{SELECT count(*) FROM invoices WHERE state = 'paid'
    AND series = 'AL' AND kind = 'invoice'}), $paid, 'all paid (autoMarkAsPaid), in AL');
is($s->psql(q{SELECT min(seq) || '-' || max(seq) || '-' || count(DISTINCT number)
    FROM invoices}), "1-$paid-$paid", 'numbered 1..N, no gap, no duplicate');
like($s->psql(q{SELECT number FROM invoices WHERE seq = 1}),
    qr{^AL/\d{4}/00001$}, 'the pattern AL/{YYYY}/{SEQ:5}');
is($s->psql(q{SELECT count(*) FROM invoices WHERE customer_id IS NULL}), 0,
    'every invoice names its customer');
is($s->psql(q{SELECT count(*) FROM invoices
    WHERE vat_total_minor + net_total_minor + (document->>'rounding_amount')::numeric * 100
          <> payable_minor}), 0, 'net + VAT + rounding = payable, everywhere');
cmp_ok($s->psql(q{SELECT max(abs((document->>'rounding_amount')::numeric)) FROM invoices}),
    '<=', 0.05, 'the rounding to what was paid stays within cents');
is($s->psql(q{SELECT count(*) FROM invoice_lines}),
    $s->psql(q{SELECT sum(jsonb_array_length(document->'lines')) FROM invoices}),
    'every line stored');

# the same again: nothing twice
$run = Hubgate::Sync::sync($s, $id, tenant => $T, body => { mode => "full" });
is($run->{status}, 'succeeded', 'a second full sync');
is($run->{invoices_created}, 0, '... issues nothing new');
is($s->psql(q{SELECT count(*) FROM invoices}), $paid, 'still one per order');

# orders move on: those newly paid get their invoice in the next sync
$allegro->control(POST => '/_fake/seed', { add => 20 });
$allegro->control(POST => '/_fake/seed', { mutate => 40 });
$run = Hubgate::Sync::sync($s, $id, tenant => $T);
is($run->{status}, 'succeeded', 'an incremental sync');
my $now = $s->psql(q{SELECT count(*) FROM invoices});
is($s->psql(qq{SELECT count(*) FROM external_orders o
    WHERE o.integration_id = '$id' AND o.status = 'paid' AND NOT EXISTS
    (SELECT 1 FROM invoices i WHERE i.source_order_id = o.external_id)}), 0,
    'every paid order has its invoice');
cmp_ok($now, '>', $paid, 'the newly paid orders were invoiced (' . ($now - $paid) . ')');
is($run->{invoices_created}, $now - $paid, '... counted by the run');
is($s->psql(q{SELECT max(seq) || '-' || count(DISTINCT seq) FROM invoices}),
    "$now-$now", 'still gapless');
my $paid2 = $now;
my (undef, $mr) = api(GET => '/metrics', tenant => $T);
like($mr->body, qr/^hubgated_invoices_generated_total\{result="issued"\} $now$/m,
    '/metrics counts the invoices the syncs issued');

# the API lists them by integration, and renders them
($j, $r) = api(GET => "/v1/invoices?integration=$id&limit=500", tenant => $T);
is(scalar @{ $j->{data} }, $paid2, 'GET /v1/invoices?integration=');
my @ids = map { $_->{id} } @{ $j->{data} };

###############################################################################
# the official validators on generated documents

my $n = @ids < 40 ? scalar @ids : 40;
my $dir = tempdir('hg-inv81-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/ubl";
mkdir "$dir/ksef";
mkdir "$dir/out";
for my $i (0 .. $n - 1) {
    my $rr = $s->request(GET => "/api/v1/invoices/$ids[$i]",
        ident => { tenant => $T, subject => 't' },
        headers => { Accept => 'application/xml' });
    is($rr->status, 200, "UBL of invoice $i") if $rr->status != 200;
    $t->write_file("ubl-$i.xml", $rr->body);
    rename $t->testdir . "/ubl-$i.xml", "$dir/ubl/$i.xml";
    $rr = $s->request(GET => "/api/v1/invoices/$ids[$i]?format=ksef",
        ident => { tenant => $T, subject => 't' });
    is($rr->status, 200, "FA(3) of invoice $i") if $rr->status != 200;
    $t->write_file("ksef-$i.xml", $rr->body);
    rename $t->testdir . "/ksef-$i.xml", "$dir/ksef/$i.xml";
}

SKIP: {
    skip 'no invoice tools built (make tools)', 4
        if !-x "$repo/build/invoice-gen" || !-x "$repo/build/invoice-render";

    my @ubl = glob("$dir/ubl/*.xml");
    is(scalar @ubl, $n, "$n UBL documents fetched");
    my @bad = grep { !/^ok / } split /\n/,
        `$repo/build/invoice-gen xsd $specs/ubl21 @ubl 2>&1`;
    is(scalar @bad, 0, 'every one passes the UBL 2.1 XSD') or diag "@bad[0..2]";

    @bad = grep { !/ validates$/ } split /\n/,
        `$repo/build/invoice-render validate $specs/ksef/schemat_FA3_v1-0E.xsd $dir/ksef/*.xml 2>&1`;
    is(scalar @bad, 0, "their FA(3) passes the KSeF XSD") or diag "@bad[0..2]";

    skip 'no Saxon-HE', 1 if !-f $saxon;
    system('java', '-cp', $saxon, 'net.sf.saxon.Transform', "-s:$dir/ubl",
        "-xsl:$specs/en16931/EN16931-UBL-validation.xslt", "-o:$dir/out") == 0
        or BAIL_OUT('Saxon failed');
    my @fatal;
    for my $f (glob("$dir/out/*.xml")) {
        open(my $fh, '<:raw', $f) or die;
        local $/;
        my $svrl = <$fh>;
        while ($svrl =~ /<svrl:failed-assert\b([^>]*)>/g) {
            my $a = $1;
            push @fatal, ($a =~ /\bid="([^"]+)"/)[0] . " in $f"
                if $a =~ /flag="fatal"/;
        }
    }
    is(scalar @fatal, 0, 'zero fatal EN 16931 assertions') or diag "@fatal[0..4]";
}

###############################################################################
# no seller profile: the sync goes on and says why

my $bare = Hubgate::Sync::connect($s, $allegro, tenant => 'bare');
api(PUT => "/v1/integrations/$bare/settings", tenant => 'bare',
    json => { autoGenerateInvoices => JSON::PP::true });
$run = Hubgate::Sync::sync($s, $bare, tenant => 'bare');
is($run->{status}, 'succeeded', 'without a seller profile the sync succeeds');
is($run->{invoices_created}, 0, '... issues nothing');
cmp_ok($run->{invoices_failed}, '>', 0, '... counts the orders it could not invoice');
like($run->{invoice_error} // '', qr/seller profile/, '... and says why');
is($s->psql(qq{SELECT count(*) FROM invoices i JOIN integrations g ON g.id = i.integration_id
    WHERE g.id = '$bare'}), 0, 'no invoice of that tenant');

###############################################################################
# defaultVatRate "zw" (exempt): a line without a rate of its own is not
# made zero rated; its order is refused with the reason, the others issued

$s->tenant_create('exempt');
api(PUT => '/v1/seller', tenant => 'exempt', json => {
    seller => { name => 'Zwolniony', vat_id => 'PL5261040828',
        address => { city => 'Kraków', country => 'PL' } } });
my $zw = Hubgate::Sync::connect($s, $allegro, tenant => 'exempt');
api(PUT => "/v1/integrations/$zw/settings", tenant => 'exempt',
    json => { autoGenerateInvoices => JSON::PP::true, defaultVatRate => 'zw' });
$run = Hubgate::Sync::sync($s, $zw, tenant => 'exempt');
is($run->{status}, 'succeeded', 'defaultVatRate zw: the sync succeeds');
my $norate = $s->psql(qq{SELECT count(*) FROM external_orders o
    WHERE o.integration_id = '$zw' AND o.status = 'paid' AND EXISTS
    (SELECT 1 FROM jsonb_array_elements(o.canonical->'lines') l
      WHERE l->'vat_rate' IS NULL OR l->'vat_rate' = 'null')});
my $zpaid = $s->psql(qq{SELECT count(*) FROM external_orders
    WHERE integration_id = '$zw' AND status = 'paid'});
cmp_ok($norate, '>', 0, "some paid orders have a line without a rate ($norate)");
is($run->{invoices_failed}, $norate, '... those are refused');
is($run->{invoices_created}, $zpaid - $norate, '... the others issued');
like($run->{invoice_error} // '', qr/rate/i, '... and the reason names the rate');
is($s->psql(qq{SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
    WHERE i.integration_id = '$zw' AND l.vat_category = 'Z'}), 0,
    'nothing was made zero rated');

$s->no_secrets_ok;
done_testing;
