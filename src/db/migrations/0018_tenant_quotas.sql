ALTER TABLE `tenants` ADD `max_devices` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `max_users` integer;