"""Consent by channel and purpose (issue 20): the marketing consent per channel, the ledger's purpose, wording and
campaign, a clinic's DKIM key and SMS reply number. The legacy "marketing" events become one per channel in
0007."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0005_sending_rules")]

    operations = [
        migrations.RenameField("patient", "marketing_consent", "marketing_sms"),
        migrations.AddField("patient", "marketing_email",
                            models.BooleanField(default=False, db_default=False)),
        migrations.RenameField("patient", "imported_marketing_consent", "imported_marketing_sms"),
        migrations.AddField("patient", "imported_marketing_email", models.BooleanField(null=True)),
        migrations.RunSQL("UPDATE clinic_patient SET marketing_email = marketing_sms, "
                          "imported_marketing_email = imported_marketing_sms", migrations.RunSQL.noop),
        migrations.AddField("consentevent", "purpose",
                            models.CharField(choices=[("service", "Service"), ("marketing", "Marketing")],
                                             db_default="service", default="service", max_length=10)),
        migrations.AddField("consentevent", "wording", models.TextField(blank=True, db_default="", default="")),
        migrations.AddField("consentevent", "campaign_id", models.BigIntegerField(blank=True, null=True)),
        migrations.AlterField("consentevent", "channel",
                              models.CharField(choices=[("sms", "SMS"), ("email", "E-mail")], max_length=10)),
        migrations.AddField("clinic", "dkim_selector",
                            models.CharField(blank=True, db_default="", default="", max_length=63)),
        migrations.AddField("clinic", "dkim_key", models.TextField(blank=True, db_default="", default="")),
        migrations.AddField("clinic", "sms_reply_number",
                            models.CharField(blank=True, db_default="", default="", max_length=20)),
    ]
