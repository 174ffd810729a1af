ALTER TABLE `admins` ADD `role` text DEFAULT 'provider' NOT NULL;--> statement-breakpoint
ALTER TABLE `admins` ADD `tenant_id` integer REFERENCES tenants(id);--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `role` text DEFAULT 'provider' NOT NULL;--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `tenant_id` integer REFERENCES tenants(id);