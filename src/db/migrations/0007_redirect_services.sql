ALTER TABLE `devices` ADD `prov_username` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `prov_password` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `prov_auth` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `redirect_status` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `redirect_message` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `redirect_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `redirect_attempted_at` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `redirect_next_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `yealink_rps_url` text DEFAULT 'https://api-dm.yealink.com:8443' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `yealink_rps_key_id` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `yealink_rps_secret` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `snom_sraps_url` text DEFAULT 'https://secure-provisioning.snom.com/api/v1' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `snom_sraps_key_id` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `snom_sraps_secret` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poly_ztp_url` text DEFAULT 'https://api.ztp.poly.com/v1' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poly_ztp_api_key` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `redirect_base_url` text;--> statement-breakpoint
UPDATE `devices` SET `prov_username` = 'hp' || `mac`, `prov_password` = lower(hex(randomblob(16))) WHERE `prov_username` IS NULL;
