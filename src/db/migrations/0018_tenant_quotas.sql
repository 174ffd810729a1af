ALTER TABLE `tenants` ADD `max_devices` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `max_users` integer;--> statement-breakpoint
CREATE INDEX `audit_events_tenant_at` ON `audit_events` (`tenant_id`,`at`);