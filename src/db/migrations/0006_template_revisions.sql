CREATE TABLE `template_revisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`vendor` text NOT NULL,
	`name` text NOT NULL,
	`source` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`restored_from` integer
);
--> statement-breakpoint
CREATE INDEX `template_revisions_name` ON `template_revisions` (`vendor`,`name`,`id`);