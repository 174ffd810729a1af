-- Each node keeps copies of the device columns a phone's fetch reads (provisioning/deviceCopies.ts). Whatever
-- changes one of them, from any node, the command line or plain SQL, tells every node at commit on the change feed's
-- channel, so the copy is dropped. The columns fetches record (last seen, served revision) are left out: each node
-- keeps its own copy of those up to date, and they open nothing.
CREATE FUNCTION hotprov_device_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hotprov_changes', json_build_object('from', 'database', 'kind', 'deviceRows', 'deviceIds', json_build_array(OLD.id))::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER devices_phone_columns_changed
  AFTER UPDATE OF tenant_id, mac, vendor, model, label, location, idle_account, idle_password, screen_secret,
    prov_username, prov_password, access, retired_at, web_password, expansion_modules, phone_timezone, phone_language
  ON devices FOR EACH ROW
  WHEN ((OLD.tenant_id, OLD.mac, OLD.vendor, OLD.model, OLD.label, OLD.location, OLD.idle_account, OLD.idle_password,
         OLD.screen_secret, OLD.prov_username, OLD.prov_password, OLD.access, OLD.retired_at, OLD.web_password,
         OLD.expansion_modules, OLD.phone_timezone, OLD.phone_language)
    IS DISTINCT FROM
        (NEW.tenant_id, NEW.mac, NEW.vendor, NEW.model, NEW.label, NEW.location, NEW.idle_account, NEW.idle_password,
         NEW.screen_secret, NEW.prov_username, NEW.prov_password, NEW.access, NEW.retired_at, NEW.web_password,
         NEW.expansion_modules, NEW.phone_timezone, NEW.phone_language))
  EXECUTE FUNCTION hotprov_device_row_changed();
--> statement-breakpoint
CREATE TRIGGER devices_deleted
  AFTER DELETE ON devices FOR EACH ROW
  EXECUTE FUNCTION hotprov_device_row_changed();
