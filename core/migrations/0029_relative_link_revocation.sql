-- A relative link lives only as long as its contact (security review, relatives' access):
-- deactivating a contact, or moving it to another site or organisation, revokes its personal
-- relative links. Deleting a contact deletes them (relative_links.contact_id ON DELETE CASCADE).
-- api/access_queries.sql checks contacts.active and site membership on every request as well.
CREATE FUNCTION sw_contact_revoke_relative_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.active
       OR NEW.site_id IS DISTINCT FROM OLD.site_id
       OR NEW.org_id IS DISTINCT FROM OLD.org_id THEN
        UPDATE relative_links SET revoked_at = now()
        WHERE contact_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_revoke_relative_links
    AFTER UPDATE OF active, site_id, org_id ON contacts
    FOR EACH ROW EXECUTE FUNCTION sw_contact_revoke_relative_links();

-- Links of contacts already deactivated before this migration.
UPDATE relative_links l SET revoked_at = now()
FROM contacts c
WHERE c.id = l.contact_id AND NOT c.active AND l.revoked_at IS NULL;
