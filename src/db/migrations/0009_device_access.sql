ALTER TABLE `devices` ADD `access` text DEFAULT 'unclaimed' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `claim_via` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `claimed_at` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `claim_ip` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `claim_user_agent` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `claim_firmware` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `activated_at` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `activated_by` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `activation_code_hash` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `activation_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `activation_locked_until` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `refused_claims` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `refused_claim_at` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `refused_claim_ip` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `upgrade_ip` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `web_password` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `trusted_networks` text DEFAULT '["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","fc00::/7"]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `trust_redirect` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Phones in service before device-bound provisioning. Those a redirect service sent with credentials keep them
-- and stay active; those that fetched without credentials are unclaimed, and their first claim from the address
-- they last fetched from activates them (upgrade_ip), so the upgrade cuts no phone off.
UPDATE `devices` SET `access` = 'active', `claim_via` = 'redirect', `claimed_at` = `last_seen_at`, `claim_ip` = `last_seen_ip`, `activated_at` = `last_seen_at`, `activated_by` = 'upgrade' WHERE `prov_auth` = 1 AND `last_seen_at` IS NOT NULL;--> statement-breakpoint
UPDATE `devices` SET `upgrade_ip` = `last_seen_ip` WHERE `access` = 'unclaimed' AND `last_seen_ip` IS NOT NULL;--> statement-breakpoint
-- Every phone gets credentials and a web-interface password of its own.
UPDATE `devices` SET `prov_username` = 'hp' || `mac` WHERE `prov_username` IS NULL;--> statement-breakpoint
UPDATE `devices` SET `prov_password` = lower(hex(randomblob(16))) WHERE `prov_password` IS NULL;--> statement-breakpoint
UPDATE `devices` SET `web_password` = lower(hex(randomblob(8))) WHERE `web_password` IS NULL;
