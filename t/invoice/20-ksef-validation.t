#!/usr/bin/perl
# KSeF FA(3) renderer (sidecar/invoice/ksef.c): 120 seeded, varied Polish
# invoices rendered by build/invoice-render must pass the FA(3) XSD
# (libxml2, and xmllint too when libxml2-utils is installed), carry their
# number and totals, and add up (lines -> P_13_x, P_13_x + P_14_x -> P_15);
# a broken document is the negative control; the API JSON of an invoice
# renders the same FA(3) as the model it came from; FA(3) refuses a seller
# without a Polish NIP.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
use JSON::PP;

my $repo = abs_path(File::Spec->catdir(dirname(abs_path($0)), '..', '..'));
# HUBGATE_INVOICE_RENDER=build/asan/invoice-render runs it sanitized
my $tool = $ENV{HUBGATE_INVOICE_RENDER} // "$repo/build/invoice-render";
my $xsd  = '/work/shared/specs/ksef/schemat_FA3_v1-0E.xsd';
$xsd = "$repo/shared/specs/ksef/schemat_FA3_v1-0E.xsd" if !-f $xsd;
my $count = 120;

ok(-x $tool, 'build/invoice-render is built (make build/invoice-render)')
    or BAIL_OUT('no tool');
ok(-f $xsd, 'FA(3) schema present') or BAIL_OUT('no schema');

my $dir = tempdir('hubgate-ksef-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub slurp {
    my ($f) = @_;
    open(my $fh, '<:raw', $f) or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

# amounts as integer hundredths (every generated currency has 2 decimals)
sub cents {
    my ($s) = @_;
    my ($neg, $i, $f) = $s =~ /^(-?)(\d+)(?:\.(\d{1,2}))?$/ or return undef;
    my $v = $i * 100 + ($f // 0) * (defined $f && length $f == 1 ? 10 : 1);
    return $neg ? -$v : $v;
}

# --- generate ----------------------------------------------------------
my @rows = map { [split /\t/] } grep { length }
    split /\n/, `$tool gen $dir $count 1 json 2>&1`;
is($?, 0, "generator ran") or diag(join "\n", map { "@$_" } @rows);
is(scalar @rows, $count, "$count invoices generated");

my @files = map { $_->[0] } @rows;
is(scalar(grep { -s $_ } @files), $count, 'every FA(3) file is non-empty');

# --- XSD: libxml2 through the tool, one process for all ----------------
my %verdict;
for (split /\n/, `$tool validate $xsd @files 2>&1`) {
    $verdict{$1} = $2 if /^(\S+) (validates|fails: .*)$/;
}
my @bad = grep { ($verdict{$_} // '') ne 'validates' } @files;
is(scalar @bad, 0, "all $count documents pass schemat_FA3_v1-0E.xsd")
    or diag(map { "$_: " . ($verdict{$_} // 'no verdict') . "\n" }
            @bad[0 .. ($#bad < 4 ? $#bad : 4)]);

SKIP: {
    skip 'xmllint not installed (libxml2-utils)', 1
        if system('command -v xmllint >/dev/null 2>&1') != 0;
    my $out = `xmllint --noout --schema $xsd @files 2>&1`;
    my $ok = () = $out =~ / validates$/mg;
    is($ok, $count, "xmllint agrees: $count validate");
}

# --- negative controls: the validator catches a broken document --------
my $good = slurp($files[0]);
my %broken = (
    'unknown VAT rate' => sub { $_[0] =~ s{<P_12>[^<]*</P_12>}{<P_12>24</P_12>} },
    'P_15 missing'     => sub { $_[0] =~ s{<P_15>[^<]*</P_15>\s*}{} },
    'order swapped'    => sub { $_[0] =~ s{(<P_1>[^<]*</P_1>)(\s*)(<P_2>[^<]*</P_2>)}{$3$2$1} },
);
for my $name (sort keys %broken) {
    my $doc = $good;
    ok($broken{$name}->($doc), "negative control '$name' applied");
    my $f = "$dir/broken.xml";
    open(my $fh, '>:raw', $f) or die;
    print $fh $doc;
    close $fh;
    my $out = `$tool validate $xsd $f 2>&1`;
    isnt($? >> 8, 0, "validator rejects: $name");
    like($out, qr/fails: /, "and says why ($name)");
}

# --- content: number, P_15, sums ---------------------------------------
my %seen;
my ($sum_bad, $line_bad, $content_bad, $pln_bad) = (0, 0, 0, 0);
for my $r (@rows) {
    my ($f, $number, $p15, $kind) = @$r;
    my $x = slurp($f);

    (my $num_xml = $number) =~ s/&/&amp;/g;
    $content_bad++, diag("$f: number") if $x !~ m{<P_2>\Q$num_xml\E</P_2>};
    $content_bad++, diag("$f: P_15") if $x !~ m{<P_15>\Q$p15\E</P_15>};
    $content_bad++, diag("$f: kind") if $x !~ m{<RodzajFaktury>$kind<};

    my ($net, $vat) = (0, 0);
    while ($x =~ m{<P_13_(\d+(?:_\d)?)>([^<]+)<}g) {
        $net += cents($2);
        $seen{"P_13_$1"}++;
    }
    while ($x =~ m{<P_14_([1-5])>([^<]+)<}g) {
        $vat += cents($2);
    }
    $sum_bad++, diag("$f: P_13 + P_14 != P_15")
        if $net + $vat != cents($p15);

    my $lines = 0;
    $lines += cents($1) while $x =~ m{<P_11>([^<]+)</P_11>}g;
    $line_bad++, diag("$f: sum P_11 $lines != sum P_13 $net")
        if $lines != $net;

    my ($cur) = $x =~ m{<KodWaluty>([A-Z]{3})<};
    $seen{"currency $cur"}++;
    $seen{KOR}++ if $kind eq 'KOR';
    $seen{'P_14_xW'}++ if $x =~ /<P_14_\dW>/;
    $seen{'negative P_8B'}++ if $x =~ m{<P_8B>-};
    $seen{Rozliczenie}++ if $x =~ /<Rozliczenie>/;
    $seen{'P_18 = 1'}++ if $x =~ m{<P_18>1</P_18>};
    $seen{'P_19 exempt'}++ if $x =~ m{<P_19>1</P_19>\s*<P_19A>};
    $seen{'buyer KodUE'}++ if $x =~ m{<KodUE>RO</KodUE>};
    $seen{'buyer BrakID'}++ if $x =~ m{<BrakID>1</BrakID>};
    $seen{'diacritics'}++ if $x =~ /Zażółć/ && $x =~ /\x{0218}|\xc8\x98/;
    $pln_bad++, diag("$f: W fields in a PLN invoice")
        if $cur eq 'PLN' && $x =~ /<P_14_\dW>/;
}
is($content_bad, 0, 'every document carries its number, P_15 and kind');
is($sum_bad, 0, 'P_13_x + P_14_x add up to P_15 in every document');
is($line_bad, 0, 'FaWiersz P_11 add up to the P_13_x sums');
is($pln_bad, 0, 'no P_14_xW in PLN invoices');

for my $k (qw(P_13_1 P_13_2 P_13_3 P_13_6_1 P_13_6_2 P_13_6_3 P_13_7
              P_13_8 P_13_9 P_13_10 KOR P_14_xW), 'negative P_8B',
           'Rozliczenie', 'P_18 = 1', 'P_19 exempt', 'buyer KodUE',
           'buyer BrakID', 'diacritics', 'currency PLN', 'currency EUR',
           'currency USD', 'currency CZK')
{
    cmp_ok($seen{$k} // 0, '>=', 2, "variety: $k in several documents");
}

# --- the API JSON renders the same FA(3) as the model ------------------
my $same = 0;
for my $i (0 .. 19) {
    my $j = sprintf('%s/ksef-%03d.json', $dir, $i);
    my $x = "$dir/rt.xml";
    system($tool, 'render', 'ksef', $j, $x) == 0 or next;
    my ($a, $b) = (slurp($x), slurp($files[$i]));
    s{<DataWytworzeniaFa>[^<]*</DataWytworzeniaFa>}{} for $a, $b;
    $same++ if $a eq $b;
}
is($same, 20, 'JSON -> invoice_from_json -> FA(3) equals the direct render');

# --- refusals ----------------------------------------------------------
my $out = `$tool sample foreign-seller ksef $dir/foreign.xml 2>&1`;
isnt($? >> 8, 0, 'a seller without a Polish NIP is refused');
like($out, qr/seller has no Polish NIP/, 'with a message naming the field');
unlike($out, qr/RO18547290/, 'the message does not echo the VAT id');

# a country outside the schema's TKodKraju list: refused, not rendered
{
    my $j = JSON::PP->new->utf8;
    my $inv = $j->decode(slurp("$dir/ksef-000.json"));
    $inv->{buyer}{address}{country} = 'ZZ';
    open(my $fh, '>:raw', "$dir/zz.json") or die;
    print $fh $j->encode($inv);
    close $fh;
    my $zz = `$tool render ksef $dir/zz.json $dir/zz.xml 2>&1`;
    isnt($? >> 8, 0, 'an unknown buyer country is refused');
    like($zz, qr/buyer\.address\.country is not a FA\(3\) country code/,
         'with the field named');
}

done_testing();
