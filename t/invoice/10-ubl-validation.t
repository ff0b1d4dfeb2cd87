#!/usr/bin/perl

# t/invoice/10-ubl-validation.t: generated UBL invoices against the official
# tools.  build/invoice-gen writes >= 100 varied invoices (seeded), the
# CIUS-RO variant of each Romanian one and a deliberately broken document;
# every file, and the CEN example invoices as a control, is validated
# against the UBL 2.1 XSD (libxml2) and the EN 16931 XSLT (Saxon-HE, one
# JVM for the whole directory).  Generated, RO and CEN documents must have
# zero fatal failed-asserts; the broken one must be caught (BR-CO-16).

use strict;
use warnings;

use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;

my $repo = dirname(__FILE__) . '/../..';
chdir $repo or die "chdir $repo: $!";

my $specs = $ENV{HUBGATE_SPECS} || '../shared/specs';
my $saxon = $ENV{SAXON_JAR} || '/usr/share/java/Saxon-HE.jar';
my $gen = 'build/invoice-gen';
my $count = 120;
my $seed = 20251202;

system('make', '-s', $gen) == 0 or BAIL_OUT("make $gen failed");
-f $saxon or BAIL_OUT("no Saxon-HE at $saxon (libsaxonhe-java)");

my $in = tempdir('hg-ubl-in-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = tempdir('hg-ubl-out-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# generate
my %kind;
open(my $g, '-|', $gen, 'gen', $in, $count, $seed) or die "$gen: $!";
while (<$g>) {
    chomp;
    my ($k, $path) = split / /, $_, 2;
    $kind{basename($path)} = $k;
}
close $g;
is($?, 0, "$gen gen exits 0");

my @generated = grep { $kind{$_} eq 'gen' } keys %kind;
my @ro = grep { $kind{$_} eq 'ro' } keys %kind;
cmp_ok(scalar @generated, '>=', 100, 'at least 100 generated invoices');
cmp_ok(scalar @ro, '>=', 10, 'CIUS-RO variants of the Romanian ones');
is(scalar(grep { $kind{$_} eq 'broken' } keys %kind), 1,
    'one broken document (negative control)');

# the CEN examples, the control that the pipeline can pass
my @cen = glob("$specs/en16931/examples/*.xml");
cmp_ok(scalar @cen, '>=', 11, 'CEN examples found');
for my $f (@cen) {
    my $name = 'cen-' . basename($f);
    copy($f, "$in/$name") or die "copy $f: $!";
    $kind{$name} = 'cen';
}

# a second negative control, for the XSD: two elements swapped
{
    open(my $fh, '<:raw', "$in/gen-000.xml") or die;
    local $/;
    my $doc = <$fh>;
    $doc =~ s{(<cbc:ID>[^<]*</cbc:ID>)(\s*)
              (<cbc:IssueDate>[^<]*</cbc:IssueDate>)}{$3$2$1}x
        or die 'no ID/IssueDate to swap';
    open(my $bad, '>:raw', "$in/broken-order.xml") or die;
    print $bad $doc;
    close $bad;
    $kind{'broken-order.xml'} = 'xsdbad';
}

# variety: what the generator promised is really in the documents
my $all = '';
for my $f (@generated) {
    open(my $fh, '<:raw', "$in/$f") or die;
    local $/;
    $all .= <$fh>;
}
for my $cat (qw(S Z E AE K G O)) {
    like($all, qr{<cac:TaxCategory>\s*<cbc:ID>\Q$cat\E</cbc:ID>},
        "VAT category $cat is generated");
}
for my $cur (qw(EUR PLN RON USD CZK)) {
    like($all, qr{<cbc:DocumentCurrencyCode>$cur<}, "currency $cur");
}
like($all, qr{<CreditNote }, 'credit notes');
like($all, qr{<cac:InvoiceDocumentReference>}, 'credit notes reference');
like($all, qr{<cbc:TaxCurrencyCode>}, 'VAT currency differs');
like($all, qr{Quantity unitCode="[^"]+">-}, 'negative quantities');
like($all, qr{<cbc:ChargeIndicator>true}, 'charges');
like($all, qr{<cbc:ChargeIndicator>false}, 'allowances');
like($all, qr{ąćęłńóśźż|Zażółć}, 'Polish diacritics');
like($all, qr{ăâîșț|Ștefan}, 'Romanian diacritics');

# XSD, in one process
my %xsd;
open(my $x, '-|', $gen, 'xsd', "$specs/ubl21", map { "$in/$_" } sort keys %kind)
    or die "$gen xsd: $!";
while (<$x>) {
    chomp;
    if (/^ok (\S+)$/) {
        $xsd{basename($1)} = '';
    } elsif (/^not ok (\S+): (.*)$/) {
        $xsd{basename($1)} = $2 || 'invalid';
    }
}
close $x;

# the EN 16931 rules, in one JVM
system('java', '-cp', $saxon, 'net.sf.saxon.Transform', "-s:$in",
    "-xsl:$specs/en16931/EN16931-UBL-validation.xslt", "-o:$out") == 0
    or BAIL_OUT('Saxon failed');

sub fatal_asserts {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or return ('no SVRL output');
    local $/;
    my $svrl = <$fh>;
    my @ids;
    while ($svrl =~ /<svrl:failed-assert\b([^>]*)>/g) {
        my $attrs = $1;
        next if $attrs !~ /\bflag="fatal"/;
        push @ids, $attrs =~ /\bid="([^"]+)"/ ? $1 : '?';
    }
    return @ids;
}

my %n;
for my $f (sort keys %kind) {
    my $k = $kind{$f};
    my @fatal = fatal_asserts("$out/$f");
    if ($k eq 'xsdbad') {
        like($xsd{$f} // '', qr/IssueDate|ID/,
            "$f: the XSD catches elements out of order");
        next;
    }
    if ($k eq 'broken') {
        is($xsd{$f}, '', "$f: XSD valid (the error is a business rule)");
        ok((grep { $_ eq 'BR-CO-16' } @fatal),
            "$f: caught by the XSLT (BR-CO-16): @fatal");
        next;
    }
    is($xsd{$f}, '', "$k $f: UBL 2.1 XSD");
    is(scalar @fatal, 0, "$k $f: no fatal EN 16931 assert")
        or diag("fatal: @fatal");
    $n{$k}++;
}

is($n{gen} // 0, scalar @generated, 'every generated invoice checked');
is($n{cen} // 0, scalar @cen, 'every CEN example checked');

done_testing();
