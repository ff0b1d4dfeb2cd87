# Invoices through the API (DESIGN §4, Invoices): the seller profile,
# numbering series (patterns, validation, gapless numbers under 8
# concurrent issuers, a rolled back number given back), drafts and their
# issue, the lifecycle's allowed and refused transitions, content
# negotiation (JSON, UBL, CIUS-RO, FA(3), PDF), full and partial credit
# notes that never credit more than was invoiced, Idempotency-Key, tenant
# isolation and overdue invoices set by the scheduler.
use strict;
use warnings;
use utf8;

use Test::More;
use Encode ();
use JSON::PP;
use POSIX qw(strftime);
use Hubgate::Test qw(:all);
use Hubgate::Sidecar;
use Hubgate::Sync;

my $t = Hubgate::Test->new;
$t->skip_unless_module_built;

my $s = Hubgate::Sidecar->new($t, conf => {
    test_clock => 'on', scheduler_interval => '200ms' });
$s->migrate;
$s->tenant_create('acme');
$s->tenant_create('other');
$s->start;

my $JSON = JSON::PP->new->canonical;
my $T = 'acme';
# the request helper writes the JSON of byte strings: give it UTF-8 bytes
sub bytes {
    my ($v) = @_;
    return { map { $_ => bytes($v->{$_}) } keys %$v } if ref $v eq 'HASH';
    return [ map { bytes($_) } @$v ] if ref $v eq 'ARRAY';
    return defined $v && !ref $v && $v =~ /[^\x00-\x7f]/
        ? Encode::encode_utf8($v) : $v;
}
sub api {
    my ($m, $p, %o) = @_;
    $o{json} = bytes($o{json}) if exists $o{json};
    return Hubgate::Sync::api($s, $m, $p, %o);
}
sub raw {
    my ($method, $path, %o) = @_;
    my (undef, $r) = api($method, $path, tenant => $o{tenant} // $T, %o);
    return $r;
}

my $today = $s->psql(q{SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')});
my ($Y, $M) = $today =~ /^(\d{4})-(\d{2})/;

my %seller = (name => 'Sklep Zażółć Sp. z o.o.', vat_id => 'PL5261040828',
    address => { street => 'ul. Długa 1', city => 'Gdańsk',
        postal_code => '80-001', country => 'PL' });
my %buyer = (name => 'Łukasz Ćwik', vat_id => 'PL7740001454',
    address => { street => 'ul. Krótka 2', city => 'Łódź',
        postal_code => '90-001', country => 'PL' });
my @lines = (
    { name => 'Kubek ceramiczny', quantity => '2', unit_price => '10.00',
      vat_category => 'S', vat_rate => '23' },
    { name => 'Książka', quantity => '1', unit_price => '5.00',
      vat_category => 'S', vat_rate => '8' },
);

###############################################################################
# the seller profile

my ($j, $r) = api(GET => '/v1/seller', tenant => $T);
is($r->status, 404, 'no seller profile yet: 404');

($j, $r) = api(PUT => '/v1/seller', tenant => $T,
    json => { seller => { name => 'X' } });
is($r->status, 422, 'a seller without an address: 422');
like($r->body, qr/seller\.address/, 'the error names seller.address');

($j, $r) = api(PUT => '/v1/seller', tenant => $T,
    json => { seller => \%seller, colour => 'red' });
is($r->status, 422, 'an unknown field: 422');

($j, $r) = api(PUT => '/v1/seller', tenant => $T,
    json => { seller => \%seller, payment_days => 14,
        payment => { means_code => '30', iban => 'PL61109010140000071219812874' } });
is($r->status, 200, 'PUT /v1/seller') or diag $r->body;
is(api(GET => '/v1/seller', tenant => $T)->{seller}{name}, $seller{name},
    'GET /v1/seller gives it back');

###############################################################################
# series

($j, $r) = api(PUT => '/v1/invoice-series/FV', tenant => $T,
    json => { pattern => 'FV/{SEQ}', reset => 'monthly' });
is($r->status, 422, 'a monthly series without the month: 422');
like($j->{error}{message}, qr/month/, '... says so');

($j, $r) = api(PUT => '/v1/invoice-series/FV', tenant => $T,
    json => { pattern => 'FV/{YYYY}/{SEQ}/{SEQ}' });
is($r->status, 422, 'two {SEQ}: 422');

($j, $r) = api(PUT => '/v1/invoice-series/FV', tenant => $T,
    json => { pattern => 'FV/{YYYY}/{MM}/{SEQ:4}', reset => 'monthly' });
is($r->status, 200, 'PUT /v1/invoice-series/FV') or diag $r->body;
is($j->{next_number}, "FV/$Y/$M/0001", 'the next number previewed');

($j, $r) = api(GET => '/v1/invoice-series/nope', tenant => $T);
is($r->status, 404, 'an unknown series: 404');

# a name holding a slash travels as %2F
($j, $r) = api(PUT => '/v1/invoice-series/KOR%2F2026', tenant => $T,
    json => { pattern => 'KOR/{YYYY}/{SEQ}' });
is($r->status, 200, 'a series named KOR/2026') or diag $r->body;
is($j->{name}, 'KOR/2026', '... decoded');

###############################################################################
# a draft, then issued

my %inv = (series => 'FV', buyer => \%buyer, currency => 'PLN', lines => \@lines);

($j, $r) = api(POST => '/v1/invoices', tenant => $T,
    json => { %inv, number => 'MY-1' });
is($r->status, 422, 'a number of our own: 422 (the series gives it)');

($j, $r) = api(POST => '/v1/invoices', tenant => $T,
    json => { %inv, lines => [ { name => 'x', quantity => 'abc',
        unit_price => '1', vat_category => 'S', vat_rate => '23' } ] });
is($r->status, 422, 'a bad quantity: 422');
is($j->{error}{details}[0]{field}, 'lines[0].quantity', '... by its path');

is($s->psql('SELECT count(*) FROM invoices'), 0, 'nothing written by refusals');

($j, $r) = api(POST => '/v1/invoices', tenant => $T, json => \%inv,
    headers => { 'Idempotency-Key' => 'draft-1' });
is($r->status, 201, 'POST /v1/invoices: a draft') or diag $r->body;
my $draft = $j->{id};
is($j->{state}, 'draft', 'state draft');
is($j->{number}, undef, 'no number yet');
is($j->{document}{seller}{name}, $seller{name}, 'the seller from the profile');
is($j->{document}{payment}{iban}, 'PL61109010140000071219812874',
    'the payment from the profile');
is_deeply($j->{totals_minor}, { line_net => 2500, allowances => 0,
    charges => 0, tax_exclusive => 2500, vat => 500, tax_inclusive => 3000,
    prepaid => 0, payable => 3000 }, 'totals: 25.00 + 4.60 + 0.40 VAT');
is_deeply([ map { [ $_->{rate}, $_->{taxable_amount}, $_->{tax_amount} ] }
        @{ $j->{document}{vat_breakdown} } ],
    [ [ '8', '5.00', '0.40' ], [ '23', '20.00', '4.60' ] ],
    'the VAT breakdown per rate') or diag explain $j->{document}{vat_breakdown};
like($r->header('Location') // '', qr{/v1/invoices/$draft$}, 'Location');

my ($j2, $r2) = api(POST => '/v1/invoices', tenant => $T, json => \%inv,
    headers => { 'Idempotency-Key' => 'draft-1' });
is($j2->{id}, $draft, 'the same key and body: the same invoice');
($j2, $r2) = api(POST => '/v1/invoices', tenant => $T,
    json => { %inv, currency => 'EUR' },
    headers => { 'Idempotency-Key' => 'draft-1' });
is($r2->status, 422, 'the same key, another body: 422');
is($s->psql('SELECT count(*) FROM invoices'), 1, 'one invoice stored');

$r = raw(GET => "/v1/invoices/$draft", headers => { Accept => 'application/xml' });
is($r->status, 409, 'the UBL of a draft: 409 not_issued');
$r = raw(GET => "/v1/invoices/$draft?format=pdf");
is($r->status, 200, 'the PDF of a draft can be previewed');

($j, $r) = api(POST => "/v1/invoices/$draft/pay", tenant => $T);
is($r->status, 409, 'pay a draft: 409');
is($j->{error}{code}, 'invalid_transition', '... invalid_transition');

($j, $r) = api(POST => "/v1/invoices/$draft/issue", tenant => $T);
is($r->status, 200, 'issue') or diag $r->body;
is($j->{state}, 'issued', 'issued');
is($j->{number}, "FV/$Y/$M/0001", 'numbered FV/YYYY/MM/0001');
is($j->{issue_date}, $today, 'dated today');
my $due = $s->psql(qq{SELECT to_char(date '$today' + 14, 'YYYY-MM-DD')});
is($j->{due_date}, $due, 'due after the profile\'s 14 days');
is($j->{document}{number}, $j->{number}, 'the document carries the number');

($j, $r) = api(POST => "/v1/invoices/$draft/issue", tenant => $T);
is($r->status, 409, 'issue twice: 409');

###############################################################################
# formats

$r = raw(GET => "/v1/invoices/$draft", headers => { Accept => 'application/xml' });
is($r->status, 200, 'Accept: application/xml');
like($r->header('Content-Type'), qr{^application/xml}, '... is XML');
like($r->body, qr{<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"},
    '... a UBL Invoice');
like($r->body, qr{<cbc:ID>FV/$Y/$M/0001</cbc:ID>}, '... with its number');
like($r->body, qr{<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>},
    '... EN 16931');
like($r->body, qr{<cbc:PayableAmount currencyID="PLN">30.00</cbc:PayableAmount>},
    '... payable 30.00');

$r = raw(GET => "/v1/invoices/$draft?format=ksef");
is($r->status, 200, '?format=ksef');
like($r->body, qr{<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"}, '... FA(3)');
like($r->body, qr{<P_2>FV/$Y/$M/0001</P_2>}, '... with its number');

$r = raw(GET => "/v1/invoices/$draft", headers => { Accept => 'application/pdf' });
is($r->status, 200, 'Accept: application/pdf');
like($r->header('Content-Type'), qr{^application/pdf}, '... is a PDF');
like($r->body, qr/^%PDF-/, '... starts as one');

$r = raw(GET => "/v1/invoices/$draft",
    headers => { Accept => 'text/html;q=0.9, application/pdf;q=0, application/json' });
is($r->status, 200, 'Accept with q=0 and a later JSON');
like($r->header('Content-Type'), qr{^application/json}, '... answers JSON');

$r = raw(GET => "/v1/invoices/$draft", headers => { Accept => 'text/html' });
is($r->status, 406, 'Accept: text/html: 406');
$r = raw(GET => "/v1/invoices/$draft?format=docx");
is($r->status, 406, '?format=docx: 406');

# a Romanian invoice in EUR with its VAT in RON: CIUS-RO
($j, $r) = api(POST => '/v1/invoices', tenant => $T, json => {
    series => 'RO', issue => JSON::PP::true, currency => 'EUR',
    vat_currency => 'RON', exchange_rate => '4.9771',
    seller => { name => 'Firma Ștefan SRL', vat_id => 'RO1234567',
        address => { street => 'Strada Mare 1', city => 'SECTOR1',
            subdivision => 'RO-B', country => 'RO' } },
    buyer => { name => 'Client Țară SRL', vat_id => 'RO7654321',
        address => { street => 'Strada Mică 2', city => 'Cluj-Napoca',
            subdivision => 'RO-CJ', country => 'RO' } },
    lines => [ { name => 'Serviciu', quantity => '3', unit_price => '12.50',
        vat_category => 'S', vat_rate => '19' } ] });
is($r->status, 201, 'a Romanian invoice, issued at once') or diag $r->body;
my $ro = $j->{id};
$r = raw(GET => "/v1/invoices/$ro?format=ro");
is($r->status, 200, '?format=ro') or diag $r->body;
like($r->body, qr{CIUS-RO:1\.0\.1</cbc:CustomizationID>}, '... CIUS-RO');
like($r->body, qr{<cbc:TaxAmount currencyID="RON">}, '... VAT in RON too');

###############################################################################
# lifecycle

($j, $r) = api(POST => '/v1/invoices', tenant => $T,
    json => { %inv, issue => JSON::PP::true });
is($r->status, 201, 'issue at once');
is($j->{number}, "FV/$Y/$M/0002", 'the next number: 0002');
my $second = $j->{id};

($j, $r) = api(POST => "/v1/invoices/$second/pay", tenant => $T);
is($j->{state}, 'paid', 'pay');
($j, $r) = api(POST => "/v1/invoices/$second/cancel", tenant => $T);
is($r->status, 409, 'cancel a paid invoice: 409 (credit it instead)');

($j, $r) = api(POST => '/v1/invoices', tenant => $T, json => \%inv);
my $d2 = $j->{id};
($j, $r) = api(POST => "/v1/invoices/$d2/cancel", tenant => $T);
is($j->{state}, 'cancelled', 'cancel a draft');
is($j->{number}, undef, '... it took no number');
($j, $r) = api(POST => "/v1/invoices/$d2/issue", tenant => $T);
is($r->status, 409, 'issue a cancelled draft: 409');

($j, $r) = api(POST => "/v1/invoices/00000000-0000-0000-0000-000000000000/pay",
    tenant => $T);
is($r->status, 404, 'an unknown invoice: 404');

###############################################################################
# credit notes

($j, $r) = api(POST => "/v1/invoices/$d2/credit-note", tenant => $T,
    json => { reason => 'x' });
is($r->status, 409, 'credit a cancelled draft: 409');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => {});
is($r->status, 422, 'a credit note needs a reason');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => { reason => 'Zwrot jednego kubka', series => 'KOR/2026',
        lines => [ { line => 1, quantity => '1' } ] });
is($r->status, 201, 'a partial credit note') or diag $r->body;
my $cn = $j->{id};
is($j->{kind}, 'credit_note', 'kind credit_note');
is($j->{state}, 'issued', 'issued at once');
is($j->{corrects_invoice_id}, $draft, 'it corrects the invoice');
is($j->{number}, "KOR/$Y/1", 'numbered in its own series');
is($j->{totals_minor}{payable}, 1230, 'one mug: 10.00 + 2.30 VAT');
is($j->{document}{preceding_invoice}{number}, "FV/$Y/$M/0001",
    'the document names the corrected invoice');

$r = raw(GET => "/v1/invoices/$cn", headers => { Accept => 'application/xml' });
like($r->body, qr{<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"},
    'its UBL is a CreditNote');
like($r->body, qr{<cac:BillingReference>\s*<cac:InvoiceDocumentReference>\s*<cbc:ID>FV/$Y/$M/0001</cbc:ID>},
    '... referencing the invoice');
$r = raw(GET => "/v1/invoices/$cn?format=ksef");
like($r->body, qr{<RodzajFaktury>KOR</RodzajFaktury>}, 'its FA(3) is a KOR');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => { reason => 'too much', lines => [ { line => 1, quantity => '2' } ] });
is($r->status, 409, 'crediting more than is left: 409');
is($j->{error}{code}, 'over_credit', '... over_credit');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => { reason => 'twice', lines => [ { line => 1, quantity => '1' },
        { line => 1, quantity => '1' } ] });
is($r->status, 409, 'one line named twice, together more than is left: 409');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => { reason => 'Anulowanie reszty' });
is($r->status, 201, 'a full credit note of what is left') or diag $r->body;
is_deeply([ map { $_->{quantity} } @{ $j->{document}{lines} } ], [ '1', '1' ],
    '... one mug and the book');
is($j->{totals_minor}{payable}, 1230 + 540, '... 12.30 + 5.40');
is($j->{number}, "FV/$Y/$M/0003", 'numbered in the invoice\'s series by default');

($j, $r) = api(POST => "/v1/invoices/$draft/credit-note", tenant => $T,
    json => { reason => 'again' });
is($r->status, 409, 'nothing left to credit: 409');
is($j->{error}{code}, 'already_credited', '... already_credited');

($j, $r) = api(POST => "/v1/invoices/$cn/credit-note", tenant => $T,
    json => { reason => 'x' });
is($r->status, 409, 'a credit note of a credit note: 409');

###############################################################################
# lists and isolation

($j, $r) = api(GET => '/v1/invoices?kind=credit_note', tenant => $T);
is(scalar @{ $j->{data} }, 2, 'two credit notes listed');
($j, $r) = api(GET => '/v1/invoices?state=draft', tenant => $T);
is(scalar @{ $j->{data} }, 0, 'no drafts left');
($j, $r) = api(GET => '/v1/invoices?state=bogus', tenant => $T);
is($r->status, 400, 'a bad state filter: 400');
($j, $r) = api(GET => '/v1/invoices?limit=2', tenant => $T);
is(scalar @{ $j->{data} }, 2, 'a page of 2');
ok($j->{next_cursor}, '... and a cursor');

($j, $r) = api(GET => '/v1/invoices', tenant => 'other');
is(scalar @{ $j->{data} }, 0, 'another tenant sees none');
$r = raw(GET => "/v1/invoices/$draft", tenant => 'other');
is($r->status, 404, '... and cannot read one');
($j, $r) = api(POST => "/v1/invoices/$draft/cancel", tenant => 'other');
is($r->status, 404, '... nor cancel one');

###############################################################################
# series guards

($j, $r) = api(PUT => '/v1/invoice-series/FV', tenant => $T,
    json => { next_seq => 2 });
is($r->status, 409, 'next_seq back onto given numbers: 409');
($j, $r) = api(PUT => '/v1/invoice-series/FV', tenant => $T,
    json => { pattern => 'F/{YYYY}/{MM}/{SEQ}' });
is($r->status, 409, 'changing the pattern of a used series: 409');
($j, $r) = api(GET => '/v1/invoice-series/FV', tenant => $T);
is($j->{next_number}, "FV/$Y/$M/0004", 'the series goes on at 0004');

###############################################################################
# gapless under 8 concurrent issuers, and a rollback gives its number back

api(PUT => '/v1/invoice-series/PAR', tenant => $T,
    json => { pattern => 'P/{YYYY}/{SEQ}' });

# a transaction that takes a number and rolls back
my $taken = $s->psql(qq{BEGIN;
    SELECT set_config('hubgate.tenant', (SELECT id::text FROM tenants WHERE slug = 'acme'), true);
    SELECT first_seq FROM invoice_series_take('PAR', '$today', 5);
    SELECT next_seq FROM invoice_series WHERE name = 'PAR';
    ROLLBACK;});
like($taken, qr/\n1\n6$/, 'a transaction took 1 to 5 (next 6) ...');
is($s->psql(q{SELECT next_seq FROM invoice_series WHERE name = 'PAR'}), 1,
    '... and its rollback gave them back');

my $workers = 8;
my $each = 25;
my @pids;
for my $w (1 .. $workers) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $bad = 0;
        for my $i (1 .. $each) {
            my (undef, $rr) = api(POST => '/v1/invoices', tenant => $T,
                json => { %inv, series => 'PAR', issue => JSON::PP::true,
                    note => "w$w-$i" },
                headers => { 'Idempotency-Key' => "par-$w-$i" });
            $bad++ if $rr->status != 201;
            # every fifth request is refused after validation began
            api(POST => '/v1/invoices', tenant => $T,
                json => { %inv, series => 'PAR', issue => JSON::PP::true,
                    lines => [ { name => 'x', quantity => '1',
                        unit_price => '-1', vat_category => 'S',
                        vat_rate => '23' } ] }) if $i % 5 == 0;
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}
my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? != 0 }
is($failed, 0, "$workers workers issued $each invoices each, all 201");

is($s->psql(q{SELECT count(*) FROM invoices WHERE series = 'PAR'}),
    $workers * $each, 'all stored');
is($s->psql(q{SELECT count(DISTINCT number) FROM invoices WHERE series = 'PAR'}),
    $workers * $each, 'no duplicate number');
is($s->psql(q{SELECT min(seq) || '-' || max(seq) FROM invoices WHERE series = 'PAR'}),
    '1-' . $workers * $each, 'no gap: 1 to ' . $workers * $each);
is($s->psql(qq{SELECT count(*) FROM invoices WHERE series = 'PAR'
    AND number <> 'P/$Y/' || seq}), 0, 'every number is its pattern');

###############################################################################
# overdue: the scheduler marks issued invoices past their due date

is($s->psql(q{SELECT count(*) FROM invoices WHERE state = 'overdue'}), 0,
    'nothing overdue yet');
($j, $r) = api(POST => '/v1/admin/test-clock', tenant => $T,
    json => { advance_seconds => 20 * 86400 });
is($r->status, 200, 'the clock moves 20 days on') or diag $r->body;
ok($t->wait_for(sub { api(GET => "/v1/invoices/$ro", tenant => $T)->{state}
        eq 'overdue' }, 10), 'the issued invoice became overdue');
is(api(GET => "/v1/invoices/$second", tenant => $T)->{state}, 'paid',
    'the paid one stays paid');
like((api(GET => '/metrics', tenant => $T))[1]->body,
    qr/^hubgated_invoices_overdue_total [1-9]\d*$/m, '/metrics counts it');
is(api(GET => "/v1/invoices/$draft", tenant => $T)->{state}, 'issued',
    'the fully credited one is not overdue');
is(api(GET => "/v1/invoices/$cn", tenant => $T)->{state}, 'issued',
    'nor is a credit note');
($j, $r) = api(POST => "/v1/invoices/$ro/pay", tenant => $T);
is($j->{state}, 'paid', 'an overdue invoice can still be paid');

is($s->psql(q{SELECT count(*) FROM audit_log WHERE action LIKE 'invoice%'}) > 0,
    1, 'invoice actions are audited');

$s->no_secrets_ok;
done_testing;
