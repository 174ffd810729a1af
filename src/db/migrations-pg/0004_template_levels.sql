ALTER TABLE "template_revisions" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "template_revisions" ADD COLUMN "device_id" integer;--> statement-breakpoint
ALTER TABLE "template_revisions" ADD COLUMN "based_on" text;