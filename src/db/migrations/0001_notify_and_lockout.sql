CREATE TABLE `login_throttles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`subject` text NOT NULL,
	`subject_id` integer NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`lockouts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `login_throttles_subject` ON `login_throttles` (`tenant_id`,`subject`,`subject_id`);--> statement-breakpoint
CREATE TABLE `sync_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`device_id` integer,
	`device_mac` text NOT NULL,
	`reason` text NOT NULL,
	`mode` text NOT NULL,
	`target` text NOT NULL,
	`state` text NOT NULL,
	`status_code` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`target_etag` text NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`answered_at` integer,
	`fetched_at` integer,
	`failed_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `sync_jobs_device` ON `sync_jobs` (`device_id`,`id`);--> statement-breakpoint
CREATE INDEX `sync_jobs_state` ON `sync_jobs` (`state`);--> statement-breakpoint
ALTER TABLE `devices` ADD `sip_contact` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `reported_contact` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `served_account` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `served_auth_name` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `served_password` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `served_etag` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `logout_code` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `notify_mode` text DEFAULT 'direct' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `relay_host` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `relay_port` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `relay_username` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `relay_secret` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `relay_profile` text DEFAULT 'internal' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `auto_logout_cron` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `max_session_minutes` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `timezone` text DEFAULT 'UTC' NOT NULL;