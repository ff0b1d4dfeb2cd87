#!/usr/bin/perl

# sidecar/api/openapi.json describes exactly the routes hubgated serves:
# the same (method, path) set as `hubgated routes` prints, each operation
# with an operationId, summary, tags, a 2xx answer, 401 unless the route
# needs no signature, 403 for tenant and admin routes, Idempotency-Key on
# every POST; every $ref resolves and every schema's `required` names only
# its properties.
#
# The route table comes from `$HUBGATED routes` (default build/hubgated),
# one line per route: "METHOD PATH AUTH", AUTH one of none, signed, tenant,
# admin.  Without the binary the comparison fails (and the per-route
# checks that need AUTH, 403 and the security of /healthz, cannot run).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use Test::More;

my $REPO = abs_path(File::Spec->catdir(dirname(abs_path($0)), '..', '..'));
my $DOC_FILE = File::Spec->catfile($REPO, 'sidecar', 'api', 'openapi.json');
my $DOC_REL = 'sidecar/api/openapi.json';

my @METHODS = qw(get put post delete options head patch trace);
my %AUTHS = map { $_ => 1 } qw(none signed tenant admin);

# schema keywords whose value is a schema, a list or a map of schemas
my @SUB_ONE = qw(additionalProperties items contains propertyNames
    unevaluatedItems unevaluatedProperties not if then else);
my @SUB_LIST = qw(prefixItems allOf anyOf oneOf);
my @SUB_MAP = qw(properties patternProperties dependentSchemas $defs);
# combinators: their subschemas may require what the enclosing schema lists
my %COMBINATOR = map { $_ => 1 }
    qw(not if then else allOf anyOf oneOf dependentSchemas);
# objects whose keys are names (of properties, components, headers...),
# whatever those names are
my %NAME_MAPS = map { $_ => 1 } qw(properties patternProperties $defs
    dependentSchemas paths schemas responses parameters headers
    securitySchemes requestBodies callbacks links pathItems content
    encoding webhooks mapping variables);


###############################################################################
# the document

my $doc = load_doc($DOC_FILE);

is($doc->{openapi}, '3.1.0', "$DOC_REL: openapi is \"3.1.0\"");
ok(ref $doc->{info} eq 'HASH' && nonempty($doc->{info}{title}),
    "$DOC_REL: info.title is a non-empty string");
ok(ref $doc->{info} eq 'HASH' && nonempty($doc->{info}{version}),
    "$DOC_REL: info.version is a non-empty string");
ok(ref $doc->{paths} eq 'HASH' && %{ $doc->{paths} },
    "$DOC_REL: paths is a non-empty object")
    or done_and_exit();

# operations: "GET /path" => { op, path, method, pointer, params }
my %ops;

for my $path (sort keys %{ $doc->{paths} }) {
    my $item = $doc->{paths}{$path};

    if (ref $item ne 'HASH') {
        fail("$DOC_REL: paths.$path is not an object");
        next;
    }

    for my $m (@METHODS) {
        next if !exists $item->{$m};

        my $op = $item->{$m};
        my $key = uc($m) . " $path";
        my $ptr = '#/paths/' . ptr_escape($path) . "/$m";

        if (ref $op ne 'HASH') {
            fail("$key: $ptr is not an object");
            next;
        }

        $ops{$key} = { op => $op, path => $path, method => uc $m,
            pointer => $ptr,
            params => [ @{ $item->{parameters} || [] },
                        @{ $op->{parameters} || [] } ] };
    }
}


###############################################################################
# the route table

my $HUBGATED = $ENV{HUBGATED}
    // File::Spec->catfile($REPO, 'build', 'hubgated');
my ($routes, $why_not) = route_table($HUBGATED);
(my $SHOWN = $HUBGATED) =~ s{^\Q$REPO\E/}{};

# `make test` builds hubgated first: a missing table is a failure, never a
# skip, so the document cannot drift unnoticed
ok($routes, "the route table of `$SHOWN routes`") or diag($why_not);

if ($routes) {
    my %doc_set = map { $_ => 1 } keys %ops;
    my %tab_set = map { $_ => 1 } keys %$routes;

    my @not_in_doc = sort grep { !$doc_set{$_} } keys %tab_set;
    my @not_in_tab = sort grep { !$tab_set{$_} } keys %doc_set;

    ok(!@not_in_doc, "every route of `$SHOWN routes` ("
        . keys(%tab_set) . ") is in $DOC_REL")
        or diag("routes missing from $DOC_REL:\n"
                . join('', map { "  $_ ($routes->{$_})\n" } @not_in_doc));

    ok(!@not_in_tab, "every operation of $DOC_REL (" . keys(%doc_set)
        . ") is a route of hubgated")
        or diag("operations in $DOC_REL that hubgated does not route:\n"
                . join('', map { "  $_\n" } @not_in_tab));
}


###############################################################################
# operations

my %declared_tags = map { ref $_ eq 'HASH' ? ($_->{name} // '' => 1) : () }
    @{ $doc->{tags} || [] };
my %op_ids;

for my $key (sort { $ops{$a}{path} cmp $ops{$b}{path}
                    || $ops{$a}{method} cmp $ops{$b}{method} } keys %ops)
{
    my $o = $ops{$key};
    my $op = $o->{op};
    my $auth = $routes ? $routes->{$key} : undef;
    my $responses = ref $op->{responses} eq 'HASH' ? $op->{responses} : {};
    my @problems;

    # operationId, unique
    if (!nonempty($op->{operationId})) {
        push @problems, 'no operationId';
    } elsif ($op_ids{ $op->{operationId} }) {
        push @problems, "operationId \"$op->{operationId}\" is also the one"
            . " of $op_ids{ $op->{operationId} }";
    } else {
        $op_ids{ $op->{operationId} } = $key;
    }

    push @problems, 'no summary' if !nonempty($op->{summary});

    if (ref $op->{tags} ne 'ARRAY' || !@{ $op->{tags} }) {
        push @problems, 'no tags';
    } else {
        push @problems, map { "tag \"$_\" is not declared in the top-level"
            . " tags" } grep { !$declared_tags{$_} } @{ $op->{tags} };
    }

    push @problems, 'responses is not an object'
        if ref $op->{responses} ne 'HASH';
    push @problems, 'no 2xx response'
        if !grep { /^2(?:\d\d|XX)$/ } keys %$responses;

    # who may call it: the route table's AUTH, or else the document's say
    my $security = exists $op->{security} ? $op->{security}
        : $doc->{security};
    my $doc_open = ref $security ne 'ARRAY' || !@$security
        || grep { ref $_ eq 'HASH' && !%$_ } @$security;

    if (defined $auth) {
        push @problems, "route auth is none but the document requires"
            . " security (set \"security\": [])"
            if $auth eq 'none' && !$doc_open;
        push @problems, "route auth is $auth but the document makes the"
            . " operation open (security empty)"
            if $auth ne 'none' && $doc_open;
    }

    my $needs_401 = defined $auth ? $auth ne 'none' : !$doc_open;

    push @problems, 'no 401 response (route auth '
        . ($auth // 'unknown, document security set') . ')'
        if $needs_401 && !exists $responses->{401};

    push @problems, "no 403 response (route auth $auth)"
        if defined $auth && ($auth eq 'tenant' || $auth eq 'admin')
           && !exists $responses->{403};

    if (defined $auth && $auth eq 'admin' && exists $responses->{403}) {
        my $r = deref($responses->{403});
        push @problems, '403 response does not say that role admin is'
            . ' required'
            if ref $r ne 'HASH' || ($r->{description} // '') !~ /admin/i;
    }

    # every answer names X-Request-Id
    for my $status (sort keys %$responses) {
        my $r = deref($responses->{$status});
        next if !defined $r;   # reported by the $ref check
        my $h = ref $r eq 'HASH' && ref $r->{headers} eq 'HASH'
            ? $r->{headers} : {};
        push @problems, "response $status has no X-Request-Id header"
            if !grep { lc eq 'x-request-id' } keys %$h;
    }

    # parameters: Idempotency-Key on POST, every path template declared
    my @params = grep { ref eq 'HASH' } map { deref($_) } @{ $o->{params} };

    push @problems, 'no Idempotency-Key header parameter (POST)'
        if $o->{method} eq 'POST'
           && !grep { ($_->{in} // '') eq 'header'
                      && lc($_->{name} // '') eq 'idempotency-key' } @params;

    for my $name ($o->{path} =~ /\{([^}]+)\}/g) {
        push @problems, "path parameter {$name} is not declared as a"
            . " required \"in\": \"path\" parameter"
            if !grep { ($_->{in} // '') eq 'path'
                       && ($_->{name} // '') eq $name && $_->{required} }
                   @params;
    }

    ok(!@problems, "$key" . (defined $auth ? " ($auth)" : '')
        . ": operationId, summary, tags, responses, parameters")
        or diag(map { "  $key ($o->{pointer}): $_\n" } @problems);
}

my @items = grep { ref $doc->{paths}{$_} eq 'HASH' }
    sort keys %{ $doc->{paths} };
my @empty_items = grep { my $i = $doc->{paths}{$_};
    !grep { exists $i->{$_} } @METHODS } @items;
ok(!@empty_items, 'every path item has at least one operation')
    or diag("path items without an operation: @empty_items");


###############################################################################
# $refs

my @refs;
walk_refs($doc, '#', \@refs);

my @bad_refs;

for my $r (@refs) {
    my ($where, $ref) = @$r;

    if (ref $ref || !defined $ref) {
        push @bad_refs, "$where: \$ref is not a string";
    } elsif ($ref !~ m{^#/}) {
        push @bad_refs, "$where: \$ref \"$ref\" is not local (#/...)";
    } elsif (!defined resolve($ref)) {
        push @bad_refs, "$where: \$ref \"$ref\" does not resolve";
    }
}

ok(@refs > 0 && !@bad_refs, "every \$ref resolves (" . @refs . " refs)")
    or diag(@refs ? map { "  $_\n" } @bad_refs : "  no \$ref at all?\n");


###############################################################################
# required members of schemas

my @schemas;   # [pointer, schema, inherited property names]

for my $name (sort keys %{ $doc->{components}{schemas} || {} }) {
    collect_schemas($doc->{components}{schemas}{$name},
        '#/components/schemas/' . ptr_escape($name), {}, \@schemas);
}

find_schema_slots($doc, '#', \@schemas);

my @bad_required;

for my $s (@schemas) {
    my ($where, $schema, $inherited) = @$s;

    next if !exists $schema->{required};

    if (ref $schema->{required} ne 'ARRAY') {
        push @bad_required, "$where: required is not an array";
        next;
    }

    my %props = (%$inherited, map { $_ => 1 } own_properties($schema));

    for my $name (@{ $schema->{required} }) {
        push @bad_required, "$where: required \"$name\" is not in its"
            . " properties" . (%props ? ' (' . join(', ', sort keys %props)
            . ')' : ' (it has none)')
            if !$props{$name};
    }
}

ok(@schemas > 0 && !@bad_required, "every schema's required members are in"
    . " its properties (" . @schemas . " schemas)")
    or diag(map { "  $_\n" } @bad_required);

done_testing();


###############################################################################

sub done_and_exit {
    done_testing();
    exit 0;
}

sub nonempty {
    my ($v) = @_;

    return defined $v && !ref $v && length $v;
}

sub load_doc {
    my ($file) = @_;

    my $fh;

    if (!open $fh, '<:raw', $file) {
        fail("$DOC_REL: cannot open $file: $!");
        done_and_exit();
    }

    my $text = do { local $/; <$fh> };
    close $fh;

    my $doc = eval { JSON::PP->new->utf8->decode($text) };

    if (!$doc) {
        (my $err = $@ || 'not a JSON value') =~ s/\s+\z//;
        fail("$DOC_REL is JSON");
        diag("  $err");
        done_and_exit();
    }

    if (ref $doc ne 'HASH') {
        fail("$DOC_REL is a JSON object");
        done_and_exit();
    }

    pass("$DOC_REL is a JSON object");

    return $doc;
}

# (table, undef) or (undef, why there is none); a broken table fails here

sub route_table {
    my ($bin) = @_;

    (my $shown = $bin) =~ s{^\Q$REPO\E/}{};

    if (!-e $bin) {
        return (undef, "$shown not found (build hubgated, or set HUBGATED):"
            . " route table not compared")
            if !defined $ENV{HUBGATED};

        fail("HUBGATED=$bin exists");
        return (undef, "HUBGATED=$bin does not exist");
    }

    if (!-f $bin || !-x $bin) {
        return (undef, "$shown is not an executable file (rebuild"
            . " hubgated, or set HUBGATED): route table not compared")
            if !defined $ENV{HUBGATED};

        fail("HUBGATED=$bin is an executable file");
        return (undef, "HUBGATED=$bin is not executable");
    }

    my $out = '';
    my $fh;

    if (!open $fh, '-|', $bin, 'routes') {
        fail("`$shown routes` runs");
        diag("  $!");
        return (undef, "`$shown routes` does not run");
    }

    my $timed_out = 0;

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 30;
        local $/;
        $out = <$fh> // '';
        alarm 0;
        1;
    } or do {
        alarm 0;
        $timed_out = 1;
    };

    close $fh;
    my $status = $?;

    if ($timed_out) {
        fail("`$shown routes` finishes within 30 s");
        return (undef, "`$shown routes` timed out");
    }

    if ($status != 0) {
        fail("`$shown routes` exits 0");
        diag("  exit status " . ($status >> 8)
            . ($status & 127 ? ", signal " . ($status & 127) : '')
            . "; it printed:\n$out");
        return (undef, "`$shown routes` failed");
    }

    my (%table, @bad);
    my $n = 0;

    for my $line (split /\n/, $out) {
        $n++;
        next if $line =~ /^\s*$/;

        my ($method, $path, $auth) =
            $line =~ m{^([A-Z]+) (/\S*) (\S+)\s*$};

        if (!defined $auth) {
            push @bad, "line $n is not \"METHOD PATH AUTH\": \"$line\"";
        } elsif (!$AUTHS{$auth}) {
            push @bad, "line $n: auth \"$auth\" is none of "
                . join(', ', sort keys %AUTHS) . ": \"$line\"";
        } elsif (exists $table{"$method $path"}) {
            push @bad, "line $n: $method $path is listed twice";
        } else {
            $table{"$method $path"} = $auth;
        }
    }

    push @bad, 'it printed no route' if !%table && !@bad;

    ok(!@bad, "`$shown routes` prints a well-formed route table ("
        . keys(%table) . " routes)")
        or diag(map { "  $_\n" } @bad);

    # the well-formed lines are still worth comparing
    return %table ? (\%table, undef)
        : (undef, "`$shown routes` printed no usable route");
}

sub ptr_escape {
    my ($s) = @_;

    $s =~ s/~/~0/g;
    $s =~ s{/}{~1}g;

    return $s;
}

# a local JSON pointer reference ("#/a/b~1c"), or undef

sub resolve {
    my ($ref) = @_;

    return undef if $ref !~ m{^#(/.*)?$};

    my $node = $doc;

    for my $tok (split m{/}, substr($ref, 2), -1) {
        $tok =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        $tok =~ s/~1/\//g;
        $tok =~ s/~0/~/g;

        if (ref $node eq 'HASH') {
            return undef if !exists $node->{$tok};
            $node = $node->{$tok};
        } elsif (ref $node eq 'ARRAY') {
            return undef if $tok !~ /^(?:0|[1-9]\d*)$/ || $tok >= @$node;
            $node = $node->[$tok];
        } else {
            return undef;
        }
    }

    return $node;
}

# follows $ref chains (bounded); undef when one does not resolve

sub deref {
    my ($node) = @_;

    for (1 .. 16) {
        return $node if ref $node ne 'HASH' || !exists $node->{'$ref'};
        return undef if ref $node->{'$ref'};
        $node = resolve($node->{'$ref'});
    }

    return undef;
}

# every $ref with where it is; example values are data and not walked
# ($ctx: "names" for a map keyed by names, "examples" for a map of Example
# Objects, "example" for one Example Object)

sub walk_refs {
    my ($node, $where, $out, $ctx) = @_;

    $ctx //= '';

    if (ref $node eq 'HASH') {
        push @$out, [ $where, $node->{'$ref'} ]
            if exists $node->{'$ref'} && $ctx ne 'names';

        for my $k (sort keys %$node) {
            my $w = "$where/" . ptr_escape($k);
            my $v = $node->{$k};

            if ($ctx eq 'names') {
                walk_refs($v, $w, $out, '');
                next;
            }

            if ($ctx eq 'examples') {
                walk_refs($v, $w, $out, 'example');
                next;
            }

            next if $k eq '$ref' || $k eq 'example';
            next if $ctx eq 'example' && $k eq 'value';
            next if $k eq 'examples' && ref $v ne 'HASH';

            walk_refs($v, $w, $out, $k eq 'examples' ? 'examples'
                : $NAME_MAPS{$k} && ref $v eq 'HASH' ? 'names' : '');
        }

    } elsif (ref $node eq 'ARRAY') {
        walk_refs($node->[$_], "$where/$_", $out, '') for 0 .. $#$node;
    }
}

sub own_properties {
    my ($schema) = @_;

    return ref $schema->{properties} eq 'HASH'
        ? keys %{ $schema->{properties} } : ();
}

# a schema and every subschema of it, with the property names a combinator
# subschema may require from the schema around it (and its allOf members)

sub collect_schemas {
    my ($schema, $where, $inherited, $out) = @_;

    return if ref $schema ne 'HASH';

    push @$out, [ $where, $schema, $inherited ];

    my %around = (%$inherited, map { $_ => 1 } own_properties($schema));

    for my $member (@{ ref $schema->{allOf} eq 'ARRAY' ? $schema->{allOf}
                       : [] })
    {
        my $m = deref($member);
        %around = (%around, map { $_ => 1 } own_properties($m))
            if ref $m eq 'HASH';
    }

    my $pass = sub { $COMBINATOR{ $_[0] } ? \%around : {} };

    for my $k (@SUB_ONE) {
        collect_schemas($schema->{$k}, "$where/$k", $pass->($k), $out)
            if ref $schema->{$k} eq 'HASH';
    }

    for my $k (@SUB_LIST) {
        next if ref $schema->{$k} ne 'ARRAY';
        collect_schemas($schema->{$k}[$_], "$where/$k/$_", $pass->($k), $out)
            for 0 .. $#{ $schema->{$k} };
    }

    for my $k (@SUB_MAP) {
        next if ref $schema->{$k} ne 'HASH';
        collect_schemas($schema->{$k}{$_}, "$where/$k/" . ptr_escape($_),
            $pass->($k), $out)
            for sort keys %{ $schema->{$k} };
    }
}

# schemas outside components.schemas: "schema" of parameters, headers and
# media types

sub find_schema_slots {
    my ($node, $where, $out) = @_;

    if (ref $node eq 'HASH') {
        for my $k (sort keys %$node) {
            next if $where eq '#/components' && $k eq 'schemas';
            next if $k eq 'example' || $k eq 'examples';

            my $w = "$where/" . ptr_escape($k);

            if ($k eq 'schema' && ref $node->{$k} eq 'HASH') {
                collect_schemas($node->{$k}, $w, {}, $out);
            } else {
                find_schema_slots($node->{$k}, $w, $out);
            }
        }

    } elsif (ref $node eq 'ARRAY') {
        find_schema_slots($node->[$_], "$where/$_", $out) for 0 .. $#$node;
    }
}
