-- 004_invoices: numbering series, invoices and credit notes, their lines.
-- Money is bigint minor units of the document currency (ISO 4217 exponent)
-- plus char(3) currency: exact, never floating point. Quantities and unit
-- prices are numeric with more places. Tenant isolation as in 001_core.sql.

-- invoice_series: gapless numbering. Issuing locks the row
-- (SELECT ... FOR UPDATE), resets next_seq when the period (YYYY or YYYY-MM)
-- changes, formats the pattern, increments, all in the issuing transaction:
-- a rollback gives the number back, so no gaps and no duplicates.
CREATE TABLE invoice_series (
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    pattern        text NOT NULL DEFAULT 'FV/{YYYY}/{MM}/{SEQ}',
    next_seq       bigint NOT NULL DEFAULT 1 CHECK (next_seq > 0),
    reset          text NOT NULL DEFAULT 'yearly'
                   CHECK (reset IN ('never', 'yearly', 'monthly')),
    current_period text,                    -- '2025' or '2025-03'; NULL until first use
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE invoice_series ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_series
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON invoice_series TO hubgate_app;

CREATE TABLE invoices (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kind                text NOT NULL DEFAULT 'invoice'
                        CHECK (kind IN ('invoice', 'credit_note')),
    state               text NOT NULL DEFAULT 'draft' CHECK (state IN
                        ('draft', 'issued', 'paid', 'overdue', 'cancelled')),
    series              text NOT NULL,
    number              text,               -- assigned at issue, from the series
    seq                 bigint,
    corrects_invoice_id uuid,               -- credit note -> the invoice it corrects
    -- source order: an invoice generated from a synced order. Kept as the
    -- provider's order id (not a FK) so the guard survives re-syncs.
    integration_id      uuid,
    source_order_id     text,
    customer_id         uuid,
    seller              jsonb NOT NULL DEFAULT '{}',   -- snapshots at issue time
    buyer               jsonb NOT NULL DEFAULT '{}',
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    vat_currency        char(3) CHECK (vat_currency ~ '^[A-Z]{3}$'),  -- CIUS-RO: RON
    issue_date          date,
    due_date            date,
    -- EN 16931 document totals (BT-106..BT-115), minor units of currency
    line_total_minor      bigint NOT NULL DEFAULT 0,
    allowance_total_minor bigint NOT NULL DEFAULT 0,
    charge_total_minor    bigint NOT NULL DEFAULT 0,
    net_total_minor       bigint NOT NULL DEFAULT 0,   -- tax exclusive
    vat_total_minor       bigint NOT NULL DEFAULT 0,
    gross_total_minor     bigint NOT NULL DEFAULT 0,   -- tax inclusive
    prepaid_minor         bigint NOT NULL DEFAULT 0,
    payable_minor         bigint NOT NULL DEFAULT 0,
    vat_total_vat_currency_minor bigint,               -- BT-111
    allowances_charges  jsonb NOT NULL DEFAULT '[]',   -- document level
    vat_breakdown       jsonb NOT NULL DEFAULT '[]',   -- per category/rate
    notes               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    issued_at           timestamptz,
    paid_at             timestamptz,
    cancelled_at        timestamptz,
    UNIQUE (tenant_id, id),
    CHECK ((kind = 'credit_note') = (corrects_invoice_id IS NOT NULL)),
    CHECK (state IN ('draft', 'cancelled') OR number IS NOT NULL),
    FOREIGN KEY (tenant_id, series) REFERENCES invoice_series (tenant_id, name),
    FOREIGN KEY (tenant_id, corrects_invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id)
        REFERENCES customers (tenant_id, id) ON DELETE SET NULL (customer_id),
    -- an invoice is a legal document: it outlives the integration
    FOREIGN KEY (tenant_id, integration_id)
        REFERENCES integrations (tenant_id, id) ON DELETE SET NULL (integration_id)
);
-- gapless numbering: never two documents with one number in a series
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, series, number)
    WHERE number IS NOT NULL;
-- never invoice one order twice (credit notes correct, they don't re-invoice)
CREATE UNIQUE INDEX invoices_source_order ON invoices (integration_id, source_order_id)
    WHERE kind = 'invoice' AND source_order_id IS NOT NULL;
CREATE INDEX invoices_list ON invoices (tenant_id, created_at DESC);
CREATE INDEX invoices_state ON invoices (tenant_id, state, issue_date);
CREATE INDEX invoices_overdue ON invoices (due_date) WHERE state = 'issued';  -- scheduler
CREATE INDEX invoices_corrects ON invoices (corrects_invoice_id) WHERE corrects_invoice_id IS NOT NULL;
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
-- no DELETE: issued documents are never removed, only cancelled/credited
GRANT SELECT, INSERT, UPDATE ON invoices TO hubgate_app;

CREATE TABLE invoice_lines (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    invoice_id      uuid NOT NULL,
    line_no         integer NOT NULL CHECK (line_no > 0),
    product_id      uuid,
    description     text NOT NULL,
    quantity        numeric(20, 6) NOT NULL,       -- may be negative (returns)
    unit_code       text NOT NULL DEFAULT 'C62',   -- UN/ECE rec 20
    unit_price      numeric(24, 8) NOT NULL CHECK (unit_price >= 0),  -- BT-146
    allowance_minor bigint NOT NULL DEFAULT 0,
    charge_minor    bigint NOT NULL DEFAULT 0,
    net_minor       bigint NOT NULL,               -- BT-131, rounded to 2 places
    vat_category    text NOT NULL CHECK (vat_category IN ('S', 'Z', 'E', 'AE', 'K', 'G', 'O', 'L', 'M')),
    vat_rate        numeric(5, 2) NOT NULL DEFAULT 0 CHECK (vat_rate >= 0),
    vat_exemption   text,
    UNIQUE (invoice_id, line_no),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id)
        REFERENCES products (tenant_id, id) ON DELETE SET NULL (product_id)
);
ALTER TABLE invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_lines
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON invoice_lines TO hubgate_app;
