ALTER TABLE `admin_sessions` ADD `tenant_id` integer REFERENCES tenants(id);--> statement-breakpoint
ALTER TABLE `tenants` ADD `retired_at` integer;