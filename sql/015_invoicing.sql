-- 015_invoicing: the seller's profile, numbering, the lifecycle of
-- invoices and credit notes, and invoices generated from synced orders.
-- Tenant isolation as in 001_core.sql.
--
-- An invoice row keeps its content twice: the columns (totals, parties,
-- lines in invoice_lines) for lists and reports, and `document`, the
-- invoice as POST /v1/invoices takes it (invoice/invoice.h), from which
-- hubgated renders JSON, UBL, FA(3) and PDF.  The document never holds the
-- number, the issue date, the due date or the kind: those live in the
-- columns, set when the invoice is issued.  Totals are computed by
-- hubgated (invoice/compute.c, EN 16931) and only stored here.

-- the seller: the party every invoice of the tenant is issued by, and how
-- it is paid.  {"seller": <party>, "payment": {means_code, iban, bic,
-- terms}, "payment_days": 14}
CREATE TABLE seller_profiles (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    profile    jsonb NOT NULL CHECK (jsonb_typeof(profile) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE seller_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE seller_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON seller_profiles
    USING (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('hubgate.tenant', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON seller_profiles TO hubgate_app;

ALTER TABLE invoices
    ADD COLUMN document jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(document) = 'object');
ALTER TABLE invoices ALTER COLUMN document SET COMPRESSION lz4;

-- a credit note's line names the line of the invoice it corrects, so that
-- partial credit notes never credit more than was invoiced
ALTER TABLE invoice_lines ADD COLUMN corrects_line_no integer;
-- A line belongs to its tenant through its invoice: the composite key
-- (tenant_id, invoice_id) -> invoices (tenant_id, id) ON DELETE CASCADE
-- already proves the tenant and removes the lines with the tenant's
-- invoices, so the line's own key to tenants only cost a lookup per line
-- (a sync that invoices writes hundreds a page; about a fifth of storing
-- them).  t/sql/schema.t accepts the cascade through the parent.
ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_tenant_id_fkey;

ALTER TABLE sync_runs
    ADD COLUMN invoices_created integer NOT NULL DEFAULT 0,
    ADD COLUMN invoices_failed  integer NOT NULL DEFAULT 0,
    ADD COLUMN invoice_error    text;


-- A pattern is text with {YYYY}, {YY}, {MM} and exactly one {SEQ} or
-- {SEQ:n} (n = 1..9, zero padding).  A series that resets yearly must
-- name the year, one that resets monthly the year and the month, or its
-- numbers would repeat.  NULL when good, else what is wrong.
CREATE FUNCTION invoice_pattern_error(p_pattern text, p_reset text)
    RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_rest text;
BEGIN
    IF p_pattern IS NULL OR length(p_pattern) NOT BETWEEN 1 AND 64 THEN
        RETURN 'pattern must be 1 to 64 characters';
    END IF;
    IF p_reset IS NULL OR p_reset NOT IN ('never', 'yearly', 'monthly') THEN
        RETURN 'reset must be never, yearly or monthly';
    END IF;
    IF (SELECT count(*) FROM regexp_matches(p_pattern, '\{SEQ(:[1-9])?\}', 'g')) <> 1
    THEN
        RETURN 'pattern must hold exactly one {SEQ} or {SEQ:n} (n 1..9)';
    END IF;
    v_rest := regexp_replace(p_pattern, '\{(YYYY|YY|MM|SEQ(:[1-9])?)\}', '', 'g');
    IF v_rest ~ '[{}]' THEN
        RETURN 'pattern may only use {YYYY}, {YY}, {MM} and {SEQ} or {SEQ:n}';
    END IF;
    IF v_rest ~ '[[:cntrl:]]' THEN
        RETURN 'pattern must not hold control characters';
    END IF;
    IF p_reset IN ('yearly', 'monthly') AND p_pattern !~ '\{YYYY\}|\{YY\}' THEN
        RETURN 'a series that resets ' || p_reset || ' must name the year ({YYYY} or {YY})';
    END IF;
    IF p_reset = 'monthly' AND p_pattern !~ '\{MM\}' THEN
        RETURN 'a series that resets monthly must name the month ({MM})';
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE invoice_series
    ADD CONSTRAINT invoice_series_pattern
        CHECK (invoice_pattern_error(pattern, reset) IS NULL);

-- the number of seq in a series' pattern on date
CREATE FUNCTION invoice_number_format(p_pattern text, p_date date,
                                      p_seq bigint)
    RETURNS text LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v   text := p_pattern;
    pad integer;
BEGIN
    v := replace(v, '{YYYY}', to_char(p_date, 'YYYY'));
    v := replace(v, '{YY}', to_char(p_date, 'YY'));
    v := replace(v, '{MM}', to_char(p_date, 'MM'));
    pad := coalesce((regexp_match(v, '\{SEQ:([1-9])\}'))[1]::integer, 0);
    RETURN regexp_replace(v, '\{SEQ(:[1-9])?\}',
                          lpad(p_seq::text, greatest(pad, length(p_seq::text)), '0'));
END
$$;

-- the period a date falls in for a series' reset
CREATE FUNCTION invoice_period(p_reset text, p_date date)
    RETURNS text LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_reset WHEN 'yearly' THEN to_char(p_date, 'YYYY')
                        WHEN 'monthly' THEN to_char(p_date, 'YYYY-MM')
                        ELSE '' END
$$;

-- Takes p_n numbers of a series (made with the defaults on first use) for
-- documents issued on p_date, in the caller's transaction.  The series row
-- stays locked until that transaction ends, so concurrent issuers queue
-- and a rollback gives the numbers back: no gap, no duplicate.  A date in
-- a period before the one the series reached is refused (numbers follow
-- the calendar).  first_seq NULL with error set when refused.
CREATE FUNCTION invoice_series_take(p_series text, p_date date, p_n integer,
                                    OUT first_seq bigint, OUT pattern text,
                                    OUT error text)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_tenant uuid := current_setting('hubgate.tenant')::uuid;
    s        invoice_series%ROWTYPE;
    v_period text;
BEGIN
    INSERT INTO invoice_series (tenant_id, name) VALUES (v_tenant, p_series)
    ON CONFLICT DO NOTHING;
    SELECT * INTO s FROM invoice_series
     WHERE tenant_id = v_tenant AND name = p_series FOR UPDATE;

    v_period := invoice_period(s.reset, p_date);
    IF s.current_period IS NULL OR s.current_period = v_period THEN
        first_seq := s.next_seq;
    ELSIF v_period < s.current_period THEN
        error := 'series ' || p_series || ' already numbers period '
                 || s.current_period || '; ' || p_date || ' is before it';
        RETURN;
    ELSE
        first_seq := 1;
    END IF;

    UPDATE invoice_series
       SET next_seq = first_seq + p_n, current_period = v_period,
           updated_at = now()
     WHERE tenant_id = v_tenant AND name = p_series;
    pattern := s.pattern;
END
$$;

-- the invoice as the API lists it (no document, no lines)
CREATE FUNCTION invoice_json(i invoices) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'kind', i.kind, 'state', i.state, 'series', i.series,
        'number', i.number, 'corrects_invoice_id', i.corrects_invoice_id,
        'integration_id', i.integration_id,
        'source_order_id', i.source_order_id,
        'customer_id', i.customer_id, 'buyer_name', i.buyer->>'name',
        'currency', i.currency, 'issue_date', i.issue_date,
        'due_date', i.due_date,
        'totals_minor', jsonb_build_object(
            'line_net', i.line_total_minor,
            'allowances', i.allowance_total_minor,
            'charges', i.charge_total_minor,
            'tax_exclusive', i.net_total_minor, 'vat', i.vat_total_minor,
            'tax_inclusive', i.gross_total_minor,
            'prepaid', i.prepaid_minor, 'payable', i.payable_minor),
        'created_at', i.created_at, 'issued_at', i.issued_at,
        'paid_at', i.paid_at, 'cancelled_at', i.cancelled_at)
$$;

-- Inserts invoices hubgated computed, in the caller's transaction.  Each
-- item of p_items:
--   {"kind", "corrects" (uuid, credit notes), "integration_id",
--    "source_order_id", "customer_id" | "customer_external_id",
--    "currency", "vat_currency", "due_date", "payment_days", "paid",
--    "seller", "buyer", "notes", "document",
--    "totals": {line, allowances, charges, tax_exclusive, vat, vat_vc,
--               tax_inclusive, prepaid, payable} (minor units),
--    "vat_breakdown", "allowances_charges",
--    "lines": [{line_no, description, quantity, unit_code, unit_price,
--               allowance_minor, charge_minor, net_minor, vat_category,
--               vat_rate, vat_exemption, corrects_line_no}]}
-- "seller", "buyer" and "allowances_charges" default to the document's.
-- Items for an order that already has an invoice are skipped, before any
-- number is taken.  p_issue: issued (or paid when "paid") with numbers of
-- p_series dated p_date, in the order of p_items; else drafts.  Returns
-- how many were inserted, and (p_answer) them as invoice_json; error set
-- (and nothing inserted) when the series refuses the date.
CREATE FUNCTION invoices_insert(p_series text, p_date date, p_issue boolean,
                                p_items jsonb, p_answer boolean,
                                OUT inserted jsonb, OUT n integer,
                                OUT error text)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_tenant  uuid := current_setting('hubgate.tenant')::uuid;
    v_items   jsonb;
    v_n       integer;
    v_first   bigint;
    v_pattern text;
BEGIN
    inserted := '[]';
    n := 0;

    SELECT coalesce(jsonb_agg(x ORDER BY t.n), '[]'), count(*) INTO v_items, v_n
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(x, n)
     WHERE x->>'source_order_id' IS NULL
        OR NOT EXISTS (SELECT 1 FROM invoices i
                        WHERE i.integration_id = (x->>'integration_id')::uuid
                          AND i.source_order_id = x->>'source_order_id'
                          AND i.kind = 'invoice');
    IF v_n = 0 THEN
        RETURN;
    END IF;

    IF p_issue THEN
        SELECT s.first_seq, s.pattern, s.error INTO v_first, v_pattern, error
          FROM invoice_series_take(p_series, p_date, v_n) s;
        IF error IS NOT NULL THEN
            RETURN;
        END IF;
    ELSE
        INSERT INTO invoice_series (tenant_id, name)
        VALUES (v_tenant, p_series) ON CONFLICT DO NOTHING;
    END IF;

    WITH src AS MATERIALIZED (
        SELECT gen_random_uuid() AS id, t.x, t.n
          FROM jsonb_array_elements(v_items) WITH ORDINALITY AS t(x, n)
    ), inv AS (
        INSERT INTO invoices AS i (id, tenant_id, kind, state, series, number,
               seq, corrects_invoice_id, integration_id, source_order_id,
               customer_id, seller, buyer, currency, vat_currency,
               issue_date, due_date, line_total_minor,
               allowance_total_minor, charge_total_minor, net_total_minor,
               vat_total_minor, gross_total_minor, prepaid_minor,
               payable_minor, vat_total_vat_currency_minor,
               allowances_charges, vat_breakdown, notes, document,
               issued_at, paid_at, created_at)
        SELECT src.id, v_tenant, coalesce(x->>'kind', 'invoice'),
               CASE WHEN NOT p_issue THEN 'draft'
                    WHEN (x->>'paid')::boolean THEN 'paid'
                    ELSE 'issued' END,
               p_series,
               CASE WHEN p_issue THEN invoice_number_format(v_pattern, p_date,
                                                            v_first + src.n - 1) END,
               CASE WHEN p_issue THEN v_first + src.n - 1 END,
               (x->>'corrects')::uuid, (x->>'integration_id')::uuid,
               x->>'source_order_id',
               coalesce((x->>'customer_id')::uuid,
                        (SELECT c.id FROM customers c
                          WHERE c.integration_id = (x->>'integration_id')::uuid
                            AND c.external_id = x->>'customer_external_id')),
               coalesce(x->'seller', x->'document'->'seller', '{}'),
               coalesce(x->'buyer', x->'document'->'buyer', '{}'),
               x->>'currency', x->>'vat_currency',
               CASE WHEN p_issue THEN p_date END,
               CASE WHEN x->>'due_date' IS NOT NULL THEN (x->>'due_date')::date
                    WHEN p_issue AND x->>'payment_days' IS NOT NULL
                    THEN p_date + (x->>'payment_days')::integer END,
               (x->'totals'->>'line')::bigint,
               (x->'totals'->>'allowances')::bigint,
               (x->'totals'->>'charges')::bigint,
               (x->'totals'->>'tax_exclusive')::bigint,
               (x->'totals'->>'vat')::bigint,
               (x->'totals'->>'tax_inclusive')::bigint,
               (x->'totals'->>'prepaid')::bigint,
               (x->'totals'->>'payable')::bigint,
               (x->'totals'->>'vat_vc')::bigint,
               coalesce(x->'allowances_charges',
                        x->'document'->'allowances_charges', '[]'),
               coalesce(x->'vat_breakdown', '[]'), x->>'notes',
               coalesce(x->'document', '{}'),
               CASE WHEN p_issue THEN now() END,
               CASE WHEN p_issue AND (x->>'paid')::boolean THEN now() END,
               -- read per row: lists (newest first) keep the numbers' order
               clock_timestamp()
          FROM src ORDER BY src.n
        RETURNING i.*
    ), lines AS (
        INSERT INTO invoice_lines (tenant_id, invoice_id, line_no,
               product_id, description, quantity, unit_code, unit_price,
               allowance_minor, charge_minor, net_minor, vat_category,
               vat_rate, vat_exemption, corrects_line_no)
        SELECT v_tenant, src.id, (l->>'line_no')::integer,
               CASE WHEN x->>'integration_id' IS NOT NULL
                     AND l->>'product_external_id' IS NOT NULL
                    THEN (SELECT p.id FROM products p
                           WHERE p.integration_id = (x->>'integration_id')::uuid
                             AND p.external_id = l->>'product_external_id') END,
               l->>'description', (l->>'quantity')::numeric,
               coalesce(l->>'unit_code', 'C62'), (l->>'unit_price')::numeric,
               coalesce((l->>'allowance_minor')::bigint, 0),
               coalesce((l->>'charge_minor')::bigint, 0),
               (l->>'net_minor')::bigint, l->>'vat_category',
               coalesce((l->>'vat_rate')::numeric, 0), l->>'vat_exemption',
               (l->>'corrects_line_no')::integer
          FROM src, jsonb_array_elements(x->'lines') l
        RETURNING 1
    )
    SELECT CASE WHEN p_answer
                THEN coalesce(jsonb_agg(invoice_json(inv) ORDER BY inv.seq,
                                        inv.id), '[]')
                ELSE '[]' END,
           count(*)
      INTO inserted, n
      FROM inv, (SELECT count(*) FROM lines) AS forced;
END
$$;

-- One step of an invoice's life, in the caller's transaction:
--   issue   draft -> issued, numbered from its series on p_date
--   pay     issued | overdue -> paid
--   cancel  draft | issued | overdue -> cancelled (an issued number stays
--           taken by the cancelled document: no gap)
-- Returns {"invoice": <invoice_json>} or {"error": code, "message", ...}
-- with code not_found, invalid_transition or series_period.
CREATE FUNCTION invoice_transition(p_id uuid, p_action text, p_date date)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v   invoices%ROWTYPE;
    t   record;
    ok  boolean;
BEGIN
    SELECT * INTO v FROM invoices
     WHERE tenant_id = current_setting('hubgate.tenant')::uuid AND id = p_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('error', 'not_found',
                                  'message', 'no such invoice');
    END IF;

    ok := CASE p_action
              WHEN 'issue' THEN v.state = 'draft'
              WHEN 'pay' THEN v.state IN ('issued', 'overdue')
              WHEN 'cancel' THEN v.state IN ('draft', 'issued', 'overdue')
              ELSE false END;
    IF NOT ok THEN
        RETURN jsonb_build_object('error', 'invalid_transition',
               'message', 'cannot ' || p_action || ' an invoice that is '
                          || v.state, 'state', v.state);
    END IF;

    IF p_action = 'issue' THEN
        SELECT * INTO t FROM invoice_series_take(v.series, p_date, 1);
        IF t.error IS NOT NULL THEN
            RETURN jsonb_build_object('error', 'series_period',
                                      'message', t.error);
        END IF;
        UPDATE invoices
           SET state = 'issued', seq = t.first_seq,
               number = invoice_number_format(t.pattern, p_date, t.first_seq),
               issue_date = p_date,
               due_date = coalesce(due_date, p_date + coalesce(
                   (SELECT (p.profile->>'payment_days')::integer
                      FROM seller_profiles p
                     WHERE p.tenant_id = v.tenant_id), 14)),
               issued_at = now(), updated_at = now()
         WHERE id = p_id RETURNING * INTO v;
    ELSIF p_action = 'pay' THEN
        UPDATE invoices SET state = 'paid', paid_at = now(), updated_at = now()
         WHERE id = p_id RETURNING * INTO v;
    ELSE
        UPDATE invoices SET state = 'cancelled', cancelled_at = now(),
               updated_at = now()
         WHERE id = p_id RETURNING * INTO v;
    END IF;

    RETURN jsonb_build_object('invoice', invoice_json(v));
END
$$;

-- The scheduler's pass, across tenants: an issued invoice whose due date
-- has passed on p_today is overdue, unless credit notes (not cancelled)
-- have credited all it asked for.  Returns how many became so.
CREATE FUNCTION invoices_mark_overdue(p_today date) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE invoices i SET state = 'overdue', updated_at = now()
     WHERE i.state = 'issued' AND i.due_date < p_today AND i.kind = 'invoice'
       AND i.payable_minor > coalesce((SELECT sum(c.payable_minor)
                                         FROM invoices c
                                        WHERE c.corrects_invoice_id = i.id
                                          AND c.state <> 'cancelled'), 0);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;

-- the sync run as the API shows it, with the invoices it generated
CREATE OR REPLACE FUNCTION sync_run_json(p_sync uuid) RETURNS json
    LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT json_build_object('id', s.id, 'integration_id', s.integration_id,
           'trigger', s.trigger, 'status', s.status, 'stage', s.stage,
           'percent', s.percent, 'processed', s.processed,
           'total', s.total, 'created', s.created_count,
           'updated', s.updated_count, 'failed', s.failed_count,
           'invoices_created', s.invoices_created,
           'invoices_failed', s.invoices_failed,
           'invoice_error', s.invoice_error,
           'cancel_requested', s.cancel_requested, 'error', s.error,
           'attempts', j.attempts, 'created_at', s.created_at,
           'started_at', s.started_at, 'finished_at', s.finished_at)
      FROM sync_runs s LEFT JOIN jobs j ON j.id = s.job_id
     WHERE s.id = p_sync
$$;

GRANT EXECUTE ON FUNCTION invoice_pattern_error(text, text) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_number_format(text, date, bigint) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_period(text, date) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_series_take(text, date, integer) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_json(invoices) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoices_insert(text, date, boolean, jsonb, boolean)
    TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_transition(uuid, text, date) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoices_mark_overdue(date) TO hubgate_app;

-- Which of p_ids (a JSON array of an integration's order ids) have no
-- invoice yet
CREATE FUNCTION invoices_missing_orders(p_integration uuid, p_ids jsonb)
    RETURNS json
    LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT coalesce(json_agg(t.x), '[]')
      FROM jsonb_array_elements_text(p_ids) t(x)
     WHERE NOT EXISTS (SELECT 1 FROM invoices v
                        WHERE v.integration_id = p_integration
                          AND v.source_order_id = t.x
                          AND v.kind = 'invoice')
$$;
GRANT EXECUTE ON FUNCTION invoices_missing_orders(uuid, jsonb) TO hubgate_app;

-- the series as the API shows it, with the number it would give on p_date
CREATE FUNCTION invoice_series_json(s invoice_series, p_date date)
    RETURNS jsonb LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT jsonb_build_object('name', s.name, 'pattern', s.pattern,
           'reset', s.reset, 'next_seq', s.next_seq,
           'current_period', s.current_period,
           'next_number', invoice_number_format(s.pattern, p_date,
               CASE WHEN s.current_period IS NULL
                      OR s.current_period = invoice_period(s.reset, p_date)
                    THEN s.next_seq ELSE 1 END),
           'issued', (SELECT count(*) FROM invoices i
                       WHERE i.tenant_id = s.tenant_id AND i.series = s.name
                         AND i.number IS NOT NULL),
           'updated_at', s.updated_at)
$$;

-- PUT /v1/invoice-series/{name}: creates or changes a series.  The next
-- number may move forward, never back onto numbers the period has given.
-- Returns {"series": ...} or {"error": code, "message"}.
CREATE FUNCTION invoice_series_put(p_name text, p_pattern text, p_reset text,
                                   p_next_seq bigint, p_date date)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    v_tenant uuid := current_setting('hubgate.tenant')::uuid;
    s        invoice_series%ROWTYPE;
    v_err    text;
    v_max    bigint;
BEGIN
    INSERT INTO invoice_series (tenant_id, name) VALUES (v_tenant, p_name)
    ON CONFLICT DO NOTHING;
    SELECT * INTO s FROM invoice_series
     WHERE tenant_id = v_tenant AND name = p_name FOR UPDATE;

    v_err := invoice_pattern_error(coalesce(p_pattern, s.pattern),
                                   coalesce(p_reset, s.reset));
    IF v_err IS NOT NULL THEN
        RETURN jsonb_build_object('error', 'invalid_pattern', 'message', v_err);
    END IF;

    IF p_next_seq IS NOT NULL THEN
        SELECT max(i.seq) INTO v_max FROM invoices i
         WHERE i.tenant_id = v_tenant AND i.series = p_name
           AND i.seq IS NOT NULL
           AND invoice_period(s.reset, i.issue_date) = s.current_period;
        IF p_next_seq <= coalesce(v_max, 0) THEN
            RETURN jsonb_build_object('error', 'next_seq_taken',
                   'message', 'next_seq must be above ' || v_max
                              || ', the last number this period gave');
        END IF;
    END IF;

    IF (p_pattern IS NOT NULL AND p_pattern <> s.pattern
        OR p_reset IS NOT NULL AND p_reset <> s.reset)
       AND EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = v_tenant
                     AND i.series = p_name AND i.number IS NOT NULL)
    THEN
        RETURN jsonb_build_object('error', 'series_in_use',
               'message', 'the pattern and reset of a series that has numbered '
                          || 'invoices cannot change; start a new series');
    END IF;

    UPDATE invoice_series
       SET pattern = coalesce(p_pattern, pattern),
           reset = coalesce(p_reset, reset),
           next_seq = coalesce(p_next_seq, next_seq), updated_at = now()
     WHERE tenant_id = v_tenant AND name = p_name
    RETURNING * INTO s;

    RETURN jsonb_build_object('series', invoice_series_json(s, p_date));
END
$$;

GRANT EXECUTE ON FUNCTION invoice_series_json(invoice_series, date) TO hubgate_app;
GRANT EXECUTE ON FUNCTION invoice_series_put(text, text, text, bigint, date) TO hubgate_app;
