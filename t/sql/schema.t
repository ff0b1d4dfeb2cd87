#!/usr/bin/perl
# Schema migrations and tenant isolation (row-level security) against the
# private PostgreSQL of tools/services.sh, in a scratch database that is
# dropped at the end. Starts the services if they are not running (and
# stops them again in that case).
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempfile);
use Cwd qw(abs_path);

my $repo = abs_path(File::Spec->catdir(dirname(abs_path($0)), '..', '..'));
my $svc  = "$repo/tools/services.sh";
my $pgbin = $ENV{HUBGATE_PG_BIN} // '/usr/lib/postgresql/15/bin';

my $started = 0;
if (system("$svc status >/dev/null 2>&1") != 0) {
    my $out = `$svc start 2>&1`;
    is($?, 0, 'services start') or BAIL_OUT("services.sh start failed:\n$out");
    $started = 1;
}
my %env = map { /^export (.*)$/ ? (map { /^(\w+)='?([^']*)'?$/ } split / /, $1) : () }
          split /\n/, `$svc env`;
my ($host, $port) = @env{qw(PGHOST PGPORT)};
ok($host && $port, "socket dir $host, port $port");

my $db = "hubgate_test_$$";
my @conn = ('-h', $host, '-p', $port);

# Run SQL as a role; returns (exit code, stdout, stderr).
sub psql {
    my ($role, $sql, $dbname) = @_;
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $sql; close $fh;
    my $err = "$file.err";
    my $out = `$pgbin/psql -X -q -At -v ON_ERROR_STOP=1 @conn -U $role -d ${\($dbname // $db)} -f $file 2>$err`;
    my $rc = $? >> 8;
    chomp $out;
    my $stderr = do { local $/; open my $e, '<', $err; my $s = <$e> // ''; close $e; $s };
    unlink $err;
    return ($rc, $out, $stderr);
}
sub q_ok {      # must succeed; returns stdout
    my ($role, $sql, $name) = @_;
    my ($rc, $out, $err) = psql($role, $sql);
    is($rc, 0, $name) or diag($err);
    return $out;
}
sub q_fails {   # must fail with an error matching $re
    my ($role, $sql, $re, $name) = @_;
    my ($rc, $out, $err) = psql($role, $sql);
    isnt($rc, 0, "$name: refused");
    like($err, $re, "$name: error says why");
}

my ($rc) = psql('postgres', "CREATE DATABASE $db OWNER hubgate;", 'postgres');
is($rc, 0, "scratch database $db") or BAIL_OUT('cannot create database');
psql('postgres', "REVOKE ALL ON SCHEMA public FROM PUBLIC;
                  GRANT USAGE ON SCHEMA public TO hubgate_app;");
END { psql('postgres', "DROP DATABASE IF EXISTS $db WITH (FORCE);", 'postgres') if $db;
      system("$svc stop >/dev/null") if $started; }

# --- migrations ---------------------------------------------------------
my @files = map { (split m{/})[-1] =~ s/\.sql$//r } sort glob("$repo/sql/[0-9]*.sql");
ok(@files >= 4, "migrations: @files");
my @migrate = ("$repo/tools/migrate.sh", @conn, '-U', 'hubgate', '-d', $db);
my $out = `@migrate 2>&1`;
is($?, 0, 'migrate runs') or diag($out);
is($out, join('', map { "migrate: $_ applied\n" } @files), 'every migration applied once, in order');
my $versions = q_ok('hubgate', 'SELECT version FROM schema_migrations ORDER BY version;', 'read schema_migrations');
is($versions, join("\n", @files), 'schema_migrations records every version');

# pg_dump's \restrict key is random per run: drop it before comparing.
my $dump = sub { join '', grep { !/^\\(un)?restrict / } `$pgbin/pg_dump -s @conn -U hubgate $db` };
my $schema1 = $dump->();
my $marks1 = q_ok('hubgate', 'SELECT version, applied_at FROM schema_migrations ORDER BY 1;', 'versions');
$out = `@migrate 2>&1`;
is($?, 0, 'second migrate runs');
is($out, join('', map { "migrate: $_ skipped\n" } @files), 'second run skips everything');
ok(length($schema1) > 10000, 'schema dump');
ok($dump->() eq $schema1, 'second run leaves the schema identical (pg_dump -s)');
is(q_ok('hubgate', 'SELECT version, applied_at FROM schema_migrations ORDER BY 1;', 'versions'),
   $marks1, 'second run leaves schema_migrations identical');

# A failing migration leaves nothing behind (one transaction per file).
{
    my $dir = File::Temp->newdir;
    system("cp $repo/sql/[0-9]*.sql $dir/");
    open my $f, '>', "$dir/999_broken.sql";
    print $f "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n"; close $f;
    local $ENV{HUBGATE_SQL_DIR} = "$dir";
    my $o = `@migrate 2>&1`;
    isnt($?, 0, 'a broken migration fails the run');
    is(q_ok('hubgate', "SELECT count(*) FROM schema_migrations WHERE version = '999_broken';", 'q'),
       0, 'broken migration not recorded');
    is(q_ok('hubgate', "SELECT to_regclass('half_done') IS NULL;", 'q'), 't', 'and its first statement rolled back');
}

# --- RLS is on every tenant-owned table --------------------------------
my $tables = q_ok('hubgate', q{
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1;}, 'list tables');
my @expect = sort qw(schema_migrations tenants tenant_keys integrations credentials
    oauth_sessions jobs sync_runs sync_cursors webhook_events external_orders
    customers products invoice_series invoices invoice_lines idempotency_keys audit_log
    seller_profiles);
is_deeply([split /\n/, $tables], \@expect, 'every table of DESIGN §4 exists');
is(q_ok('hubgate', q{
    SELECT string_agg(c.relname, ',') FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
       AND (NOT a.attnotnull OR NOT c.relrowsecurity OR NOT c.relforcerowsecurity
            OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
            OR NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid
                   AND k.contype = 'f' AND k.confdeltype = 'c'
                   AND (k.confrelid = 'tenants'::regclass
                        -- or through a parent that cascades from tenants,
                        -- by a key that starts with tenant_id
                        OR (k.conkey[1] = a.attnum
                            AND EXISTS (SELECT 1 FROM pg_constraint p
                                 WHERE p.conrelid = k.confrelid
                                   AND p.contype = 'f' AND p.confdeltype = 'c'
                                   AND p.confrelid = 'tenants'::regclass)))));}, 'q'),
   '', 'tenant_id NOT NULL, cascading FK to tenants (or through its parent), RLS enabled+forced with a policy: everywhere');
is(q_ok('hubgate', q{SELECT string_agg(conname, ',') FROM pg_constraint
    WHERE conrelid = 'invoice_lines'::regclass AND contype = 'f'
      AND confrelid = 'invoices'::regclass AND confdeltype = 'c'
      AND conkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'invoice_lines'::regclass
                        AND attname = 'tenant_id');}, 'q'),
   'invoice_lines_tenant_id_invoice_id_fkey', 'invoice lines cascade from tenants through their invoice');
is(q_ok('hubgate', q{SELECT count(*) FROM pg_attribute WHERE attname = 'tenant_id' AND attnum > 0
    AND attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r');}, 'q'),
   17, '17 tenant-owned tables (all but tenants and schema_migrations)');
is(q_ok('hubgate', q{SELECT rolsuper::text || rolbypassrls::text FROM pg_roles WHERE rolname = 'hubgate_app';}, 'q'),
   'falsefalse', 'hubgate_app is neither superuser nor BYPASSRLS');

# --- fixtures (as hubgate, which bypasses RLS) --------------------------
my $A = 'aaaaaaaa-0000-4000-8000-000000000001';
my $B = 'bbbbbbbb-0000-4000-8000-000000000002';
my ($IA1, $IA2, $IB) = ('aaaaaaaa-1111-4000-8000-000000000001',
    'aaaaaaaa-1111-4000-8000-000000000002', 'bbbbbbbb-1111-4000-8000-000000000001');
q_ok('hubgate', qq{
    INSERT INTO tenants (id, slug) VALUES ('$A', 'tenant-a'), ('$B', 'tenant-b');
    INSERT INTO tenant_keys VALUES ('$A', 1, 1, '\\x00'), ('$B', 1, 1, '\\x01');
    INSERT INTO integrations (id, tenant_id, provider, status) VALUES
        ('$IA1', '$A', 'allegro', 'active'), ('$IA2', '$A', 'stripe', 'pending'),
        ('$IB', '$B', 'allegro', 'active');
}, 'fixtures: tenants A and B, 2 + 1 integrations');

# --- isolation as the daemon's role -------------------------------------
my $sa = "SET hubgate.tenant = '$A';";
is(q_ok('hubgate_app', "$sa SELECT id FROM integrations ORDER BY id;", 'select as A'),
   "$IA1\n$IA2", 'unscoped SELECT as A: only A\'s integrations');
is(q_ok('hubgate_app', "SET hubgate.tenant = '$B'; SELECT id FROM integrations;", 'select as B'),
   $IB, 'unscoped SELECT as B: only B\'s integration');
is(q_ok('hubgate_app', "$sa SELECT count(*) FROM integrations WHERE id = '$IB';", 'q'),
   0, 'A cannot see B\'s row even by its id');
is(q_ok('hubgate_app', "$sa SELECT slug FROM tenants;", 'q'), 'tenant-a', 'A sees only its tenant row');
is(q_ok('hubgate_app', "SELECT count(*) FROM integrations;", 'no tenant'),
   0, 'without hubgate.tenant nothing is visible');
is(q_ok('hubgate_app', "BEGIN; SET LOCAL hubgate.tenant = '$A'; SELECT count(*) FROM integrations; COMMIT;
                        SELECT count(*) FROM integrations;", 'after SET LOCAL'),
   "2\n0", 'SET LOCAL scopes one transaction; afterwards (setting = \'\') nothing, and no error');
q_fails('hubgate_app', "$sa INSERT INTO integrations (tenant_id, provider) VALUES ('$B', 'stripe');",
    qr/violates row-level security policy/, 'insert for B while set to A');
q_fails('hubgate_app', "$sa UPDATE integrations SET tenant_id = '$B' WHERE id = '$IA1';",
    qr/violates row-level security policy/, 'moving A\'s row to B');
q_fails('hubgate_app', "INSERT INTO integrations (tenant_id, provider) VALUES ('$A', 'stripe');",
    qr/violates row-level security policy/, 'insert without a tenant set');
is(q_ok('hubgate_app', "$sa WITH d AS (DELETE FROM integrations WHERE id = '$IB' RETURNING 1)
                            SELECT count(*) FROM d;", 'delete B as A'),
   0, 'A deleting B\'s row deletes nothing');
is(q_ok('hubgate', "SELECT count(*) FROM integrations;", 'q'), 3, 'all three integrations still there');
q_fails('hubgate_app', "$sa SELECT * FROM schema_migrations; DELETE FROM schema_migrations;",
    qr/permission denied/, 'hubgate_app cannot alter schema_migrations');
q_fails('hubgate_app', "$sa UPDATE audit_log SET action = 'x';",
    qr/permission denied/, 'audit_log is append-only for hubgate_app');
q_fails('hubgate', "INSERT INTO credentials (tenant_id, integration_id, purpose, sealed, key_version)
                    VALUES ('$A', '$IB', 'api_key', '\\x00', 1);",
    qr/violates foreign key constraint/, 'a row of A pointing at B\'s integration (even bypassing RLS)');

# the narrow cross-tenant functions
is(q_ok('hubgate_app', "SELECT tenant_id_by_slug('tenant-b');", 'q'), $B, 'tenant_id_by_slug');
is(q_ok('hubgate_app', "SELECT integration_tenant('$IB', 'allegro') IS NOT DISTINCT FROM '$B'::uuid,
                               integration_tenant('$IB', 'stripe') IS NULL;", 'q'),
   't|t', 'integration_tenant checks the provider too');

# --- webhook_events dedup -----------------------------------------------
my $wh = "INSERT INTO webhook_events (tenant_id, provider, integration_id, event_id, body)
          VALUES ('$A', 'stripe', '$IA2', 'evt_1', '\\x7b7d')";
q_ok('hubgate_app', "$sa $wh;", 'first delivery stored');
q_fails('hubgate_app', "$sa $wh;", qr/duplicate key value violates unique constraint "webhook_events_provider_integration_id_event_id_key"/,
    'duplicate (provider, integration, event_id)');
is(q_ok('hubgate_app', "$sa WITH i AS ($wh ON CONFLICT (provider, integration_id, event_id) DO NOTHING RETURNING 1)
                            SELECT count(*) FROM i;", 'on conflict'), 0, 'redelivery with ON CONFLICT DO NOTHING inserts nothing');
is(q_ok('hubgate_app', "$sa INSERT INTO webhook_events (tenant_id, provider, integration_id, event_id, body)
                            VALUES ('$A', 'stripe', '$IA1', 'evt_1', '\\x00');
                            SELECT count(*) FROM webhook_events;", 'other integration'),
   2, 'the same event id for another integration is a different event');

# --- invoices -------------------------------------------------------------
q_ok('hubgate_app', "$sa INSERT INTO invoice_series (tenant_id, name) VALUES ('$A', 'FV');", 'series');
my $inv = "INSERT INTO invoices (tenant_id, series, currency, integration_id, source_order_id)
           VALUES ('$A', 'FV', 'PLN', '$IA1', 'order-42')";
q_ok('hubgate_app', "$sa $inv;", 'invoice for order-42');
q_fails('hubgate_app', "$sa $inv;", qr/unique constraint "invoices_source_order"/,
    'second invoice for the same (integration, source order)');
q_ok('hubgate_app', "$sa INSERT INTO invoices (tenant_id, series, number, state, currency)
                     VALUES ('$A', 'FV', 'FV/2025/1', 'issued', 'PLN');", 'issued invoice FV/2025/1');
q_fails('hubgate_app', "$sa INSERT INTO invoices (tenant_id, series, number, state, currency)
                        VALUES ('$A', 'FV', 'FV/2025/1', 'issued', 'PLN');",
    qr/unique constraint "invoices_number"/, 'duplicate number in a series');
q_fails('hubgate_app', "$sa INSERT INTO invoices (tenant_id, series, state, currency) VALUES ('$A', 'FV', 'sent', 'PLN');",
    qr/check constraint/, 'unknown state');
q_fails('hubgate_app', "$sa INSERT INTO invoices (tenant_id, series, state, currency) VALUES ('$A', 'FV', 'issued', 'PLN');",
    qr/check constraint/, 'issued without a number');
q_fails('hubgate_app', "$sa INSERT INTO invoices (tenant_id, series, kind, currency) VALUES ('$A', 'FV', 'credit_note', 'PLN');",
    qr/check constraint/, 'credit note without the invoice it corrects');

# --- jobs -----------------------------------------------------------------
my $job = sub { "INSERT INTO jobs (tenant_id, kind, unique_key) VALUES ('$_[0]', 'sync', 'sync:x')" };
q_ok('hubgate_app', "$sa " . $job->($A) . ';', 'job with unique_key queued');
q_fails('hubgate_app', "$sa " . $job->($A) . ';', qr/unique constraint "jobs_unique_active"/,
    'same unique_key while the first is queued');
q_ok('hubgate_app', "SET hubgate.tenant = '$B'; " . $job->($B) . ';', 'same key in tenant B is independent');
my $claimed = q_ok('hubgate_app', "SELECT string_agg(tenant_id::text, ',' ORDER BY tenant_id)
                                   FROM claim_jobs('w1', 10, '30 s');", 'claim');
is($claimed, "$A,$B", 'claim_jobs (no tenant set) takes ready jobs of every tenant');
is(q_ok('hubgate_app', "SELECT count(*) FROM claim_jobs('w2', 10, '30 s');", 'claim again'),
   0, 'leased jobs are not claimed twice');
q_fails('hubgate_app', "$sa " . $job->($A) . ';', qr/unique constraint "jobs_unique_active"/,
    'same unique_key while the first is running');
# leases are judged by the database's clock, never by p_now (the test
# clock): make them run out, as a dead worker's would
q_ok('hubgate', "UPDATE jobs SET lease_expires_at = now() - interval '1 s'"
    . " WHERE status = 'running';", 'leases run out');
is(q_ok('hubgate_app', "SELECT lease_owner || ':' || attempts FROM claim_jobs('w3', 10, '30 s');",
        'reclaim'), "w3:2\nw3:2", 'an expired lease is taken again by another worker');
is(q_ok('hubgate_app', "SELECT count(*) FROM claim_jobs('w4', 10, '30 s', now() + interval '1 h');",
        'no steal'), 0, 'a test clock ahead of the database does not make a live lease look expired');
q_ok('hubgate_app', "$sa UPDATE jobs SET status = 'done', finished_at = now(); " . $job->($A) . ';',
    'once done, the unique_key can be queued again');

# --- deleting a tenant ----------------------------------------------------
q_ok('hubgate', "INSERT INTO invoice_series (tenant_id, name) VALUES ('$B', 'B');
                 INSERT INTO invoices (id, tenant_id, series, currency)
                 VALUES ('bbbbbbbb-2222-4000-8000-000000000001', '$B', 'B', 'PLN');
                 INSERT INTO invoice_lines (tenant_id, invoice_id, line_no,
                        description, quantity, unit_price, net_minor, vat_category)
                 VALUES ('$B', 'bbbbbbbb-2222-4000-8000-000000000001', 1, 'x', 1, 1, 100, 'S');",
     'an invoice with a line for B');
is(q_ok('hubgate', "DELETE FROM tenants WHERE id = '$B';
                    SELECT (SELECT count(*) FROM tenant_keys WHERE tenant_id = '$B')
                         + (SELECT count(*) FROM integrations WHERE tenant_id = '$B')
                         + (SELECT count(*) FROM jobs WHERE tenant_id = '$B')
                         + (SELECT count(*) FROM invoices WHERE tenant_id = '$B')
                         + (SELECT count(*) FROM invoice_lines WHERE tenant_id = '$B');", 'delete B'),
   0, 'deleting a tenant removes its data keys and rows, invoice lines too');

done_testing();
