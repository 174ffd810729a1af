CREATE TABLE "admin_sessions" (
	"id" serial PRIMARY KEY NOT NULL,
	"admin_id" integer NOT NULL,
	"token_hash" text NOT NULL,
	"csrf_token" text NOT NULL,
	"flash" text,
	"tenant_id" integer,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "admin_sessions_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "admins" (
	"id" serial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text DEFAULT 'provider' NOT NULL,
	"tenant_id" integer,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "admins_username_unique" UNIQUE("username")
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" text NOT NULL,
	"role" text DEFAULT 'provider' NOT NULL,
	"tenant_id" integer,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"method" text,
	"device_mac" text,
	"idle_account" text,
	"user_extension" text,
	"detail" text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"mac" text NOT NULL,
	"vendor" text NOT NULL,
	"model" text NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"hotdesk" boolean DEFAULT true NOT NULL,
	"idle_account" text NOT NULL,
	"idle_password" text NOT NULL,
	"location" text DEFAULT '' NOT NULL,
	"screen_secret" text,
	"prov_username" text,
	"prov_password" text,
	"access" text DEFAULT 'unclaimed' NOT NULL,
	"claim_via" text,
	"claimed_at" timestamp with time zone,
	"claim_ip" text,
	"claim_user_agent" text,
	"claim_firmware" text,
	"activated_at" timestamp with time zone,
	"activated_by" text,
	"activation_code_hash" text,
	"activation_attempts" integer DEFAULT 0 NOT NULL,
	"activation_locked_until" timestamp with time zone,
	"refused_claims" integer DEFAULT 0 NOT NULL,
	"refused_claim_at" timestamp with time zone,
	"refused_claim_ip" text,
	"upgrade_ip" text,
	"web_password" text,
	"redirect_status" text DEFAULT 'none' NOT NULL,
	"redirect_message" text,
	"redirect_attempts" integer DEFAULT 0 NOT NULL,
	"redirect_attempted_at" timestamp with time zone,
	"redirect_next_attempt_at" timestamp with time zone,
	"expansion_modules" integer DEFAULT 0 NOT NULL,
	"sip_contact" text,
	"reported_contact" text,
	"served_account" text,
	"served_auth_name" text,
	"served_password" text,
	"served_etag" text,
	"retired_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"last_seen_ip" text,
	"last_user_agent" text,
	"firmware" text,
	"phone_timezone" text,
	"phone_language" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "devices_mac_unique" UNIQUE("mac")
);
--> statement-breakpoint
CREATE TABLE "hotdesk_sessions" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"device_id" integer,
	"user_id" integer,
	"method" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "login_throttles" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"subject" text NOT NULL,
	"subject_id" integer NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"lockouts" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"pending" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sign_in_throttles" (
	"username" text PRIMARY KEY NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"pending" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"last_attempt_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_jobs" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"device_id" integer,
	"device_mac" text NOT NULL,
	"reason" text NOT NULL,
	"mode" text NOT NULL,
	"target" text NOT NULL,
	"event" text DEFAULT 'check-sync' NOT NULL,
	"state" text NOT NULL,
	"status_code" integer,
	"attempts" integer DEFAULT 0 NOT NULL,
	"target_etag" text NOT NULL,
	"error" text,
	"created_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"answered_at" timestamp with time zone,
	"fetched_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"retry_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "template_revisions" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"vendor" text NOT NULL,
	"name" text NOT NULL,
	"source" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"restored_from" integer
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" serial PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"registrar_host" text,
	"registrar_port" integer,
	"registrar_transport" text,
	"login_code" text DEFAULT '*35' NOT NULL,
	"emergency_numbers" text DEFAULT '["112","911"]' NOT NULL,
	"extension_min_digits" integer DEFAULT 2 NOT NULL,
	"extension_max_digits" integer DEFAULT 6 NOT NULL,
	"pin_min_length" integer DEFAULT 4 NOT NULL,
	"next_idle_number" integer DEFAULT 1 NOT NULL,
	"idle_account_pattern" text DEFAULT 'HD{n:4}' NOT NULL,
	"login_key_mode" text DEFAULT 'screen' NOT NULL,
	"logout_code" text,
	"notify_mode" text DEFAULT 'direct' NOT NULL,
	"relay_host" text,
	"relay_port" integer,
	"relay_username" text,
	"relay_secret" text,
	"relay_profile" text DEFAULT 'internal' NOT NULL,
	"auto_logout_cron" text,
	"max_session_minutes" integer,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"yealink_rps_url" text DEFAULT 'https://api-dm.yealink.com:8443' NOT NULL,
	"yealink_rps_key_id" text,
	"yealink_rps_secret" text,
	"yealink_xmlrpc_url" text DEFAULT 'https://api-dm.yealink.com:8443/xmlrpc' NOT NULL,
	"yealink_xmlrpc_user" text,
	"yealink_xmlrpc_password" text,
	"snom_sraps_url" text DEFAULT 'https://secure-provisioning.snom.com/api/v1' NOT NULL,
	"snom_sraps_key_id" text,
	"snom_sraps_secret" text,
	"poly_ztp_url" text DEFAULT 'https://api.ztp.poly.com/v1' NOT NULL,
	"poly_ztp_api_key" text,
	"redirect_base_url" text,
	"trusted_networks" text DEFAULT '["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","fc00::/7"]' NOT NULL,
	"trust_redirect" boolean DEFAULT false NOT NULL,
	"pickup_code" text DEFAULT '*8' NOT NULL,
	"poll_mode" text DEFAULT 'interval' NOT NULL,
	"poll_interval_minutes" integer DEFAULT 60 NOT NULL,
	"poll_window_start" text DEFAULT '01:00' NOT NULL,
	"poll_window_end" text DEFAULT '05:00' NOT NULL,
	"phone_timezone" text,
	"ntp_server" text,
	"phone_language" text,
	"voicemail_number" text,
	"codecs" text,
	"srtp" text DEFAULT 'auto' NOT NULL,
	"max_devices" integer,
	"max_users" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	CONSTRAINT "tenants_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "user_keys" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"position" integer NOT NULL,
	"type" text NOT NULL,
	"value" text NOT NULL,
	"label" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"tenant_id" integer NOT NULL,
	"extension" text NOT NULL,
	"display_name" text NOT NULL,
	"sip_user" text NOT NULL,
	"auth_name" text NOT NULL,
	"sip_password" text NOT NULL,
	"pin_hash" text,
	"hotdesk" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "admin_sessions" ADD CONSTRAINT "admin_sessions_admin_id_admins_id_fk" FOREIGN KEY ("admin_id") REFERENCES "public"."admins"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "admin_sessions" ADD CONSTRAINT "admin_sessions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "admins" ADD CONSTRAINT "admins_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hotdesk_sessions" ADD CONSTRAINT "hotdesk_sessions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hotdesk_sessions" ADD CONSTRAINT "hotdesk_sessions_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hotdesk_sessions" ADD CONSTRAINT "hotdesk_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "login_throttles" ADD CONSTRAINT "login_throttles_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_jobs" ADD CONSTRAINT "sync_jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_jobs" ADD CONSTRAINT "sync_jobs_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "template_revisions" ADD CONSTRAINT "template_revisions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_keys" ADD CONSTRAINT "user_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_at" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_events_tenant_at" ON "audit_events" USING btree ("tenant_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "devices_tenant_idle_account" ON "devices" USING btree ("tenant_id","idle_account");--> statement-breakpoint
CREATE UNIQUE INDEX "hotdesk_sessions_open_device" ON "hotdesk_sessions" USING btree ("device_id") WHERE ended_at IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "hotdesk_sessions_open_user" ON "hotdesk_sessions" USING btree ("user_id") WHERE ended_at IS NULL;--> statement-breakpoint
CREATE INDEX "hotdesk_sessions_started" ON "hotdesk_sessions" USING btree ("started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "login_throttles_subject" ON "login_throttles" USING btree ("tenant_id","subject","subject_id");--> statement-breakpoint
CREATE INDEX "sync_jobs_device" ON "sync_jobs" USING btree ("device_id","id");--> statement-breakpoint
CREATE INDEX "sync_jobs_state" ON "sync_jobs" USING btree ("state");--> statement-breakpoint
CREATE INDEX "template_revisions_name" ON "template_revisions" USING btree ("tenant_id","vendor","name","id");--> statement-breakpoint
CREATE UNIQUE INDEX "user_keys_user_position" ON "user_keys" USING btree ("user_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_extension" ON "users" USING btree ("tenant_id","extension");