ALTER TABLE `template_revisions` ADD `model` text;--> statement-breakpoint
ALTER TABLE `template_revisions` ADD `device_id` integer;--> statement-breakpoint
ALTER TABLE `template_revisions` ADD `based_on` text;