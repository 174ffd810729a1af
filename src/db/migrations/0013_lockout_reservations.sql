CREATE TABLE `sign_in_throttles` (
	`username` text PRIMARY KEY NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`last_attempt_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `admin_sessions` ADD `flash` text;--> statement-breakpoint
ALTER TABLE `login_throttles` ADD `pending` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `admins` DROP COLUMN `failed_logins`;--> statement-breakpoint
ALTER TABLE `admins` DROP COLUMN `locked_until`;