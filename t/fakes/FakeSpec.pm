package FakeSpec;

# Just enough of an OpenAPI 3 YAML file (the block style the published
# Allegro spec uses: two-space indents, one key per line) to check a fake
# against it, without a YAML module:
#
#   read($file) -> {
#       paths   => { '/order/events' => { get => 1 }, ... },
#       media   => { '/order/events' => { get => 'application/...' } },
#                  (the first media type of the 200 response)
#       schemas => { CheckoutForm => { props => { id => undef,
#                        buyer => 'CheckoutFormBuyerReference', ... },
#                    required => [ 'id', ... ] }, ... },
#       oauth_paths => [ '/auth/oauth/authorize', ... ],
#   }
#
# A property's schema is the first $ref inside its block (a direct $ref,
# an array's items, the first allOf member): what a shape check needs.
#
#   check($schemas, $name, $value, $where, \@errors, \%visited)
#
# appends "where.key: not in Schema" and "where: missing required key"
# errors, recursing into hashes and arrays of hashes; %visited collects the
# schema names checked.

use strict;
use warnings;


sub read {
    my ($file) = @_;

    open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!\n";

    my %out = (paths => {}, media => {}, schemas => {}, oauth_paths => []);
    my ($section, $path, $method, $in200, $schema, $part, $prop);

    while (my $l = <$fh>) {
        chomp $l;

        if ($l =~ /^(\w+):/) {
            $section = $1;
            next;
        }

        if ($l =~ /^  (\w+):\s*$/) {
            my $sub = $1;
            if ($section =~ /^components\b/) {
                $section = "components.$sub";
                next;
            }
        }

        if (0) {
            next;
        }

        if ($section eq 'paths') {
            if ($l =~ m{^  (/\S*):\s*$}) {
                ($path, $method, $in200) = ($1, undef, 0);
            } elsif ($l =~ /^    (get|put|post|delete|patch|head):\s*$/) {
                $method = $1;
                $out{paths}{$path}{$method} = 1;
                $in200 = 0;
            } elsif ($l =~ /^        '?(\d{3})'?:\s*$/) {
                $in200 = $1 eq '200';
            } elsif ($in200 && $l =~ m{^            ([\w.+/-]+/[\w.+-]+):\s*$}
                     && !defined $out{media}{$path}{$method})
            {
                $out{media}{$path}{$method} = $1;
            }
            next;
        }

        if ($section eq 'components.securitySchemes') {
            if ($l =~ m{^\s+(?:authorizationUrl|tokenUrl):
                        \s*https?://[^/]+(/\S*)}x)
            {
                push @{ $out{oauth_paths} }, $1
                    if !grep { $_ eq $1 } @{ $out{oauth_paths} };
            }
            next;
        }

        if ($section eq 'components.schemas') {
            if ($l =~ /^    ([\w.-]+):\s*$/) {
                $schema = $out{schemas}{$1} = { props => {}, required => [] };
                ($part, $prop) = (undef, undef);
            } elsif ($l =~ /^      (\w+):/) {
                $part = $1;
                $prop = undef;
            } elsif (($part // '') eq 'properties'
                     && $l =~ /^        ([\w\$.@-]+):/)
            {
                $prop = $1;
                $schema->{props}{$prop} = undef;
            } elsif (($part // '') eq 'properties' && defined $prop
                     && $l =~ m{\$ref: '?#/components/schemas/([\w.-]+)'?}
                     && !defined $schema->{props}{$prop})
            {
                $schema->{props}{$prop} = $1;
            } elsif (($part // '') eq 'required'
                     && $l =~ /^        - (\S+)\s*$/)
            {
                push @{ $schema->{required} }, $1;
            }
            next;
        }
    }

    close $fh;

    return \%out;
}

sub check {
    my ($schemas, $name, $value, $where, $errors, $visited) = @_;

    my $s = $schemas->{$name} or return;
    return if !%{ $s->{props} };

    $visited->{$name} = 1;

    if (ref $value ne 'HASH') {
        push @$errors, "$where: not an object ($name)";
        return;
    }

    for my $k (@{ $s->{required} }) {
        push @$errors, "$where: missing required $k ($name)"
            if !exists $value->{$k};
    }

    for my $k (sort keys %$value) {
        if (!exists $s->{props}{$k}) {
            push @$errors, "$where.$k: not in $name";
            next;
        }

        my $ref = $s->{props}{$k} // next;
        my $v = $value->{$k};

        if (ref $v eq 'HASH') {
            check($schemas, $ref, $v, "$where.$k", $errors, $visited);
        } elsif (ref $v eq 'ARRAY') {
            for my $i (0 .. $#$v) {
                next if ref $v->[$i] ne 'HASH';
                check($schemas, $ref, $v->[$i], "$where.$k\[$i\]", $errors,
                    $visited);
            }
        }
    }
}


1;
