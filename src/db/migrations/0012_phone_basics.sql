ALTER TABLE `devices` ADD `phone_timezone` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `phone_language` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `pickup_code` text DEFAULT '*8' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poll_mode` text DEFAULT 'interval' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poll_interval_minutes` integer DEFAULT 60 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poll_window_start` text DEFAULT '01:00' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `poll_window_end` text DEFAULT '05:00' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `phone_timezone` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `ntp_server` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `phone_language` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `voicemail_number` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `codecs` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `srtp` text DEFAULT 'auto' NOT NULL;