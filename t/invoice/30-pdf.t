#!/usr/bin/perl
# PDF renderer (sidecar/invoice/pdf.c): the sample invoices of
# build/invoice-render open (pdfinfo), have the pages they should (200
# lines: several, each with the table header repeated), embed DejaVu, and
# pdftotext -layout shows the number, the totals as formatted, the credit
# note's reference, the VAT in PLN of a EUR invoice, and the diacritics:
# Polish, and Romanian with comma-below Ș Ț ș ț (U+0218 U+021A U+0219
# U+021B, not the cedilla forms U+015E U+0162).
use strict;
use warnings;
use utf8;
use Test::More;
use Encode qw(decode);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $repo = abs_path(File::Spec->catdir(dirname(abs_path($0)), '..', '..'));
# HUBGATE_INVOICE_RENDER=build/asan/invoice-render runs it sanitized
my $tool = $ENV{HUBGATE_INVOICE_RENDER} // "$repo/build/invoice-render";

for my $t (qw(pdfinfo pdftotext)) {
    plan skip_all => "$t not installed (poppler-utils)"
        if system("command -v $t >/dev/null 2>&1") != 0;
}

ok(-x $tool, 'build/invoice-render is built (make build/invoice-render)')
    or BAIL_OUT('no tool');

my $dir = tempdir('hubgate-pdf-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# renders a sample; returns (facts from the tool, pages, text)
sub sample {
    my ($name) = @_;
    my $pdf = "$dir/$name.pdf";
    my $line = `$tool sample $name pdf $pdf 2>&1`;
    is($?, 0, "$name: rendered") or diag($line);
    my %f = $line =~ /(\w+)=(\S+)/g;

    open(my $fh, '<:raw', $pdf) or die "$pdf: $!";
    my $head;
    read($fh, $head, 5);
    close $fh;
    is($head, '%PDF-', "$name: is a PDF");

    my $info = `pdfinfo $pdf 2>&1`;
    is($?, 0, "$name: pdfinfo opens it") or diag($info);
    my ($pages) = $info =~ /^Pages:\s+(\d+)/m;
    my $text = decode('UTF-8', scalar `pdftotext -layout -enc UTF-8 $pdf - 2>/dev/null`);
    is($?, 0, "$name: pdftotext reads it");

    return (\%f, $pages // 0, $text, $pdf);
}

sub shows {
    my ($text, $what, $name) = @_;
    ok(index($text, $what) >= 0, "$name: shows '$what'");
}

# --- basic ---------------------------------------------------------------
{
    my ($f, $pages, $text) = sample('basic');
    is($pages, 1, 'basic: one page');
    shows($text, 'Faktura VAT', 'basic');
    shows($text, $f->{number}, 'basic');
    like($text, qr/Razem brutto \/ Total gross\s+\Q$f->{gross}\E PLN/,
         "basic: gross total $f->{gross} PLN on its row");
    like($text, qr/Do zapłaty \/ Amount due\s+\Q$f->{payable}\E PLN/,
         "basic: amount due $f->{payable} PLN on its row");
    like($text, qr/^\s*VAT\s+\Q$f->{vat}\E PLN/m, "basic: VAT $f->{vat} PLN");
    like($text, qr/23%\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d/,
         'basic: VAT summary row for 23 %');
    like($text, qr/8%\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d/,
         'basic: VAT summary row for 8 %');
    shows($text, 'Zażółć Gęślą Jaźń Sp. z o.o.', 'basic');
    shows($text, 'PL61109010140000071219812874', 'basic');
}

# --- 200 lines: several pages, header repeated ---------------------------
{
    my ($f, $pages, $text, $pdf) = sample('many');
    is($f->{lines}, 200, 'many: 200 lines');
    cmp_ok($pages, '>=', 3, "many: several pages ($pages)");
    my $heads = () = $text =~ /Nazwa \/ Description/g;
    is($heads, $pages, 'many: the table header is on every page');
    my $numbers = () = $text =~ /Pozycja \d+: śruba/g;
    is($numbers, 200, 'many: all 200 lines are printed');
    shows($text, 'Pozycja 200: śruba nierdzewna', 'many');
    like($text, qr/Strona \/ Page $pages\b/, 'many: last page numbered');
    my $last = decode('UTF-8', scalar
        `pdftotext -layout -enc UTF-8 -f $pages -l $pages $pdf - 2>/dev/null`);
    like($last, qr/Do zapłaty \/ Amount due\s+\Q$f->{payable}\E PLN/,
         'many: totals on the last page');
}

# --- diacritics and long names --------------------------------------------
{
    my ($f, $pages, $text, $pdf) = sample('diacritics');
    shows($text, 'Zażółć gęślą jaźń', 'diacritics');
    shows($text, 'Ștefan Țepeș Distribuție SRL', 'diacritics');
    shows($text, 'București', 'diacritics');
    ok($text =~ /\x{0218}/ && $text =~ /\x{021A}/ && $text =~ /\x{0219}/
       && $text =~ /\x{021B}/, 'diacritics: comma-below Ș Ț ș ț extracted');
    ok($text !~ /[\x{015E}\x{015F}\x{0162}\x{0163}]/,
       'diacritics: no cedilla forms instead');
    shows($text, 'ă â î ș ț Ă Â Î Ș Ț', 'diacritics');
    my ($first) = grep { /Zażółć gęślą jaźń/ } split /\n/, $text;
    my ($end) = grep { /żaba/ } split /\n/, $text;
    ok(defined $first && defined $end && $first ne $end,
       'diacritics: a long name wraps onto more lines');
    ok($text =~ /nazwy: źdźbło, łódź, ćma,/ || $text =~ /źdźbło/,
       'diacritics: its middle is there too');
    like($text, qr/Razem brutto \/ Total gross\s+\Q$f->{gross}\E PLN/,
         "diacritics: gross $f->{gross}");
    SKIP: {
        skip 'pdffonts not installed', 1
            if system('command -v pdffonts >/dev/null 2>&1') != 0;
        like(scalar `pdffonts $pdf 2>&1`, qr/DejaVuSans.*yes\s+yes\s+yes/,
             'diacritics: DejaVu Sans embedded, subset, with ToUnicode');
    }
}

# --- credit note -----------------------------------------------------------
{
    my ($f, $pages, $text) = sample('credit');
    shows($text, 'Faktura korygująca / Credit note', 'credit');
    shows($text, $f->{number}, 'credit');
    shows($text, 'Corrects invoice: FV/2025/10/77 z / of 2025-10-15',
          'credit');
    shows($text, 'Zwrot towaru / returned goods', 'credit');
    like($text, qr/Do zwrotu \/ Amount credited\s+\Q$f->{payable}\E PLN/,
         "credit: amount credited $f->{payable}");
}

# --- EUR invoice, VAT also in PLN ------------------------------------------
{
    my ($f, $pages, $text) = sample('eur');
    like($text, qr/Razem brutto \/ Total gross\s+\Q$f->{gross}\E EUR/,
         "eur: gross $f->{gross} EUR");
    isnt($f->{vat_vc}, '-', 'eur: the model has a VAT total in PLN');
    like($text, qr/VAT w \/ in PLN \(kurs \/ rate 4\.2567\)\s+\Q$f->{vat_vc}\E PLN/,
         "eur: VAT in PLN $f->{vat_vc} with the rate");
}

# --- renders at once in several threads -----------------------------------
{
    my $out = `$tool threads 4 8 $dir 2>&1`;
    is($?, 0, 'threads: 4 threads x 8 FA(3) + PDF renders all succeed')
        or diag($out);
    like($out, qr/failed=0/, 'threads: none failed');
    for my $i (0 .. 3) {
        my $info = `pdfinfo $dir/thread-$i.pdf 2>&1`;
        like($info, qr/^Pages:\s+1$/m, "threads: thread $i's PDF opens");
        my $text = decode('UTF-8', scalar
            `pdftotext -layout -enc UTF-8 $dir/thread-$i.pdf - 2>/dev/null`);
        shows($text, 'Ștefan Țepeș Distribuție SRL', "threads: thread $i");
    }
}

done_testing();
