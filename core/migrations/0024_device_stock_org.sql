-- Stock (unbound detectors) per organisation: a device registered by a scoped caller is in the
-- stock of that caller's organisation and seen (and removable) only by callers whose scope
-- contains it. NULL: shared stock (registered by an unscoped administrator, loaded in bulk, or
-- registered before this migration), seen by every staff caller as before.
ALTER TABLE devices
    ADD COLUMN stock_org_id bigint REFERENCES organisations (id) ON DELETE SET NULL;

COMMENT ON COLUMN devices.stock_org_id IS
    'organisation whose stock an unbound device is in (the registering caller''s); NULL = shared';
