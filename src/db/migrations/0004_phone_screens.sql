ALTER TABLE `devices` ADD `screen_secret` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `login_key_mode` text DEFAULT 'screen' NOT NULL;--> statement-breakpoint
UPDATE `devices` SET `screen_secret` = lower(hex(randomblob(16))) WHERE `screen_secret` IS NULL;
