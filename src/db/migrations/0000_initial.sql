CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`method` text,
	`device_mac` text,
	`idle_account` text,
	`user_extension` text,
	`detail` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `audit_events_at` ON `audit_events` (`at`);--> statement-breakpoint
CREATE TABLE `devices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`mac` text NOT NULL,
	`vendor` text NOT NULL,
	`model` text NOT NULL,
	`label` text DEFAULT '' NOT NULL,
	`hotdesk` integer DEFAULT true NOT NULL,
	`idle_account` text NOT NULL,
	`idle_password` text NOT NULL,
	`location` text DEFAULT '' NOT NULL,
	`expansion_modules` integer DEFAULT 0 NOT NULL,
	`last_seen_at` integer,
	`last_seen_ip` text,
	`last_user_agent` text,
	`firmware` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `devices_mac_unique` ON `devices` (`mac`);--> statement-breakpoint
CREATE UNIQUE INDEX `devices_tenant_idle_account` ON `devices` (`tenant_id`,`idle_account`);--> statement-breakpoint
CREATE TABLE `hotdesk_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`device_id` integer,
	`user_id` integer,
	`method` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`end_reason` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hotdesk_sessions_open_device` ON `hotdesk_sessions` (`device_id`) WHERE ended_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `hotdesk_sessions_open_user` ON `hotdesk_sessions` (`user_id`) WHERE ended_at IS NULL;--> statement-breakpoint
CREATE INDEX `hotdesk_sessions_started` ON `hotdesk_sessions` (`started_at`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`registrar_host` text,
	`registrar_port` integer,
	`registrar_transport` text,
	`login_code` text DEFAULT '*35' NOT NULL,
	`emergency_numbers` text DEFAULT '["112","911"]' NOT NULL,
	`extension_min_digits` integer DEFAULT 2 NOT NULL,
	`extension_max_digits` integer DEFAULT 6 NOT NULL,
	`pin_min_length` integer DEFAULT 4 NOT NULL,
	`next_idle_number` integer DEFAULT 1 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_slug_unique` ON `tenants` (`slug`);--> statement-breakpoint
CREATE TABLE `user_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`position` integer NOT NULL,
	`type` text NOT NULL,
	`value` text NOT NULL,
	`label` text DEFAULT '' NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_keys_user_position` ON `user_keys` (`user_id`,`position`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`extension` text NOT NULL,
	`display_name` text NOT NULL,
	`sip_user` text NOT NULL,
	`auth_name` text NOT NULL,
	`sip_password` text NOT NULL,
	`pin_hash` text,
	`hotdesk` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_tenant_extension` ON `users` (`tenant_id`,`extension`);