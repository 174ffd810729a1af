-- Template revisions belong to a tenant: the rows there are go to the default tenant (made here if none exists yet).
INSERT INTO `tenants` (`slug`, `name`) SELECT 'default', 'Default' WHERE NOT EXISTS (SELECT 1 FROM `tenants`) AND EXISTS (SELECT 1 FROM `template_revisions`);--> statement-breakpoint
CREATE TABLE `__new_template_revisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` integer NOT NULL,
	`vendor` text NOT NULL,
	`name` text NOT NULL,
	`source` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`restored_from` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
INSERT INTO `__new_template_revisions` (`id`, `tenant_id`, `vendor`, `name`, `source`, `created_by`, `created_at`, `restored_from`)
  SELECT `id`, coalesce((SELECT `id` FROM `tenants` WHERE `slug` = 'default'), (SELECT min(`id`) FROM `tenants`)), `vendor`, `name`, `source`, `created_by`, `created_at`, `restored_from`
  FROM `template_revisions`;--> statement-breakpoint
DROP TABLE `template_revisions`;--> statement-breakpoint
ALTER TABLE `__new_template_revisions` RENAME TO `template_revisions`;--> statement-breakpoint
CREATE INDEX `template_revisions_name` ON `template_revisions` (`tenant_id`,`vendor`,`name`,`id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `idle_account_pattern` text DEFAULT 'HD{n:4}' NOT NULL;
