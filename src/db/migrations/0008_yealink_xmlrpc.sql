ALTER TABLE `tenants` ADD `yealink_xmlrpc_url` text DEFAULT 'https://api-dm.yealink.com:8443/xmlrpc' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `yealink_xmlrpc_user` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `yealink_xmlrpc_password` text;