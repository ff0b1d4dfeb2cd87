-- 013_sync_compression: a synced order keeps the provider's record (raw)
-- and its canonical form, a few kB of JSON each, written on every page of
-- every sync.  lz4 compresses them several times faster than the default
-- pglz at a similar ratio, which is most of the cost of storing a page.
ALTER TABLE external_orders
    ALTER COLUMN raw SET COMPRESSION lz4,
    ALTER COLUMN canonical SET COMPRESSION lz4;
ALTER TABLE webhook_events ALTER COLUMN body SET COMPRESSION lz4;
